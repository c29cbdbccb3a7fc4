"""The lifecycle of a convention: every change of status goes through these functions.

    draft -> negotiation -> signed -> active -> expired
      ^          |            |         |
      +----------+            |         +----> terminated (also from draft, negotiation, signed)
                              +--------------> terminated

Each function runs in one transaction and re-reads the convention with `select_for_update()`, so two
people acting at once cannot both move it (the second one sees the new status and is refused). A refused
operation raises `ValidationError` with a French message and writes nothing.

Permissions (who may sign, terminate...) are checked by the callers (views, API); `by` is the user acting,
recorded in the log and, for a renewal, as the creator of the new convention.
"""

import datetime
import logging
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from charte.concurrency import lock_and_check, next_version

from .models import Commitment, Convention, ConventionDocument, Signatory, Target

logger = logging.getLogger(__name__)

Status = Convention.Status

# The one table of allowed status changes: current status -> statuses it may move to.
TRANSITIONS = {
    Status.DRAFT: {Status.NEGOTIATION, Status.TERMINATED},
    Status.NEGOTIATION: {Status.DRAFT, Status.SIGNED, Status.TERMINATED},
    Status.SIGNED: {Status.ACTIVE, Status.TERMINATED},
    Status.ACTIVE: {Status.EXPIRED, Status.TERMINATED},
    Status.EXPIRED: set(),
    Status.TERMINATED: set(),
}

# Renewal does not change the convention's status (an active one runs to its end): it creates a successor.
# Only a convention that has really run can be renewed; a signed one not yet active has nothing to renew.
RENEWABLE_STATUSES = {Status.ACTIVE, Status.EXPIRED}

# "Une convention <phrase> ne peut pas être <participle>..."
STATUS_PHRASES = {
    Status.DRAFT: "en brouillon",
    Status.NEGOTIATION: "en négociation",
    Status.SIGNED: "signée",
    Status.ACTIVE: "en vigueur",
    Status.EXPIRED: "échue",
    Status.TERMINATED: "résiliée",
}
PARTICIPLES = {
    Status.DRAFT: "remise en brouillon",
    Status.NEGOTIATION: "mise en négociation",
    Status.SIGNED: "signée",
    Status.ACTIVE: "activée",
    Status.EXPIRED: "déclarée échue",
    Status.TERMINATED: "résiliée",
}
RENEWAL_PARTICIPLE = "renouvelée"
MAIN_PATH = [Status.DRAFT, Status.NEGOTIATION, Status.SIGNED, Status.ACTIVE, Status.EXPIRED]


def _sources_of(target):
    return [status for status, targets in TRANSITIONS.items() if target in targets]


def _refusal_message(status, participle, allowed_sources, same_as_target=False):
    """The sentence shown when `status` forbids an operation; the hint says what would allow it."""
    if same_as_target:
        hint = "elle l'est déjà"
    elif status in MAIN_PATH and all(MAIN_PATH.index(status) < MAIN_PATH.index(s) for s in allowed_sources if s in MAIN_PATH):
        # Too early on the path: name the first step that would allow the operation.
        missing = min((s for s in allowed_sources if s in MAIN_PATH), key=MAIN_PATH.index)
        hint = f"elle doit d'abord être {PARTICIPLES[missing]}"
    elif not TRANSITIONS[status] and participle != RENEWAL_PARTICIPLE:
        hint = "une convention close n'évolue plus"
    else:
        phrases = " ou ".join(STATUS_PHRASES[s] for s in allowed_sources)
        hint = f"seule une convention {phrases} peut l'être"
    return f"Une convention {STATUS_PHRASES[status]} ne peut pas être {participle} : {hint}."


def _check_transition(convention, target):
    if target in TRANSITIONS[convention.status]:
        return
    message = _refusal_message(
        Status(convention.status), PARTICIPLES[target], _sources_of(target), same_as_target=convention.status == target
    )
    raise ValidationError(message, code="invalid_transition")


def _lock(convention):
    return Convention.objects.select_for_update().get(pk=convention.pk)


