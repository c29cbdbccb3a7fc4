from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.shortcuts import redirect, render

from charte.territoires.models import QPV
from conventions.models import Action, Convention
from entreprises.models import Company


@login_not_required
def home(request):
    """Public landing page: what the portal is, and the size of what it follows."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    figures = {
        "companies": Company.objects.count(),
        "conventions": Convention.objects.count(),
        "actions": Action.objects.count(),
        "qpvs": QPV.objects.count(),
    }
    by_status = Convention.objects.values("status").annotate(n=Count("pk")).order_by("status")
    return render(request, "home.html", {"figures": figures, "by_status": by_status})


def dashboard(request):
    return render(request, "dashboard.html", {})
