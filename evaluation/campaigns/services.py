"""The annual cycle as atomic services (DOMAIN.md §5).

    draft ──submit──> submitted ──validate──> validated
      ^                  │
      │               return (comment)
      │                  v
      └── (save) ── returned ──submit──> submitted ...

    After the close date a declaration is locked (no save, no submit, no return); a préfecture or the
    national level may reopen it with a reason: it goes back to draft (or stays returned) until it is
    validated again.

Each function runs in one transaction on the declaration re-read with `select_for_update()`; a refusal
raises `ValidationError` (French message, nothing written) or `PermissionDenied`. Every write bumps
`Declaration.version`: the page sends the version it displayed and `save_draft` refuses a stale one with
`ConcurrentEditError`, so the second person keeps their input instead of silently overwriting the first.
History rows (django-simple-history) record the acting user even outside a request (`_history_user`).

Which conventions are expected to report for year N (`expected_conventions`): the rule is
`Convention.objects.expected_to_report(year)` (conventions/models.py) within the campaign's coverage; the
evaluation engine uses the same rule across the year's campaigns (`Campaign.objects.expected_conventions`).
"""

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.utils import bulk_create_with_history

from charte.catalogue.models import Indicator
from charte.comptes.models import OrganisationKind
from conventions.models import Convention

from ..models import Campaign, Declaration, DeclarationValue, Evidence
from . import computed, evidence, lines, permissions
from .tasks import notify_declaration_event

logger = logging.getLogger(__name__)

Status = Declaration.Status

MAX_VALUE = Decimal("999999999999.99")


class ConcurrentEditError(ValidationError):
    """Somebody saved the declaration after the page was displayed; nothing was written."""

    def __init__(self, declaration):
        who = declaration.updated_by or "une autre personne"
        when = timezone.localtime(declaration.updated_at)
        message = (
            f"Cette déclaration a été modifiée par {who} le {date_format(when, 'd/m/Y')} à {date_format(when, 'H:i')} "
            "pendant que vous la saisissiez : vos valeurs n'ont pas été enregistrées. Elles restent affichées ; "
            "vérifiez les changements puis enregistrez à nouveau."
        )
        super().__init__(message, code="concurrent_edit")
        self.current_version = declaration.version
        self.modified_by = declaration.updated_by
        self.modified_at = declaration.updated_at


def value_key(commitment_id, indicator_id):
    """The key of one line in the error dictionaries (and the natural name of its form field)."""
    return f"value_{commitment_id}_{indicator_id}"


def _fr_date(date):
    return date_format(date, "d/m/Y")


# --- campaigns ---------------------------------------------------------------------------------------


def expected_conventions(campaign, departement_ids=None):
    """Conventions expected to report for the campaign's year, in its départements unless `departement_ids` is given."""
    if departement_ids is None:
        departement_ids = list(campaign.departements.values_list("pk", flat=True))
    return Convention.objects.expected_to_report(campaign.year, departement_ids)


@transaction.atomic
def open_campaign(organisation, by, year, title, opens_on, reminder_on, closes_on, departements=None):
    """Open the campaign of `year` and create the expected declarations.

    A préfecture opens it for its départements (all of them when `departements` is empty, or some of them);
    the national level for the given départements or, when none is given, for all (national campaign).
    """
    departement_ids = sorted({d if isinstance(d, int) else d.pk for d in departements or []})
    if organisation.kind == OrganisationKind.PREFECTURE:
        own = set(organisation.departements.values_list("pk", flat=True))
        departement_ids = departement_ids or sorted(own)
        if not departement_ids:
            raise ValidationError("Cette préfecture ne couvre aucun département : elle ne peut pas ouvrir de campagne.")
        if not set(departement_ids) <= own:
            raise PermissionDenied("Une préfecture ne peut ouvrir une campagne que pour ses propres départements.")
    elif organisation.kind != OrganisationKind.NATIONAL:
        raise PermissionDenied("Seule une préfecture ou le niveau national peut ouvrir une campagne.")
    if not organisation.is_active:
        raise PermissionDenied("Cette organisation est désactivée.")

    campaign = Campaign(
        organisation=organisation,
        created_by=by,
        year=year,
        title=(title or "").strip() or f"Campagne {year}",
        opens_on=opens_on,
        reminder_on=reminder_on,
        closes_on=closes_on,
    )
    errors = {}
    if opens_on and reminder_on and closes_on and not opens_on <= reminder_on <= closes_on:
        errors["reminder_on"] = "La date de relance doit se situer entre l'ouverture et la clôture de la campagne."
    if opens_on and year and opens_on.year < year:
        errors["opens_on"] = f"Une campagne évaluant l'année {year} ne peut pas ouvrir avant cette année."
    if errors:
        raise ValidationError(errors)
    campaign.full_clean()
    campaign.save()
    campaign.departements.set(departement_ids)
    created = sync_expected_declarations(campaign, by=by)
    logger.info("« %s » ouverte par %s : %s déclaration(s) attendue(s)", campaign, by, created)
    return campaign


