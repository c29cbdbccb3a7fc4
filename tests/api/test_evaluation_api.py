"""Campaigns and declarations through the API: the scope of every role (session and key), the writes of a
company's tool through the portal's services (version, lock after submission and close), bounded queries,
bad input."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import ApiKey, OrganisationKind
from conventions.models import Convention
from evaluation.campaigns import services
from evaluation.models import Campaign, Declaration, DeclarationValue
from tests.factories import (
    CommitmentFactory,
    CompanyFactory,
    ConventionFactory,
    OrganisationFactory,
    TargetFactory,
    UserFactory,
    departement,
    indicator,
)

from .conftest import assert_error, client_for, key_client, session_client

ROLES = ["national", "prefecture", "club", "company", "partner"]
AUTHS = ["session", "key"]
# basename -> roles that see the inside side's row (partners follow aggregates only)
ONE_ROW = {
    "campagne": {"national", "prefecture", "club", "company"},
    "declaration": {"national", "prefecture", "club", "company"},
}
# Every route of this file (the coverage test of test_scoping.py reads it); results have their own scope test.
SCOPED = {**ONE_ROW, "resultat": set(ROLES)}
NOT_THE_COMPANY = "Seule l'entreprise concernée (ses membres ou ses clés d'API) peut remplir et transmettre sa déclaration."


def activate(convention):
    Convention.objects.filter(pk=convention.pk).update(status=Convention.Status.ACTIVE)


def open_campaign_for(prefecture, year=2017, closes_on=None):
    today = timezone.localdate()
    return services.open_campaign(
        prefecture,
        UserFactory(),
        year,
        f"Campagne {year}",
        datetime.date(year + 1, 1, 15),
        today,
        closes_on or today + datetime.timedelta(days=60),
    )


@pytest.fixture
def campaigns(world):
    """The 2017 campaign of each side, open today, each with the declaration of its side's company."""
    for side in (world.inside, world.outside):
        activate(side.convention)
    world.orgs["prefecture_75"] = OrganisationFactory(
        kind=OrganisationKind.PREFECTURE, name="Préfecture de Paris", departements=[world.outside.departement]
    )
    for side, prefecture in ((world.inside, world.orgs["prefecture"]), (world.outside, world.orgs["prefecture_75"])):
        side.campaign = open_campaign_for(prefecture)
        side.declaration = side.campaign.declarations.get()
        side.objects["campagne"] = side.campaign
        side.objects["declaration"] = side.declaration
        side.commitment = side.convention.commitments.get()
    return world


