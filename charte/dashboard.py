"""The figures of the dashboard: plain functions taking a scope (and a year), answering with SQL aggregates.

Every queryset comes from the models' `visible_to(scope)`, so a dashboard never counts a row its reader may not
see, and every figure is a `COUNT`/`SUM` computed by the database: the number of queries does not grow
with the number of companies, conventions or actions.

Partners see no company, convention or action row; their dashboard shows aggregates of their territory
(the départements of `Departement.objects.visible_to(scope)`), which is what the policy grants them.
"""

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from charte.catalogue.models import Family
from charte.comptes.models import Membership
from charte.territoires.models import Departement
from conventions.models import Action, Convention
from entreprises.models import Company

RENEWAL_HORIZON_MONTHS = 6


def _model(label):
    # `charte` sits below `entreprises` and `conventions`: reach their models without importing them.
    return apps.get_model(label)


def _add_months(day, months):
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last_day))


def share(part, total):
    """A percentage, or None when there is nothing to divide (never a misleading 0 %)."""
    return round(100 * part / total, 1) if total else None


# --- the year shown ----------------------------------------------------------------------------------


def action_base(scope):
    """The actions the figures are computed on: the scoped rows, or for a partner its territory's actions
    (only ever aggregated, never listed)."""
    if scope.is_partner:
        Action_ = _model("conventions.Action")
        if scope.below_departement:
            # An EPCI's actions are those reaching one of its QPV: an action is logged per département, not commune.
            QPV = _model("territoires.QPV")
            reaching = Action_.qpvs.through.objects.filter(qpv__in=QPV.objects.visible_to(scope).values("pk"))
            return Action_.objects.filter(pk__in=reaching.values("action_id"))
        return Action_.objects.filter(departement__in=Departement.objects.visible_to(scope).values("pk"))
    return Action.objects.visible_to(scope)


def years_with_actions(scope):
    """The years from the scope's latest action back to its first, most recent first (one query). Read from the
    first and last start dates (the actions' date index answers them at once) rather than listing the distinct
    years of every action, which scanned 2 M national actions on each dashboard request (issue 17); a year
    without action in between is offered too, and simply shows zeros."""
    bounds = action_base(scope).aggregate(first=Min("start_date"), last=Max("start_date"))
    if bounds["first"] is None:
        return []
    return list(range(bounds["last"].year, bounds["first"].year - 1, -1))


@dataclass(frozen=True)
class YearChoice:
    year: int
    choices: list
    # The current year had no action, so the latest year with actions is shown instead.
    is_fallback: bool
    current_year: int


def choose_year(scope, requested=None, today=None):
    """The year to show: the one asked for if it is offered, else the current year when it has actions,
    else the latest year with actions (the demo runs 2015-2017)."""
    today = today or timezone.localdate()
    with_data = years_with_actions(scope)
    choices = sorted({today.year, *with_data}, reverse=True)
    try:
        requested = int(requested) if requested not in (None, "") else None
    except (TypeError, ValueError):
        requested = None
    if requested in choices:
        return YearChoice(requested, choices, False, today.year)
    if today.year in with_data or not with_data:
        return YearChoice(today.year, choices, False, today.year)
    return YearChoice(with_data[0], choices, True, today.year)


# --- what to do now ----------------------------------------------------------------------------------


def conventions_to_handle(scope, today=None):
    """Counts of the conventions waiting for a step: to sign (under negotiation), to activate (signed),
    to renew (in force, ending within six months or already past their end, not renewed yet)."""
    today = today or timezone.localdate()
    Status = _model("conventions.Convention").Status
    horizon = _add_months(today, RENEWAL_HORIZON_MONTHS)
    return Convention.objects.visible_to(scope).aggregate(
        to_sign=Count("pk", filter=Q(status=Status.NEGOTIATION)),
        to_activate=Count("pk", filter=Q(status=Status.SIGNED)),
        to_renew=Count("pk", filter=Q(status=Status.ACTIVE, end_date__lte=horizon, successor__isnull=True)),
    )


