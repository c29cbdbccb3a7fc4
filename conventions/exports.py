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
    return Action.objects.visible_to(scope).annotate(
        visible_convention_id=visible_fk("convention_id", Convention.objects.visible_to(scope).values("pk"))
    )


# The cells of an action read by the export, in one query per chunk of rows: tuples, no model instances (building
# six model instances per row, with the select_related rows, cost more than the query itself at 2 million rows).
ACTION_FIELDS = (
    "pk",
    "start_date",
    "end_date",
    "action_type__label",
    "action_type__family__label",
    "title",
    "departement__code",
    "convention_id",
    "visible_convention_id",
    "convention__reference",
    "beneficiaries_total",
    "beneficiaries_women",
    "beneficiaries_under_26",
    "beneficiaries_qpv",
    "employees_involved",
    "hours",
    "club__name",
    "logged_by__first_name",
    "logged_by__last_name",
    "logged_by__email",
    "created_at",
)


def _chunks(rows, size):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _grouped(pairs):
    grouped = {}
    for key, *value in pairs:
        grouped.setdefault(key, []).append(value[0] if len(value) == 1 else value)
    return grouped


def _related(scope, ids):
    """The companies (name, SIREN, visible to the reader or not), QPV codes and partners of a chunk of actions,
    by action id, in the order the pages show them; three queries per chunk."""
    Through = Action.companies.through
    visible = Company.objects.visible_to(scope).filter(pk=OuterRef("company_id"))
    companies = _grouped(
        Through.objects.filter(action_id__in=ids)
        .annotate(is_visible=Exists(visible))
        .order_by("action_id", "company__name", "company_id")
        .values_list("action_id", "company__name", "company__siren", "is_visible")
    )
    qpvs = _grouped(
        Action.qpvs.through.objects.filter(action_id__in=ids)
        .order_by("action_id", "qpv__code")
        .values_list("action_id", "qpv__code")
    )
    kinds = dict(ActionPartner.Kind.choices)
    partners = _grouped(
        (action_id, f"{name} ({kinds.get(kind, kind)})")
        for action_id, name, kind in ActionPartner.objects.filter(action_id__in=ids)
        .order_by("action_id", "pk")
        .values_list("action_id", "name", "kind")
    )
    return companies, qpvs, partners


def action_rows(queryset, scope):
    zone = timezone.get_current_timezone()
    rows = queryset.prefetch_related(None).values_list(*ACTION_FIELDS).iterator(chunk_size=EXPORT_CHUNK_SIZE)
    for chunk in _chunks(rows, EXPORT_CHUNK_SIZE):
        companies, qpvs, partners = _related(scope, [row[0] for row in chunk])
        for (
            pk, start, end, type_label, family_label, title, departement_code, convention_id, visible_convention_id,
            convention_reference, total, women, under_26, qpv, employees, hours, club_name, first_name, last_name,
            email, created_at,
        ) in chunk:  # fmt: skip
            linked = companies.get(pk, [])
            shown = [(name, siren) for name, siren, is_visible in linked if is_visible]
            others = others_label(len(linked) - len(shown))
            if not convention_id:
                convention = ""
            else:
                convention = convention_reference if visible_convention_id else NOT_VISIBLE
            yield [
                pk,
                _fr_date(start),
                _fr_date(end),
                type_label,
                family_label,
                title,
                ", ".join([*(name for name, _ in shown), *([others] if others else [])]),
                ", ".join(siren for _, siren in shown),
                ", ".join(qpvs.get(pk, [])),
                departement_code,
                convention,
                total,
                women,
                under_26,
                qpv,
                employees,
                str(hours).replace(".", ","),
                ", ".join(partners.get(pk, [])),
                club_name or "",
                (f"{first_name} {last_name}".strip() or email) if email else "",
                created_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            ]


def action_export(scope, data):
    """The actions export of `scope`, filtered by the list's filters (`data`: a QueryDict, or None)."""
    action_filter = ActionFilter(data or None, queryset=action_queryset(scope), scope=scope)
    return CsvExport("actions", ACTION_COLUMNS, action_filter.qs, lambda queryset: action_rows(queryset, scope))


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
            Prefetch("companies", queryset=Company.objects.only("pk", "name").order_by("name"), to_attr="listed_companies")
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
            ", ".join(company.name for company in c.listed_companies),
            c.parent.reference if c.parent_id else "",
            c.framework.reference if c.framework_id else "",
        ]


def convention_export(scope, data):
    return CsvExport("conventions", CONVENTION_COLUMNS, convention_queryset(scope, data).qs, convention_rows)