def _set_status(locked, convention, target, *, by, extra_fields=()):
    """Write the new status on the locked row and mirror it on the caller's instance, which would otherwise lie."""
    previous = locked.status
    locked.status = target
    locked.status_changed_at = timezone.now()
    fields = ["status", "status_changed_at", "updated_at", *extra_fields]
    locked.save(update_fields=fields)
    for field in fields:
        setattr(convention, field, getattr(locked, field))
    logger.info("Convention %s : %s -> %s (par %s)", locked.reference, previous, target, by)
    return locked


@transaction.atomic
def submit_for_negotiation(convention, *, by):
    locked = _lock(convention)
    _check_transition(locked, Status.NEGOTIATION)
    return _set_status(locked, convention, Status.NEGOTIATION, by=by)


@transaction.atomic
def back_to_draft(convention, *, by):
    locked = _lock(convention)
    _check_transition(locked, Status.DRAFT)
    return _set_status(locked, convention, Status.DRAFT, by=by)


@transaction.atomic
def sign(convention, *, by, signatories=None, signed_on=None):
    """Sign a convention under negotiation.

    `signatories`: dicts of Signatory fields (role, name, organisation_name, signed_on) created on the
    convention; those without a date take `signed_on`. At least one signatory (new or already recorded)
    must have a signature date, otherwise nothing is written.
    """
    locked = _lock(convention)
    _check_transition(locked, Status.SIGNED)
    today = timezone.localdate()
    if signed_on and signed_on > today:
        raise ValidationError("La date de signature ne peut pas être dans le futur.", code="signed_in_future")
    for data in signatories or []:
        signatory = Signatory(convention=locked, **data)
        if signatory.signed_on is None:
            signatory.signed_on = signed_on
        if signatory.signed_on and signatory.signed_on > today:
            raise ValidationError("La date de signature ne peut pas être dans le futur.", code="signed_in_future")
        signatory.full_clean()
        signatory.save()
    if not locked.signatories.filter(signed_on__isnull=False).exists():
        raise ValidationError(
            "La convention ne peut pas être signée sans au moins un signataire et sa date de signature.",
            code="no_signatory",
        )
    return _set_status(locked, convention, Status.SIGNED, by=by)


@transaction.atomic
def activate(convention, *, by, today=None):
    """Put a signed convention in force; allowed before its start date, refused once its end date is past."""
    today = today or timezone.localdate()
    locked = _lock(convention)
    _check_transition(locked, Status.ACTIVE)
    if locked.end_date < today:
        raise ValidationError(
            f"La convention a pris fin le {locked.end_date:%d/%m/%Y} : elle ne peut plus être activée.",
            code="ended",
        )
    return _set_status(locked, convention, Status.ACTIVE, by=by)


@transaction.atomic
def expire(convention, *, today=None):
    """Close an active convention whose end date is past (no user: the nightly job does it)."""
    today = today or timezone.localdate()
    locked = _lock(convention)
    _check_transition(locked, Status.EXPIRED)
    if locked.end_date >= today:
        raise ValidationError(
            f"La convention court jusqu'au {locked.end_date:%d/%m/%Y} : elle ne peut pas être déclarée échue avant.",
            code="not_ended",
        )
    return _set_status(locked, convention, Status.EXPIRED, by=None)


@transaction.atomic
def terminate(convention, *, by, reason):
    locked = _lock(convention)
    _check_transition(locked, Status.TERMINATED)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"termination_reason": "Une résiliation doit être motivée."}, code="no_reason")
    locked.termination_reason = reason
    return _set_status(locked, convention, Status.TERMINATED, by=by, extra_fields=["termination_reason"])


RENEWAL_SUFFIX = re.compile(r"-R\d+$")


def _renewal_reference(reference):
    """'034-2016-0001' -> '034-2016-0001-R1'; renewing '...-R1' gives '...-R2', not '...-R1-R1'."""
    root = RENEWAL_SUFFIX.sub("", reference)
    max_length = Convention._meta.get_field("reference").max_length
    number = 1
    while True:
        suffix = f"-R{number}"
        candidate = root[: max_length - len(suffix)] + suffix
        if not Convention.objects.filter(reference=candidate).exists():
            return candidate
        number += 1


