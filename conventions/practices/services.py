"""Every write of a practice sheet: creation and edits, the workflow (submit, return, publish, withdraw), the
consent of the companies it names and its attachments. Plain functions in one transaction each; a refusal is a
ValidationError in French, and nothing is written.

Workflow (docs in the README, "Bonnes pratiques"):

    draft --submit--> submitted --publish--> published --withdraw--> withdrawn
      ^                   |  \\--return (comment)--> returned --submit--> submitted
      |                   \\--withdraw--> withdrawn
    (authors edit while draft or returned)

- Authors: the organisation that wrote the sheet (a club, a company or a préfecture); they edit, submit and may
  withdraw their own published sheet.
- Reviewers: the préfecture of the sheet's département and the national level (a sheet without département:
  the national level only). They publish, return with a comment, or withdraw.
- Consent: every company named in the sheet must have given its consent before publication; a refusal blocks
  publication until the authors take the company out of the sheet (the reviewer returns it to them).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from charte import notices
from charte.comptes.models import OrganisationKind
from conventions.models import Action

from .models import PracticeAttachment, PracticeCompany, PracticeSheet, PracticeStatus, PracticeTransition

Status = PracticeStatus
Consent = PracticeCompany.Consent

AUTHOR_KINDS = (OrganisationKind.CLUB, OrganisationKind.COMPANY, OrganisationKind.PREFECTURE, OrganisationKind.NATIONAL)


# --- who may do what ------------------------------------------------------------------------------------


def can_author(scope):
    return scope.kind in AUTHOR_KINDS and bool(scope.organisation_id)


def is_author(scope, sheet):
    return bool(scope.organisation_id) and sheet.author_organisation_id == scope.organisation_id


def can_edit(scope, sheet):
    return is_author(scope, sheet) and sheet.is_editable


def is_reviewer(scope, sheet):
    if scope.is_national:
        return True
    return scope.is_prefecture and sheet.departement_id is not None and sheet.departement_id in scope.departement_ids


def can_review(scope, sheet):
    return is_reviewer(scope, sheet) and sheet.status == Status.SUBMITTED


def can_withdraw(scope, sheet):
    if sheet.status == Status.PUBLISHED:
        return is_reviewer(scope, sheet) or is_author(scope, sheet)
    return sheet.status == Status.SUBMITTED and is_reviewer(scope, sheet)


def naming_of(scope, sheet):
    """The PracticeCompany row of the company the person acts for, when the sheet names it; else None."""
    if not (scope.is_company and scope.company_id):
        return None
    return sheet.named_companies.filter(company_id=scope.company_id).first()


# --- figures --------------------------------------------------------------------------------------------


def figures(sheet):
    """The figures of the linked actions, computed in one query: number of actions, beneficiaries, of whom QPV
    residents, hours. Shown to everyone who may read the sheet: they are aggregates, and the authors linked only
    actions in their own scope (no action row is shown to a reader who may not see it)."""
    totals = Action.objects.filter(practice_sheets=sheet).aggregate(
        count=Count("pk"),
        beneficiaries=Sum("beneficiaries_total"),
        qpv_residents=Sum("beneficiaries_qpv"),
        women=Sum("beneficiaries_women"),
        hours=Sum("hours"),
    )
    return {key: value or 0 for key, value in totals.items()}


# --- writing the sheet ----------------------------------------------------------------------------------


def _record(sheet, from_status, to_status, user, scope, comment=""):
    PracticeTransition.objects.create(
        sheet=sheet,
        from_status=from_status,
        to_status=to_status,
        by=user,
        organisation_id=scope.organisation_id,
        comment=comment,
    )


def _set_companies(sheet, companies, scope):
    """Keep the consent of companies still named, ask the new ones, forget the removed ones. A company that
    writes the sheet consents to naming itself."""
    wanted = {company.pk for company in companies}
    sheet.named_companies.exclude(company_id__in=wanted).delete()
    present = set(sheet.named_companies.values_list("company_id", flat=True))
    now = timezone.now()
    rows = []
    for company_id in sorted(wanted - present):
        own = scope.is_company and scope.company_id == company_id
        rows.append(
            PracticeCompany(
                sheet=sheet,
                company_id=company_id,
                consent=Consent.GIVEN if own else Consent.PENDING,
                consent_at=now if own else None,
            )
        )
    PracticeCompany.objects.bulk_create(rows)


@transaction.atomic
def save_sheet(sheet, *, scope, user, companies=(), m2m=None):
    """Create or update a sheet from its form. `m2m`: {field name: objects} for the other many-to-many fields.
    Only its authors write it, and only while draft or returned."""
    creating = sheet.pk is None
    if creating:
        if not can_author(scope):
            raise ValidationError("Votre organisation ne peut pas rédiger de fiche de bonne pratique.")
        sheet.author_organisation_id = scope.organisation_id
        sheet.created_by = user
        sheet.status = Status.DRAFT
    else:
        current = PracticeSheet.objects.select_for_update().get(pk=sheet.pk)
        if not can_edit(scope, current):
            raise ValidationError(
                f"Cette fiche est « {current.get_status_display().lower()} » : elle ne se modifie plus "
                "(seule une fiche en brouillon ou renvoyée se modifie, par son organisation autrice)."
            )
        sheet.status = current.status
    sheet.full_clean(exclude=["author_organisation"] if creating else None)
    sheet.save()
    for name, objects in (m2m or {}).items():
        getattr(sheet, name).set(objects)
    _set_companies(sheet, companies, scope)
    if creating:
        _record(sheet, "", Status.DRAFT, user, scope)
    return sheet


def _locked(sheet):
    return PracticeSheet.objects.select_for_update().get(pk=sheet.pk)


def _path(sheet):
    return reverse("practices:detail", args=[sheet.pk])


def _reviewer_organisations(sheet):
    from charte.comptes.models import Organisation

    if sheet.departement_id is None:
        return Organisation.objects.filter(kind=OrganisationKind.NATIONAL, is_active=True).values_list("pk", flat=True)
    return Organisation.objects.filter(
        kind=OrganisationKind.PREFECTURE, is_active=True, departements=sheet.departement_id
    ).values_list("pk", flat=True)


@transaction.atomic
def submit(sheet, *, scope, user):
    """The authors send a draft or returned sheet for review; the reviewers and the companies whose consent is
    still awaited are told."""
    sheet = _locked(sheet)
    if not is_author(scope, sheet):
        raise ValidationError("Seule l'organisation qui a rédigé la fiche peut la transmettre.")
    if not sheet.is_editable:
        raise ValidationError(f"Cette fiche est « {sheet.get_status_display().lower()} » : elle ne peut pas être transmise.")
    previous = sheet.status
    sheet.status = Status.SUBMITTED
    sheet.save(update_fields=["status", "updated_at"])
    _record(sheet, previous, Status.SUBMITTED, user, scope)
    stamp = timezone.now().isoformat()
    notices.notify(
        key=f"practice_review:{sheet.pk}:{stamp}",
        event="practice_review",
        subject=f"Fiche de bonne pratique à relire : {sheet.title}",
        body=f"La fiche « {sheet.title} » est transmise pour relecture. Publiez-la, renvoyez-la avec un commentaire "
        "ou retirez-la depuis sa page.",
        path=_path(sheet),
        organisation_ids=list(_reviewer_organisations(sheet)),
    )
    pending = list(sheet.named_companies.filter(consent=Consent.PENDING).values_list("company_id", flat=True))
    if pending:
        notices.notify(
            key=f"practice_consent:{sheet.pk}:{stamp}",
            event="practice_consent",
            subject=f"Votre accord est demandé : fiche « {sheet.title} »",
            body=f"La fiche de bonne pratique « {sheet.title} » cite votre entreprise. Elle ne sera publiée qu'avec "
            "votre accord : lisez-la et donnez ou refusez votre accord depuis sa page.",
            path=reverse("practices:consent", args=[sheet.pk]),
            company_ids=pending,
        )
    return sheet


@transaction.atomic
def return_to_authors(sheet, *, scope, user, comment):
    sheet = _locked(sheet)
    comment = (comment or "").strip()
    if not can_review(scope, sheet):
        raise ValidationError(
            "Seule une fiche en relecture se renvoie, par la préfecture de son département ou le niveau national."
        )
    if not comment:
        raise ValidationError({"comment": "Dites aux auteurs ce qu'il faut changer : le commentaire est obligatoire."})
    sheet.status = Status.RETURNED
    sheet.review_comment = comment
    sheet.full_clean(exclude=["author_organisation"])
    sheet.save(update_fields=["status", "review_comment", "updated_at"])
    _record(sheet, Status.SUBMITTED, Status.RETURNED, user, scope, comment)
    notices.notify(
        key=f"practice_returned:{sheet.pk}:{timezone.now().isoformat()}",
        event="practice_returned",
        subject=f"Fiche de bonne pratique renvoyée : {sheet.title}",
        body=f"La fiche « {sheet.title} » vous est renvoyée avec ce commentaire :\n\n{comment}\n\n"
        "Modifiez-la puis transmettez-la de nouveau.",
        path=_path(sheet),
        organisation_ids=[sheet.author_organisation_id],
    )
    return sheet


def missing_consents(sheet):
    """The named companies that have not given their consent (pending or refused), by name."""
    return list(sheet.named_companies.exclude(consent=Consent.GIVEN).select_related("company").order_by("company__name"))


@transaction.atomic
def publish(sheet, *, scope, user):
    sheet = _locked(sheet)
    if not can_review(scope, sheet):
        raise ValidationError(
            "Seule une fiche en relecture se publie, par la préfecture de son département ou le niveau national."
        )
    missing = missing_consents(sheet)
    if missing:
        names = ", ".join(f"{row.company.name} ({row.get_consent_display().lower()})" for row in missing)
        raise ValidationError(
            f"La fiche cite des entreprises qui n'ont pas donné leur accord : {names}. Attendez leur accord, ou "
            "renvoyez la fiche aux auteurs pour qu'ils les retirent."
        )
    sheet.status = Status.PUBLISHED
    sheet.published_at = timezone.now()
    sheet.review_comment = ""
    sheet.save(update_fields=["status", "published_at", "review_comment", "updated_at"])
    _record(sheet, Status.SUBMITTED, Status.PUBLISHED, user, scope)
    notices.notify(
        key=f"practice_published:{sheet.pk}:{sheet.published_at.isoformat()}",
        event="practice_published",
        subject=f"Fiche de bonne pratique publiée : {sheet.title}",
        body=f"La fiche « {sheet.title} » est publiée : toutes les personnes connectées au portail peuvent la lire"
        + (", et le public aussi." if sheet.public else "."),
        path=_path(sheet),
        organisation_ids=[sheet.author_organisation_id],
    )
    return sheet


@transaction.atomic
def withdraw(sheet, *, scope, user, comment=""):
    sheet = _locked(sheet)
    if not can_withdraw(scope, sheet):
        raise ValidationError(
            "Seule une fiche en relecture ou publiée se retire : par la préfecture de son département, le niveau "
            "national ou, une fois publiée, par ses auteurs."
        )
    previous = sheet.status
    sheet.status = Status.WITHDRAWN
    sheet.save(update_fields=["status", "updated_at"])
    _record(sheet, previous, Status.WITHDRAWN, user, scope, (comment or "").strip())
    return sheet


@transaction.atomic
def give_consent(sheet, *, scope, user, given, comment=""):
    """The company the person acts for consents (or refuses) to being named in the sheet. Once the sheet is
    published the answer is kept as it is: it was the condition of publication."""
    naming = naming_of(scope, sheet)
    if naming is None:
        raise ValidationError("Votre entreprise n'est pas citée dans cette fiche.")
    naming = PracticeCompany.objects.select_for_update().get(pk=naming.pk)
    if sheet.status in (Status.PUBLISHED, Status.WITHDRAWN):
        raise ValidationError(f"La fiche est « {sheet.get_status_display().lower()} » : l'accord ne se change plus ici.")
    comment = (comment or "").strip()
    if not given and not comment:
        raise ValidationError({"comment": "Dites pourquoi votre entreprise refuse d'être citée : les auteurs le liront."})
    naming.consent = Consent.GIVEN if given else Consent.REFUSED
    naming.consent_by = user
    naming.consent_at = timezone.now()
    naming.consent_comment = comment
    naming.full_clean()
    naming.save()
    return naming


# --- attachments ----------------------------------------------------------------------------------------


@transaction.atomic
def add_attachment(sheet, *, scope, user, upload, title, alt_text, kind, content_type):
    """`upload` already checked by the form (extension and first bytes, size: charte.uploads)."""
    if not can_edit(scope, sheet):
        raise ValidationError("Les pièces jointes s'ajoutent tant que la fiche est en brouillon ou renvoyée, par ses auteurs.")
    attachment = PracticeAttachment(
        sheet=sheet,
        kind=kind,
        title=title,
        alt_text=alt_text,
        original_name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        uploaded_by=user,
    )
    attachment.file.save(upload.name, upload, save=False)
    attachment.full_clean()
    attachment.save()
    return attachment


@transaction.atomic
def remove_attachment(attachment, *, scope):
    if not can_edit(scope, attachment.sheet):
        raise ValidationError("Les pièces jointes se retirent tant que la fiche est en brouillon ou renvoyée, par ses auteurs.")
    attachment.file.delete(save=False)
    attachment.delete()


def prefill_from_action(action):
    """Initial values of a new sheet started from an action ("faire de cette action une bonne pratique")."""
    return {
        "title": action.title,
        "what_was_done": action.description,
        "family": action.action_type.family_id,
        "action_types": [action.action_type_id],
        "departement": action.departement_id,
        "qpvs": [q.pk for q in action.qpvs.all()],
        "companies": [c.pk for c in action.companies.all()],
        "clubs": [action.club_id] if action.club_id else [],
        "actions": [action.pk],
        "period_start": action.start_date.year,
        "period_end": action.end_date.year if action.end_date else None,
    }
