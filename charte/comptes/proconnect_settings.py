"""The Django settings of ProConnect sign-in, derived from the few values an operator gives.

Plain Python that reads no setting and imports no model: charte/settings.py calls it with the environment's values, and the
tests call it with a provider they start, so both run the same rules (when it is on, which backend, which
origins the Content-Security-Policy lets a form lead to).
"""

from copy import deepcopy
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


class ProConnectMisconfigured(ImproperlyConfigured):
    pass


def proconnect_settings(
    *,
    client_id,
    client_secret,
    issuer,
    authorization_endpoint,
    token_endpoint,
    userinfo_endpoint,
    jwks_endpoint,
    end_session_endpoint,
    scopes,
    sign_algo,
    use_pkce,
    timeout,
    authentication_backends,
    content_security_policy,
):
    """The settings to add to the project: `PROCONNECT_ENABLED` is False (and nothing else changes) when
    nothing is configured. Half a configuration raises `ProConnectMisconfigured`: an operator who set a
    client id but forgot the provider must hear it at start-up, not find the button silently missing."""
    issuer = issuer.rstrip("/")
    endpoints = (authorization_endpoint, token_endpoint, userinfo_endpoint)
    enabled = bool(client_id and client_secret and (issuer or all(endpoints)))
    if not enabled and (client_id or client_secret or issuer or any(endpoints)):
        raise ProConnectMisconfigured(
            "ProConnect est partiellement configuré : PROCONNECT_CLIENT_ID, PROCONNECT_CLIENT_SECRET et "
            "PROCONNECT_ISSUER (ou les points d'accès PROCONNECT_AUTHORIZATION_ENDPOINT, "
            "PROCONNECT_TOKEN_ENDPOINT et PROCONNECT_USERINFO_ENDPOINT) doivent être tous définis, ou aucun."
        )
    if not enabled:
        return {"PROCONNECT_ENABLED": False}
    if sign_algo[:2] in ("RS", "ES") and not (issuer or jwks_endpoint):
        raise ProConnectMisconfigured(
            f"ProConnect signe avec {sign_algo} : PROCONNECT_ISSUER ou PROCONNECT_JWKS_ENDPOINT doit être défini."
        )

    backends = [*authentication_backends, "charte.comptes.oidc.ProConnectBackend"]
    # The browser leaves the portal for ProConnect after a form (the button, « Se déconnecter »), and Chromium
    # applies form-action to those redirections: ProConnect's origins are allowed there, and only there.
    policy = deepcopy(content_security_policy)
    origins = {
        "{0.scheme}://{0.netloc}".format(urlsplit(url)) for url in (issuer, authorization_endpoint, end_session_endpoint) if url
    }
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], *sorted(origins)]
    return {
        "PROCONNECT_ENABLED": True,
        "PROCONNECT_ISSUER": issuer,
        # mozilla-django-oidc's settings; an empty endpoint is read from the issuer's discovery document
        # when first needed (charte.comptes.oidc.get_setting).
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": client_secret,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": token_endpoint,
        "OIDC_OP_USER_ENDPOINT": userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": jwks_endpoint,
        "OIDC_OP_LOGOUT_ENDPOINT": end_session_endpoint,
        # ProConnect hands out one claim per scope; sub comes with openid.
        "OIDC_RP_SCOPES": scopes,
        # The algorithm registered with ProConnect for the ID token and the signed userinfo.
        "OIDC_RP_SIGN_ALGO": sign_algo,
        # ProConnect refuses any authorisation parameter it does not list, and PKCE is not among them.
        "OIDC_USE_PKCE": use_pkce,
        "OIDC_TIMEOUT": timeout,
        # Accounts are never created by a sign-in: matched by e-mail, or created by accepting an invitation.
        "OIDC_CREATE_USER": False,
        # The ID token stays in the session for the logout only (id_token_hint); the access token is not kept.
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "comptes:proconnect_callback",
        "OIDC_AUTHENTICATE_CLASS": "charte.comptes.oidc.ProConnectLoginView",
        "OIDC_CALLBACK_CLASS": "charte.comptes.oidc.ProConnectCallbackView",
        # Signing out of the portal ends the ProConnect session too (RP-initiated logout).
        "OIDC_OP_LOGOUT_URL_METHOD": "charte.comptes.oidc.provider_logout_url",
        # A refused ProConnect sign-in is no password guess: it must not lock a préfecture's shared address.
        "AXES_WHITELIST_CALLABLE": "charte.comptes.oidc.is_proconnect_callback",
        "AUTHENTICATION_BACKENDS": backends,
        "CONTENT_SECURITY_POLICY": policy,
    }
