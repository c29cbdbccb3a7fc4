"""Territory pages: the départements of the person's territory, a département with its QPV, a QPV.

Figures on these pages are territory aggregates: they count every action of the département or QPV,
whoever logged it, which is what a partner is entitled to see. Rows about companies and actions are
shown only through `scoping` (a partner gets counts, never names or action rows).

Models of higher apps are reached through `apps.get_model`, like `scoping` does, so that this low-level
app never imports `entreprises` or `conventions`.
"""

import django_filters
from django.apps import apps
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractYear
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from .models import QPV, Departement, Region


def _model(label):
    return apps.get_model(label)


def _count_subquery(queryset, group_field):
    """Number of rows of `queryset` (already filtered on OuterRef) as an integer column, 0 when none."""
    counted = queryset.order_by().values(group_field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _sum_subquery(queryset, group_field, summed):
    summed_qs = queryset.order_by().values(group_field).annotate(total=Sum(summed)).values("total")
    return Coalesce(Subquery(summed_qs, output_field=IntegerField()), 0)


def _crumbs(*links, current):
    base = [{"url": reverse("dashboard"), "title": "Tableau de bord"}]
    return {"links": base + [{"url": url, "title": title} for url, title in links], "current": current}


# --- the départements of the scope ------------------------------------------------------------------


class DepartementFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Nom ou code", method="filter_q")
    region = django_filters.ModelChoiceFilter(label="Région", queryset=Region.objects.all(), empty_label="Toutes les régions")

    class Meta:
        form = DsfrBaseForm
        fields = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__iexact=value)) if value else queryset


def departement_list(request):
    Action = _model("conventions.Action")
    year = timezone.localdate().year
    departements = Departement.objects.visible_to(request.scope).annotate(
        qpv_2015=_count_subquery(QPV.objects.filter(departement=OuterRef("pk"), generation=2015), "departement"),
        qpv_2024=_count_subquery(QPV.objects.filter(departement=OuterRef("pk"), generation=2024), "departement"),
        actions_this_year=_count_subquery(
            Action.objects.filter(departement=OuterRef("pk"), start_date__year=year), "departement"
        ),
    )
    departement_filter = DepartementFilter(request.GET or None, queryset=departements.order_by("code"))
    departement_filter.filters["region"].queryset = Region.objects.filter(
        pk__in=Departement.objects.visible_to(request.scope).values("region")
    )
    page_obj = Paginator(departement_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "territoires/departement_list.html",
        {
            "filter": departement_filter,
            "page_obj": page_obj,
            "departements": page_obj.object_list,
            "year": year,
            "breadcrumb_data": _crumbs(current="Territoires"),
        },
    )


# --- one département --------------------------------------------------------------------------------


class QPVFilter(django_filters.FilterSet):
    generation = django_filters.ChoiceFilter(
        label="Génération", choices=QPV.Generation.choices, empty_label="Les deux générations"
    )
    q = django_filters.CharFilter(label="Nom ou code du QPV", method="filter_q")

    class Meta:
        form = DsfrBaseForm
        fields = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset


def _years(actions, requested):
    """The years offered (those with actions, and the current one) and the selected year: the one asked
    for if valid, else the latest year with actions, else the current year."""
    current = timezone.localdate().year
    with_actions = sorted({day.year for day in actions.dates("start_date", "year")}, reverse=True)
    choices = sorted(set(with_actions) | {current}, reverse=True)
    if requested and requested.isdigit() and int(requested) in choices:
        return choices, int(requested)
    return choices, (with_actions[0] if with_actions else current)


