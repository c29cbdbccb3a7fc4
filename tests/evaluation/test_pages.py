"""The campaign pages: list, opening, detail with the expected declarations, completeness and its CSV export,
the list of all declarations and the dashboard's blocks, each for every role, with bounded queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.campaigns import services
from evaluation.models import Campaign, Declaration
from tests.evaluation.conftest import active_convention, company_with_members
from tests.evaluation.test_pages_support import S, close_campaign, login, make_world, today
from tests.factories import CommitmentFactory, departement


@pytest.fixture
def w(db):
    return make_world()


def campaign_url(campaign, suffix=""):
    return f"/campagnes/{campaign.pk}/{suffix}"


# --- list ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["national_user", "prefecture_user", "gard_user", "animator", "company_user"])
def test_campaign_list_for_each_role(client, w, who):
    response = login(client, getattr(w, who)).get("/campagnes/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Campagne nationale 2017" in html
    assert ('id="create-campaign"' in html) is (who in ("national_user", "prefecture_user", "gard_user"))


def test_campaign_pages_do_not_exist_for_partners(client, w):
    login(client, w.partner_user)
    for url in (
        "/campagnes/",
        "/campagnes/nouvelle/",
        campaign_url(w.campaign),
        campaign_url(w.campaign, "completude/"),
        "/campagnes/declarations/",
    ):
        assert client.get(url).status_code == 404
    assert 'href="/campagnes/"' not in client.get("/tableau-de-bord/").content.decode()


def test_a_prefecture_campaign_is_invisible_to_another_departement(client, w):
    campaign = services.open_campaign(
        w.prefecture_gard, w.gard_user, 2018, "Campagne 2018 — Gard", today(), today(), today() + datetime.timedelta(days=5)
    )
    assert login(client, w.prefecture_user).get(campaign_url(campaign)).status_code == 404
    assert login(client, w.animator).get(campaign_url(campaign, "completude/")).status_code == 404
    assert "Campagne 2018 — Gard" not in login(client, w.prefecture_user).get("/campagnes/").content.decode()
    assert login(client, w.gard_user).get(campaign_url(campaign)).status_code == 200


def test_campaign_list_is_filtered_by_year(client, w):
    services.open_campaign(w.prefecture, w.prefecture_user, 2018, "Campagne 2018 — Hérault", today(), today(), today())
    html = login(client, w.prefecture_user).get("/campagnes/?year=2018").content.decode()
    assert "Campagne 2018 — Hérault" in html and "Campagne nationale 2017" not in html


# --- opening --------------------------------------------------------------------------------------------


def campaign_form(**overrides):
    now = today()
    data = {
        "year": "2018",
        "title": "Campagne 2018 — Hérault",
        "opens_on": now.isoformat(),
        "reminder_on": (now + datetime.timedelta(days=20)).isoformat(),
        "closes_on": (now + datetime.timedelta(days=40)).isoformat(),
    }
    data.update(overrides)
    return data


def test_a_prefecture_opens_a_campaign_for_its_departements(client, w):
    login(client, w.prefecture_user)
    html = client.get("/campagnes/nouvelle/").content.decode()
    assert "Hérault (34)" in html and "Gard" not in html  # the choice list is the préfecture's territory
    convention = active_convention(w.company, club=w.club, reference="034-2018-BRL", end_date=datetime.date(2019, 12, 31))
    response = client.post("/campagnes/nouvelle/", campaign_form(departements=[departement("34").pk]))
    campaign = Campaign.objects.get(year=2018)
    assert response.status_code == 302 and response["Location"] == campaign_url(campaign)
    assert campaign.organisation == w.prefecture and list(campaign.departements.all()) == [departement("34")]
    # The BRL convention of 2016-2018 runs in 2018 too; SNCF's, in the Gard, is not covered.
    assert set(campaign.declarations.values_list("convention", flat=True)) == {w.convention.pk, convention.pk}
    assert "2 déclarations attendues" in client.get(response["Location"]).content.decode()


def test_opening_refusals_keep_what_was_typed(client, w):
    login(client, w.prefecture_user)
    now = today()
    response = client.post(
        "/campagnes/nouvelle/",
        campaign_form(reminder_on=(now + datetime.timedelta(days=90)).isoformat(), title="Ma campagne à dates fausses"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "La date de relance doit se situer entre l&#x27;ouverture et la clôture de la campagne." in html
    assert "Ma campagne à dates fausses" in html
    response = client.post("/campagnes/nouvelle/", campaign_form(departements=[departement("30").pk]))
    assert response.status_code == 200 and "Sélectionnez un choix valide" in response.content.decode()
    # The same organisation twice for one year: the constraint's French message.
    client.post("/campagnes/nouvelle/", campaign_form())
    response = client.post("/campagnes/nouvelle/", campaign_form())
    assert "a déjà ouvert une campagne pour cette année" in response.content.decode()
    assert Campaign.objects.filter(year=2018).count() == 1


def test_campaign_dates_outside_2000_2100_are_refused_at_their_field(client, w):
    login(client, w.prefecture_user)
    response = client.post("/campagnes/nouvelle/", campaign_form(closes_on="9999-12-31"))
    assert response.status_code == 200
    assert response.context["form"].errors["closes_on"] == ["Saisissez une date comprise entre le 01/01/2000 et le 31/12/2100."]
    assert not Campaign.objects.filter(year=2018).exists()


@pytest.mark.parametrize("who", ["animator", "company_user"])
def test_only_prefectures_and_national_open_campaigns(client, w, who):
    login(client, getattr(w, who))
    assert client.get("/campagnes/nouvelle/").status_code == 403
    response = client.post("/campagnes/nouvelle/", campaign_form())
    assert response.status_code == 403 and "Seule une préfecture" in response.content.decode()
    assert not Campaign.objects.filter(year=2018).exists()


def test_national_opens_a_national_campaign(client, w):
    login(client, w.national_user).post("/campagnes/nouvelle/", campaign_form(title="Campagne nationale 2018", year="2016"))
    campaign = Campaign.objects.get(title="Campagne nationale 2018")
    assert campaign.is_national and campaign.declarations.count() == 2


# --- detail --------------------------------------------------------------------------------------------


def test_campaign_detail_lists_the_expected_declarations_in_scope(client, w):
    html = login(client, w.prefecture_user).get(campaign_url(w.campaign)).content.decode()
    assert f"/campagnes/declarations/{w.declaration.pk}/" in html
    assert f"/campagnes/declarations/{w.foreign_declaration.pk}/" not in html
    html = login(client, w.national_user).get(campaign_url(w.campaign)).content.decode()
    assert f"/campagnes/declarations/{w.foreign_declaration.pk}/" in html
    html = login(client, w.company_user).get(campaign_url(w.campaign)).content.decode()
    assert f"/campagnes/declarations/{w.declaration.pk}/" in html and "SNCF" not in html
    assert "Suivi de complétude" not in html and 'id="sync-form"' not in html


def test_campaign_detail_filters(client, w):
    login(client, w.national_user)
    Declaration.objects.filter(pk=w.foreign_declaration.pk).update(status=S.SUBMITTED)
    html = client.get(campaign_url(w.campaign) + "?status=submitted").content.decode()
    assert "SNCF" in html and ">BRL<" not in html
    html = client.get(campaign_url(w.campaign) + f"?club={w.club.pk}").content.decode()
    assert ">BRL<" in html and ">SNCF<" not in html
    html = client.get(campaign_url(w.campaign) + "?company=sncf").content.decode()
    assert ">SNCF<" in html and ">BRL<" not in html
    html = client.get(campaign_url(w.campaign) + "?status=a_remplir").content.decode()
    assert ">BRL<" in html and ">SNCF<" not in html


def test_sync_adds_the_missing_declarations(client, w):
    company, _ = company_with_members("Suez", "contact@suez.example", club=w.club)
    active_convention(company, club=w.club, reference="034-2017-SUEZ")
    assert login(client, w.prefecture_user).post(campaign_url(w.campaign, "synchroniser/")).status_code == 403
    assert login(client, w.animator).post(campaign_url(w.campaign, "synchroniser/")).status_code == 403
    assert w.campaign.declarations.count() == 2
    login(client, w.national_user)
    assert 'id="sync-form"' in client.get(campaign_url(w.campaign)).content.decode()
    response = client.post(campaign_url(w.campaign, "synchroniser/"), follow=True)
    assert "1 déclaration attendue ajoutée" in response.content.decode()
    assert w.campaign.declarations.count() == 3
    response = client.post(campaign_url(w.campaign, "synchroniser/"), follow=True)
    assert "aucune n&#x27;a été ajoutée" in response.content.decode()
    assert client.get(campaign_url(w.campaign, "synchroniser/")).status_code == 405


# --- completeness ------------------------------------------------------------------------------------------


def test_completeness_page_and_export(client, w):
    Declaration.objects.filter(pk=w.declaration.pk).update(status=S.SUBMITTED)
    login(client, w.prefecture_user)
    html = client.get(campaign_url(w.campaign, "completude/")).content.decode()
    assert "FACE Hérault" in html and "BRL" in html and "SNCF" not in html
    export = client.get(campaign_url(w.campaign, "completude.csv"))
    assert export["Content-Type"].startswith("text/csv")
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Regroupement;Nom;Attendues;Manquantes;En brouillon;Transmises;Validées;Renvoyées"
    assert "Total;Total;1;0;0;1;0;0" in lines
    assert "Club;FACE Hérault;1;0;0;1;0;0" in lines
    assert "Entreprise;BRL;1;0;0;1;0;0" in lines

    html = login(client, w.national_user).get(campaign_url(w.campaign, "completude/") + "?show=incompletes").content.decode()
    assert "SNCF" in html and ">BRL<" not in html
    export = client.get(campaign_url(w.campaign, "completude.csv") + "?show=incompletes").content.decode("utf-8-sig")
    assert "Entreprise;SNCF" in export and "Entreprise;BRL" not in export

    assert "BRL" in login(client, w.animator).get(campaign_url(w.campaign, "completude/")).content.decode()


def test_completeness_is_not_for_companies(client, w):
    login(client, w.company_user)
    assert client.get(campaign_url(w.campaign, "completude/")).status_code == 403
    assert client.get(campaign_url(w.campaign, "completude.csv")).status_code == 403


# --- all declarations and the dashboard ---------------------------------------------------------------------


def test_declaration_list_and_dashboard_blocks(client, w):
    Declaration.objects.filter(pk=w.declaration.pk).update(status=S.SUBMITTED)
    login(client, w.animator)
    html = client.get("/tableau-de-bord/").content.decode()
    assert "Déclarations à valider" in html and "1 déclaration à valider" in html
    assert "/campagnes/declarations/?status=submitted" in html
    html = client.get("/campagnes/declarations/?status=submitted").content.decode()
    assert ">BRL<" in html and "SNCF" not in html
    html = login(client, w.other_animator).get("/tableau-de-bord/").content.decode()
    assert "0 déclaration à valider" in html

    Declaration.objects.filter(pk=w.declaration.pk).update(status=S.RETURNED, return_comment="À revoir")
    html = login(client, w.company_user).get("/tableau-de-bord/").content.decode()
    assert "Ma déclaration à remplir" in html and f"/campagnes/declarations/{w.declaration.pk}/" in html
    assert "renvoyée pour correction" in html
    close_campaign(w.campaign)
    html = client.get("/tableau-de-bord/").content.decode()
    assert "Aucune déclaration à remplir en ce moment." in html


def test_the_nav_shows_campaigns_except_to_partners(client, w):
    assert 'href="/campagnes/"' in login(client, w.company_user).get("/tableau-de-bord/").content.decode()


# --- bounded queries -------------------------------------------------------------------------------------------


def _more_declarations(w, count, prefix="Entreprise"):
    for n in range(count):
        company, _ = company_with_members(f"{prefix} {n:03d}", f"{prefix.lower()}{n}@example.org", club=w.club)
        convention = active_convention(company, club=w.club)
        CommitmentFactory(convention=convention)
    services.sync_expected_declarations(w.campaign)
    # A few in every status, so that every column and badge is drawn.
    ids = list(w.campaign.declarations.values_list("pk", flat=True))
    Declaration.objects.filter(pk__in=ids[::3]).update(status=S.SUBMITTED)
    Declaration.objects.filter(pk__in=ids[1::3]).update(status=S.VALIDATED)


@pytest.mark.parametrize("suffix", ["", "completude/", "completude.csv"])
@pytest.mark.parametrize("who", ["prefecture_user", "animator"])
def test_campaign_pages_run_the_same_queries_for_5_and_200_declarations(client, w, suffix, who, django_assert_max_num_queries):
    login(client, getattr(w, who))
    _more_declarations(w, 4)
    client.get(campaign_url(w.campaign, suffix))
    with CaptureQueriesContext(connection) as small:
        assert client.get(campaign_url(w.campaign, suffix)).status_code == 200
    _more_declarations_from = Declaration.objects.filter(campaign=w.campaign).count()
    assert _more_declarations_from >= 5
    for n in range(196):
        company, _ = company_with_members(f"Grande {n:03d}", f"grande{n}@example.org", club=w.club)
        active_convention(company, club=w.club)
    services.sync_expected_declarations(w.campaign)
    assert Declaration.objects.filter(campaign=w.campaign, convention__departement__code="34").count() >= 200
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(campaign_url(w.campaign, suffix))
    assert response.status_code == 200


def test_declaration_list_queries_do_not_grow(client, w, django_assert_max_num_queries):
    login(client, w.national_user)
    _more_declarations(w, 4)
    client.get("/campagnes/declarations/")
    with CaptureQueriesContext(connection) as small:
        client.get("/campagnes/declarations/")
        client.get("/campagnes/")
    _more_declarations(w, 60, prefix="Autre")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/campagnes/declarations/")
        client.get("/campagnes/")
