"""Authentication by API key: `Authorization: Api-Key <prefix>.<secret>`.

The key acts as its organisation (see `charte.api.base.request_scope`). Sessions (the browser, the
documentation pages) go through DRF's `SessionAuthentication`, with its CSRF check on writes.
"""

import re
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from charte.comptes.models import ApiKey

KEYWORD = "Api-Key"
# The prefix is 8 letters or digits, the secret is URL-safe base64: anything else cannot be a key, and
# never reaches the database (a NUL character would make PostgreSQL fail).
KEY_PATTERN = re.compile(rf"^([A-Za-z0-9]{{{ApiKey.PREFIX_LENGTH}}})\.([A-Za-z0-9_-]{{20,200}})$")
# Recording every use would write on every request: once a minute is precise enough for "last used".
LAST_USED_PRECISION = timedelta(minutes=1)

INVALID_KEY = "Clé d'API invalide ou révoquée."


class ApiKeyPrincipal:
    """What `request.user` is for a request authenticated by a key: the organisation, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key):
        self.api_key = api_key
        self.organisation = api_key.organisation

    def __str__(self):
        return f"Clé d'API {self.api_key.prefix} ({self.organisation})"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        try:
            header = header.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            return None
        keyword, _, value = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        match = KEY_PATTERN.match(value.strip())
        if not match:
            raise exceptions.AuthenticationFailed("En-tête Authorization mal formé : attendu « Api-Key <préfixe>.<secret> ».")
        prefix, secret = match.groups()
        api_key = ApiKey.objects.select_related("organisation", "created_by").filter(prefix=prefix).first()
        if api_key is None or not api_key.check_secret(secret) or api_key.is_revoked:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        if not api_key.organisation.is_active:
            raise exceptions.AuthenticationFailed("L'organisation de cette clé d'API est désactivée.")
        self._touch(api_key)
        return ApiKeyPrincipal(api_key), api_key

    def _touch(self, api_key):
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to an unauthenticated request.
        return KEYWORD