@transaction.atomic
def sync_expected_declarations(campaign, by=None):
    """Create the missing declarations of the campaign; returns how many were created.

    Idempotent: a (convention, company, year) that already has a declaration (in this campaign or in an
    overlapping one of the same year) is left alone. The campaign row is locked so that two runs for the
    same campaign do not race.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    conventions = expected_conventions(campaign)
    pairs = set(
        Convention.companies.through.objects.filter(convention__in=conventions.values("pk")).values_list(
            "convention_id", "company_id"
        )
    )
    existing = set(Declaration.objects.filter(year=campaign.year).values_list("convention_id", "company_id"))
    missing = sorted(pairs - existing)
    declarations = [
        Declaration(campaign=campaign, convention_id=convention_id, company_id=company_id, year=campaign.year)
        for convention_id, company_id in missing
    ]
    if declarations:
        bulk_create_with_history(declarations, Declaration, default_user=by)
    return len(declarations)


# --- declarations: reading -------------------------------------------------------------------------------


def expected_lines(declaration):
    """The lines of the declaration page (see `evaluation.campaigns.lines.Line`)."""
    return lines.declaration_lines(declaration)


def computed_values(declaration):
    """{(commitment_id, indicator_id): Decimal} computed from the company's logged actions of the year."""
    return computed.computed_values(declaration, lines.commitment_indicators(declaration.convention))


def can_be_edited(declaration, today=None):
    """Whether the company may still change the declaration today (for the page's read-only mode)."""
    today = today or timezone.localdate()
    return declaration.is_editable_status and today >= declaration.campaign.opens_on and not declaration.is_locked(today)


# --- declarations: writing -------------------------------------------------------------------------------


def _lock(declaration):
    return Declaration.objects.select_for_update(of=("self",)).select_related("campaign", "convention").get(pk=declaration.pk)


def _save(locked, declaration, by, fields):
    """Write a step on the locked row, bump the version, and mirror it on the caller's instance."""
    locked.version += 1
    locked.updated_by = by
    locked._history_user = by
    fields = [*fields, "version", "updated_by", "updated_at"]
    locked.save(update_fields=fields)
    for field in fields:
        setattr(declaration, field, getattr(locked, field))
    return locked


def _check_version(locked, expected_version):
    if expected_version is not None and int(expected_version) != locked.version:
        raise ConcurrentEditError(locked)


def _check_editable(locked, today):
    """Refusals shared by every change the company makes (values, evidence, submission). The spreadsheet import
    of declared values asks the same question per row (`edit_refusal`)."""
    if locked.status == Status.SUBMITTED:
        raise ValidationError(
            f"Cette déclaration a été transmise le {_fr_date(timezone.localtime(locked.submitted_at))} : elle n'est "
            "plus modifiable, sauf si elle vous est renvoyée pour correction.",
            code="submitted",
        )
    if locked.status == Status.VALIDATED:
        raise ValidationError("Cette déclaration a été validée : elle n'est plus modifiable.", code="validated")
    campaign = locked.campaign
    if today < campaign.opens_on:
        raise ValidationError(
            f"La campagne ouvre le {_fr_date(campaign.opens_on)} : la déclaration ne peut pas encore être saisie.",
            code="not_open",
        )
    if locked.is_locked(today):
        raise ValidationError(
            f"La campagne est close depuis le {_fr_date(campaign.closes_on)} : la déclaration est verrouillée. "
            "Seule la préfecture peut la rouvrir.",
            code="closed",
        )


def edit_refusal(declaration, today):
    """The French reason why the company may not change this declaration today, or None. `declaration` needs
    its campaign loaded."""
    try:
        _check_editable(declaration, today)
    except ValidationError as error:
        return error.messages[0]
    return None


def _check_company(scope, locked):
    if scope is not None and not permissions.can_edit_declaration(scope, locked):
        raise PermissionDenied("Seule l'entreprise concernée peut remplir sa déclaration.")