def departement_detail(request, code):
    scope = request.scope
    departement = get_object_or_404(Departement.objects.visible_to(scope), code=code.upper())
    Action = _model("conventions.Action")
    Company = _model("entreprises.Company")
    Convention = _model("conventions.Convention")
    ActionQPV = Action.qpvs.through

    years, year = _years(Action.objects.filter(departement=departement), request.GET.get("annee"))
    year_actions = Action.objects.filter(departement=departement, start_date__year=year)
    totals = year_actions.aggregate(
        actions=Count("pk"),
        beneficiaries=Coalesce(Sum("beneficiaries_total"), 0),
        beneficiaries_qpv=Coalesce(Sum("beneficiaries_qpv"), 0),
        beneficiaries_women=Coalesce(Sum("beneficiaries_women"), 0),
        employees=Coalesce(Sum("employees_involved"), 0),
    )
    by_family = (
        year_actions.order_by()
        .values("action_type__family__label", "action_type__family__position")
        .annotate(actions=Count("pk"), beneficiaries=Sum("beneficiaries_total"), beneficiaries_qpv=Sum("beneficiaries_qpv"))
        .order_by("action_type__family__position")
    )

    reached = ActionQPV.objects.filter(qpv=OuterRef("pk"), action__start_date__year=year)
    qpvs = departement.qpvs.annotate(
        actions_in_year=_count_subquery(reached, "qpv"),
        beneficiaries_in_year=_sum_subquery(reached, "qpv", "action__beneficiaries_total"),
    ).order_by("-generation", "code")
    qpv_filter = QPVFilter(request.GET or None, queryset=qpvs)
    page_obj = Paginator(qpv_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))

    running = (
        Convention.objects.filter(departement=departement, start_date__year__lte=year, end_date__year__gte=year)
        .exclude(status__in=[Convention.Status.DRAFT, Convention.Status.NEGOTIATION])
        .values("pk")
    )
    engaged = Company.objects.filter(
        Q(pk__in=Action.companies.through.objects.filter(action__in=year_actions.values("pk")).values("company_id"))
        | Q(pk__in=Convention.companies.through.objects.filter(convention__in=running).values("company_id"))
    )
    companies_page = None
    # Everyone reads how many companies are engaged; only the companies of one's own scope are named
    # (a partner names none: aggregates only).
    companies_count = engaged.count()
    if not scope.is_partner:
        engaged = engaged.filter(pk__in=Company.objects.visible_to(scope).values("pk"))
        engaged = engaged.annotate(
            actions_in_year=_count_subquery(
                Action.companies.through.objects.filter(company=OuterRef("pk"), action__in=year_actions.values("pk")),
                "company",
            ),
            has_running_convention=Exists(
                Convention.companies.through.objects.filter(company=OuterRef("pk"), convention__in=running)
            ),
        ).order_by("name")
        companies_page = Paginator(engaged.only("pk", "name", "siren"), settings.PAGE_SIZE).get_page(
            request.GET.get("page_entreprises")
        )

    return render(
        request,
        "territoires/departement_detail.html",
        {
            "departement": departement,
            "years": years,
            "year": year,
            "totals": totals,
            "by_family": by_family,
            "filter": qpv_filter,
            "page_obj": page_obj,
            "qpvs": page_obj.object_list,
            "companies_page": companies_page,
            "companies_count": companies_count,
            "show_action_rows": not scope.is_partner,
            "breadcrumb_data": _crumbs((reverse("territoires:list"), "Territoires"), current=str(departement)),
        },
    )


# --- one QPV ----------------------------------------------------------------------------------------


def qpv_detail(request, code):
    scope = request.scope
    qpv = get_object_or_404(
        QPV.objects.visible_to(scope)
        .select_related("departement__region", "epci")
        .prefetch_related(
            "communes",
            Prefetch("successors", queryset=QPV.objects.order_by("code")),
            Prefetch("predecessors", queryset=QPV.objects.order_by("code")),
        ),
        code=code.upper(),
    )
    Action = _model("conventions.Action")
    Company = _model("entreprises.Company")
    reaching = Action.objects.filter(qpvs=qpv)

    by_year_family = (
        reaching.order_by()
        .annotate(year=ExtractYear("start_date"))
        .values("year", "action_type__family__label", "action_type__family__position")
        .annotate(actions=Count("pk"), beneficiaries=Sum("beneficiaries_total"), beneficiaries_qpv=Sum("beneficiaries_qpv"))
        .order_by("-year", "action_type__family__position")
    )

    years, selected_year = None, None
    page_obj = None
    if not scope.is_partner:
        actions = (
            Action.objects.visible_to(scope)
            .filter(qpvs=qpv)
            .select_related("action_type__family")
            .prefetch_related(Prefetch("companies", queryset=Company.objects.only("pk", "name").order_by("name")))
        )
        years = sorted({day.year for day in actions.dates("start_date", "year")}, reverse=True)
        requested = request.GET.get("annee", "")
        if requested.isdigit() and int(requested) in years:
            selected_year = int(requested)
            actions = actions.filter(start_date__year=selected_year)
        page_obj = Paginator(actions, settings.PAGE_SIZE).get_page(request.GET.get("page"))

    departement = qpv.departement
    return render(
        request,
        "territoires/qpv_detail.html",
        {
            "qpv": qpv,
            "by_year_family": by_year_family,
            "years": years,
            "selected_year": selected_year,
            "page_obj": page_obj,
            "actions": page_obj.object_list if page_obj else None,
            "show_action_rows": not scope.is_partner,
            "breadcrumb_data": _crumbs(
                (reverse("territoires:list"), "Territoires"),
                (reverse("territoires:departement", args=[departement.code]), str(departement)),
                current=f"{qpv.name} ({qpv.code})",
            ),
        },
    )