def renewal_horizon(today=None):
    return _add_months(today or timezone.localdate(), RENEWAL_HORIZON_MONTHS)


def actions_logged_this_month(scope, today=None):
    """Actions of the scope entered since the first of this month by a member of the organisation."""
    if scope.organisation_id is None or scope.is_partner:
        return 0
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    month_start = datetime.datetime(today.year, today.month, 1, tzinfo=tz)
    members = Membership.objects.filter(organisation_id=scope.organisation_id).values("user_id")
    return Action.objects.visible_to(scope).filter(created_at__gte=month_start, logged_by__in=members).count()


def companies_without_convention(scope):
    """Companies of the scope with no convention in force among the conventions this person may see:
    the same rule as the companies list's filter "Convention en vigueur : non", so the link finds them all."""
    if scope.is_company or scope.is_partner:
        return 0
    Convention = _model("conventions.Convention")
    in_force = Convention.companies.through.objects.filter(
        convention__in=Convention.objects.visible_to(scope).values("pk"), convention__status=Convention.Status.ACTIVE
    ).values("company_id")
    return Company.objects.visible_to(scope).exclude(pk__in=in_force).count()


# --- key figures of a year ---------------------------------------------------------------------------


def conventions_in_force(scope, year):
    """Conventions in force during the year: active now, or expired since, with dates covering the year."""
    Convention = _model("conventions.Convention")
    return (
        Convention.objects.visible_to(scope)
        .filter(status__in=[Convention.Status.ACTIVE, Convention.Status.EXPIRED])
        .filter(start_date__year__lte=year, end_date__year__gte=year)
        .count()
    )


def _compiled_scope(scope):
    """(scope type, keys) of the compiled rows that hold exactly the actions of `action_base(scope)`, or None.

    National: every action, the national row. A préfecture, or a partner attached to départements: the actions
    of those départements, the sum of their département rows (an action belongs to one département). Clubs and
    companies see the actions they logged or took part in, which no compiled scope holds, and a partner attached
    to an EPCI the actions reaching its QPV, which several QPV rows would count twice: those are counted."""
    if scope.is_national:
        return "national", [""]
    if scope.is_prefecture:
        return "departement", list(Departement.objects.filter(pk__in=scope.departement_ids).values_list("code", flat=True))
    if scope.is_partner and not scope.below_departement:
        return "departement", list(Departement.objects.visible_to(scope).values_list("code", flat=True))
    return None


def published_action_figures(scope, year):
    """{family id or None (all families): {actions, beneficiaries, beneficiaries_qpv}} from the published compile
    of the year, with the time it finished, or (None, None) when there is none or its scope differs.

    The compile counts the actions of the year (by start date), their beneficiaries and QPV residents per scope
    and family with the dashboard's definitions (docs/methodologie.md §5): reading its rows replaces summing the
    year's 500,000 actions on every national dashboard (0.5 s on the national benchmark). Its figures are those
    of the compile: an action logged since enters at the next one, as in the reports."""
    compiled_scope = _compiled_scope(scope)
    if compiled_scope is None:
        return None, None
    scope_type, keys = compiled_scope
    EvaluationRun = _model("evaluation.EvaluationRun")
    AnnualResult = _model("evaluation.AnnualResult")
    run = (
        EvaluationRun.objects.filter(pk__in=EvaluationRun.objects.published_ids(), year=year).values("pk", "finished_at").first()
    )
    if run is None or not keys:
        return None, None
    rows = (
        AnnualResult.objects.filter(run_id=run["pk"], year=year, scope_type=scope_type, scope_key__in=keys)
        .filter(indicator_id__isnull=True)
        .values("family_id")
        .annotate(
            actions=Sum("actions_count", default=0),
            beneficiaries=Sum("beneficiaries", default=0),
            beneficiaries_qpv=Sum("beneficiaries_qpv", default=0),
        )
        .order_by()
    )
    figures = {row.pop("family_id"): row for row in rows}
    figures.setdefault(None, {"actions": 0, "beneficiaries": 0, "beneficiaries_qpv": 0})
    return figures, run["finished_at"]


