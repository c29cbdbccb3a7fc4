def current_organisation(request):
    from .people import has_people_pages
    from .scoping import Scope

    return {
        "people_pages": has_people_pages(getattr(request, "scope", None) or Scope.none()),
        "current_membership": getattr(request, "membership", None),
        "current_organisation": getattr(request, "organisation", None),
        "memberships": getattr(request, "memberships", []),
        "scope": getattr(request, "scope", None),
    }
