"""Cursor (keyset) pages of the actions list: `?curseur=` then `suivante`, every visible row once, in the list's
order, at a constant number of queries per page; page numbers keep working beside it (issue 14)."""

import datetime
from base64 import b64encode

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from charte.comptes.scoping import Scope
from conventions.models import Action
from tests.factories import ActionFactory

from .conftest import assert_error, client_for

URL = reverse("api:action-list")
pytestmark = pytest.mark.django_db


@pytest.fixture
def many_actions(world):
    """17 more actions in each département, most of them on the same two days: ties on the date must neither skip
    nor repeat a row at a page boundary."""
    for side in (world.inside, world.outside):
        for n in range(17):
            day = datetime.date(2024, 3, 1) if n % 3 else datetime.date(2023, 6, 15 + n % 2)
            action = ActionFactory(departement=side.departement, club=side.club, convention=side.convention, start_date=day)
            action.companies.add(side.company)
    return world


def expected_ids(organisation):
    visible = Action.objects.visible_to(Scope.for_organisation(organisation))
    return list(visible.order_by("-start_date", "-pk").values_list("pk", flat=True))


def walk(client, first_url, params):
    """Follow `suivante` from the first page: (ids in order, queries of each page, pages)."""
    ids, queries, pages = [], [], []
    url, query = first_url, params
    while url:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"suivante", "precedente", "resultats"}
        ids += [row["id"] for row in body["resultats"]]
        queries.append(len(captured))
        pages.append(body)
        url, query = body["suivante"], None
    return ids, queries, pages


@pytest.mark.parametrize("role", ["national", "prefecture", "club", "company", "partner"])
def test_the_cursor_reads_every_visible_action_once_in_order(many_actions, role):
    organisation = many_actions.orgs[role]
    client = client_for(organisation, "key")
    client.get(URL)  # the key's first use is recorded (a write at most once a minute)

    ids, queries, pages = walk(client, URL, {"curseur": "", "page_size": 4})

    assert ids == expected_ids(organisation)
    assert len(ids) == len(set(ids))
    if role == "national":
        assert len(ids) == 2 + 34 and len(pages) == 9
    elif role != "partner":
        assert len(ids) >= 17 and many_actions.outside.action.pk not in ids
    # The same number of queries on every page but the last (which may hold no row to prefetch for).
    assert len(set(queries[:-1])) <= 1, queries
    assert pages[0]["precedente"] is None and pages[-1]["suivante"] is None
    # The page numbers, as before, give the same rows in the same order.
    numbered = client.get(URL, {"page_size": 200}).json()
    assert [row["id"] for row in numbered["resultats"]] == ids
    assert numbered["total"] == len(ids)


def test_precedente_goes_back_to_the_same_rows(many_actions):
    client = client_for(many_actions.orgs["national"], "session")
    _ids, _queries, pages = walk(client, URL, {"curseur": "", "page_size": 5})
    for earlier, later in zip(pages, pages[1:], strict=False):
        back = client.get(later["precedente"]).json()
        assert [row["id"] for row in back["resultats"]] == [row["id"] for row in earlier["resultats"]]
    second = client.get(pages[2]["precedente"]).json()
    first = client.get(second["precedente"]).json()
    assert first["precedente"] is None


def test_the_cursor_keeps_the_filters(many_actions):
    client = client_for(many_actions.orgs["national"], "session")
    ids, _queries, pages = walk(client, URL, {"curseur": "", "page_size": 3, "departement": "75", "annee": 2024})
    in_paris = Action.objects.filter(departement__code="75", start_date__year=2024)
    expected = list(in_paris.order_by("-start_date", "-pk").values_list("pk", flat=True))
    assert ids == expected and len(ids) > 3
    assert "departement=75" in pages[0]["suivante"]


def test_bad_cursor_is_a_french_404_and_the_cursor_wins_over_page_and_ordering(many_actions):
    client = client_for(many_actions.orgs["national"], "key")
    for bad in ("abc", "cD0yMDI0LTAxLTAx", "cD1ub24tZGF0ZXwx"):
        error = assert_error(client.get(URL + "?curseur=" + bad), 404, "introuvable")
        assert error["message"].startswith("Curseur invalide : suivez les liens « suivante »")
    first = client.get(URL, {"curseur": ""}).json()["resultats"]
    # Any string is a valid `curseur` for the schema, so a request mixing it with `page` or `ordering` is answered:
    # the cursor wins, in the list's index order.
    assert client.get(URL, {"curseur": "", "page": 2}).json()["resultats"] == first
    assert client.get(URL, {"curseur": "", "ordering": "date_debut"}).json()["resultats"] == first
    assert_error(client.get(URL, {"curseur": "", "page_size": "0"}), 400, "donnees_invalides")


def test_a_foreign_cursor_position_reveals_nothing(many_actions):
    """A cursor is a position, not a grant: one forged on a Paris action still lists the Hérault's rows only."""
    organisation = many_actions.orgs["prefecture"]
    client = client_for(organisation, "key")
    outside = many_actions.outside.action
    forged = b64encode(f"p={outside.start_date}|{outside.pk + 1}".encode()).decode()
    ids = [row["id"] for row in client.get(URL, {"curseur": forged, "page_size": 200}).json()["resultats"]]
    assert ids and set(ids) <= set(expected_ids(organisation))


def test_the_schema_documents_the_cursor(db):
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/actions/"]["get"]["parameters"]}
    assert "curseur" in parameters and "suivante" in parameters["curseur"]["description"]
    page = schema["components"]["schemas"]["PaginatedActionList"]
    assert page["required"] == ["suivante", "precedente", "resultats"]
    assert "curseur" not in {p["name"] for p in schema["paths"]["/api/v1/conventions/"]["get"]["parameters"]}
