"""Bad input never gives a 500: wrong types, unknown ids, NUL characters, huge pages -> 4xx, French message."""

import pytest
from django.urls import reverse

from .conftest import assert_error, key_client

LIST_ROUTES = [
    "region",
    "departement",
    "epci",
    "commune",
    "qpv",
    "qpv-correspondance",
    "famille",
    "type-action",
    "indicateur",
    "entreprise",
    "convention",
    "action",
]


@pytest.fixture
def client(world):
    return key_client(world.orgs["national"])


@pytest.mark.parametrize("basename", LIST_ROUTES)
def test_nul_in_any_query_parameter_is_400(client, basename):
    url = reverse(f"api:{basename}-list")
    error = assert_error(client.get(url, {"departement": "3\x004"}), 400, "donnees_invalides")
    assert error["details"]["departement"] == ["Le caractère nul (U+0000) n'est pas accepté."]
    assert_error(client.get(url, {"ordering\x00": "x"}), 400, "donnees_invalides")
    assert_error(client.get(url + "?page=%00"), 400, "donnees_invalides")


@pytest.mark.parametrize("basename", LIST_ROUTES)
def test_page_parameters(client, basename):
    url = reverse(f"api:{basename}-list")
    assert client.get(url, {"page_size": "1" + "0" * 40}).status_code == 200  # capped, not refused
    for bad in ("abc", "0", "-1", "1.5", "²"):
        error = assert_error(client.get(url, {"page": bad}), 400, "donnees_invalides")
        assert error["details"]["page"] == ["Un entier supérieur ou égal à 1 est attendu."]
        assert_error(client.get(url, {"page_size": bad}), 400, "donnees_invalides")
    for beyond in ("999999", "9" * 40):
        error = assert_error(client.get(url, {"page": beyond}), 404, "introuvable")
        assert "n'existe pas" in error["message"]
    assert_error(client.get(url, {"ordering": "mot_de_passe"}), 400, "donnees_invalides")


def test_huge_page_size_is_capped_at_200(world, client):
    from tests.factories import QPVFactory, departement

    for n in range(205):
        QPVFactory(code=f"QP034{n + 100:03d}", departement=departement("34"))
    body = client.get(reverse("api:qpv-list"), {"page_size": 100000, "departement": "34"}).json()
    assert len(body["resultats"]) == 200
    assert body["total"] == 205 + 2
    assert body["pages"] == 2 and body["suivante"] and body["precedente"] is None


@pytest.mark.parametrize(
    ("basename", "params", "field"),
    [
        ("action", {"annee": "deux mille"}, "annee"),
        ("action", {"annee": "99999"}, "annee"),
        ("action", {"entreprise": "x"}, "entreprise"),
        ("action", {"entreprise": "9" * 30}, "entreprise"),
        ("action", {"convention": "-3"}, "convention"),
        ("action", {"updated_since": "hier"}, "updated_since"),
        ("action", {"updated_since": "2024-02-30T00:00:00+01:00"}, "updated_since"),
        ("action", {"updated_since": "31/12/2024"}, "updated_since"),
        ("qpv", {"updated_since": "2024-13-01"}, "updated_since"),
        ("convention", {"statut": "perdue"}, "statut"),
        ("convention", {"annee": "1.5"}, "annee"),
        ("entreprise", {"club": "club"}, "club"),
        ("entreprise", {"taille": "XXL"}, "taille"),
        ("qpv", {"generation": "2020"}, "generation"),
        ("famille", {"active": "peut-être"}, "active"),
    ],
)
def test_wrong_filter_values_are_400_at_the_parameter(client, basename, params, field):
    error = assert_error(client.get(reverse(f"api:{basename}-list"), params), 400, "donnees_invalides")
    assert list(error["details"]) == [field]
    assert error["message"] == "Les données envoyées sont invalides."


@pytest.mark.parametrize("basename", LIST_ROUTES)
def test_unknown_ids_are_404(client, basename):
    for pk in ("999999", "9" * 19, "9" * 40):
        assert_error(client.get(f"{reverse(f'api:{basename}-list')}{pk}/"), 404, "introuvable")


