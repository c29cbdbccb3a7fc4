"""The organisation administrator's key pages: list, create (the full key shown once), revoke."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from charte.comptes.models import ApiKey, Membership, OrganisationKind
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def club(db):
    return OrganisationFactory(kind=OrganisationKind.CLUB, name="Club FACE Hérault")


def signed_in(organisation, role):
    user = UserFactory()
    MembershipFactory(user=user, organisation=organisation, role=role)
    client = Client()
    client.force_login(user)
    return client, user


def test_the_admin_creates_a_key_shown_once_that_works(club):
    client, admin = signed_in(club, Membership.Role.ADMIN)
    response = client.post(reverse("comptes:api_key_create"), {"name": "Outil du club", "scope": "read_write"})
    assert response.status_code == 302 and response["Location"] == reverse("comptes:api_key_created")

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]  # the page itself, and every signed-in page (private, no-store)
    full_key = re.search(r'id="full-key" type="text" readonly value="([^"]+)"', page.content.decode()).group(1)
    key = ApiKey.objects.get()
    assert (key.organisation, key.name, key.scope, key.created_by) == (club, "Outil du club", "read_write", admin)
    assert full_key.startswith(key.prefix + ".")
    assert full_key.split(".")[1] not in str(client.session.items())

    # Shown once: the next visit only explains it.
    again = client.get(reverse("comptes:api_key_created"), follow=True)
    assert full_key not in again.content.decode()
    assert "une fois, juste après sa création" in again.content.decode()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    assert api.get("/api/v1/familles/").status_code == 200

    listing = client.get(reverse("comptes:api_keys")).content.decode()
    assert key.prefix in listing and "Outil du club" in listing and "Lecture et écriture" in listing
    assert full_key not in listing


def test_a_refused_form_keeps_what_was_typed(club):
    client, _admin = signed_in(club, Membership.Role.ADMIN)
    response = client.post(reverse("comptes:api_key_create"), {"name": "Tableau de bord", "scope": "tout"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Tableau de bord"' in html and "Sélectionnez un choix valide" in html
    assert not ApiKey.objects.exists()


def test_the_admin_revokes_a_key(club):
    client, admin = signed_in(club, Membership.Role.ADMIN)
    key, full_key = ApiKey.issue(club, "Ancien outil", "read", created_by=admin)
    assert client.get(reverse("comptes:api_key_revoke", args=[key.pk])).status_code == 200
    response = client.post(reverse("comptes:api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    assert api.get("/api/v1/familles/").status_code == 401
    assert "Révoquée le" in client.get(reverse("comptes:api_keys")).content.decode()


def test_keys_of_another_organisation_are_out_of_reach(club):
    client, _admin = signed_in(club, Membership.Role.ADMIN)
    other = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Région Occitanie")
    foreign, _ = ApiKey.issue(other, "Outil de la Région", "read")
    assert "Outil de la Région" not in client.get(reverse("comptes:api_keys")).content.decode()
    assert client.post(reverse("comptes:api_key_revoke", args=[foreign.pk])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_members_who_are_not_admins_are_refused(club):
    client, _member = signed_in(club, Membership.Role.MEMBER)
    key, _ = ApiKey.issue(club, "Outil du club", "read")
    for response in (
        client.get(reverse("comptes:api_keys")),
        client.get(reverse("comptes:api_key_create")),
        client.post(reverse("comptes:api_key_create"), {"name": "x", "scope": "read"}),
        client.post(reverse("comptes:api_key_revoke", args=[key.pk])),
    ):
        assert response.status_code == 403
        assert "Seul un administrateur" in response.content.decode()
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_pages_need_a_signed_in_person(db):
    response = Client().get(reverse("comptes:api_keys"))
    assert response.status_code == 302 and reverse("comptes:login") in response["Location"]
