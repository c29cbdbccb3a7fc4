"""Every API route x every role x both authentications: 200 inside the scope, 404 outside, no foreign row in
lists. Partners see territories and the catalogue only."""

import pytest
from django.urls import reverse

from charte.catalogue.models import ActionType, Family, Indicator

from .conftest import assert_error, client_for

ROLES = ["national", "prefecture", "club", "company", "partner"]
AUTHS = ["session", "key"]
EVERYBODY = set(ROLES)
NOT_PARTNERS = EVERYBODY - {"partner"}

# basename -> roles that see the inside side's row (the national level also sees the outside one)
SCOPED = {
    "region": EVERYBODY,
    "departement": EVERYBODY,
    "epci": EVERYBODY,
    "commune": EVERYBODY,
    "qpv": EVERYBODY,
    "qpv-correspondance": EVERYBODY,
    "entreprise": NOT_PARTNERS,
    "convention": NOT_PARTNERS,
    "action": NOT_PARTNERS,
}
CATALOGUE = {"famille": Family, "type-action": ActionType, "indicateur": Indicator}


def list_ids(client, basename, **params):
    response = client.get(reverse(f"api:{basename}-list"), {"page_size": 200, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == len(body["resultats"])
    return {row["id"] for row in body["resultats"]}


def test_every_api_route_is_covered():
    from charte.api.urls import router

    from .test_evaluation_api import SCOPED as EVALUATION  # campaigns, declarations, results: their own world

    assert {basename for _prefix, _viewset, basename in router.registry} == set(SCOPED) | set(CATALOGUE) | set(EVALUATION)


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("basename", sorted(SCOPED))
def test_scoped_endpoint(world, role, auth, basename):
    client = client_for(world.orgs[role], auth)
    inside = world.inside.objects[basename]
    outside = world.outside.objects[basename]
    sees_inside = role in SCOPED[basename]
    sees_outside = role == "national"

    ids = list_ids(client, basename)
    assert (inside.pk in ids) is sees_inside
    assert (outside.pk in ids) is sees_outside
    if role != "national":
        # Exactly the rows of the scope: no foreign row at all, not only the two named ones.
        assert ids == (world.inside.rows(basename) if sees_inside else set())

    detail = client.get(reverse(f"api:{basename}-detail", args=[inside.pk]))
    if sees_inside:
        assert detail.status_code == 200, detail.content
        assert detail.json()["id"] == inside.pk
    else:
        assert_error(detail, 404, "introuvable")

    foreign_detail = client.get(reverse(f"api:{basename}-detail", args=[outside.pk]))
    if sees_outside:
        assert foreign_detail.status_code == 200
    else:
        assert_error(foreign_detail, 404, "introuvable")


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("basename", sorted(CATALOGUE))
def test_catalogue_is_read_by_every_role(world, role, auth, basename):
    client = client_for(world.orgs[role], auth)
    model = CATALOGUE[basename]
    ids = list_ids(client, basename)
    assert ids == set(model.objects.values_list("pk", flat=True))
    first = model.objects.order_by("pk").first()
    assert client.get(reverse(f"api:{basename}-detail", args=[first.pk])).json()["code"] == first.code


@pytest.mark.parametrize("auth", AUTHS)
def test_nested_rows_stay_inside_the_scope(world, auth):
    """A company sees its collective convention and shared action, but not the other company through them."""
    world.inside.convention.companies.add(world.outside.company)
    world.inside.action.companies.add(world.outside.company)
    world.inside.action.qpvs.add(world.outside.qpv_2015)
    client = client_for(world.orgs["company"], auth)

    convention = client.get(reverse("api:convention-detail", args=[world.inside.convention.pk])).json()
    assert [c["id"] for c in convention["entreprises"]] == [world.inside.company.pk]
    action = client.get(reverse("api:action-detail", args=[world.inside.action.pk])).json()
    assert [c["id"] for c in action["entreprises"]] == [world.inside.company.pk]
    assert world.outside.qpv_2015.code not in [q["code"] for q in action["qpv"]]


def test_qpv_detail_shows_the_correspondence_inside_the_scope(world):
    client = client_for(world.orgs["prefecture"], "key")
    old = client.get(reverse("api:qpv-detail", args=[world.inside.qpv_2015.pk])).json()
    assert [q["code"] for q in old["successeurs"]] == [world.inside.qpv_2024.code]
    assert old["predecesseurs"] == []
    new = client.get(reverse("api:qpv-detail", args=[world.inside.qpv_2024.pk])).json()
    assert [q["code"] for q in new["predecesseurs"]] == [world.inside.qpv_2015.code]


def test_a_key_acts_as_its_organisation_not_as_the_signed_in_person(world):
    """A request carrying a key and a session cookie: the key's organisation decides the scope."""
    client = client_for(world.orgs["partner"], "key")
    client.force_login(client.api_key.created_by)
    national = client_for(world.orgs["national"], "session")
    client.cookies = national.cookies
    assert list_ids(client, "entreprise") == set()


def test_a_user_without_organisation_gets_403(db):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory

    client = APIClient()
    client.force_login(UserFactory())
    error = assert_error(client.get(reverse("api:qpv-list")), 403, "interdit")
    assert "aucune organisation" in error["message"]
