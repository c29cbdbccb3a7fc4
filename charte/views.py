from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils import timezone

from charte import dashboard as figures
from charte.comptes import scoping
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
    """What the person has to do now, and the key figures of their scope for one year."""
    scope = request.scope
    context = {}
    if scope.kind:
        today = timezone.localdate()
        year = figures.choose_year(scope, request.GET.get("annee"), today=today)
        context.update(
            year=year,
            totals=figures.action_totals(scope, year.year),
            families=figures.by_family(scope, year.year),
        )
        if scope.is_partner:
            context["territory"] = figures.territory(scope)
        else:
            context["todo"] = {
                **figures.conventions_to_handle(scope, today=today),
                "logged_this_month": figures.actions_logged_this_month(scope, today=today),
                "companies_without_convention": figures.companies_without_convention(scope),
            }
            context["renewal_horizon"] = figures.renewal_horizon(today)
            context["month_start"] = today.replace(day=1)
        context["declarations"] = figures.declarations_to_handle(scope, today=today)
        if scope.is_company:
            context["company_conventions"] = figures.company_conventions(scope)
        elif not scope.is_partner:
            context["companies_count"] = scoping.companies(scope).count()
            context["conventions_in_force"] = figures.conventions_in_force(scope, year.year)
    return render(request, "dashboard.html", context)
