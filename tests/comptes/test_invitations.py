"""Invitations: who may invite whom, the e-mail, the link (expiry, single use, revocation), accepting with or
without an account, and the service API a later ProConnect sign-in will call."""

import datetime
import hashlib
import html
import re
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from charte.comptes import people
from charte.comptes.middleware import SESSION_KEY
from charte.comptes.models import (
    Invitation,
    InvitationExpired,
    InvitationNotFound,
    InvitationRevoked,
    InvitationUsed,
    InvitationWrongAccount,
    Membership,
    Organisation,
    User,
)
from tests.comptes import people_world
from tests.factories import UserFactory

ADMIN, MEMBER = Membership.Role.ADMIN, Membership.Role.MEMBER
NEW_PASSWORD = "Garrigue-et-Lez-2026"


@pytest.fixture
def w(db):
    return people_world.build()


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run the after-commit hooks (the Celery task, eager in tests) of what the block does."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def text(response):
    return html.unescape(response.content.decode())


def link_of(message):
    return re.search(r"https?://\S+/compte/invitation/[0-9a-f]+/", message.body).group(0)


def path_of(url):
    return "/" + url.split("/", 3)[3]


def invite_form(client, user, organisation, **data):
    client.force_login(user)
    return client.post(reverse("comptes:invite", args=[organisation.pk]), {"role": MEMBER, **data})


# --- who may invite whom ------------------------------------------------------------------------------------


def test_an_organisation_admin_invites_into_its_own_organisation_and_the_email_leaves(client, w, settings, sent):
    settings.SITE_URL = "https://charte.example.gouv.fr"
    response = sent(invite_form, client, w.company_admin, w.account, email="Nouvelle@Garrigue.example", role=ADMIN)

    assert response.status_code == 302
    assert response["Location"] == reverse("comptes:organisation_members", args=[w.account.pk])
    invitation = Invitation.objects.get()
    assert (invitation.organisation, invitation.email, invitation.role) == (w.account, "nouvelle@garrigue.example", ADMIN)
    assert invitation.invited_by == w.company_admin and invitation.sent_at is not None
    assert invitation.expires_at - invitation.created_at == datetime.timedelta(days=7)
    [message] = mail.outbox
    assert message.to == ["nouvelle@garrigue.example"]
    assert message.subject == "Invitation à rejoindre Compte Garrigue sur le portail de la Charte Entreprises et Quartiers"
    url = link_of(message)
    assert url.startswith("https://charte.example.gouv.fr/compte/invitation/")
    assert "en tant que administrateur de l'organisation" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and f'href="{url}"' in html and 'lang="fr"' in html
    # Only a hash of the link's token is stored.
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {invitation.nonce, invitation.token_hash}


def test_a_member_who_is_not_admin_cannot_invite_into_its_organisation(client, w):
    response = invite_form(client, w.company_member, w.account, email="x@example.org")
    assert response.status_code == 403
    assert "Vous ne pouvez pas inviter" in text(response)
    assert not Invitation.objects.exists()


def test_a_company_admin_cannot_invite_into_another_organisation(client, w):
    assert invite_form(client, w.company_admin, w.club, email="x@example.org").status_code == 404
    assert invite_form(client, w.company_admin, w.aude_account, email="x@example.org").status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("who", ["prefecture_admin", "prefecture_agent"])
def test_a_prefecture_invites_into_the_clubs_companies_and_partners_of_its_departements(client, w, who, sent):
    user = getattr(w, who)
    for organisation in (w.club, w.account, w.partner, w.former_account):
        response = sent(invite_form, client, user, organisation, email=f"admin@{organisation.pk}.example", role=ADMIN)
        assert response.status_code == 302, organisation
    assert Invitation.objects.filter(role=ADMIN).count() == 4
    # Another département's club and company: out of scope.
    assert invite_form(client, user, w.aude_club, email="a@example.org").status_code == 404
    assert invite_form(client, user, w.aude_account, email="a@example.org").status_code == 404
    # Not into another préfecture nor the national level.
    assert invite_form(client, user, w.national, email="a@example.org").status_code == 404


