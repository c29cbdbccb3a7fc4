"""The CSV exports of the actions and conventions lists: the filtered rows of a scope and their row builders.

The list views stream them (`charte.web.csv_export_response`); an export job (evaluation.exports) writes the
same rows to a file, with the scope rebuilt from the requester's membership at run time. At national scale
(2 million actions) the per-row cost is what counts: prefetched relations are read from plain lists
(`Prefetch(..., to_attr=...)`), never through `.all()`, which builds a new queryset per row and per relation.
"""

from types import SimpleNamespace

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from charte.api.base import visible_fk
from charte.territoires.models import QPV
from charte.web import EXPORT_CHUNK_SIZE, CsvExport
from entreprises.models import Company

from .action_filters import ActionFilter
from .filters import ConventionFilter
from .imports.actions import COLUMNS as ACTION_COLUMNS
from .imports.actions import NOT_VISIBLE
from .models import Action, ActionPartner, Convention


def companies_with_visibility(scope):
    """The companies of an action, each marked with whether the reader may see it (the API's rule, issue 10)."""
    visible_companies = Company.objects.visible_to(scope).filter(pk=OuterRef("pk"))
    return Company.objects.only("pk", "name", "siren").annotate(is_visible=Exists(visible_companies)).order_by("name")


def _fr_date(day):
    return day.strftime("%d/%m/%Y") if day else ""


def others_label(count):
    """« 2 autres entreprises »: the companies of an action that the reader may not see, counted, not named."""
    if not count:
        return ""
    return "1 autre entreprise" if count == 1 else f"{count} autres entreprises"


def action_queryset(scope):
    return (
        Action.objects.visible_to(scope)
        .select_related("action_type__family", "departement", "convention", "club", "logged_by")
        .annotate(visible_convention_id=visible_fk("convention_id", Convention.objects.visible_to(scope).values("pk")))
        .prefetch_related(
            Prefetch("companies", queryset=companies_with_visibility(scope), to_attr="export_companies"),
            Prefetch("qpvs", queryset=QPV.objects.only("pk", "code").order_by("code"), to_attr="export_qpvs"),
            Prefetch("partners", queryset=ActionPartner.objects.order_by("pk"), to_attr="export_partners"),
        )
    )


def action_rows(queryset):
    kinds = dict(ActionPartner.Kind.choices)
    zone = timezone.get_current_timezone()
    for action in queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        companies = action.export_companies
        shown = [c for c in companies if c.is_visible]
        others = others_label(len(companies) - len(shown))
        if not action.convention_id:
            convention = ""
        else:
            convention = action.convention.reference if action.visible_convention_id else NOT_VISIBLE
        yield [
            action.pk,
            _fr_date(action.start_date),
            _fr_date(action.end_date),
            action.action_type.label,
            action.action_type.family.label,
            action.title,
            ", ".join([*(c.name for c in shown), *([others] if others else [])]),
            ", ".join(c.siren for c in shown),
            ", ".join(q.code for q in action.export_qpvs),
            action.departement.code,
            convention,
            action.beneficiaries_total,
            action.beneficiaries_women,
            action.beneficiaries_under_26,
            action.beneficiaries_qpv,
            action.employees_involved,
            str(action.hours).replace(".", ","),
            ", ".join(f"{p.name} ({kinds.get(p.kind, p.kind)})" for p in action.export_partners),
            action.club.name if action.club_id else "",
            str(action.logged_by) if action.logged_by_id else "",
            action.created_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
        ]


def action_export(scope, data):
    """The actions export of `scope`, filtered by the list's filters (`data`: a QueryDict, or None)."""
    action_filter = ActionFilter(data or None, queryset=action_queryset(scope), scope=scope)
    return CsvExport("actions", ACTION_COLUMNS, action_filter.qs, action_rows)


CONVENTION_COLUMNS = [
    "Référence",
    "Intitulé",
    "Type",
    "Statut",
    "Génération",
    "Date de début",
    "Date de fin",
    "Département",
    "Club animateur",
    "Entreprises",
    "Convention nationale déclinée",
    "Charte-cadre",
]


def convention_queryset(scope, data):
    queryset = (
        Convention.objects.visible_to(scope)
        .select_related("departement", "club", "parent", "framework")
        .prefetch_related(
            Prefetch("companies", queryset=Company.objects.only("pk", "name").order_by("name"), to_attr="export_companies")
        )
    )
    # The filters take their choices from `request.scope`: a job has no request, only the requester's scope.
    return ConventionFilter(data or None, queryset=queryset, request=SimpleNamespace(scope=scope))


def convention_rows(queryset):
    kinds, statuses = dict(Convention.Kind.choices), dict(Convention.Status.choices)
    for c in queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield [
            c.reference,
            c.title,
            kinds.get(c.kind, c.kind),
            statuses.get(c.status, c.status),
            c.generation,
            c.start_date.isoformat(),
            c.end_date.isoformat(),
            c.departement.code if c.departement_id else "",
            c.club.name if c.club_id else "",
            ", ".join(company.name for company in c.export_companies),
            c.parent.reference if c.parent_id else "",
            c.framework.reference if c.framework_id else "",
        ]


def convention_export(scope, data):
    return CsvExport("conventions", CONVENTION_COLUMNS, convention_queryset(scope, data).qs, convention_rows)