def action_totals(scope, year, published=None):
    """The year's actions, beneficiaries and QPV residents; `published` (from `published_action_figures`) when the
    compile holds them."""
    if published is not None:
        totals = dict(published[None])
    else:
        totals = (
            action_base(scope)
            .filter(start_date__year=year)
            .aggregate(
                actions=Count("pk"),
                beneficiaries=Sum("beneficiaries_total", default=0),
                beneficiaries_qpv=Sum("beneficiaries_qpv", default=0),
            )
        )
    totals["qpv_share"] = share(totals["beneficiaries_qpv"], totals["beneficiaries"])
    return totals


def by_family(scope, year, published=None):
    """One row per active family (families without actions included, with zeros), in catalogue order."""
    if published is not None:
        rows = {family: row for family, row in published.items() if family is not None and row["actions"]}
    else:
        rows = {
            row["action_type__family"]: row
            for row in action_base(scope)
            .filter(start_date__year=year)
            .values("action_type__family")
            .annotate(
                actions=Count("pk"),
                beneficiaries=Sum("beneficiaries_total", default=0),
                beneficiaries_qpv=Sum("beneficiaries_qpv", default=0),
            )
            .order_by()
        }
    result = []
    for family in Family.objects.filter(Q(is_active=True) | Q(pk__in=list(rows))):
        row = rows.get(family.pk, {})
        beneficiaries = row.get("beneficiaries", 0)
        beneficiaries_qpv = row.get("beneficiaries_qpv", 0)
        result.append(
            {
                "family": family,
                "actions": row.get("actions", 0),
                "beneficiaries": beneficiaries,
                "beneficiaries_qpv": beneficiaries_qpv,
                "qpv_share": share(beneficiaries_qpv, beneficiaries),
            }
        )
    return result


def territory(scope):
    """A partner's (or anyone's) territory: its départements and the QPV of both generations in them."""
    QPV = _model("territoires.QPV")
    qpv_figures = QPV.objects.visible_to(scope).aggregate(
        qpv_2015=Count("pk", filter=Q(generation=QPV.Generation.G2015)),
        qpv_2024=Count("pk", filter=Q(generation=QPV.Generation.G2024)),
        population_2015=Sum("population", filter=Q(generation=QPV.Generation.G2015), default=0),
    )
    EPCI = _model("territoires.EPCI")
    epcis = list(EPCI.objects.filter(pk__in=scope.epci_ids)) if scope.below_departement else []
    communes = list(_model("territoires.Commune").objects.filter(pk__in=scope.commune_ids)) if scope.below_departement else []
    return {"departements": list(Departement.objects.visible_to(scope)), "epcis": epcis, "communes": communes, **qpv_figures}


def company_conventions(scope, limit=10):
    """A company's own conventions, most recent first (one query, whatever their number)."""
    return list(Convention.objects.visible_to(scope).select_related("departement").order_by("-start_date", "reference")[:limit])


# --- annual campaigns ----------------------------------------------------------------------------------


def declarations_to_handle(scope, today=None, limit=5):
    """Validators (national, préfecture, club): how many declarations wait for their validation. A company:
    its declarations still to fill or correct in a campaign it may write in (open, or reopened after the
    close), the first few of them to link directly. Two queries at most, whatever the number of rows."""
    if scope.kind is None or scope.is_partner:
        return None
    Declaration = _model("evaluation.Declaration")
    visible = Declaration.objects.visible_to(scope)
    if not scope.is_company:
        return {"to_validate": visible.filter(status=Declaration.Status.SUBMITTED).count()}
    today = today or timezone.localdate()
    to_fill = visible.filter(
        Q(campaign__closes_on__gte=today) | Q(reopened_at__isnull=False),
        campaign__opens_on__lte=today,
        status__in=[Declaration.Status.DRAFT, Declaration.Status.RETURNED],
    )
    rows = list(to_fill.select_related("campaign", "convention").order_by("campaign__closes_on", "convention__reference")[:limit])
    return {"to_fill": rows, "to_fill_count": to_fill.count() if len(rows) == limit else len(rows)}