@transaction.atomic
def renew(convention, *, by, start_date, end_date):
    """Create the successor of an active or expired convention, as a draft to negotiate.

    Copied: kind, département, club, companies, national parent, framework, generation, title and the
    commitments. For each indicator that had targets, the new convention gets one target per year of its
    period, with the value of the last year's target (a starting point for the negotiation).
    Not copied: signatories, documents, actions (they belong to the period that ran).
    """
    locked = _lock(convention)
    if locked.status not in RENEWABLE_STATUSES:
        raise ValidationError(
            _refusal_message(Status(locked.status), RENEWAL_PARTICIPLE, [Status.ACTIVE, Status.EXPIRED]),
            code="invalid_transition",
        )
    if Convention.objects.filter(predecessor=locked).exists():
        raise ValidationError("Cette convention a déjà été renouvelée.", code="already_renewed")
    if not isinstance(start_date, datetime.date) or not isinstance(end_date, datetime.date):
        raise ValidationError("Les dates de début et de fin du renouvellement sont obligatoires.", code="dates_required")

    successor = Convention(
        reference=_renewal_reference(locked.reference),
        title=locked.title,
        kind=locked.kind,
        generation=locked.generation,
        parent_id=locked.parent_id,
        framework_id=locked.framework_id,
        predecessor=locked,
        start_date=start_date,
        end_date=end_date,
        departement_id=locked.departement_id,
        club_id=locked.club_id,
        created_by=by,
    )
    successor.full_clean()
    successor.save()
    successor.companies.set(locked.companies.all())

    new_years = list(successor.years)
    new_targets = []
    for commitment in locked.commitments.prefetch_related("targets"):
        copy = Commitment.objects.create(
            convention=successor,
            family_id=commitment.family_id,
            action_type_id=commitment.action_type_id,
            description=commitment.description,
        )
        last_targets = {}
        for target in sorted(commitment.targets.all(), key=lambda t: t.year):
            last_targets[target.indicator_id] = target.value
        for indicator_id, value in last_targets.items():
            new_targets += [Target(commitment=copy, indicator_id=indicator_id, year=year, value=value) for year in new_years]
    bulk_create_with_history(new_targets, Target, default_user=by, default_change_reason="Renouvellement")
    logger.info("Convention %s renouvelée en %s (par %s)", locked.reference, successor.reference, by)
    return successor


@transaction.atomic
def expire_due_conventions(today=None):
    """Close every active convention whose end date is past (daily, by Celery beat); returns how many.

    The rows are locked first (a convention terminated meanwhile is skipped), then updated in bulk with one
    history row each, so that a convention's history shows when it expired like any other transition.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    due = list(Convention.objects.active().filter(end_date__lt=today).select_for_update().order_by("pk"))
    for convention in due:
        convention.status, convention.status_changed_at, convention.updated_at = Status.EXPIRED, now, now
    bulk_update_with_history(
        due,
        Convention,
        ["status", "status_changed_at", "updated_at"],
        batch_size=500,
        default_change_reason=f"Échéance atteinte le {today:%d/%m/%Y}",
    )
    if due:
        logger.info("%s convention(s) arrivée(s) à échéance au %s", len(due), today)
    return len(due)


# --- editing a convention in the portal ----------------------------------------------------------------

# Commitments and targets are negotiated: once signed, a convention's content is what was signed.
EDITABLE_STATUSES = {Status.DRAFT, Status.NEGOTIATION}
EDITABLE_FIELDS = [
    "reference",
    "title",
    "kind",
    "generation",
    "parent",
    "framework",
    "start_date",
    "end_date",
    "departement",
    "club",
]


def next_reference(departement, year):
    """'034-2016-0007': the département's code on three characters, the start year, a number in the year."""
    code = departement.code.zfill(3) if departement else "NAT"
    prefix = f"{code}-{year}-"
    number = Convention.objects.filter(reference__startswith=prefix).count() + 1
    while Convention.objects.filter(reference=f"{prefix}{number:04d}").exists():
        number += 1
    return f"{prefix}{number:04d}"


