def current_organisation(request):
    return {
        "current_membership": getattr(request, "membership", None),
        "current_organisation": getattr(request, "organisation", None),
        "memberships": getattr(request, "memberships", []),
        "scope": getattr(request, "scope", None),
    }
