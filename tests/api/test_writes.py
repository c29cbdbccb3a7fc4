"""Actions written by a tool: the portal form's rules and scope, the portal's permissions, read-only keys
refused, the author recorded."""

import json

import pytest
from django.urls import reverse

from charte.comptes.models import ApiKey, Membership
from conventions.models import Action

from .conftest import assert_error, key_client, member, session_client

LIST = reverse("api:action-list")


def detail(action):
    return reverse("api:action-detail", args=[action.pk])


def payload(world, **changes):
    data = {
        "type_action": "STAGE_3E",
        "intitule": "Stages de 3e au collège Las Cazes",
        "date_debut": "2017-01-16",
        "date_fin": "2017-01-20",
        "departement": "34",
        "entreprises": [world.inside.company.pk],
        "qpv": [world.inside.qpv_2015.code, world.inside.qpv_2024.code],
        "convention": world.inside.convention.pk,
        "beneficiaires_total": 12,
        "beneficiaires_femmes": 7,
        "beneficiaires_moins_de_26_ans": 12,
        "beneficiaires_qpv": 9,
        "salaries_mobilises": 4,
        "heures": 17.5,
        "partenaires": [{"type": "college", "nom": "Collège Las Cazes"}],
    }
    data.update(changes)
    return data


def test_a_club_tool_logs_an_action(world):
    client = key_client(world.orgs["club"])
    response = client.post(LIST, payload(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    action = Action.objects.get(pk=body["id"])
    assert action.club == world.orgs["club"]  # a club logs for itself, as on the portal
    assert action.logged_by == client.api_key.created_by
    assert set(action.qpvs.values_list("code", flat=True)) == {world.inside.qpv_2015.code, world.inside.qpv_2024.code}
    assert list(action.partners.values_list("kind", "name")) == [("college", "Collège Las Cazes")]
    assert body["heures"] == 17.5 and body["beneficiaires_total"] == 12
    assert body["type_action"]["code"] == "STAGE_3E"
    # It is then read back through the same scope.
    assert client.get(detail(action)).json()["intitule"] == "Stages de 3e au collège Las Cazes"


def test_a_key_whose_creator_was_deleted_still_logs_an_action(world):
    client = key_client(world.orgs["club"])
    ApiKey.objects.filter(pk=client.api_key.pk).update(created_by=None)
    response = client.post(LIST, payload(world), format="json")
    assert response.status_code == 201, response.content
    assert Action.objects.get(pk=response.json()["id"]).logged_by is None


def test_a_session_logs_an_action(world):
    client = session_client(world.orgs["company"])
    response = client.post(LIST, payload(world), format="json")
    assert response.status_code == 201, response.content
    assert Action.objects.get(pk=response.json()["id"]).logged_by.memberships.get().organisation == world.orgs["company"]


def test_a_read_only_key_is_refused_on_every_write(world):
    client = key_client(world.orgs["national"], scope=ApiKey.Access.READ)
    action = world.inside.action
    for response in (
        client.post(LIST, payload(world), format="json"),
        client.put(detail(action), payload(world), format="json"),
        client.patch(detail(action), {"intitule": "Autre"}, format="json"),
        client.delete(detail(action)),
    ):
        error = assert_error(response, 403, "interdit")
        assert error["message"] == "Cette clé d'API est en lecture seule : elle ne permet pas de modifier des données."
    assert Action.objects.filter(pk=action.pk, title=action.title).exists()
    assert client.get(detail(action)).status_code == 200


@pytest.mark.parametrize("auth", ["session", "key"])
def test_a_partner_cannot_log_actions(world, auth):
    client = session_client(world.orgs["partner"]) if auth == "session" else key_client(world.orgs["partner"])
    error = assert_error(client.post(LIST, payload(world), format="json"), 403, "interdit")
    assert "saisir" in error["message"]
    assert_error(client.delete(detail(world.inside.action)), 404, "introuvable")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"entreprises": "__outside_company__"}, "entreprises", "choix valide"),
        ({"convention": "__outside_convention__"}, "convention", "choix valide"),
        ({"departement": "75"}, "departement", "choix valide"),
        ({"beneficiaires_femmes": 13}, "beneficiaires_femmes", "ne peut pas dépasser"),
        ({"date_fin": "2017-01-01"}, "date_fin", "postérieure"),
        ({"type_action": "INCONNU"}, "type_action", "Aucun type d'action"),
        ({"qpv": ["QP999999"]}, "qpv", "inconnus"),
        ({"entreprises": []}, "entreprises", ""),
        ({"beneficiaires_total": -1}, "beneficiaires_total", ""),
        ({"beneficiaires_total": "douze"}, "beneficiaires_total", ""),
        ({"date_debut": "16/01/2017"}, "date_debut", ""),
        ({"heures": 1e30}, "heures", ""),
        ({"heures": 1e300}, "heures", "chiffres"),
        ({"date_debut": "0001-01-01", "date_fin": None}, "date_debut", "entre le 01/01/2000 et le 31/12/2100"),
        ({"date_debut": "9999-12-30", "date_fin": "9999-12-31"}, "date_debut", "entre le 01/01/2000 et le 31/12/2100"),
        ({"date_fin": "9999-12-31"}, "date_fin", "entre le 01/01/2000 et le 31/12/2100"),
        ({"description": "x" * 3_000_000}, "description", "5000"),
        ({"partenaires": [{"type": "inconnu", "nom": "X"}]}, "partenaires", ""),
    ],
)
def test_refused_values_answer_400_at_the_field(world, changes, field, words):
    replacements = {"__outside_company__": [world.outside.company.pk], "__outside_convention__": world.outside.convention.pk}
    changes = {k: replacements.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    client = key_client(world.orgs["club"])
    count = Action.objects.count()
    error = assert_error(client.post(LIST, payload(world, **changes), format="json"), 400, "donnees_invalides")
    assert field in error["details"], error
    assert words in " ".join(map(str, error["details"][field]))
    assert Action.objects.count() == count


def test_qpv_must_be_in_the_action_departement(world):
    client = key_client(world.orgs["national"])
    data = payload(world, qpv=[world.outside.qpv_2015.code], convention=None)
    error = assert_error(client.post(LIST, data, format="json"), 400, "donnees_invalides")
    assert "pas dans le département" in error["details"]["qpv"][0]


def test_a_qpv_out_of_scope_is_named_by_its_code(world):
    client = key_client(world.orgs["club"])
    data = payload(world, qpv=[world.outside.qpv_2015.code], convention=None)
    error = assert_error(client.post(LIST, data, format="json"), 400, "donnees_invalides")
    assert error["details"]["qpv"] == [f"QPV hors de votre périmètre : {world.outside.qpv_2015.code}."]


def test_a_company_cannot_name_the_club(world):
    client = key_client(world.orgs["company"])
    error = assert_error(client.post(LIST, payload(world, club=world.outside.club.pk), format="json"), 400, "donnees_invalides")
    assert "club" in error["details"]


def test_the_author_edits_and_deletes_through_the_key(world):
    client = key_client(world.orgs["club"])
    created = client.post(LIST, payload(world), format="json").json()
    action = Action.objects.get(pk=created["id"])

    response = client.patch(detail(action), {"beneficiaires_total": 20, "intitule": "Stages de 3e (bilan)"}, format="json")
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert (action.beneficiaries_total, action.title, action.beneficiaries_women) == (20, "Stages de 3e (bilan)", 7)
    assert action.qpvs.count() == 2 and action.partners.count() == 1  # untouched by the PATCH

    response = client.put(detail(action), payload(world, qpv=[], partenaires=[]), format="json")
    assert response.status_code == 200, response.content
    assert action.qpvs.count() == 0 and action.partners.count() == 0

    assert client.delete(detail(action)).status_code == 204
    assert not Action.objects.filter(pk=action.pk).exists()


def test_another_member_of_the_club_is_not_the_author(world):
    author = key_client(world.orgs["club"])
    created = author.post(LIST, payload(world), format="json").json()
    other = key_client(world.orgs["club"], created_by=member(world.orgs["club"], Membership.Role.ADMIN))
    url = reverse("api:action-detail", args=[created["id"]])
    error = assert_error(other.patch(url, {"intitule": "Autre"}, format="json"), 403, "interdit")
    assert "auteur" in error["message"]
    assert_error(other.delete(url), 403, "interdit")


def test_the_prefecture_edits_an_action_of_its_departement(world):
    client = key_client(world.orgs["prefecture"])
    response = client.patch(detail(world.inside.action), {"beneficiaires_qpv": 1}, format="json")
    assert response.status_code == 200, response.content
    assert_error(client.patch(detail(world.outside.action), {"beneficiaires_qpv": 1}, format="json"), 404, "introuvable")


def test_malformed_json_and_other_media_types(world):
    client = key_client(world.orgs["club"])
    error = assert_error(client.post(LIST, data='{"intitule": ', content_type="application/json"), 400, "requete_mal_formee")
    assert "JSON" in error["message"]
    assert_error(client.post(LIST, data="a=b", content_type="application/x-www-form-urlencoded"), 415, "format_non_supporte")
    assert_error(client.post(LIST, data="[" * 100000, content_type="application/json"), 400, "requete_mal_formee")
    assert_error(client.post(LIST, data=b"\xff\xfe", content_type="application/json"), 400, "requete_mal_formee")
    assert_error(client.post(LIST, data="[1, 2]", content_type="application/json"), 400, "donnees_invalides")
    assert_error(client.post(LIST, data='{"heures": NaN}', content_type="application/json"), 400, "requete_mal_formee")


def test_nul_characters_in_json_are_400(world):
    client = key_client(world.orgs["club"])
    body = json.dumps(payload(world, intitule="Stage\u0000 de 3e"))
    error = assert_error(client.post(LIST, data=body, content_type="application/json"), 400, "donnees_invalides")
    assert "caractère nul" in json.dumps(error, ensure_ascii=False)
    body = json.dumps(payload(world, qpv=["QP\u0000"]))
    assert_error(client.post(LIST, data=body, content_type="application/json"), 400, "donnees_invalides")
    assert not Action.objects.filter(title__startswith="Stage").exists()


def test_other_resources_are_read_only(world):
    client = key_client(world.orgs["national"])
    response = client.post(reverse("api:qpv-list"), {"code": "QP034999"}, format="json")
    assert_error(response, 405, "methode_non_autorisee")
    assert_error(client.delete(reverse("api:convention-detail", args=[world.inside.convention.pk])), 405, "methode_non_autorisee")
