"""Request rates: per API key, per signed-in person, per address for anonymous requests.

Rates are read from `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` (set from the environment in settings) at
each request, so a test or a deployment can change them without a restart of the class definitions.
DRF's throttles put the wait in `Retry-After` (see `charte.api.exceptions`).
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from charte.comptes.models import ApiKey


class _RateFromSettings(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ApiKeyRateThrottle(_RateFromSettings):
    scope = "cle"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class SessionUserRateThrottle(_RateFromSettings):
    scope = "utilisateur"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey) or not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(_RateFromSettings):
    scope = "anonyme"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


THROTTLE_CLASSES = [ApiKeyRateThrottle, SessionUserRateThrottle, AnonymousRateThrottle]