def test_only_the_prefectures_admins_invite_into_the_prefecture_itself(client, w):
    assert invite_form(client, w.prefecture_agent, w.prefecture, email="a@example.org").status_code == 403
    assert invite_form(client, w.prefecture_admin, w.prefecture, email="a@example.org").status_code == 302


def test_a_club_invites_into_the_companies_it_counts_among_its_members_only(client, w):
    assert invite_form(client, w.animator, w.account, email="a@garrigue.example").status_code == 302
    # A company that left the club is no longer its business, nor is another département's.
    assert invite_form(client, w.animator, w.former_account, email="a@ancien.example").status_code == 404
    assert invite_form(client, w.animator, w.aude_account, email="a@cers.example").status_code == 404
    # Nor the préfecture, nor a partner.
    assert invite_form(client, w.animator, w.partner, email="a@metropole.example").status_code == 404
    assert Invitation.objects.count() == 1


def test_a_partner_admin_invites_only_into_its_own_organisation(client, w):
    partner_admin = people_world.member(w.partner, "admin@metropole.example", ADMIN).user
    assert invite_form(client, partner_admin, w.partner, email="collegue@metropole.example").status_code == 302
    assert invite_form(client, partner_admin, w.account, email="x@garrigue.example").status_code == 404


def test_a_contact_of_a_company_without_account_is_invited_and_the_account_is_created(client, w, sent):
    client.force_login(w.prefecture_admin)
    page = text(client.get(reverse("entreprises:detail", args=[w.new_company.pk])))
    invite_url = f"{reverse('entreprises:invite', args=[w.new_company.pk])}?contact={w.contact.pk}"
    assert invite_url in page
    form = text(client.get(invite_url))
    assert 'value="lucie@vignes.example"' in form and 'value="Lucie"' in form

    response = sent(
        client.post,
        reverse("entreprises:invite", args=[w.new_company.pk]),
        {"email": "lucie@vignes.example", "first_name": "Lucie", "last_name": "Ferrer", "role": ADMIN},
    )

    assert response.status_code == 302
    w.new_company.refresh_from_db()
    account = w.new_company.organisation
    assert account is not None and account.kind == "company" and account.name == "Vignes du Lez"
    assert list(account.departements.values_list("code", flat=True)) == ["34"]
    invitation = Invitation.objects.get()
    assert (invitation.organisation, invitation.email, invitation.role) == (account, "lucie@vignes.example", ADMIN)
    assert mail.outbox[0].to == ["lucie@vignes.example"]


def test_a_club_invites_a_contact_of_its_member_company_but_not_of_another(client, w):
    client.force_login(w.animator)
    data = {"email": "lucie@vignes.example", "role": ADMIN}
    assert client.post(reverse("entreprises:invite", args=[w.new_company.pk]), data).status_code == 302
    assert client.get(reverse("entreprises:invite", args=[w.former.pk])).status_code == 404
    assert client.get(reverse("entreprises:invite", args=[w.aude_company.pk])).status_code == 404


def test_a_partner_or_a_company_member_cannot_invite_from_a_company_page(client, w):
    partner = people_world.member(w.partner, "p@metropole.example", ADMIN).user
    client.force_login(partner)
    assert client.get(reverse("entreprises:invite", args=[w.new_company.pk])).status_code == 404
    client.force_login(w.company_member)
    response = client.get(reverse("entreprises:invite", args=[w.company.pk]))
    assert response.status_code == 403
    assert "pas inviter" in text(response)
    assert not Organisation.objects.filter(name="Vignes du Lez").exists()