def list_ids(client, basename, **params):
    response = client.get(reverse(f"api:{basename}-list"), {"page_size": 200, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == len(body["resultats"])
    return {row["id"] for row in body["resultats"]}


# --- scope -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("basename", sorted(ONE_ROW))
def test_scoped_endpoint(campaigns, role, auth, basename):
    world = campaigns
    client = client_for(world.orgs[role], auth)
    inside, outside = world.inside.objects[basename], world.outside.objects[basename]
    sees_inside = role in ONE_ROW[basename]
    sees_outside = role == "national"

    ids = list_ids(client, basename)
    assert (inside.pk in ids) is sees_inside
    assert (outside.pk in ids) is sees_outside
    if role != "national":
        assert ids == ({inside.pk} if sees_inside else set())

    detail = client.get(reverse(f"api:{basename}-detail", args=[inside.pk]))
    if sees_inside:
        assert detail.status_code == 200, detail.content
        assert detail.json()["id"] == inside.pk
    else:
        assert_error(detail, 404, "introuvable")
    foreign = client.get(reverse(f"api:{basename}-detail", args=[outside.pk]))
    if sees_outside:
        assert foreign.status_code == 200
    else:
        assert_error(foreign, 404, "introuvable")


def test_campaign_body(campaigns):
    body = (
        client_for(campaigns.orgs["club"], "key").get(reverse("api:campagne-detail", args=[campaigns.inside.campaign.pk])).json()
    )
    assert body["annee"] == 2017
    assert body["organisation"]["nom"] == "Préfecture de l'Hérault"
    assert body["nationale"] is False
    assert [d["code"] for d in body["departements"]] == ["34"]
    assert body["etat"] == "ouverte"
    assert body["cloture"] == (timezone.localdate() + datetime.timedelta(days=60)).isoformat()


def test_a_national_campaign_shows_only_the_departements_of_the_scope(campaigns):
    national = Campaign.objects.create(
        year=2018,
        title="Campagne nationale 2018",
        organisation=campaigns.orgs["national"],
        opens_on=datetime.date(2019, 1, 15),
        reminder_on=datetime.date(2019, 3, 1),
        closes_on=datetime.date(2019, 3, 31),
    )
    two = Campaign.objects.create(
        year=2016,
        title="Campagne 2016 34 et 75",
        organisation=campaigns.orgs["national"],
        opens_on=datetime.date(2017, 1, 15),
        reminder_on=datetime.date(2017, 3, 1),
        closes_on=datetime.date(2017, 3, 31),
    )
    two.departements.set([campaigns.inside.departement, campaigns.outside.departement])
    client = client_for(campaigns.orgs["prefecture"], "key")
    assert list_ids(client, "campagne") == {campaigns.inside.campaign.pk, national.pk, two.pk}
    body = client.get(reverse("api:campagne-detail", args=[two.pk])).json()
    assert [d["code"] for d in body["departements"]] == ["34"]
    assert client.get(reverse("api:campagne-detail", args=[national.pk])).json()["nationale"] is True
    assert list_ids(client, "campagne", departement="34", etat="close") == {national.pk, two.pk}
    assert list_ids(client, "campagne", annee=2017) == {campaigns.inside.campaign.pk}
    assert list_ids(client_for(campaigns.orgs["national"], "key"), "campagne", departement="75") == {
        campaigns.outside.campaign.pk,
        national.pk,
        two.pk,
    }


def test_declaration_body_and_lines(campaigns):
    world = campaigns
    declaration = world.inside.declaration
    DeclarationValue.objects.create(
        declaration=declaration, commitment=world.inside.commitment, indicator=indicator("STAGE3_ACCUEILLIS"), value=4
    )
    body = client_for(world.orgs["company"], "key").get(reverse("api:declaration-detail", args=[declaration.pk])).json()
    assert body["statut"] == "draft" and body["annee"] == 2017 and body["version"] == 1
    assert body["modifiable"] is True
    assert body["entreprise"]["id"] == world.inside.company.pk
    assert body["convention"] == {
        "id": world.inside.convention.pk,
        "reference": world.inside.convention.reference,
        "intitule": world.inside.convention.title,
        "departement": "34",
    }
    assert body["campagne"]["id"] == world.inside.campaign.pk
    assert body["valeurs"] == [
        {
            "engagement": world.inside.commitment.pk,
            "indicateur": "STAGE3_ACCUEILLIS",
            "valeur": 4.0,
            "commentaire": "",
            "mis_a_jour_le": body["valeurs"][0]["mis_a_jour_le"],
        }
    ]
    lines = {line["indicateur"]["code"]: line for line in body["lignes"]}
    assert {"STAGE3_ACCUEILLIS", "STAGE3_OFFERTS"} <= set(lines)
    assert lines["STAGE3_ACCUEILLIS"]["objectif"] == 10.0  # the target of 2017
    assert lines["STAGE3_ACCUEILLIS"]["valeur"] == 4.0
    assert lines["STAGE3_OFFERTS"]["valeur"] is None
    # Somebody else reads the same declaration but cannot change it.
    other = client_for(world.orgs["prefecture"], "session").get(reverse("api:declaration-detail", args=[declaration.pk]))
    assert other.json()["modifiable"] is False


def test_a_club_does_not_see_a_member_declaration_on_a_convention_it_does_not_animate(campaigns):
    """The member's declaration for a convention animated by another club belongs to that club (issue 10)."""
    world = campaigns
    world.outside.company.club_memberships.create(club=world.inside.club, start_date=datetime.date(2015, 1, 1))
    body = client_for(world.orgs["club"], "key").get(reverse("api:declaration-detail", args=[world.outside.declaration.pk]))
    assert body.status_code == 404


def test_declaration_filters(campaigns):
    world = campaigns
    client = key_client(world.orgs["national"])
    inside, outside = world.inside.declaration, world.outside.declaration
    assert list_ids(client, "declaration", campagne=world.inside.campaign.pk) == {inside.pk}
    assert list_ids(client, "declaration", entreprise=world.outside.company.pk) == {outside.pk}
    assert list_ids(client, "declaration", convention=world.inside.convention.pk) == {inside.pk}
    assert list_ids(client, "declaration", departement="75") == {outside.pk}
    assert list_ids(client, "declaration", club=world.inside.club.pk) == {inside.pk}
    assert list_ids(client, "declaration", annee=2017, statut="draft") == {inside.pk, outside.pk}
    assert list_ids(client, "declaration", statut="submitted") == set()
    assert list_ids(client, "declaration", annee=2018) == set()
    assert list_ids(client, "declaration", updated_since="2099-01-01T00:00:00+01:00") == set()
    Declaration.objects.filter(pk=inside.pk).update(updated_at=timezone.now() + datetime.timedelta(days=1))
    tomorrow = (timezone.now() + datetime.timedelta(hours=12)).isoformat()
    assert list_ids(client, "declaration", updated_since=tomorrow) == {inside.pk}
    ordered = client.get(reverse("api:declaration-list"), {"ordering": "-entreprise"}).json()["resultats"]
    assert [row["entreprise"]["raison_sociale"] for row in ordered] == ["Entreprise du 75", "Entreprise du 34"]


# --- writes ----------------------------------------------------------------------------------------------


def values_url(declaration):
    return reverse("api:declaration-values", args=[declaration.pk])


def submit_url(declaration):
    return reverse("api:declaration-submit", args=[declaration.pk])


def line(world, code="STAGE3_ACCUEILLIS", value=8, **extra):
    return {"engagement": world.inside.commitment.pk, "indicateur": code, "valeur": value, **extra}


@pytest.mark.parametrize("auth", AUTHS)
def test_the_company_pushes_its_values(campaigns, auth):
    world = campaigns
    client = client_for(world.orgs["company"], auth)
    declaration = world.inside.declaration
    data = {
        "version": 1,
        "valeurs": [line(world, value=8.5, commentaire="Deux collèges"), line(world, "STAGE3_OFFERTS", 12)],
    }
    response = client.put(values_url(declaration), data, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2
    assert {(v["indicateur"], v["valeur"], v["commentaire"]) for v in body["valeurs"]} == {
        ("STAGE3_ACCUEILLIS", 8.5, "Deux collèges"),
        ("STAGE3_OFFERTS", 12.0, ""),
    }
    stored = DeclarationValue.objects.get(declaration=declaration, indicator__code="STAGE3_ACCUEILLIS")
    assert stored.value == 8.5
    declaration.refresh_from_db()
    assert declaration.version == 2 and declaration.updated_by is not None
    if auth == "key":
        assert declaration.updated_by == client.api_key.created_by
        assert stored.history.latest().history_user == client.api_key.created_by

    # A line not sent stays as it is; an absent comment keeps the stored one; null empties the value.
    response = client.put(values_url(declaration), {"version": 2, "valeurs": [line(world, value=None)]}, format="json")
    assert response.status_code == 200, response.content
    stored.refresh_from_db()
    assert (stored.value, stored.comment) == (None, "Deux collèges")
    assert DeclarationValue.objects.get(declaration=declaration, indicator__code="STAGE3_OFFERTS").value == 12


def test_a_stale_version_is_409_and_writes_nothing(campaigns):
    world = campaigns
    declaration = world.inside.declaration
    first, second = key_client(world.orgs["company"]), session_client(world.orgs["company"])
    assert first.put(values_url(declaration), {"version": 1, "valeurs": [line(world, value=3)]}, format="json").status_code == 200
    response = second.put(values_url(declaration), {"version": 1, "valeurs": [line(world, value=99)]}, format="json")
    error = assert_error(response, 409, "modification_concurrente")
    assert "vous avez envoyé la version 1, la version actuelle est la 2" in error["message"]
    assert error["details"] == {"version": ["2"]}
    assert DeclarationValue.objects.get(declaration=declaration).value == 3
    assert_error(second.post(submit_url(declaration), {"version": 1}, format="json"), 409, "modification_concurrente")


def test_a_read_only_key_cannot_write(campaigns):
    world = campaigns
    client = key_client(world.orgs["company"], scope=ApiKey.Access.READ)
    declaration = world.inside.declaration
    for response in (
        client.put(values_url(declaration), {"version": 1, "valeurs": [line(world)]}, format="json"),
        client.post(submit_url(declaration), {}, format="json"),
    ):
        error = assert_error(response, 403, "interdit")
        assert "lecture seule" in error["message"]
    assert not DeclarationValue.objects.exists()
    assert client.get(reverse("api:declaration-detail", args=[declaration.pk])).status_code == 200


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("role", ["national", "prefecture", "club", "partner"])
def test_only_the_company_writes(campaigns, role, auth):
    """Visible but not its own: 403; out of scope: 404. Nothing written either way."""
    world = campaigns
    client = client_for(world.orgs[role], auth)
    declaration = world.inside.declaration
    put = client.put(values_url(declaration), {"version": 1, "valeurs": [line(world)]}, format="json")
    post = client.post(submit_url(declaration), {}, format="json")
    if role == "partner":
        assert_error(put, 404, "introuvable")
        assert_error(post, 404, "introuvable")
    else:
        assert assert_error(put, 403, "interdit")["message"] == NOT_THE_COMPANY
        assert assert_error(post, 403, "interdit")["message"] == NOT_THE_COMPANY
    assert not DeclarationValue.objects.exists()
    assert Declaration.objects.get(pk=declaration.pk).status == Declaration.Status.DRAFT


@pytest.mark.parametrize("auth", AUTHS)
def test_a_company_cannot_reach_another_company_declaration(campaigns, auth):
    world = campaigns
    client = client_for(world.orgs["company"], auth)
    declaration = world.outside.declaration
    assert_error(client.put(values_url(declaration), {"version": 1, "valeurs": []}, format="json"), 404, "introuvable")
    assert_error(client.post(submit_url(declaration), {}, format="json"), 404, "introuvable")
    assert_error(client.put(values_url(Declaration(pk=999999)), {"version": 1, "valeurs": []}, format="json"), 404, "introuvable")


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([{"valeur": -1}], "supérieure ou égale"),
        ([{"valeur": 1.234}], "après la virgule"),
        ([{"valeur": "dix"}], "nombre"),
        ([{"valeur": 1e15}], ""),
        ([{"valeur": 1e300}], "chiffres"),
        ([{"valeur": -1e300}], "chiffres"),
        ([{"valeur": "1e300"}], "chiffres"),
        ([{"indicateur": "INCONNU"}], "aucun indicateur n'a ce code"),
        ([{"engagement": "__outside__"}], "ne fait pas partie des engagements"),
        ([{"engagement": "douze"}], "entier"),
        ([{}, {}], "envoyée deux fois"),
        ([{"commentaire": "x" * 2001}], "2000"),
        ([{"commentaire": "avec\u0000nul"}], "caractère nul"),
        ([{"indicateur": None}], "nul"),
    ],
)
def test_refused_values_are_400_at_the_line(campaigns, lines, words):
    world = campaigns
    client = key_client(world.orgs["company"])
    sent = []
    for changes in lines:
        if changes.get("engagement") == "__outside__":
            changes = {**changes, "engagement": world.outside.commitment.pk}
        sent.append({**line(world), **changes})
    response = client.put(values_url(world.inside.declaration), {"version": 1, "valeurs": sent}, format="json")
    error = assert_error(response, 400, "donnees_invalides")
    text = json.dumps(error["details"], ensure_ascii=False)
    assert words in text, text
    assert all(isinstance(m, str) for messages in error["details"].values() for m in messages)
    assert not DeclarationValue.objects.exists()
    assert Declaration.objects.get(pk=world.inside.declaration.pk).version == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"version": 1, "valeurs": [', 400, "requete_mal_formee"),
        ("[1, 2]", 400, "donnees_invalides"),
        ('{"valeurs": []}', 400, "donnees_invalides"),
        ('{"version": "un", "valeurs": []}', 400, "donnees_invalides"),
        ('{"version": 1, "valeurs": {"a": 1}}', 400, "donnees_invalides"),
        ('{"version": 1, "valeurs": [{"valeur": NaN}]}', 400, "requete_mal_formee"),
        ('{"version": 99999999999, "valeurs": []}', 400, "donnees_invalides"),
    ],
)
def test_malformed_bodies(campaigns, body, status, code):
    client = key_client(campaigns.orgs["company"])
    assert_error(client.put(values_url(campaigns.inside.declaration), data=body, content_type="application/json"), status, code)
    response = client.put(
        values_url(campaigns.inside.declaration), data="version=1", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "format_non_supporte")


