"""Export and anonymisation of a person's data (RGPD), by an organisation's administrator, within its hands only."""

import json

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from charte.comptes.models import Membership, OrganisationKind, User
from entreprises.models import Contact
from evaluation.models import EmailOptOut, Notification, NotificationDelivery
from tests.factories import (
    ClubMembershipFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)

pytestmark = pytest.mark.django_db
ADMIN = Membership.Role.ADMIN


@pytest.fixture
def company_account():
    """A company with its account: an administrator and a plain member, and a contact on its page."""
    company = CompanyFactory(name="Vignes du Lez")
    account = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Compte Vignes du Lez")
    company.organisation = account
    company.save(update_fields=["organisation"])
    admin = MembershipFactory(organisation=account, role=ADMIN, user=UserFactory(email="direction@vignes.example.org")).user
    member = MembershipFactory(
        organisation=account, user=UserFactory(email="lucie.ferrer@vignes.example.org", first_name="Lucie", last_name="Ferrer")
    ).user
    contact = Contact.objects.create(
        company=company, first_name="Paul", last_name="Garcia", email="paul.garcia@vignes.example.org", phone="04 67 00 00 00"
    )
    return company, account, admin, member, contact


def notify(user_or_email, key="n1"):
    email = getattr(user_or_email, "email", user_or_email)
    notification = Notification.objects.create(
        key=key, event="opened", subject="Campagne 2026", body="…", recipients=f"autre@example.org\n{email}"
    )
    return NotificationDelivery.objects.create(
        notification=notification, email=email, user=user_or_email if isinstance(user_or_email, User) else None, reason="member"
    )