def test_an_invitation_to_a_member_or_a_second_pending_one_is_refused_at_the_field(client, w, sent):
    response = invite_form(client, w.company_admin, w.account, email="compta@garrigue.example")
    assert response.status_code == 200
    assert "compta@garrigue.example est déjà membre de « Compte Garrigue »." in text(response)

    sent(invite_form, client, w.company_admin, w.account, email="nouveau@garrigue.example")
    response = invite_form(client, w.company_admin, w.account, email="Nouveau@garrigue.example")
    assert "Une invitation est déjà en attente pour nouveau@garrigue.example" in text(response)
    assert Invitation.objects.count() == 1


def test_an_expired_invitation_is_replaced_by_a_new_one(w, sent):
    first = sent(people.invite, w.account, "nouveau@garrigue.example", MEMBER, w.company_admin)
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    second = sent(people.invite, w.account, "nouveau@garrigue.example", ADMIN, w.company_admin)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.is_pending


# --- the link ------------------------------------------------------------------------------------------------


@pytest.fixture
def invitation_link(w, sent):
    invitation = sent(
        people.invite, w.account, "nouvelle@garrigue.example", ADMIN, w.company_admin, first_name="Nina", last_name="Pujol"
    )
    return invitation, path_of(link_of(mail.outbox[-1]))


