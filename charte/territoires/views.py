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
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractYear
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from .models import EPCI, QPV, Departement, Region


def _model(label):
    return apps.get_model(label)


def _count_subquery(queryset, group_field):
    """Number of rows of `queryset` (already filtered on OuterRef) as an integer column, 0 when none."""
    counted = queryset.order_by().values(group_field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _crumbs(*links, current):
    return {"links": [{"url": url, "title": title} for url, title in links], "current": current}


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
    # A partner attached to an EPCI has no département: its territory is the EPCI's page.
    own_epcis = EPCI.objects.filter(pk__in=request.scope.epci_ids).order_by("name") if request.scope.below_departement else []
    return render(
        request,
        "territoires/departement_list.html",
        {
            "own_epcis": own_epcis,
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

    qpv_filter = QPVFilter(request.GET or None, queryset=departement.qpvs.order_by("-generation", "code"))
    page_obj = Paginator(qpv_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    qpvs_compiled_at = _attach_qpv_figures(list(page_obj.object_list), year, scope)

    running = (
        Convention.objects.filter(departement=departement, start_date__year__lte=year, end_date__year__gte=year)
        .exclude(status__in=[Convention.Status.DRAFT, Convention.Status.NEGOTIATION])
        .values("pk")
    )
    # The engaged companies are read once as ids with their number of actions of the year (one grouped query on
    # the links, one on the running conventions): counting them, then paging them, then counting each page's
    # actions walked the year's actions of the département three times (~0.25 s on the national benchmark).
    actions_by_company = dict(
        Action.companies.through.objects.filter(action__in=year_actions.values("pk"))
        .order_by()
        .values("company_id")
        # Counting the company column (never null), not the link's id: the (action, company) index answers alone.
        .annotate(n=Count("company_id"))
        .values_list("company_id", "n")
    )
    with_running = set(Convention.companies.through.objects.filter(convention__in=running).values_list("company_id", flat=True))
    engaged_ids = set(actions_by_company) | with_running
    companies_page = None
    # Everyone reads how many companies are engaged; only the companies of one's own scope are named
    # (a partner names none: aggregates only).
    companies_count = len(engaged_ids)
    if not scope.is_partner:
        named = Company.objects.visible_to(scope).filter(pk__in=sorted(engaged_ids)).order_by("name", "pk")
        companies_page = Paginator(named.only("pk", "name", "siren"), settings.PAGE_SIZE).get_page(
            request.GET.get("page_entreprises")
        )
        for company in companies_page.object_list:
            company.actions_in_year = actions_by_company.get(company.pk, 0)
            company.has_running_convention = company.pk in with_running

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
            "qpvs_compiled_at": qpvs_compiled_at,
            "companies_page": companies_page,
            "companies_count": companies_count,
            "show_action_rows": not scope.is_partner,
            "breadcrumb_data": _crumbs((reverse("territoires:list"), "Territoires"), current=str(departement)),
        },
    )


def _attach_qpv_figures(qpvs, year, scope):
    """Set `actions_in_year` and `beneficiaries_in_year` on the QPV of a page; returns when the published compile
    they come from finished, or None when they were all counted from the actions.

    The published compile of the year already holds these two figures per QPV with the same definition (every
    action of the year linked to the QPV, whoever logged it; the sum of its beneficiaries: `evaluation.engine.
    compile`, QPV scope), so they are read there: counting them from the actions walks every link of each QPV,
    all years (0.2 to 0.3 s for the 15 QPV of a département on the national benchmark). A QPV the compile does not
    hold (a year without a published compile, a QPV added since) is counted from the actions in one grouped query."""
    if not qpvs:
        return None
    AnnualResult = _model("evaluation.AnnualResult")
    EvaluationRun = _model("evaluation.EvaluationRun")
    published = EvaluationRun.objects.published_by_year()
    compiled, compiled_at = {}, None
    if year in published and (scope.is_national or scope.has_territory):
        # The compiled QPV rows a reader may see are those of the QPV they see, for a reader with a territory
        # (`AnnualResult.visible_to`, QPV scope; the others get the figures counted as before). The page's QPV
        # go through `QPV.visible_to` here rather than through the whole `AnnualResult.visible_to`, which also
        # lists every convention and company of the scope (80 ms for a préfecture on the national benchmark).
        codes = list(QPV.objects.visible_to(scope).filter(pk__in=[qpv.pk for qpv in qpvs]).values_list("code", flat=True))
        compiled = {
            key: (actions or 0, beneficiaries or 0)
            for key, actions, beneficiaries in AnnualResult.objects.filter(
                run_id=published[year], year=year, scope_type="qpv", scope_key__in=codes
            )
            .filter(family_id__isnull=True, indicator_id__isnull=True)
            .values_list("scope_key", "actions_count", "beneficiaries")
        }
        if compiled:
            compiled_at = EvaluationRun.objects.filter(pk=published[year]).values_list("finished_at", flat=True).first()
    missing = [qpv.pk for qpv in qpvs if qpv.code not in compiled]
    counted = {}
    if missing:
        ActionQPV = _model("conventions.Action").qpvs.through
        counted = {
            row["qpv_id"]: (row["actions"], row["beneficiaries"] or 0)
            for row in ActionQPV.objects.filter(qpv_id__in=missing, action__start_date__year=year)
            .order_by()
            .values("qpv_id")
            .annotate(actions=Count("pk"), beneficiaries=Sum("action__beneficiaries_total"))
        }
    for qpv in qpvs:
        qpv.actions_in_year, qpv.beneficiaries_in_year = compiled.get(qpv.code) or counted.get(qpv.pk, (0, 0))
    return compiled_at


# --- one EPCI ----------------------------------------------------------------------------------------


def epci_detail(request, siren):
    """The aggregates of an EPCI: the actions that reached its QPV, year by year, and its QPV. Aggregates only,
    whoever reads it: the page is the territory of a partner attached to the EPCI (a métropole, an
    agglomération), whose figures must not name a company nor an action."""
    scope = request.scope
    epci = get_object_or_404(EPCI.objects.visible_to(scope), siren=siren)
    Action = _model("conventions.Action")
    ActionQPV = Action.qpvs.through
    in_epci = QPV.objects.visible_to(scope).filter(
        Q(epci=epci) | Q(pk__in=QPV.communes.through.objects.filter(commune__epci=epci).values("qpv_id"))
    )
    reaching = Action.objects.filter(pk__in=ActionQPV.objects.filter(qpv__in=in_epci.values("pk")).values("action_id"))

    years, year = _years(reaching, request.GET.get("annee"))
    year_actions = reaching.filter(start_date__year=year)
    totals = year_actions.aggregate(
        actions=Count("pk"),
        beneficiaries=Coalesce(Sum("beneficiaries_total"), 0),
        beneficiaries_qpv=Coalesce(Sum("beneficiaries_qpv"), 0),
    )
    by_family = (
        year_actions.order_by()
        .values("action_type__family__label", "action_type__family__position")
        .annotate(actions=Count("pk"), beneficiaries=Sum("beneficiaries_total"), beneficiaries_qpv=Sum("beneficiaries_qpv"))
        .order_by("action_type__family__position")
    )
    # The per-QPV figures come from the published compile, as on the département page (same definition, same
    # fallback): two correlated subqueries per QPV walked every link of each QPV, all years.
    qpvs = in_epci.select_related("departement").order_by("-generation", "code")
    page_obj = Paginator(qpvs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    qpvs_compiled_at = _attach_qpv_figures(list(page_obj.object_list), year, scope)
    return render(
        request,
        "territoires/epci_detail.html",
        {
            "epci": epci,
            "communes": _communes_of(epci, scope),
            "years": years,
            "year": year,
            "totals": totals,
            "by_family": by_family,
            "page_obj": page_obj,
            "qpvs": page_obj.object_list,
            "qpvs_compiled_at": qpvs_compiled_at,
            "breadcrumb_data": _crumbs((reverse("territoires:list"), "Territoires"), current=epci.name),
        },
    )


def _communes_of(epci, scope):
    """The communes of the EPCI the reader sees, for the page's heading (one query)."""
    return list(epci.communes.visible_to(scope).order_by("name").only("code", "name"))


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
    # A partner attached to an EPCI does not see the département: the way back is its EPCI's page.
    departement_visible = Departement.objects.visible_to(scope).filter(pk=departement.pk).exists()
    epci_visible = qpv.epci is not None and EPCI.objects.visible_to(scope).filter(pk=qpv.epci_id).exists()
    if departement_visible:
        parent = (reverse("territoires:departement", args=[departement.code]), str(departement))
    elif epci_visible:
        parent = (reverse("territoires:epci", args=[qpv.epci.siren]), qpv.epci.name)
    else:
        own = EPCI.objects.filter(pk__in=scope.epci_ids).first()
        parent = (reverse("territoires:epci", args=[own.siren]), own.name) if own else None
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
            "departement_visible": departement_visible,
            "epci_visible": epci_visible,
            "breadcrumb_data": _crumbs(
                (reverse("territoires:list"), "Territoires"),
                *([parent] if parent else []),
                current=f"{qpv.name} ({qpv.code})",
            ),
        },
    )