def test_non_numeric_ids_and_unknown_addresses_get_the_json_404(client):
    for url in ("/api/v1/actions/abc/", "/api/v1/actions/%00/", "/api/v1/inconnu/", "/api/v1/qpv/12/suite/"):
        error = assert_error(client.get(url), 404, "introuvable")
        assert error["message"] == "Aucune ressource à cette adresse de l'API."


def test_empty_filters_are_ignored(client, world):
    body = client.get(reverse("api:action-list"), {"departement": "", "annee": "", "entreprise": ""}).json()
    assert body["total"] == 2


def test_filters_select_rows(client, world):
    def ids(basename, **params):
        return {row["id"] for row in client.get(reverse(f"api:{basename}-list"), params).json()["resultats"]}

    inside, outside = world.inside, world.outside
    assert ids("qpv", departement="34", generation=2024) == {inside.qpv_2024.pk}
    assert ids("qpv", commune=outside.commune.code) == {outside.qpv_2015.pk, outside.qpv_2024.pk}
    assert ids("qpv-correspondance", qpv_2015=inside.qpv_2015.code) == {inside.correspondence.pk}
    assert ids("entreprise", departement="75") == {outside.company.pk}
    assert ids("entreprise", club=inside.club.pk) == {inside.company.pk}
    assert ids("convention", annee=2017, departement="34") == {inside.convention.pk}
    assert ids("convention", annee=2030) == set()
    assert ids("convention", entreprise=outside.company.pk) == {outside.convention.pk}
    assert ids("action", qpv=inside.qpv_2015.code) == {inside.action.pk}
    assert ids("action", famille="EDU", annee=2016, convention=inside.convention.pk) == {inside.action.pk}
    assert ids("action", updated_since="2099-01-01T00:00:00+01:00") == set()
    assert ids("action", updated_since="2000-01-01") == {inside.action.pk, outside.action.pk}
    ordered = client.get(reverse("api:departement-list"), {"ordering": "-code"}).json()["resultats"]
    assert ordered[0]["code"] > ordered[-1]["code"]


def test_very_long_values_are_not_a_server_error(client):
    for name in ("departement", "qpv", "famille", "type_action", "ordering", "page", "page_size", "updated_since"):
        response = client.get(reverse("api:action-list"), {name: "é" * 20000})
        assert response.status_code in (200, 400), (name, response.content[:200])


@pytest.mark.parametrize("estimate", [3, 500])
def test_past_the_exact_count_limit_the_total_is_an_estimate_and_the_links_follow_the_rows(
    world, client, settings, monkeypatch, estimate
):
    """Issue 17: a list of millions of rows is not counted; following `suivante` still reads every row once,
    whether the planner's estimate is too low or too high."""
    from charte import pagination
    from tests.factories import QPVFactory, departement

    for n in range(23):
        QPVFactory(code=f"QP034{n + 100:03d}", departement=departement("34"))
    settings.LIST_EXACT_COUNT_LIMIT = 10
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: estimate)
    url, params, seen = reverse("api:qpv-list"), {"departement": "34", "page_size": 10}, []
    body = client.get(url, params).json()
    assert body["total_estime"] is True and body["total"] == max(estimate, 11)
    assert body["precedente"] is None
    while True:
        seen += [row["code"] for row in body["resultats"]]
        if not body["suivante"]:
            break
        body = client.get(body["suivante"]).json()
        assert body["precedente"]
    assert len(seen) == len(set(seen)) == 25
    assert_error(client.get(url, {**params, "page": 4}), 404, "introuvable")
    assert_error(client.get(url, {**params, "page": "9" * 40}), 404, "introuvable")


def test_under_the_exact_count_limit_the_total_is_exact(world, client):
    body = client.get(reverse("api:qpv-list")).json()
    assert body["total_estime"] is False and body["total"] == len(body["resultats"])