def test_the_link_shows_the_organisation_and_the_role_and_creates_account_and_membership(client, w, invitation_link):
    invitation, path = invitation_link
    page = client.get(path)
    body = text(page)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "Rejoindre Compte Garrigue" in body and "administrateur de l'organisation" in body
    assert 'value="Nina"' in body

    response = client.post(
        path, {"first_name": "Nina", "last_name": "Pujol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    # A company lands on its company page, signed in, acting for the account it joined.
    assert response.status_code == 302
    assert response["Location"] == reverse("entreprises:detail", args=[w.company.pk])
    user = User.objects.get(email="nouvelle@garrigue.example")
    assert user.check_password(NEW_PASSWORD) and user.get_full_name() == "Nina Pujol"
    membership = Membership.objects.get(user=user)
    assert (membership.organisation, membership.role, membership.is_active) == (w.account, ADMIN, True)
    assert client.session[SESSION_KEY] == membership.pk
    landing = client.get(response["Location"])
    assert landing.status_code == 200 and "Bienvenue : vous avez rejoint « Compte Garrigue »" in text(landing)
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None


def test_a_weak_password_is_refused_in_french_and_nothing_is_created(client, invitation_link):
    _invitation, path = invitation_link
    response = client.post(path, {"first_name": "Nina", "last_name": "Pujol", "password1": "court", "password2": "court"})
    assert response.status_code == 200
    assert "Ce mot de passe est trop court" in text(response)
    mismatch = client.post(
        path, {"first_name": "Nina", "last_name": "Pujol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}
    )
    assert "Les deux mots de passe ne sont pas identiques." in text(mismatch)
    assert not User.objects.filter(email="nouvelle@garrigue.example").exists()
    assert not Membership.objects.filter(user__email="nouvelle@garrigue.example").exists()


def test_a_used_link_is_refused_in_french(client, invitation_link):
    _invitation, path = invitation_link
    data = {"first_name": "Nina", "last_name": "Pujol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(path, data).status_code == 302
    client.logout()
    for response in (client.get(path), client.post(path, data)):
        assert response.status_code == 410
        assert "Ce lien d'invitation a déjà été utilisé : il ne sert qu'une fois." in text(response)
    assert User.objects.filter(email="nouvelle@garrigue.example").count() == 1


def test_an_expired_link_is_refused_in_french(client, invitation_link):
    invitation, path = invitation_link
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get(path)
    assert response.status_code == 410
    assert "Ce lien d'invitation a expiré." in text(response)
    assert not User.objects.filter(email="nouvelle@garrigue.example").exists()


def test_a_revoked_link_and_an_unknown_one_are_refused_in_french(client, w, invitation_link):
    invitation, path = invitation_link
    client.force_login(w.company_admin)
    assert client.post(reverse("comptes:invitation_revoke", args=[invitation.pk])).status_code == 302
    client.logout()
    response = client.get(path)
    assert response.status_code == 410
    assert "Cette invitation a été annulée par l'organisation." in text(response)
    unknown = client.get(reverse("comptes:invitation_accept", args=["0" * 64]))
    assert unknown.status_code == 404 and "Ce lien d'invitation est inconnu." in text(unknown)
    assert client.get("/compte/invitation/pas-un-jeton/").status_code == 404


def test_resending_gives_a_new_link_and_the_old_one_stops_working(client, w, invitation_link, sent):
    invitation, old_path = invitation_link
    client.force_login(w.company_admin)
    sent(client.post, reverse("comptes:invitation_resend", args=[invitation.pk]))
    new_path = path_of(link_of(mail.outbox[-1]))
    assert len(mail.outbox) == 2 and new_path != old_path
    client.logout()
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200


def test_an_existing_account_signs_in_as_the_invited_email_then_accepts(client, w, invitation_link):
    invitation, path = invitation_link
    existing = UserFactory(email="nouvelle@garrigue.example")
    page = text(client.get(path))
    assert "Un compte existe déjà pour cette adresse" in page
    assert f"{reverse('comptes:login')}?next={path}" in page

    client.force_login(w.animator)
    other = text(client.get(path))
    assert "Cette invitation est adressée à" in other
    assert client.post(path).status_code == 200
    assert not Membership.objects.filter(user=existing).exists()

    client.force_login(existing)
    response = client.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(user=existing).organisation == w.account


# --- the service API (for a later ProConnect sign-in) -----------------------------------------------------------


def test_pending_for_token_and_accept_refuse_with_specific_french_exceptions(w, invitation_link):
    invitation, path = invitation_link
    token = path.rstrip("/").rsplit("/", 1)[1]
    with pytest.raises(InvitationNotFound):
        Invitation.objects.pending_for_token("inconnu")
    assert Invitation.objects.pending_for_token(token) == invitation

    stranger = UserFactory(email="autre@example.org")
    with pytest.raises(InvitationWrongAccount, match="adressée à nouvelle@garrigue.example"):
        invitation.accept(stranger)

    invited = UserFactory(email="Nouvelle@Garrigue.example".lower())
    membership = invitation.accept(invited)
    assert membership.role == ADMIN
    with pytest.raises(InvitationUsed) as used:
        invitation.accept(invited)
    assert "déjà été utilisé" in used.value.message
    with pytest.raises(InvitationUsed):
        Invitation.objects.pending_for_token(token)
    assert Membership.objects.filter(user=invited).count() == 1


def test_accepting_reactivates_a_former_membership_and_never_lowers_the_role(w, sent):
    former = Membership.objects.get(user=w.company_member)
    former.role = ADMIN
    former.is_active = False
    former.save()
    invitation = sent(people.invite, w.account, w.company_member.email, MEMBER, w.company_admin)
    membership = invitation.accept(w.company_member)
    assert membership.pk == former.pk and membership.is_active and membership.role == ADMIN


def test_expired_and_revoked_invitations_raise_their_exceptions(w, sent):
    invitation = sent(people.invite, w.account, "x@garrigue.example", MEMBER, w.company_admin)
    user = UserFactory(email="x@garrigue.example")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    invitation.refresh_from_db()
    with pytest.raises(InvitationExpired):
        invitation.accept(user)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + datetime.timedelta(days=1))
    people.revoke(invitation, w.company_admin)
    with pytest.raises(InvitationRevoked):
        invitation.accept(user)
    assert not Membership.objects.filter(user=user).exists()


def test_the_email_task_retries_a_refusing_smtp_server(w):
    """As a worker runs it: a refused connection is retried (here at once, eagerly), then the e-mail leaves."""
    from django.core.mail import EmailMultiAlternatives

    from charte.comptes.tasks import send_invitation

    invitation = people.invite(w.account, "x@garrigue.example", MEMBER, w.company_admin)  # hooks not run: not sent
    real_send = EmailMultiAlternatives.send
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(self.to)
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("connexion perdue")
        return real_send(self, *args, **kwargs)

    with mock.patch.object(EmailMultiAlternatives, "send", flaky):
        result = send_invitation.apply(args=[invitation.pk], throw=False)
    assert result.get()["sent"] is True
    assert len(calls) == 2 and len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    # A task run again for an invitation accepted meanwhile sends nothing.
    invitation.accept(UserFactory(email="x@garrigue.example"))
    assert send_invitation.apply(args=[invitation.pk]).get()["sent"] is False
    assert len(mail.outbox) == 1


def test_an_smtp_server_down_leaves_the_invitation_unsent_and_the_page_says_so(client, w, sent):
    from django.core.mail import EmailMultiAlternatives

    with mock.patch.object(EmailMultiAlternatives, "send", side_effect=smtplib.SMTPConnectError(421, "indisponible")):
        response = sent(invite_form, client, w.company_admin, w.account, email="x@garrigue.example")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.sent_at is None
    page = text(client.get(reverse("comptes:organisation_members", args=[w.account.pk])))
    assert "pas encore envoyée" in page


# --- accepted through a ProConnect sign-in (PROCONNECT_INVITATION_HANDLER, the default) ------------------------


def test_a_proconnect_sign_in_of_an_invited_email_creates_the_account_and_accepts_every_pending_invitation(w):
    from charte.comptes.oidc import resolve_user

    into_company = people.invite(w.account, "Nouvelle.Recrue@garrigue.example", MEMBER, w.company_admin)
    into_club = people.invite(w.club, "nouvelle.recrue@garrigue.example", ADMIN, w.animator)
    claims = {"sub": "pc-123", "email": "nouvelle.recrue@garrigue.example", "given_name": "Nina", "usual_name": "Roux"}

    user = resolve_user(claims)

    assert (user.email.lower(), user.first_name, user.last_name) == ("nouvelle.recrue@garrigue.example", "Nina", "Roux")
    assert not user.has_usable_password()  # ProConnect, or « mot de passe oublié »
    assert user.proconnect_sub == "pc-123"
    roles = dict(Membership.objects.filter(user=user, is_active=True).values_list("organisation", "role"))
    assert roles == {w.account.pk: MEMBER, w.club.pk: ADMIN}
    for invitation in (into_company, into_club):
        invitation.refresh_from_db()
        assert invitation.accepted_by == user and invitation.accepted_at is not None
    # The links then refuse a second use, as after any acceptance.
    with pytest.raises(InvitationUsed):
        Invitation.objects.pending_for_token(into_company.token())


def test_a_proconnect_sign_in_accepts_neither_an_expired_nor_a_revoked_invitation(w):
    from charte.comptes.oidc import ProConnectRefusal, resolve_user

    expired = people.invite(w.account, "tardif@garrigue.example", MEMBER, w.company_admin)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    revoked = people.invite(w.account, "annule@garrigue.example", MEMBER, w.company_admin)
    people.revoke(revoked, w.company_admin)

    for email in ("tardif@garrigue.example", "annule@garrigue.example"):
        with pytest.raises(ProConnectRefusal):
            resolve_user({"sub": f"pc-{email}", "email": email})
        assert not User.objects.filter(email__iexact=email).exists()


def test_the_invitation_page_offers_proconnect_when_it_is_on(client, w):
    from tests.comptes.proconnect import proconnect_on
    from tests.comptes.test_proconnect import ENDPOINTS

    invitation = people.invite(w.account, "avec.pc@garrigue.example", MEMBER, w.company_admin)
    url = reverse("comptes:invitation_accept", args=[invitation.token()])
    assert "ProConnect" not in text(client.get(url))
    with proconnect_on(**ENDPOINTS):
        page = text(client.get(url))
        sign_in = reverse("comptes:proconnect_login")
    assert "S’identifier avec" in page and f'action="{sign_in}"' in page