def parse_value(raw):
    """None for an empty field; a non-negative Decimal with two decimals at most; ValueError (French) otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float):
        raw = str(raw)
    try:
        value = (
            Decimal(raw.strip().replace("\u202f", "").replace(" ", "").replace(",", "."))
            if isinstance(raw, str)
            else Decimal(raw)
        )
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError("Saisissez un nombre.") from None
    if not value.is_finite():
        raise ValueError("Saisissez un nombre.")
    if value < 0:
        raise ValueError("La valeur ne peut pas être négative.")
    if value > MAX_VALUE:
        raise ValueError("La valeur est trop grande.")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("Deux décimales au plus.")
    return value.quantize(Decimal("0.01"))


def _ratio_terms():
    """[(numerator indicator, denominator indicator)] of the catalogue's ratios (PART_BENEFICIAIRES_QPV: QPV
    residents / beneficiaries)."""
    return [
        (ratio.numerator, ratio.denominator)
        for ratio in Indicator.objects.filter(aggregation=Indicator.Aggregation.RATIO).select_related("numerator", "denominator")
    ]


def _number(value):
    return f"{value.normalize():f}".replace(".", ",")


def inconsistent_terms(values):
    """{field: French message} for the lines whose part exceeds its whole on one commitment (more QPV residents
    than beneficiaries): a declared share over 100 % would follow (methodology §7). `values`:
    {(commitment_id, indicator_id): Decimal or None}, the declaration's values once the change is applied."""
    errors = {}
    for numerator, denominator in _ratio_terms():
        for (commitment_id, indicator_id), part in values.items():
            if indicator_id != numerator.pk or part is None:
                continue
            whole = values.get((commitment_id, denominator.pk))
            if whole is not None and part > whole:
                errors[value_key(commitment_id, numerator.pk)] = (
                    f"« {numerator.label} » ({_number(part)}) ne peut pas dépasser « {denominator.label} » "
                    f"({_number(whole)}) pour le même engagement."
                )
    return errors


@transaction.atomic
def save_draft(declaration, by, values, expected_version, *, scope=None, today=None):
    """Save values {(commitment_id, indicator_id): (value, comment)}; keys absent from `values` are untouched.

    Refused: a stale `expected_version` (ConcurrentEditError), a submitted or validated declaration, a
    campaign not yet open or closed (unless reopened), a line that is not part of the declaration, an
    invalid value (errors keyed by `value_key`). Returns the number of lines changed.
    """
    today = today or timezone.localdate()
    locked = _lock(declaration)
    _check_company(scope, locked)
    _check_version(locked, expected_version)
    _check_editable(locked, today)

    allowed = {(c.pk, i.pk): i for c, indicators in lines.commitment_indicators(locked.convention) for i in indicators}
    existing = {(v.commitment_id, v.indicator_id): v for v in locked.values.all()}
    errors = {}
    changes = []
    for key, entry in values.items():
        commitment_id, indicator_id = int(key[0]), int(key[1])
        raw, comment = entry if isinstance(entry, tuple | list) else (entry, None)
        field = value_key(commitment_id, indicator_id)
        if (commitment_id, indicator_id) not in allowed:
            errors[field] = "Cet indicateur ne fait pas partie des engagements de cette convention."
            continue
        try:
            value = parse_value(raw)
        except ValueError as error:
            errors[field] = str(error)
            continue
        current = existing.get((commitment_id, indicator_id))
        comment = (comment or "").strip() if comment is not None else (current.comment if current else "")
        if current is None:
            if value is None and not comment:
                continue
            current = DeclarationValue(declaration=locked, commitment_id=commitment_id, indicator_id=indicator_id)
        elif current.value == value and current.comment == comment:
            continue
        current.value = value
        current.comment = comment
        changes.append(current)
    if not errors:
        final = {key: v.value for key, v in existing.items()}
        final.update({(v.commitment_id, v.indicator_id): v.value for v in changes})
        errors = inconsistent_terms(final)
    if errors:
        raise ValidationError(errors)
    for value in changes:
        value._history_user = by
        value.save()
    if changes:
        _save(locked, declaration, by, [])
    return len(changes)


def _missing_for_submission(locked):
    """Labels of the lines that must be filled before submitting: every indicator with a target for N."""
    pairs = lines.commitment_indicators(locked.convention)
    filled = {(v.commitment_id, v.indicator_id) for v in locked.values.all() if v.value is not None}
    missing = []
    for commitment, indicators in pairs:
        targeted = {t.indicator_id for t in commitment.targets.all() if t.year == locked.year}
        missing += [
            f"{commitment} : {indicator.label}"
            for indicator in indicators
            if indicator.pk in targeted and (commitment.pk, indicator.pk) not in filled
        ]
    return missing, bool(filled)