def test_submission_then_read_only(campaigns):
    world = campaigns
    client = key_client(world.orgs["company"])
    declaration = world.inside.declaration

    # The indicator with a 2017 target needs a value before submitting.
    error = assert_error(client.post(submit_url(declaration), {"version": 1}, format="json"), 400, "donnees_invalides")
    assert "avant de transmettre" in error["details"]["non_field_errors"][0]

    assert (
        client.put(values_url(declaration), {"version": 1, "valeurs": [line(world, value=0)]}, format="json").status_code == 200
    )
    response = client.post(submit_url(declaration), {"version": 2}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["statut"] == "submitted" and response.json()["modifiable"] is False
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.SUBMITTED and declaration.submitted_by == client.api_key.created_by

    error = assert_error(
        client.put(values_url(declaration), {"version": 3, "valeurs": [line(world, value=5)]}, format="json"),
        409,
        "non_modifiable",
    )
    assert "transmise le" in error["message"]
    assert_error(client.post(submit_url(declaration), {}, format="json"), 409, "non_modifiable")
    assert DeclarationValue.objects.get(declaration=declaration).value == 0

    # Returned for correction by the club: the company may change it again.
    services.return_declaration(declaration, None, services_scope(world.orgs["club"]), "Précisez le nombre d'élèves.")
    assert (
        client.put(values_url(declaration), {"version": 4, "valeurs": [line(world, value=5)]}, format="json").status_code == 200
    )


def services_scope(organisation):
    from charte.comptes.scoping import Scope

    return Scope.for_organisation(organisation)


def test_a_closed_campaign_locks_the_declaration(campaigns):
    world = campaigns
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Campaign.objects.filter(pk=world.inside.campaign.pk).update(reminder_on=yesterday, closes_on=yesterday)
    client = key_client(world.orgs["company"])
    declaration = world.inside.declaration
    assert client.get(reverse("api:declaration-detail", args=[declaration.pk])).json()["modifiable"] is False
    error = assert_error(
        client.put(values_url(declaration), {"version": 1, "valeurs": [line(world)]}, format="json"), 409, "non_modifiable"
    )
    assert "close depuis le" in error["message"]
    assert_error(client.post(submit_url(declaration), {}, format="json"), 409, "non_modifiable")
    assert client.get(reverse("api:campagne-detail", args=[world.inside.campaign.pk])).json()["etat"] == "close"


def test_a_key_without_creator_still_writes(campaigns):
    world = campaigns
    client = key_client(world.orgs["company"])
    ApiKey.objects.filter(pk=client.api_key.pk).update(created_by=None)
    response = client.put(values_url(world.inside.declaration), {"version": 1, "valeurs": [line(world)]}, format="json")
    assert response.status_code == 200, response.content
    assert Declaration.objects.get(pk=world.inside.declaration.pk).updated_by is None


# --- bad input on lists and details ------------------------------------------------------------------


@pytest.mark.parametrize("basename", sorted(SCOPED))
def test_bad_list_parameters(campaigns, basename):
    client = key_client(campaigns.orgs["national"])
    url = reverse(f"api:{basename}-list")
    error = assert_error(client.get(url, {"departement": "3\x004"}), 400, "donnees_invalides")
    assert error["details"]["departement"] == ["Le caractère nul (U+0000) n'est pas accepté."]
    for params in ({"annee": "deux mille"}, {"annee": "99999"}, {"page": "0"}, {"page_size": "x"}, {"ordering": "secret"}):
        assert_error(client.get(url, params), 400, "donnees_invalides")
    assert client.get(url, {"page_size": "9" * 40}).status_code == 200
    assert_error(client.get(url, {"page": "9" * 40}), 404, "introuvable")
    for pk in ("999999", "9" * 40):
        assert_error(client.get(f"{url}{pk}/"), 404, "introuvable")
    assert_error(client.get(f"{url}abc/"), 404, "introuvable")


@pytest.mark.parametrize(
    "params",
    [
        {"statut": "perdue"},
        {"campagne": "x"},
        {"entreprise": "9" * 30},
        {"convention": "-3"},
        {"club": "club"},
        {"updated_since": "hier"},
        {"updated_since": "2024-02-30T00:00:00+01:00"},
    ],
)
def test_bad_declaration_filters(campaigns, params):
    client = key_client(campaigns.orgs["national"])
    error = assert_error(client.get(reverse("api:declaration-list"), params), 400, "donnees_invalides")
    assert list(error["details"]) == list(params)


def test_bad_campaign_state(campaigns):
    client = key_client(campaigns.orgs["national"])
    error = assert_error(client.get(reverse("api:campagne-list"), {"etat": "finie"}), 400, "donnees_invalides")
    assert list(error["details"]) == ["etat"]


def test_reading_routes_refuse_other_methods(campaigns):
    client = key_client(campaigns.orgs["company"])
    declaration = campaigns.inside.declaration
    assert_error(client.get(values_url(declaration)), 405, "methode_non_autorisee")
    assert_error(client.get(submit_url(declaration)), 405, "methode_non_autorisee")
    assert_error(client.delete(reverse("api:declaration-detail", args=[declaration.pk])), 405, "methode_non_autorisee")
    assert_error(client.post(reverse("api:campagne-list"), {}, format="json"), 405, "methode_non_autorisee")


# --- bounded queries -----------------------------------------------------------------------------------

ROWS = 12


@pytest.fixture
def many_declarations(campaigns):
    world = campaigns
    dep = departement("34")
    for n in range(ROWS):
        company = CompanyFactory(name=f"Entreprise {n:02d}")
        convention = ConventionFactory(departement=dep, club=world.inside.club)
        convention.companies.add(company)
        activate(convention)
        commitment = CommitmentFactory(convention=convention)
        TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=2017, value=n)
    services.sync_expected_declarations(world.inside.campaign)
    for declaration in Declaration.objects.filter(campaign=world.inside.campaign).select_related("convention"):
        commitment = declaration.convention.commitments.first()
        for code in ("STAGE3_ACCUEILLIS", "STAGE3_OFFERTS"):
            DeclarationValue.objects.create(declaration=declaration, commitment=commitment, indicator=indicator(code), value=3)
    for year in range(2000, 2000 + ROWS):
        campaign = Campaign.objects.create(
            year=year,
            title=f"Campagne {year}",
            organisation=world.orgs["national"],
            opens_on=datetime.date(year + 1, 1, 15),
            reminder_on=datetime.date(year + 1, 3, 1),
            closes_on=datetime.date(year + 1, 3, 31),
        )
        campaign.departements.add(dep, departement("30"))
    return world


