"""The admin's lists go through the same scoping policy as the portal.

Superusers keep seeing every row (they run the platform). Any other staff member sees, in the change
lists and change pages of the scoped models, only the rows of `scoping.<function>(request.scope)`: the
scope of their current membership, put on the request by `CurrentOrganisationMiddleware` (the first
active one unless they switched). Without an active membership, that scope is empty and so are the lists.
"""

from . import scoping


class ScopedAdminMixin:
    """Put before `admin.ModelAdmin`; `scoping_function` names the function of `charte.comptes.scoping`
    that answers for this model (e.g. "companies")."""

    scoping_function = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        scope = getattr(request, "scope", None) or scoping.Scope.none()
        visible = getattr(scoping, self.scoping_function)(scope)
        # A subquery on the primary key keeps the admin's own select_related / prefetch_related and ordering.
        return queryset.filter(pk__in=visible.values("pk"))
