"""Turning ProConnect on for a test, as the environment would at start-up.

The settings come from the same function as charte/settings.py (`proconnect_settings`), and the URL
configuration is reloaded, because the ProConnect addresses exist only when it is on; both are put back
when the block ends.
"""

import importlib
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.urls import clear_url_caches

from charte.comptes.proconnect_settings import proconnect_settings

CLIENT_ID = "portail-charte"
CLIENT_SECRET = "secret-du-portail-pour-les-tests-0123456789"


def reload_urls():
    import charte.comptes.urls
    import charte.urls

    importlib.reload(charte.comptes.urls)
    importlib.reload(charte.urls)
    clear_url_caches()


@contextmanager
def proconnect_on(issuer="", **values):
    """ProConnect configured with `issuer` (discovery) and/or explicit endpoints given as keyword arguments
    (`authorization_endpoint=...`, `use_pkce=True`...)."""
    arguments = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "issuer": issuer,
        "authorization_endpoint": "",
        "token_endpoint": "",
        "userinfo_endpoint": "",
        "jwks_endpoint": "",
        "end_session_endpoint": "",
        "scopes": "openid email given_name usual_name",
        "sign_algo": "RS256",
        "use_pkce": False,
        "timeout": 10.0,
        "authentication_backends": settings.AUTHENTICATION_BACKENDS,
        "content_security_policy": settings.CONTENT_SECURITY_POLICY,
        **values,
    }
    # The discovery document is cached per issuer: each block reads its provider afresh.
    discovery_key = f"proconnect-discovery:{issuer.rstrip('/')}"
    cache.delete(discovery_key)
    try:
        with override_settings(**proconnect_settings(**arguments)):
            reload_urls()
            yield
    finally:
        cache.delete(discovery_key)
        reload_urls()
