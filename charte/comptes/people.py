"""Who may manage whose members and invite whom, and the writes that change memberships and invitations.

The rules (README, « Membres et invitations »):

- an organisation's administrators manage its members (role, deactivation) and invite anybody into it;
- the national level's administrators do so for every organisation;
- a préfecture's administrators do so for the clubs, companies and partners of its départements (the
  organisations its scope sees, `Organisation.objects.visible_to`);
- a préfecture's agents (administrators or not) invite people into those clubs, companies and partners:
  bringing the clubs and signatory companies in is their daily work, and each invitation names who sent it;
- a club (administrators or not) invites people into the accounts of the companies it counts among its members
  today (ClubMembership), since it recruits them;
- nobody else, and never into an organisation out of their scope (answered 404 by the views).

A membership is deactivated, never deleted, and no change may leave an organisation without an active
administrator. Every write here is atomic and records who made it.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Invitation, Membership, Organisation, OrganisationKind, User

logger = logging.getLogger(__name__)

Role = Membership.Role
_TERRITORY_KINDS = (OrganisationKind.CLUB, OrganisationKind.COMPANY, OrganisationKind.PARTNER)


# --- who may do what ----------------------------------------------------------------------------------------


def managed_organisations(scope):
    """Organisations whose memberships this person manages (role change, deactivation, invitations)."""
    if scope.kind is None or not scope.is_org_admin:
        return Organisation.objects.none()
    if scope.is_national:
        return Organisation.objects.all()
    own = Q(pk=scope.organisation_id)
    if scope.is_prefecture:
        territory = Organisation.objects.visible_to(scope).filter(kind__in=_TERRITORY_KINDS).values("pk")
        return Organisation.objects.filter(own | Q(pk__in=territory))
    return Organisation.objects.filter(own)


def recruited_company_accounts(club_id, on=None):
    """The accounts (organisations) of the companies a club counts among its members on that day. The club
    memberships live in a higher app: reached through the relations it declares (Company.organisation,
    ClubMembership.company), so that this app imports none of it."""
    on = on or timezone.localdate()
    return Organisation.objects.filter(
        kind=OrganisationKind.COMPANY,
        company__club_memberships__club_id=club_id,
        company__club_memberships__start_date__lte=on,
    ).filter(Q(company__club_memberships__end_date__isnull=True) | Q(company__club_memberships__end_date__gte=on))


def invitable_organisations(scope):
    """Organisations this person may invite people into."""
    if scope.kind is None:
        return Organisation.objects.none()
    allowed = Q(pk__in=managed_organisations(scope).values("pk"))
    if scope.is_prefecture:
        territory = Organisation.objects.visible_to(scope).filter(kind__in=_TERRITORY_KINDS).values("pk")
        allowed |= Q(pk__in=territory)
    if scope.is_club:
        allowed |= Q(pk__in=recruited_company_accounts(scope.organisation_id).values("pk"))
    return Organisation.objects.filter(allowed)


def can_manage_members(scope, organisation):
    return managed_organisations(scope).filter(pk=organisation.pk).exists()


def can_invite(scope, organisation):
    return organisation.is_active and invitable_organisations(scope).filter(pk=organisation.pk).exists()


def has_people_pages(scope):
    """Whether the « Membres » entry of the menu leads somewhere for this person."""
    if scope.kind is None:
        return False
    return scope.is_org_admin or scope.is_prefecture or scope.is_club


# --- memberships --------------------------------------------------------------------------------------------


def _active_admins(organisation_id):
    return Membership.objects.filter(
        organisation_id=organisation_id, role=Role.ADMIN, is_active=True, user__is_active=True
    ).select_for_update()


def _check_keeps_an_admin(membership):
    """Refuse a change that would leave the organisation without an active administrator."""
    admins = [m.pk for m in _active_admins(membership.organisation_id)]
    if admins == [membership.pk]:
        raise ValidationError("C'est le dernier administrateur actif de l'organisation : nommez d'abord un autre administrateur.")


@transaction.atomic
def change_role(membership, role, by):
    if role not in Role.values:
        raise ValidationError("Rôle inconnu.")
    locked = Membership.objects.select_for_update().select_related("organisation").get(pk=membership.pk)
    if locked.role == role:
        return locked
    if locked.role == Role.ADMIN and locked.is_active:
        _check_keeps_an_admin(locked)
    locked.role = role
    locked.updated_by = by
    locked.save(update_fields=["role", "updated_by", "updated_at"])
    logger.info("Adhésion %s : rôle %s, par %s", locked.pk, role, by)
    return locked


@transaction.atomic
def set_active(membership, active, by):
    locked = Membership.objects.select_for_update().select_related("organisation").get(pk=membership.pk)
    if locked.is_active == active:
        return locked
    if not active and locked.role == Role.ADMIN:
        _check_keeps_an_admin(locked)
    locked.is_active = active
    locked.updated_by = by
    locked.save(update_fields=["is_active", "updated_by", "updated_at"])
    logger.info("Adhésion %s : %s, par %s", locked.pk, "réactivée" if active else "désactivée", by)
    return locked


# --- invitations --------------------------------------------------------------------------------------------


def validity():
    return datetime.timedelta(days=settings.INVITATION_VALIDITY_DAYS)


def _send_after_commit(invitation_id):
    from .tasks import send_invitation

    # robust: a broker (or, eagerly, an SMTP server) that fails must not turn a committed invitation into an
    # error page; the invitation shows « non envoyée » on the members page and can be sent again.
    transaction.on_commit(lambda: send_invitation.delay(invitation_id), robust=True)


def normalize_email(email):
    return User.objects.normalize_email(email or "").strip().lower()


def check_invitable(organisation, email):
    """Refuse (ValidationError at the field) an invitation into an inactive organisation, or of a person who is
    already one of its active members."""
    if not organisation.is_active:
        raise ValidationError("Cette organisation n'est plus active : on ne peut plus y inviter personne.")
    email = normalize_email(email)
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email, is_active=True).exists():
        raise ValidationError({"email": f"{email} est déjà membre de « {organisation} »."})


@transaction.atomic
def invite(organisation, email, role, by, *, first_name="", last_name=""):
    """Create an invitation and send its e-mail after commit. Refused (ValidationError at the field) when the
    person is already an active member, or when an invitation is still pending for that address; an expired
    one is closed and replaced."""
    email = normalize_email(email)
    if role not in Role.values:
        raise ValidationError({"role": "Rôle inconnu."})
    check_invitable(organisation, email)
    now = timezone.now()
    previous = Invitation.objects.select_for_update().open().filter(organisation=organisation, email=email).first()
    if previous is not None:
        if previous.expires_at > now:
            raise ValidationError(
                {"email": f"Une invitation est déjà en attente pour {email} : renvoyez-la depuis la liste des membres."}
            )
        previous.revoked_at = now
        previous.revoked_by = by
        previous.save(update_fields=["revoked_at", "revoked_by"])
    invitation = Invitation(
        organisation=organisation,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        invited_by=by,
        created_at=now,
        expires_at=now + validity(),
    )
    invitation.new_link()
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as error:
        raise ValidationError({"email": f"Une invitation est déjà en attente pour {email}."}) from error
    logger.info("Invitation %s de %s dans %s, par %s", invitation.pk, email, organisation.pk, by)
    _send_after_commit(invitation.pk)
    return invitation


@transaction.atomic
def resend(invitation, by):
    """A new link (the previous one stops working), a new validity period, and the e-mail again."""
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None or locked.revoked_at is not None:
        raise ValidationError("Cette invitation a déjà été acceptée ou annulée : elle ne peut plus être renvoyée.")
    locked.new_link()
    locked.expires_at = timezone.now() + validity()
    locked.sent_at = None
    locked.save(update_fields=["nonce", "token_hash", "expires_at", "sent_at"])
    _send_after_commit(locked.pk)
    return locked


@transaction.atomic
def revoke(invitation, by):
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise ValidationError("Cette invitation a déjà été acceptée : désactivez l'adhésion si besoin.")
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.revoked_by = by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


@transaction.atomic
def accept_with_new_account(invitation, first_name, last_name, password):
    """Create the invited person's account and membership together; nothing is written if either fails."""
    invitation.check_usable()
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError("Un compte existe déjà pour cette adresse : connectez-vous pour accepter l'invitation.")
    user = User.objects.create_user(invitation.email, password, first_name=first_name.strip(), last_name=last_name.strip())
    membership = invitation.accept(user)
    return user, membership


@transaction.atomic
def accept_by_proconnect(email, claims):
    """ProConnect's first sign-in of an e-mail without an account (`PROCONNECT_INVITATION_HANDLER`): the pending
    invitations addressed to it are accepted, with an account created without a password (the person signs in
    with ProConnect, or sets one through « mot de passe oublié »), names taken from ProConnect. ProConnect vouches
    for the e-mail, which is what the invitation link proves otherwise. Returns the user, or None without a
    pending invitation (nobody unknown gets in)."""
    invitations = list(Invitation.objects.pending().filter(email__iexact=email).order_by("created_at"))
    if not invitations:
        return None
    user = User.objects.create_user(
        invitations[0].email,
        None,
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("usual_name") or "")[:150],
    )
    for invitation in invitations:
        invitation.accept(user)
    return user