def download(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    return json.loads(b"".join(response) if response.streaming else response.content)


# --- an account ---------------------------------------------------------------------------------------------


def test_an_administrator_exports_everything_held_about_a_member(client, company_account):
    company, account, admin, member, _contact = company_account
    notify(member)
    EmailOptOut.objects.create(user=member, family="campaigns")
    AccessLog.objects.create(
        username=member.email, ip_address="192.0.2.1", user_agent="Firefox", http_accept="*/*", path_info="/"
    )
    ConventionFactory(created_by=member, reference="034-2026-0042")
    client.force_login(admin)

    data = download(client.get(reverse("comptes:person_export", args=[member.pk])))

    assert data["compte"]["email"] == "lucie.ferrer@vignes.example.org"
    assert "password" not in data["compte"]
    own = {row["modèle"] for row in data["données"]}
    assert {"adhésion", "destinataire d'une notification", "courriels refusés"} <= own
    assert data["connexions"][0]["ip_address"] == "192.0.2.1"
    authored = [row for row in data["traces_d_auteur"] if row["modèle"] == "convention"]
    assert authored and "034-2026-0042" in authored[0]["libellé"]


def test_the_page_offers_the_export_and_the_confirmation(client, company_account):
    _company, account, admin, member, _contact = company_account
    client.force_login(admin)
    members_page = client.get(reverse("comptes:organisation_members", args=[account.pk])).content.decode()
    assert reverse("comptes:person_erase", args=[member.pk]) in members_page
    page = client.get(reverse("comptes:person_erase", args=[member.pk])).content.decode()
    assert reverse("comptes:person_export", args=[member.pk]) in page
    assert "Anonymiser définitivement" in page
    # Opening the page changes nothing.
    assert User.objects.get(pk=member.pk).email == "lucie.ferrer@vignes.example.org"


def test_anonymising_replaces_what_designates_the_person_and_keeps_the_figures(client, company_account):
    _company, account, admin, member, _contact = company_account
    delivery = notify(member)
    EmailOptOut.objects.create(user=member, family="campaigns")
    AccessAttempt.objects.create(
        username=member.email,
        ip_address="192.0.2.1",
        user_agent="x",
        http_accept="*/*",
        path_info="/",
        get_data="",
        post_data="",
        failures_since_start=2,
    )
    AccessLog.objects.create(username=member.email, ip_address="192.0.2.1", user_agent="x", http_accept="*/*", path_info="/")
    convention = ConventionFactory(created_by=member)
    client.force_login(admin)

    response = client.post(reverse("comptes:person_erase", args=[member.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("comptes:organisation_members", args=[account.pk])
    member.refresh_from_db()
    assert (member.first_name, member.last_name) == ("Personne", f"anonymisée n° {member.pk}")
    assert member.email == f"compte-{member.pk}@anonyme.invalid"
    assert not member.is_active and not member.has_usable_password()
    assert not member.memberships.filter(is_active=True).exists()
    delivery.refresh_from_db()
    assert delivery.email == member.email
    assert delivery.notification.recipients.splitlines() == ["autre@example.org", member.email]
    assert not EmailOptOut.objects.filter(user=member).exists()
    assert not AccessAttempt.objects.filter(username__iexact="lucie.ferrer@vignes.example.org").exists()
    assert not AccessLog.objects.filter(username__iexact="lucie.ferrer@vignes.example.org").exists()
    # The convention stays, and names the anonymised account as its author.
    convention.refresh_from_db()
    assert convention.created_by_id == member.pk
    # Logged: who did it, on which account.
    entry = LogEntry.objects.get(object_id=str(member.pk), content_type__model="user")
    assert entry.user_id == admin.pk and "anonymisées" in entry.change_message
    # The person can no longer sign in.
    client.logout()
    signed = client.post(
        reverse("comptes:login"), {"username": "lucie.ferrer@vignes.example.org", "password": "motdepasse-solide-1"}
    )
    assert signed.status_code == 200 and "_auth_user_id" not in client.session


def test_the_last_administrator_and_oneself_are_not_anonymised(client, company_account):
    _company, account, admin, member, _contact = company_account
    national = MembershipFactory(organisation=OrganisationFactory(kind=OrganisationKind.NATIONAL), role=ADMIN).user
    client.force_login(national)
    page = client.post(reverse("comptes:person_erase", args=[admin.pk])).content.decode()
    assert "dernier administrateur actif" in page
    assert User.objects.get(pk=admin.pk).is_active

    client.force_login(admin)
    refused = client.post(reverse("comptes:person_erase", args=[admin.pk]))
    assert "votre propre compte" in refused.content.decode()
    assert User.objects.get(pk=admin.pk).email == "direction@vignes.example.org"


def test_scope_another_organisations_administrator_gets_404_a_plain_member_403(client, company_account):
    _company, account, admin, member, _contact = company_account
    other = MembershipFactory(organisation=OrganisationFactory(kind=OrganisationKind.COMPANY), role=ADMIN).user
    client.force_login(other)
    for name in ("comptes:person_export", "comptes:person_erase"):
        assert client.get(reverse(name, args=[member.pk])).status_code == 404
    assert client.post(reverse("comptes:person_erase", args=[member.pk])).status_code == 404

    client.force_login(member)
    colleague = MembershipFactory(organisation=account).user
    assert client.get(reverse("comptes:person_export", args=[colleague.pk])).status_code == 403
    assert client.post(reverse("comptes:person_erase", args=[colleague.pk])).status_code == 403
    assert User.objects.get(pk=colleague.pk).is_active


def test_a_person_also_member_elsewhere_is_not_the_administrators_to_export(client, company_account):
    """A company admin manages its own account only: someone who is also a club's member is the national level's."""
    _company, account, admin, member, _contact = company_account
    MembershipFactory(user=member, organisation=OrganisationFactory(kind=OrganisationKind.CLUB, departements=[departement()]))
    client.force_login(admin)
    response = client.get(reverse("comptes:person_export", args=[member.pk]))
    assert response.status_code == 403
    assert "niveau national" in response.content.decode()


# --- a company contact ----------------------------------------------------------------------------------------


def test_an_administrator_exports_and_anonymises_a_contact(client, company_account):
    company, _account, admin, _member, contact = company_account
    delivery = notify("paul.garcia@vignes.example.org", key="contact")
    client.force_login(admin)
    page = client.get(reverse("entreprises:detail", args=[company.pk])).content.decode()
    assert reverse("entreprises:contact_erase", args=[contact.pk]) in page

    data = download(client.get(reverse("entreprises:contact_export", args=[contact.pk])))
    assert data["contact"]["phone"] == "04 67 00 00 00"
    assert data["envois"][0]["email"] == "paul.garcia@vignes.example.org"

    assert client.post(reverse("entreprises:contact_erase", args=[contact.pk])).status_code == 302
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.email, contact.phone) == (
        "Contact",
        f"anonymisé n° {contact.pk}",
        "",
        "",
    )
    delivery.refresh_from_db()
    assert "paul.garcia" not in delivery.email and "paul.garcia" not in delivery.notification.recipients
    assert LogEntry.objects.filter(object_id=str(contact.pk), content_type__model="contact", user=admin).exists()


def test_contact_scope_other_company_404_plain_member_403_club_of_a_member_company_200(client, company_account):
    company, _account, _admin, member, contact = company_account
    other = MembershipFactory(organisation=OrganisationFactory(kind=OrganisationKind.COMPANY), role=ADMIN).user
    client.force_login(other)
    assert client.get(reverse("entreprises:contact_export", args=[contact.pk])).status_code == 404
    assert client.post(reverse("entreprises:contact_erase", args=[contact.pk])).status_code == 404

    client.force_login(member)
    assert client.get(reverse("entreprises:contact_export", args=[contact.pk])).status_code == 403
    assert client.post(reverse("entreprises:contact_erase", args=[contact.pk])).status_code == 403
    assert Contact.objects.get(pk=contact.pk).email == "paul.garcia@vignes.example.org"

    club = OrganisationFactory(kind=OrganisationKind.CLUB, departements=[departement()])
    ClubMembershipFactory(company=company, club=club)
    client.force_login(MembershipFactory(organisation=club, role=ADMIN).user)
    assert client.get(reverse("entreprises:contact_export", args=[contact.pk])).status_code == 200