def _last_editor(convention):
    """Who saved the convention last, from its history (None when unknown)."""
    record = convention.history.order_by("-history_date").only("history_user").first()
    return record.history_user if record else None


@transaction.atomic
def save_convention(convention, *, companies, commitments, by, expected_version=None):
    """Create a draft, or update a draft or negotiated convention, with its commitments and their targets.

    `convention`: a new or existing instance carrying the field values to write (never its status: a new
    convention is a draft, and an existing one keeps the status it has in the database).
    `commitments`: dicts with `instance` (an existing Commitment of this convention or None), `delete`,
    `family`, `action_type`, `description` and `targets`, a list of (indicator, year, value).
    `expected_version`: the version the edit page displayed; a stale one raises `StaleEditError` (None: not
    checked). The targets are updated in place (changed values updated, new ones created, missing ones
    deleted), so each keeps its id and its history; all or nothing.
    """
    if convention.pk is None:
        convention.status = Status.DRAFT
        convention.created_by = by
        if not convention.reference:
            convention.reference = next_reference(convention.departement, convention.start_date.year)
        convention.full_clean()
        convention.save()
        existing = {}
    else:
        locked = lock_and_check(convention, expected_version, "Cette convention", modified_by=_last_editor)
        if locked.status not in EDITABLE_STATUSES:
            raise ValidationError(
                f"Une convention {STATUS_PHRASES[Status(locked.status)]} ne peut plus être modifiée : "
                "seule une convention en brouillon ou en négociation peut l'être.",
                code="not_editable",
            )
        convention.status = locked.status
        convention.full_clean()
        existing = {
            (target.commitment_id, target.indicator_id, target.year): target
            for target in Target.objects.filter(commitment__convention=locked)
        }
        wanted = {
            (item["instance"].pk, indicator.pk, year)
            for item in commitments
            if item.get("instance") is not None and not item.get("delete")
            for indicator, year, _value in item.get("targets", [])
        }
        # Removed targets go first: the database refuses new dates that would leave one of them outside.
        removed = [target.pk for key, target in existing.items() if key not in wanted]
        if removed:
            Target.objects.filter(pk__in=removed).delete()
        next_version(convention, locked)
        convention.save(update_fields=[*EDITABLE_FIELDS, "version", "updated_at"])
    convention.companies.set(companies)

    created, changed = [], []
    for item in commitments:
        instance = item.get("instance")
        if item.get("delete"):
            if instance is not None:
                instance.delete()
            continue
        commitment = instance or Commitment()
        # The in-memory convention carries the new dates the targets are checked against.
        commitment.convention = convention
        commitment.family = item["family"]
        commitment.action_type = item.get("action_type")
        commitment.description = item.get("description", "")
        commitment.full_clean()
        commitment.save()
        for indicator, year, value in item.get("targets", []):
            target = existing.get((commitment.pk, indicator.pk, year)) if instance is not None else None
            if target is None:
                target = Target(commitment=commitment, indicator=indicator, year=year, value=value)
                created.append(target)
            elif target.value != value:
                target.value = value
                changed.append(target)
            else:
                continue
            target.commitment = commitment
            target.full_clean(validate_unique=False, validate_constraints=False)
    if changed:
        bulk_update_with_history(changed, Target, ["value"], default_user=by)
    bulk_create_with_history(created, Target, default_user=by)
    logger.info("Convention %s enregistrée (par %s)", convention.reference, by)
    return convention


def add_document(convention, *, file, title, by, kind=ConventionDocument.Kind.SIGNED):
    return ConventionDocument.objects.create(
        convention=convention,
        kind=kind,
        title=title,
        file=file,
        uploaded_by=by,
    )


@transaction.atomic
def sign_with_document(convention, *, by, signatories, file, title=""):
    """Sign (see `sign`) and keep the signed PDF with it: a signature without its document is not recorded."""
    sign(convention, by=by, signatories=signatories)
    add_document(
        convention,
        file=file,
        title=title or f"Convention {convention.reference} signée",
        by=by,
        kind=ConventionDocument.Kind.SIGNED,
    )
    return convention
