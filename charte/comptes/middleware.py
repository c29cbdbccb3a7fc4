from .scoping import Scope

SESSION_KEY = "current_membership_id"


def current_membership(request, memberships):
    """The membership the person acts through: the one picked in the switcher, else the first active one."""
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.pk == wanted:
            return membership
    return memberships[0] if memberships else None


class CurrentOrganisationMiddleware:
    """Puts `request.memberships`, `request.membership`, `request.organisation` and `request.scope` on
    every request of a signed-in person; `request.scope` is the empty scope otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.memberships = []
        request.membership = None
        request.organisation = None
        request.scope = Scope.none()
        if request.user.is_authenticated:
            request.memberships = list(request.user.active_memberships().order_by("organisation__name"))
            request.membership = current_membership(request, request.memberships)
            if request.membership is not None:
                request.organisation = request.membership.organisation
                request.scope = Scope.for_membership(request.membership)
        return self.get_response(request)