@transaction.atomic
def submit(declaration, by, *, scope=None, expected_version=None, today=None):
    """Send the declaration for validation. Every indicator with a target for the year needs a value (0 if
    nothing was done); a declaration without any target needs at least one value."""
    today = today or timezone.localdate()
    locked = _lock(declaration)
    _check_company(scope, locked)
    _check_version(locked, expected_version)
    _check_editable(locked, today)
    # Values saved before the rule existed are checked again before they reach the figures.
    inconsistent = inconsistent_terms({(v.commitment_id, v.indicator_id): v.value for v in locked.values.all()})
    if inconsistent:
        raise ValidationError(inconsistent)
    missing, any_value = _missing_for_submission(locked)
    if missing:
        raise ValidationError(
            "Renseignez une valeur (0 si rien n'a été réalisé) pour chaque indicateur ayant un objectif "
            f"en {locked.year} avant de transmettre : " + " ; ".join(missing) + ".",
            code="incomplete",
        )
    if not any_value:
        raise ValidationError("Renseignez au moins une valeur avant de transmettre la déclaration.", code="empty")
    locked.status = Status.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.submitted_by = by
    _save(locked, declaration, by, ["status", "submitted_at", "submitted_by"])
    _enqueue(locked.pk, "submitted")
    return locked


def _enqueue(declaration_id, event):
    # robust: a broker outage must not turn a committed validation into an error page; the job is logged.
    transaction.on_commit(lambda: notify_declaration_event.delay(declaration_id, event), robust=True)


@transaction.atomic
def validate(declaration, by, scope, *, today=None):
    locked = _lock(declaration)
    if not permissions.can_validate_declaration(scope, locked):
        raise PermissionDenied("Vous ne pouvez pas valider cette déclaration : elle ne relève pas de votre club ou territoire.")
    if locked.status != Status.SUBMITTED:
        raise ValidationError(
            f"Seule une déclaration transmise peut être validée (celle-ci est « {locked.get_status_display().lower()} »).",
            code="not_submitted",
        )
    locked.status = Status.VALIDATED
    locked.validated_at = timezone.now()
    locked.validated_by = by
    # A reopening lasts until the next validation: the declaration is locked again afterwards.
    locked.reopened_at = None
    locked.reopened_by = None
    locked.reopen_reason = ""
    _save(locked, declaration, by, ["status", "validated_at", "validated_by", "reopened_at", "reopened_by", "reopen_reason"])
    _enqueue(locked.pk, "validated")
    return locked


@transaction.atomic
def return_declaration(declaration, by, scope, comment, *, today=None):
    today = today or timezone.localdate()
    comment = (comment or "").strip()
    locked = _lock(declaration)
    if not permissions.can_validate_declaration(scope, locked):
        raise PermissionDenied("Vous ne pouvez pas renvoyer cette déclaration : elle ne relève pas de votre club ou territoire.")
    if not comment:
        raise ValidationError({"comment": "Indiquez à l'entreprise ce qu'elle doit corriger."}, code="no_comment")
    if locked.status != Status.SUBMITTED:
        raise ValidationError(
            f"Seule une déclaration transmise peut être renvoyée (celle-ci est « {locked.get_status_display().lower()} »).",
            code="not_submitted",
        )
    fields = ["status", "returned_at", "returned_by", "return_comment"]
    if locked.is_locked(today):
        # After the close the company could not correct a returned declaration: returning it then reopens it,
        # which only those who may reopen do (the préfecture, the national level), the comment being the reason.
        if not permissions.can_reopen_declaration(scope, locked):
            raise ValidationError(
                f"La campagne est close depuis le {_fr_date(locked.campaign.closes_on)} : l'entreprise ne pourrait plus "
                "corriger. La préfecture doit d'abord rouvrir la déclaration.",
                code="closed",
            )
        locked.reopened_at = timezone.now()
        locked.reopened_by = by
        locked.reopen_reason = f"Renvoyée pour correction après la clôture : {comment}"
        fields += ["reopened_at", "reopened_by", "reopen_reason"]
    locked.status = Status.RETURNED
    locked.returned_at = timezone.now()
    locked.returned_by = by
    locked.return_comment = comment
    _save(locked, declaration, by, fields)
    _enqueue(locked.pk, "returned")
    return locked