def count_queries(client, url, page_size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": page_size})
    assert response.status_code == 200
    return len(queries), len(response.json()["resultats"])


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("role", ["prefecture", "club", "national"])
@pytest.mark.parametrize("basename", sorted(ONE_ROW))
def test_list_query_count_does_not_grow_with_the_page(many_declarations, basename, role, auth):
    client = client_for(many_declarations.orgs[role], auth)
    url = reverse(f"api:{basename}-list")
    client.get(url)  # the first request records the key's use
    small, small_rows = count_queries(client, url, 5)
    large, large_rows = count_queries(client, url, 100)
    assert small_rows == 5 and large_rows > ROWS
    assert small == large, f"{basename}: {small} requêtes pour 5 lignes, {large} pour {large_rows}"
    assert large <= 10


# --- shared API rules found by schemathesis (tests/api/test_schemathesis.py) -----------------------------


def test_unknown_fields_are_refused_not_ignored(campaigns):
    client = key_client(campaigns.orgs["company"])
    declaration = campaigns.inside.declaration
    body = {"version": 1, "valeurs": [{**line(campaigns), "valuer": 3}], "versoin": 2}
    error = assert_error(client.put(values_url(declaration), body, format="json"), 400, "donnees_invalides")
    assert error["details"] == {"versoin": ["Champ inconnu : vérifiez son nom dans la documentation de l'API."]}
    body = {"version": 1, "valeurs": [{**line(campaigns), "valuer": 3}]}
    error = assert_error(client.put(values_url(declaration), body, format="json"), 400, "donnees_invalides")
    assert error["details"] == {
        "valeurs": ["élément 1, valuer : Champ inconnu : vérifiez son nom dans la documentation de l'API."]
    }
    assert not DeclarationValue.objects.exists()


def test_float_noise_is_not_an_extra_decimal(campaigns):
    client = key_client(campaigns.orgs["company"])
    declaration = campaigns.inside.declaration
    noisy = 0.1 * 5.7  # 0.5700000000000001 in binary floating point: a JavaScript client sends it as is
    assert str(noisy) != "0.57"
    body = {"version": 1, "valeurs": [line(campaigns, value=noisy)]}
    response = client.put(values_url(declaration), data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert str(DeclarationValue.objects.get().value) == "0.57"


def test_repeated_and_empty_query_parameters(campaigns):
    client = key_client(campaigns.orgs["national"])
    url = reverse("api:declaration-list")
    error = assert_error(client.get(url + "?page_size=abc&page_size="), 400, "donnees_invalides")
    assert error["details"] == {"page_size": ["Ce paramètre est donné plusieurs fois : donnez-le une seule fois."]}
    error = assert_error(client.get(url, {"ordering": ","}), 400, "donnees_invalides")
    assert "vide" in error["details"]["ordering"][0]
    assert client.get(url, {"ordering": "", "statut": "", "updated_since": "", "page": ""}).json()["total"] == 2


def test_updated_since_outside_the_portal_years_means_everything_or_nothing(campaigns):
    client = key_client(campaigns.orgs["national"])
    assert len(list_ids(client, "declaration", updated_since="0352-05-15T05:40:21-13:01")) == 2
    assert list_ids(client, "declaration", updated_since="9999-12-31T23:59:59-05:00") == set()


def test_unknown_api_address_answers_json_404_even_to_a_write_without_csrf(campaigns):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert_error(client.put("/api/v1/actions/abc/", {}, format="json"), 404, "introuvable")
    assert_error(client.delete("/api/v1/inconnu/"), 404, "introuvable")


def test_schema_documents_what_the_api_accepts(db):
    import yaml
    from rest_framework.test import APIClient

    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/declarations/"]["get"]["parameters"]}
    assert all(p["allowEmptyValue"] for p in parameters.values())  # empty filters are ignored
    assert parameters["departement"]["schema"]["pattern"] == "^[^\\x00]*$"
    values = schema["components"]["schemas"]["ValueWriteRequest"]
    assert values["additionalProperties"] is False
    assert values["properties"]["valeur"]["multipleOf"] == 0.01
    assert values["properties"]["indicateur"]["pattern"] == "^[^\\x00]*$"
    family = {p["name"]: p for p in schema["paths"]["/api/v1/familles/"]["get"]["parameters"]}
    assert family["active"]["schema"]["type"] == "string"  # `true` or `false` as words, not a JSON boolean
    assert sorted(family["active"]["schema"]["enum"]) == ["false", "true"]
    indicator = schema["components"]["schemas"]["Indicator"]["properties"]
    assert indicator["numerateur"]["nullable"] is True
    assert {"409"} <= set(schema["paths"]["/api/v1/declarations/{id}/valeurs/"]["put"]["responses"])


# --- compiled annual results -----------------------------------------------------------------------------


def compiled_run(year=2017, status="succeeded"):
    from evaluation.models import EvaluationRun

    return EvaluationRun.objects.create(year=year, status=status, finished_at=timezone.now())


def result_row(run, scope_type, key="", family=None, indicator_code=None, **figures):
    from evaluation.models import AnnualResult

    figures.setdefault("actions_count", 3)
    return AnnualResult.objects.create(
        run=run,
        unit="national",
        year=run.year,
        scope_type=scope_type,
        scope_key=str(key),
        family=family,
        indicator=indicator(indicator_code) if indicator_code else None,
        **figures,
    )


@pytest.fixture
def results(world):
    """A published national run of 2017 with a row for every scope of both sides, an older run it replaces and
    a failed run after it (whose rows nobody sees)."""
    from tests.factories import family

    superseded = compiled_run()
    old_row = result_row(superseded, "departement", "34", actions_count=1)
    run = compiled_run()
    rows = {"national": result_row(run, "national", declared_value=40, prev_declared_value=30)}
    for name, side in (("in", world.inside), ("out", world.outside)):
        rows[f"region_{name}"] = result_row(run, "region", side.departement.region.code)
        rows[f"dep_{name}"] = result_row(run, "departement", side.departement.code)
        rows[f"qpv_{name}"] = result_row(run, "qpv", side.qpv_2024.code)
        rows[f"club_{name}"] = result_row(run, "club", side.club.pk)
        rows[f"conv_{name}"] = result_row(run, "convention", side.convention.pk)
        rows[f"comp_{name}"] = result_row(run, "company", side.company.pk)
    rows["dep_in_indicator"] = result_row(
        run,
        "departement",
        "34",
        family=family("EDU"),
        indicator_code="STAGE3_ACCUEILLIS",
        declared_value=8,
        target_value=10,
        attainment_rate=0.8,
        realised_value=8,
        prev_declared_value=5,
    )
    failed = compiled_run(status="failed")
    failed_row = result_row(failed, "departement", "34", actions_count=99)
    world.results = rows
    world.hidden_results = {old_row.pk, failed_row.pk}
    return world


TERRITORY = {"national", "region_in", "dep_in", "dep_in_indicator", "qpv_in"}
RESULTS_SEEN = {
    "prefecture": TERRITORY | {"club_in", "conv_in", "comp_in"},
    "club": TERRITORY | {"club_in", "conv_in", "comp_in"},
    "company": {"national", "conv_in", "comp_in"},
    "partner": TERRITORY,
}


@pytest.mark.parametrize("auth", AUTHS)
@pytest.mark.parametrize("role", ROLES)
def test_results_scope(results, role, auth):
    world = results
    client = client_for(world.orgs[role], auth)
    expected = set(world.results) if role == "national" else RESULTS_SEEN[role]
    ids = list_ids(client, "resultat")
    assert ids == {world.results[name].pk for name in expected}
    assert not ids & world.hidden_results  # neither a superseded nor a failed run's row
    for name, row in world.results.items():
        response = client.get(reverse("api:resultat-detail", args=[row.pk]))
        if name in expected:
            assert response.status_code == 200, (name, response.content)
        else:
            assert_error(response, 404, "introuvable")
    for pk in world.hidden_results:
        assert_error(client.get(reverse("api:resultat-detail", args=[pk])), 404, "introuvable")


def test_result_body(results):
    client = key_client(results.orgs["partner"])
    row = results.results["dep_in_indicator"]
    body = client.get(reverse("api:resultat-detail", args=[row.pk])).json()
    assert body["annee"] == 2017 and body["type_perimetre"] == "departement" and body["perimetre"] == "34"
    assert body["famille"]["code"] == "EDU" and body["indicateur"]["code"] == "STAGE3_ACCUEILLIS"
    assert body["valeurs"]["valeur_declaree"] == 8.0 and body["valeurs"]["objectif"] == 10.0
    assert body["valeurs"]["taux_atteinte"] == 0.8 and body["valeurs"]["valeur_realisee"] == 8.0
    assert body["annee_precedente"]["valeur_declaree"] == 5.0 and body["annee_precedente"]["objectif"] is None
    assert "valeur_offerte" not in body["annee_precedente"]
    assert body["compilation"]["id"] == row.run_id and body["compilation"]["terminee_le"]
    total = client.get(reverse("api:resultat-detail", args=[results.results["dep_in"].pk])).json()
    assert total["famille"] is None and total["indicateur"] is None and total["valeurs"]["actions"] == 3


def test_result_filters(results):
    client = key_client(results.orgs["national"])
    rows = results.results

    def names(**params):
        ids = list_ids(client, "resultat", **params)
        return {name for name, row in rows.items() if row.pk in ids}

    assert names(type_perimetre="departement", perimetre="34") == {"dep_in", "dep_in_indicator"}
    assert names(departement="34") == {"dep_in", "dep_in_indicator", "qpv_in", "conv_in", "comp_in"}
    assert names(famille="EDU") == {"dep_in_indicator"}
    assert names(famille="toutes", type_perimetre="departement") == {"dep_in", "dep_out"}
    assert names(indicateur="STAGE3_ACCUEILLIS") == {"dep_in_indicator"}
    assert names(indicateur="aucun", type_perimetre="qpv") == {"qpv_in", "qpv_out"}
    assert names(annee=2018) == set()
    assert names(annee=2017) == set(rows)
    for params in ({"type_perimetre": "monde"}, {"annee": "an"}, {"famille": "E\x00DU"}, {"ordering": "valeur"}):
        assert_error(client.get(reverse("api:resultat-list"), params), 400, "donnees_invalides")


@pytest.mark.parametrize("role", ["national", "prefecture", "partner"])
def test_results_query_count_does_not_grow_with_the_page(results, role):
    from charte.catalogue.models import Family

    run = results.results["national"].run
    for family in Family.objects.order_by("code")[:4]:
        for indicator_code in ("STAGE3_ACCUEILLIS", "STAGE3_OFFERTS", "BENEFICIAIRES", None):
            result_row(run, "departement", "34", family=family, indicator_code=indicator_code)
    client = key_client(results.orgs[role])
    url = reverse("api:resultat-list")
    client.get(url)
    small, small_rows = count_queries(client, url, 5)
    large, large_rows = count_queries(client, url, 100)
    assert small_rows == 5 and large_rows >= 5 + 16
    # The published runs, then the scope's keys by kind (départements, régions, QPV, clubs, conventions,
    # companies) are read as small lists before the page (`AnnualResult.objects.visible_to`): constant in rows.
    assert small == large and large <= {"national": 5, "prefecture": 11, "partner": 9}[role]
