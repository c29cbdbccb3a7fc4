from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils import timezone

from charte import dashboard as figures
from charte.territoires.models import QPV
from conventions.models import Convention
from entreprises.models import Company
from evaluation.reports import opendata


@login_not_required
def home(request):
    """Public landing page: what the portal is, and the size of what it follows.

    The actions and beneficiaries are those of the published national compile of the latest year, the set the
    open data reads: a live count would differ from the sum of the published cells by exactly the hidden ones
    (methodology §10 and §13). Companies, conventions and QPV are not secret: counted live."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    figures = {
        "companies": Company.objects.count(),
        "conventions": Convention.objects.count(),
        "qpvs": QPV.objects.count(),
    }
    return render(request, "home.html", {"figures": figures, "published": opendata.public_figures()})


def dashboard(request):
    """What the person has to do now, and the key figures of their scope for one year."""
    scope = request.scope
    context = {}
    if scope.kind:
        today = timezone.localdate()
        year = figures.choose_year(scope, request.GET.get("annee"), today=today)
        published, compiled_at = figures.published_action_figures(scope, year.year)
        context.update(
            year=year,
            totals=figures.action_totals(scope, year.year, published),
            families=figures.by_family(scope, year.year, published),
            figures_compiled_at=compiled_at,
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
            context["companies_count"] = Company.objects.visible_to(scope).count()
            context["conventions_in_force"] = figures.conventions_in_force(scope, year.year)
    return render(request, "dashboard.html", context)