@transaction.atomic
def reopen(declaration, by, scope, reason, *, today=None):
    """After the close, let the company change its declaration again (back to draft, or still returned)."""
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    locked = _lock(declaration)
    if not permissions.can_reopen_declaration(scope, locked):
        raise PermissionDenied("Seule la préfecture du département ou le niveau national peut rouvrir une déclaration.")
    if not reason:
        raise ValidationError({"reason": "Une réouverture doit être motivée."}, code="no_reason")
    if not locked.campaign.is_closed(today):
        raise ValidationError(
            f"La campagne court jusqu'au {_fr_date(locked.campaign.closes_on)} : la déclaration n'est pas verrouillée.",
            code="not_closed",
        )
    if locked.status != Status.RETURNED:
        locked.status = Status.DRAFT
    locked.reopened_at = timezone.now()
    locked.reopened_by = by
    locked.reopen_reason = reason
    return _save(locked, declaration, by, ["status", "reopened_at", "reopened_by", "reopen_reason"])


# --- evidence ------------------------------------------------------------------------------------------


@transaction.atomic
def add_evidence(declaration, by, uploaded_file, *, scope=None, today=None):
    """Attach a supporting file after checking its extension, its first bytes and its size."""
    today = today or timezone.localdate()
    locked = _lock(declaration)
    _check_company(scope, locked)
    _check_editable(locked, today)
    if locked.evidence_files.count() >= evidence.MAX_FILES:
        raise ValidationError(
            {"file": f"Une déclaration porte au plus {evidence.MAX_FILES} justificatifs."}, code="too_many_files"
        )
    content_type = evidence.check_file(uploaded_file)
    item = Evidence(
        declaration=locked,
        original_name=evidence.display_name(uploaded_file.name),
        content_type=content_type,
        size=uploaded_file.size,
        uploaded_by=by,
    )
    item.file.save(evidence.storage_name(uploaded_file.name), uploaded_file, save=False)
    try:
        item.save()
    except Exception:
        # No row, no file: a failed insert must not leave an orphan file in the storage.
        item.file.storage.delete(item.file.name)
        raise
    return item


@transaction.atomic
def delete_evidence(item, by, *, scope=None, today=None):
    today = today or timezone.localdate()
    locked = _lock(item.declaration)
    _check_company(scope, locked)
    _check_editable(locked, today)
    storage, name = item.file.storage, item.file.name
    Evidence.objects.filter(pk=item.pk, declaration=locked).delete()
    transaction.on_commit(lambda: storage.delete(name))
    logger.info("Justificatif %s supprimé de la déclaration %s par %s", name, locked.pk, by)


# --- completeness --------------------------------------------------------------------------------------


@dataclass
class CompletenessRow:
    pk: int | None
    name: str
    expected: int
    draft: int
    submitted: int
    validated: int
    returned: int
    missing: int


COUNTED = ("expected", "draft", "submitted", "validated", "returned", "missing")


def completeness(campaign, scope):
    """Counts of the campaign's declarations visible in `scope`: total, by club and by company.

    The statuses partition `expected`: `missing` is a draft with no value entered yet, `draft` one with at
    least one value; `submitted`, `validated`, `returned` follow the status. By club: the convention's
    animating club (« Sans club animateur » when none). Three aggregate queries.
    """
    has_value = Exists(DeclarationValue.objects.filter(declaration=OuterRef("pk"), value__isnull=False))
    counts = {
        "expected": Count("pk"),
        "draft": Count("pk", filter=Q(has_value, status=Status.DRAFT)),
        "missing": Count("pk", filter=Q(~has_value, status=Status.DRAFT)),
        "submitted": Count("pk", filter=Q(status=Status.SUBMITTED)),
        "validated": Count("pk", filter=Q(status=Status.VALIDATED)),
        "returned": Count("pk", filter=Q(status=Status.RETURNED)),
    }
    qs = Declaration.objects.visible_to(scope).filter(campaign=campaign).order_by()
    total = qs.aggregate(**counts)
    by_club = [
        CompletenessRow(
            pk=row["convention__club_id"],
            name=row["convention__club__name"] or "Sans club animateur",
            **{k: row[k] for k in COUNTED},
        )
        for row in qs.values("convention__club_id", "convention__club__name")
        .annotate(**counts)
        .order_by(F("convention__club__name").asc(nulls_last=True))
    ]
    by_company = [
        CompletenessRow(pk=row["company_id"], name=row["company__name"], **{k: row[k] for k in COUNTED})
        for row in qs.values("company_id", "company__name").annotate(**counts).order_by("company__name")
    ]
    return {"total": CompletenessRow(pk=None, name="Total", **total), "by_club": by_club, "by_company": by_company}
