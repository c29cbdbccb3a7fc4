"""The members pages: who manages whose members, role changes, deactivation (never deletion), the last
administrator's protection, the « Membres » hub and menu entry, and a fixed number of queries."""

import html

import pytest
from django.urls import reverse

from charte.comptes import people
from charte.comptes.models import Invitation, Membership
from tests.comptes import people_world
from tests.factories import MembershipFactory, UserFactory

ADMIN, MEMBER = Membership.Role.ADMIN, Membership.Role.MEMBER


@pytest.fixture
def w(db):
    return people_world.build()


def text(response):
    return html.unescape(response.content.decode())


def membership(user, organisation):
    return Membership.objects.get(user=user, organisation=organisation)


def members_page(client, user, organisation):
    client.force_login(user)
    return client.get(reverse("comptes:organisation_members", args=[organisation.pk]))


def test_the_members_page_lists_name_email_role_state_and_last_login(client, w):
    Membership.objects.filter(user=w.company_member).update(is_active=False)
    response = members_page(client, w.company_admin, w.account)
    page = text(response)
    assert response.status_code == 200
    assert "Rose Sabatier (vous)" in page and "rse@garrigue.example" in page
    assert "compta@garrigue.example" in page and "Désactivée" in page
    assert "Administrateur" in page and "Membre" in page
    # force_login records the last login.
    assert "Jamais" in page
    assert 'action="' + reverse("comptes:membership_role", args=[membership(w.company_member, w.account).pk]) in page


