"""Who may call the API at all. What each caller sees is the scoping policy's business (querysets); what
each may write is decided by the apps' permission predicates, in the viewsets."""

from rest_framework import permissions

from charte.comptes.models import ApiKey

READ_ONLY_KEY = "Cette clé d'API est en lecture seule : elle ne permet pas de modifier des données."
NO_ORGANISATION = "Votre compte n'est rattaché à aucune organisation active : aucune donnée n'est accessible."


class ActsForAnOrganisation(permissions.BasePermission):
    """A signed-in person acting for an active organisation, or a valid key of an active organisation."""

    message = NO_ORGANISATION

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return getattr(request, "scope", None) is not None and request.scope.kind is not None


class KeyAllowsWrites(permissions.BasePermission):
    """A read-only key is refused on every write, whatever the organisation may otherwise do."""

    message = READ_ONLY_KEY

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        if isinstance(request.auth, ApiKey):
            return request.auth.can_write
        return True
