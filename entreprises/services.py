"""Writes of the companies pages that touch several rows: each is all or nothing."""

from django.db import transaction
from django.utils import timezone

from charte.comptes import people
from charte.comptes.models import Organisation, OrganisationKind
from charte.concurrency import lock_and_check, next_version

from .models import ClubMembership, Company, Diagnostic, DiagnosticItem, Establishment


@transaction.atomic
def save_company(form, formsets, *, joining_club_id=None, by=None, expected_version=None):
    """Save a validated company form and its inline formsets (establishments, contacts).

    When a club creates a company, the company joins that club from today: otherwise the club could not
    see the company it has just created. `expected_version`: the version the edit page displayed; a stale
    one raises `StaleEditError` and nothing is written (None: not checked).
    """
    creating = form.instance.pk is None
    if not creating:
        locked = lock_and_check(form.instance, expected_version, "Cette entreprise")
        next_version(form.instance, locked)
    if by is not None and getattr(by, "is_authenticated", False):
        form.instance.updated_by = by
    company = form.save()
    for formset in formsets:
        formset.instance = company
        formset.save()
    if creating and joining_club_id:
        ClubMembership.objects.get_or_create(company=company, club_id=joining_club_id, start_date=timezone.localdate())
    return company


@transaction.atomic
def save_diagnostic(*, company, date, club_id, comment, author, answers, diagnostic=None):
    """Create or update a diagnostic and its lines.

    `answers` maps each action type shown to `(status, comment)`; a type left without a status has no line
    (it was not discussed), so clearing an answer removes its line.
    """
    if diagnostic is None:
        diagnostic = Diagnostic(company=company, author=author)
    diagnostic.date = date
    diagnostic.club_id = club_id
    diagnostic.comment = comment or ""
    diagnostic.full_clean()
    diagnostic.save()

    existing = {item.action_type_id: item for item in diagnostic.items.all()} if diagnostic.pk else {}
    to_create, to_update, to_delete = [], [], []
    for action_type, (status, line_comment) in answers.items():
        item = existing.get(action_type.pk)
        if not status:
            if item is not None:
                to_delete.append(item.pk)
            continue
        if item is None:
            to_create.append(
                DiagnosticItem(diagnostic=diagnostic, action_type=action_type, status=status, comment=line_comment or "")
            )
        elif item.status != status or item.comment != (line_comment or ""):
            item.status = status
            item.comment = line_comment or ""
            to_update.append(item)
    for item in to_create + to_update:
        item.full_clean(exclude=["diagnostic"], validate_constraints=False)
    if to_delete:
        DiagnosticItem.objects.filter(pk__in=to_delete).delete()
    DiagnosticItem.objects.bulk_update(to_update, ["status", "comment"])
    DiagnosticItem.objects.bulk_create(to_create)
    return diagnostic


class ClubMembershipError(ValueError):
    """A membership that would contradict the club's history; the message is French, for the form."""


def _check_no_overlap(company, club, start, end, exclude_pk=None):
    clash = ClubMembership.objects.overlapping(company, club, start, end, exclude_pk=exclude_pk).order_by("start_date").first()
    if clash is not None:
        until = f"au {clash.end_date:%d/%m/%Y}" if clash.end_date else "sans date de fin"
        raise ClubMembershipError(
            f"{company.name} est déjà membre de {club.name} sur cette période (adhésion du {clash.start_date:%d/%m/%Y} {until})."
        )


@transaction.atomic
def add_club_member(*, club, company, start_date, end_date=None, by=None):
    """Record a company's membership of a club. Two memberships of one company in one club never overlap."""
    if end_date is not None and end_date < start_date:
        raise ClubMembershipError("La fin de l'adhésion doit suivre son début.")
    # Serialise the writes about this company: two people adding it at once cannot both pass the check.
    type(company).objects.select_for_update().filter(pk=company.pk).first()
    _check_no_overlap(company, club, start_date, end_date)
    return ClubMembership.objects.create(
        company=company, club=club, start_date=start_date, end_date=end_date, recorded_by=_person(by)
    )


@transaction.atomic
def end_club_membership(membership, *, end_date, by=None):
    """A company leaves a club: the membership gets an end date, the row stays (the club's history)."""
    membership = ClubMembership.objects.select_for_update().select_related("company", "club").get(pk=membership.pk)
    if membership.end_date is not None and membership.end_date < timezone.localdate():
        raise ClubMembershipError("Cette adhésion est déjà terminée.")
    if end_date < membership.start_date:
        raise ClubMembershipError(f"La fin de l'adhésion doit suivre son début ({membership.start_date:%d/%m/%Y}).")
    _check_no_overlap(membership.company, membership.club, membership.start_date, end_date, exclude_pk=membership.pk)
    membership.end_date = end_date
    membership.ended_by = _person(by)
    membership.save(update_fields=["end_date", "ended_by"])
    return membership


def _person(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _free_account_name(company):
    """The company's name, made unique among the company accounts (an organisation name is unique per kind)."""
    taken = Organisation.objects.filter(kind=OrganisationKind.COMPANY)
    for name in (company.name, f"{company.name} ({company.siren})"):
        if not taken.filter(name=name).exists():
            return name
    return f"{company.name} ({company.siren}, {company.pk})"


@transaction.atomic
def ensure_account(company):
    """The company's organisation (its account in the portal), created on first need with the départements
    where the company is present. The company row is locked so that two invitations at once make one account."""
    locked = Company.objects.select_for_update().get(pk=company.pk)
    if locked.organisation_id is not None:
        company.organisation = locked.organisation
        return locked.organisation
    organisation = Organisation.objects.create(kind=OrganisationKind.COMPANY, name=_free_account_name(locked))
    departements = set(
        Establishment.objects.filter(company=locked, commune__isnull=False).values_list("commune__departement_id", flat=True)
    )
    if locked.commune_id:
        departements.add(locked.commune.departement_id)
    organisation.departements.set(departements)
    Company.objects.filter(pk=locked.pk).update(organisation=organisation)
    company.organisation = organisation
    return organisation


@transaction.atomic
def invite_to_company(company, email, role, by, *, first_name="", last_name=""):
    """Invite someone (a declared contact, say) to become a user of the company's account, creating the
    account if the company has none yet: both or neither."""
    organisation = ensure_account(company)
    return people.invite(organisation, email, role, by, first_name=first_name, last_name=last_name)