def test_the_members_page_runs_a_fixed_number_of_queries(client, w, django_assert_max_num_queries):
    client.force_login(w.company_admin)
    url = reverse("comptes:organisation_members", args=[w.account.pk])
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        assert client.get(url).status_code == 200
    for n in range(30):
        MembershipFactory(organisation=w.account, updated_by=w.company_admin)
        Invitation.objects.create(
            organisation=w.account,
            email=f"invite{n}@garrigue.example",
            invited_by=w.company_admin,
            expires_at=w.account.created_at.replace(year=2100),
            nonce=f"n{n}",
            token_hash=f"h{n}",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert "invite29@garrigue.example" in text(response)


def test_a_member_who_is_not_admin_cannot_manage_its_organisation(client, w):
    response = members_page(client, w.company_member, w.account)
    assert response.status_code == 403
    assert "pas gérer ses membres" in text(response)
    target = membership(w.company_admin, w.account)
    assert client.post(reverse("comptes:membership_role", args=[target.pk]), {"role": MEMBER}).status_code == 403
    assert client.post(reverse("comptes:membership_status", args=[target.pk]), {"active": "0"}).status_code == 403
    target.refresh_from_db()
    assert target.role == ADMIN and target.is_active


def test_an_admin_changes_a_role_and_deactivates_then_reactivates_a_membership(client, w):
    client.force_login(w.company_admin)
    target = membership(w.company_member, w.account)

    response = client.post(reverse("comptes:membership_role", args=[target.pk]), {"role": ADMIN})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == ADMIN and target.updated_by == w.company_admin

    client.post(reverse("comptes:membership_status", args=[target.pk]), {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active
    page = text(client.get(reverse("comptes:organisation_members", args=[w.account.pk])))
    assert "L'adhésion de" in page and "est désactivée" in page
    # Deactivated, never deleted: the person keeps the row, and loses the organisation.
    assert w.company_member.active_memberships().count() == 0

    client.post(reverse("comptes:membership_status", args=[target.pk]), {"active": "1"})
    target.refresh_from_db()
    assert target.is_active and Membership.objects.filter(pk=target.pk).exists()


def test_the_last_active_admin_cannot_be_demoted_nor_deactivated_even_by_themselves(client, w):
    client.force_login(w.company_admin)
    own = membership(w.company_admin, w.account)
    for name, data in (("comptes:membership_role", {"role": MEMBER}), ("comptes:membership_status", {"active": "0"})):
        response = client.post(reverse(name, args=[own.pk]), data, follow=True)
        assert "C'est le dernier administrateur actif de l'organisation" in text(response)
    own.refresh_from_db()
    assert own.role == ADMIN and own.is_active

    # With a second admin, an admin may step down.
    people.change_role(membership(w.company_member, w.account), ADMIN, w.company_admin)
    client.post(reverse("comptes:membership_role", args=[own.pk]), {"role": MEMBER})
    own.refresh_from_db()
    assert own.role == MEMBER


def test_an_admin_whose_account_is_disabled_does_not_count_as_the_organisations_admin(w):
    second = people_world.member(w.account, "second@garrigue.example", ADMIN)
    second.user.is_active = False
    second.user.save()
    with pytest.raises(Exception, match="dernier administrateur"):
        people.set_active(membership(w.company_admin, w.account), False, w.company_admin)


def test_an_unknown_role_is_refused_without_a_500(client, w):
    client.force_login(w.company_admin)
    target = membership(w.company_member, w.account)
    response = client.post(reverse("comptes:membership_role", args=[target.pk]), {"role": "superadmin"}, follow=True)
    assert response.status_code == 200 and "Rôle inconnu." in text(response)
    target.refresh_from_db()
    assert target.role == MEMBER


def test_a_prefecture_admin_manages_the_organisations_of_its_departements(client, w):
    for organisation in (w.club, w.account, w.partner, w.prefecture):
        assert members_page(client, w.prefecture_admin, organisation).status_code == 200
    target = membership(w.company_member, w.account)
    client.post(reverse("comptes:membership_status", args=[target.pk]), {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active and target.updated_by == w.prefecture_admin
    # Another département's, the national level: out of scope.
    for organisation in (w.aude_club, w.aude_account, w.national):
        assert members_page(client, w.prefecture_admin, organisation).status_code == 404
    foreign = people_world.member(w.aude_account, "x@cers.example")
    assert client.post(reverse("comptes:membership_status", args=[foreign.pk]), {"active": "0"}).status_code == 404


def test_a_prefecture_agent_invites_but_does_not_manage_memberships(client, w):
    page = members_page(client, w.prefecture_agent, w.account)
    assert page.status_code == 200
    assert "Inviter une personne" in text(page)
    assert reverse("comptes:membership_status", args=[membership(w.company_member, w.account).pk]) not in text(page)
    target = membership(w.company_member, w.account)
    assert client.post(reverse("comptes:membership_status", args=[target.pk]), {"active": "0"}).status_code == 403
    assert members_page(client, w.prefecture_agent, w.prefecture).status_code == 403


def test_the_national_level_admin_manages_every_organisation(client, w):
    for organisation in (w.aude_account, w.prefecture, w.club):
        assert members_page(client, w.national_admin, organisation).status_code == 200
    national_member = people_world.member(w.national, "agent@anct.example.org").user
    assert members_page(client, national_member, w.aude_account).status_code == 403


def test_a_club_sees_its_member_companys_people_without_managing_them(client, w):
    page = members_page(client, w.animator, w.account)
    assert page.status_code == 200
    assert "rse@garrigue.example" in text(page)
    target = membership(w.company_admin, w.account)
    assert client.post(reverse("comptes:membership_role", args=[target.pk]), {"role": MEMBER}).status_code == 403
    assert members_page(client, w.animator, w.former_account).status_code == 404


def test_invitations_of_another_organisation_cannot_be_resent_or_revoked(client, w):
    invitation = people.invite(w.aude_account, "x@cers.example", MEMBER, w.national_admin)
    client.force_login(w.prefecture_admin)
    assert client.post(reverse("comptes:invitation_revoke", args=[invitation.pk])).status_code == 404
    assert client.post(reverse("comptes:invitation_resend", args=[invitation.pk])).status_code == 404
    client.force_login(w.company_member)
    own = people.invite(w.account, "y@garrigue.example", MEMBER, w.company_admin)
    assert client.post(reverse("comptes:invitation_revoke", args=[own.pk])).status_code == 403
    invitation.refresh_from_db()
    own.refresh_from_db()
    assert invitation.revoked_at is None and own.revoked_at is None


# --- the hub and the menu -------------------------------------------------------------------------------------


def test_the_members_entry_of_the_menu_shows_for_those_who_manage_people(client, w):
    client.force_login(w.company_admin)
    assert 'href="/compte/membres/"' in text(client.get(reverse("dashboard")))
    client.force_login(w.company_member)
    assert 'href="/compte/membres/"' not in text(client.get(reverse("dashboard")))
    assert client.get(reverse("comptes:members")).status_code == 403


def test_a_company_admin_goes_from_the_hub_straight_to_its_members(client, w):
    client.force_login(w.company_admin)
    response = client.get(reverse("comptes:members"))
    assert response.status_code == 302
    assert response["Location"] == reverse("comptes:organisation_members", args=[w.account.pk])


def test_the_prefectures_hub_lists_the_organisations_of_its_departements_only(client, w):
    client.force_login(w.prefecture_admin)
    page = text(client.get(reverse("comptes:members")))
    for name in ("FACE Hérault", "Compte Garrigue", "Métropole", "Compte Ancien Membre"):
        assert name in page
    for name in ("FACE Aude", "Compte Cers", "ANCT", "Préfecture de l'Aude"):
        assert name not in page
    assert "Membres de Préfecture de l'Hérault" in page
    filtered = text(client.get(reverse("comptes:members"), {"q": "garrigue"}))
    assert "Compte Garrigue" in filtered and "FACE Hérault" not in filtered


def test_the_clubs_hub_lists_the_accounts_of_its_member_companies(client, w):
    client.force_login(w.animator)
    page = text(client.get(reverse("comptes:members")))
    assert "Compte Garrigue" in page
    assert "Compte Ancien Membre" not in page and "Compte Cers" not in page


def test_a_person_acting_for_no_organisation_gets_no_people_page(client, w):
    nobody = UserFactory(email="ancien@herault.gouv.example")
    MembershipFactory(user=nobody, organisation=w.prefecture, is_active=False, role=ADMIN)
    client.force_login(nobody)
    assert client.get(reverse("comptes:members")).status_code == 403
    assert client.get(reverse("comptes:organisation_members", args=[w.prefecture.pk])).status_code == 404
