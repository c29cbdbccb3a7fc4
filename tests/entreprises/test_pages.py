"""The companies pages: list, filters, export, detail, create and edit, as each kind of user sees them."""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conventions.models import Action, Convention
from entreprises.models import ClubMembership, Company, Contact, Establishment
from entreprises.table import COLUMNS
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommitmentFactory,
    ConventionFactory,
    EstablishmentFactory,
    action_type,
    family,
    with_luhn_key,
)
from tests.html_checks import assert_error_pattern

VALID_SIREN = "552100554"
VALID_SIRET = "55210055400013"


def listed(response):
    """Company names shown in the list's table, in order."""
    assert response.status_code == 200
    html = response.content.decode()
    return re.findall(r'<td><a href="/entreprises/\d+/">([^<]+)</a></td>', html)


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.getvalue().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def count_queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


# --- list: who sees what -------------------------------------------------------------------------------


def test_national_sees_every_company_sorted_by_name(client, world, act_as):
    act_as(world.national)
    assert listed(client.get("/entreprises/")) == ["Alpha Ingénierie", "Bêta Services", "Gamma Aude"]


def test_prefecture_sees_its_departements_only(client, world, act_as):
    act_as(world.prefecture)
    assert listed(client.get("/entreprises/")) == ["Alpha Ingénierie", "Bêta Services"]


def test_prefecture_also_sees_a_company_through_an_establishment_in_its_departement(client, world, act_as):
    EstablishmentFactory(company=world.gamma, commune=world.montpellier)
    act_as(world.prefecture)
    assert "Gamma Aude" in listed(client.get("/entreprises/"))


def test_club_sees_its_members_only(client, world, act_as):
    act_as(world.club)
    assert listed(client.get("/entreprises/")) == ["Alpha Ingénierie"]


def test_company_sees_only_itself(client, world, act_as):
    act_as(world.company_org)
    assert listed(client.get("/entreprises/")) == ["Alpha Ingénierie"]


def test_partner_gets_an_empty_list_and_no_company_page(client, world, act_as):
    act_as(world.partner)
    assert listed(client.get("/entreprises/")) == []
    assert client.get(f"/entreprises/{world.alpha.pk}/").status_code == 404
    rows = csv_rows(client.get("/entreprises/export.csv"))
    assert len(rows) == 1  # the header only


def test_list_columns_clubs_size_commune_and_badge(client, world, act_as):
    ConventionFactory(status=Convention.Status.ACTIVE).companies.add(world.alpha)
    act_as(world.national)
    html = client.get("/entreprises/").content.decode()
    row = re.search(r"Alpha Ingénierie</a></td>(.*?)</tr>", html, re.S).group(1)
    assert world.alpha.siren in row
    assert "PME (moins de 250 salariés)" in row
    assert "Montpellier (34)" in row
    assert "FACE Hérault" in row
    assert "En vigueur" in row
    beta_row = re.search(r"Bêta Services</a></td>(.*?)</tr>", html, re.S).group(1)
    assert "Aucune" in beta_row


def test_ended_club_membership_is_not_listed_as_a_club(client, world, act_as):
    ClubMembershipFactory(
        company=world.beta, club=world.club, start_date=datetime.date(2015, 1, 1), end_date=datetime.date(2016, 1, 1)
    )
    act_as(world.national)
    html = client.get("/entreprises/").content.decode()
    beta_row = re.search(r"Bêta Services</a></td>(.*?)</tr>", html, re.S).group(1)
    assert "FACE Hérault" not in beta_row


# --- search and filters --------------------------------------------------------------------------------


def test_search_by_name_is_case_insensitive(client, world, act_as):
    act_as(world.national)
    assert listed(client.get("/entreprises/", {"q": "gamma"})) == ["Gamma Aude"]


def test_search_by_siren_with_spaces(client, world, act_as):
    act_as(world.national)
    siren = world.beta.siren
    assert listed(client.get("/entreprises/", {"q": f"{siren[:3]} {siren[3:6]} {siren[6:]}"})) == ["Bêta Services"]


def test_filter_by_departement_and_choices_limited_to_scope(client, world, act_as):
    act_as(world.national)
    assert listed(client.get("/entreprises/", {"departement": world.aude.pk})) == ["Gamma Aude"]
    client.logout()
    act_as(world.prefecture)
    html = client.get("/entreprises/").content.decode()
    select = re.search(r'<select name="departement".*?</select>', html, re.S).group(0)
    assert "Hérault (34)" in select
    assert "Aude (11)" not in select
    # A département outside the scope is not a valid choice: it filters nothing in and shows nothing foreign.
    assert "Gamma Aude" not in listed(client.get("/entreprises/", {"departement": world.aude.pk}))


def test_filter_by_club_and_club_choices_limited_to_scope(client, world, act_as):
    act_as(world.national)
    assert listed(client.get("/entreprises/", {"club": world.club_aude.pk})) == ["Gamma Aude"]
    client.logout()
    act_as(world.prefecture)
    html = client.get("/entreprises/").content.decode()
    select = re.search(r'<select name="club".*?</select>', html, re.S).group(0)
    assert "FACE Hérault" in select
    assert "FACE Aude" not in select


def test_filter_by_size(client, world, act_as):
    act_as(world.national)
    assert listed(client.get("/entreprises/", {"size": "tpe"})) == ["Bêta Services"]


def test_filter_by_family_through_commitments_or_actions_without_duplicates(client, world, act_as):
    convention = ConventionFactory()
    convention.companies.add(world.alpha)
    CommitmentFactory(convention=convention, family=family("EDU"), action_type=action_type("STAGE_3E"))
    CommitmentFactory(convention=convention, family=family("EDU"), action_type=action_type("TUTORAT"))
    for _ in range(3):
        ActionFactory(action_type=action_type("STAGE_3E")).companies.add(world.alpha)
    ActionFactory(action_type=action_type("MECENAT_COMPETENCES")).companies.add(world.beta)
    act_as(world.national)
    response = client.get("/entreprises/", {"family": family("EDU").pk})
    assert listed(response) == ["Alpha Ingénierie"]
    assert response.context["page_obj"].paginator.count == 1
    assert listed(client.get("/entreprises/", {"family": family("SOL").pk})) == ["Bêta Services"]
    assert listed(client.get("/entreprises/", {"family": family("RSE").pk})) == []


def test_filter_by_active_convention(client, world, act_as):
    ConventionFactory(status=Convention.Status.ACTIVE).companies.add(world.alpha)
    ConventionFactory(status=Convention.Status.DRAFT).companies.add(world.beta)
    act_as(world.prefecture)
    assert listed(client.get("/entreprises/", {"active_convention": "oui"})) == ["Alpha Ingénierie"]
    assert listed(client.get("/entreprises/", {"active_convention": "non"})) == ["Bêta Services"]


def test_filter_form_has_labels(client, world, act_as):
    act_as(world.national)
    html = client.get("/entreprises/").content.decode()
    for field_id, label in [
        ("id_q", "Nom ou SIREN"),
        ("id_departement", "Département"),
        ("id_club", "Club"),
        ("id_size", "Taille"),
        ("id_family", "Famille d&#x27;actions"),
        ("id_active_convention", "Convention en vigueur"),
    ]:
        assert re.search(rf'<label for="{field_id}" class="fr-label">\s*{label}', html), field_id


def test_pagination_keeps_the_filters(client, world, act_as, settings):
    settings.PAGE_SIZE = 5
    for index in range(7):
        Company.objects.create(siren=with_luhn_key(f"{70000000 + index:08d}"), name=f"Zeta {index}", commune=world.montpellier)
    act_as(world.national)
    first = client.get("/entreprises/", {"q": "zeta"})
    assert listed(first) == [f"Zeta {i}" for i in range(5)]
    assert "q=zeta&amp;page=2" in first.content.decode() or "page=2&amp;q=zeta" in first.content.decode()
    assert listed(client.get("/entreprises/", {"q": "zeta", "page": 2})) == ["Zeta 5", "Zeta 6"]
    assert "7 résultats" in first.content.decode()


# --- CSV export ----------------------------------------------------------------------------------------


def test_csv_export_of_the_filtered_scoped_list(client, world, act_as):
    active = ConventionFactory(status=Convention.Status.ACTIVE)
    active.companies.add(world.alpha)
    ConventionFactory(status=Convention.Status.EXPIRED).companies.add(world.alpha)
    world.alpha.naf_code = "71.12B"
    world.alpha.save()
    act_as(world.prefecture)
    siret = with_luhn_key(world.alpha.siren + "0001")
    EstablishmentFactory(company=world.alpha, siret=siret, name="Siège", commune=world.montpellier, is_head_office=True)
    rows = csv_rows(client.get("/entreprises/export.csv"))
    # The import's columns (entreprises.table): one row per establishment, the company's cells repeated.
    assert rows[0] == COLUMNS
    alpha, beta = (dict(zip(COLUMNS, row, strict=True)) for row in rows[1:])
    assert alpha == {
        "SIREN": world.alpha.siren,
        "Raison sociale": "Alpha Ingénierie",
        "Forme juridique": "",
        "Taille": "PME (moins de 250 salariés)",
        "Code NAF": "71.12B",
        "Adresse": "",
        "Code postal": "",
        "Code commune": "34172",
        "Commune": "Montpellier",
        "Département": "34",
        "Clubs": "FACE Hérault",
        "SIRET": siret,
        "Établissement": "Siège",
        "Adresse de l'établissement": "",
        "Code commune de l'établissement": "34172",
        "Commune de l'établissement": "Montpellier",
        "Siège": "oui",
        "Nombre de conventions": "2",
        "Convention en vigueur": "oui",
    }
    # Bêta has no establishment: one row, its establishment cells empty.
    assert (beta["Raison sociale"], beta["Taille"], beta["SIRET"], beta["Siège"], beta["Convention en vigueur"]) == (
        "Bêta Services",
        "TPE (moins de 10 salariés)",
        "",
        "",
        "non",
    )
    filtered = csv_rows(client.get("/entreprises/export.csv", {"size": "tpe"}))
    assert [row[1] for row in filtered[1:]] == ["Bêta Services"]


def test_list_links_the_export_with_the_same_filters(client, world, act_as):
    act_as(world.national)
    html = client.get("/entreprises/", {"size": "tpe", "page": "1"}).content.decode()
    assert 'href="/entreprises/export.csv?size=tpe"' in html


def test_club_export_counts_only_the_conventions_it_can_see(client, world, act_as):
    ConventionFactory(club=world.club).companies.add(world.alpha)
    ConventionFactory(club=world.club_aude, status=Convention.Status.ACTIVE).companies.add(world.alpha)
    act_as(world.club)
    rows = csv_rows(client.get("/entreprises/export.csv"))
    counts = [COLUMNS.index("Nombre de conventions"), COLUMNS.index("Convention en vigueur")]
    assert [(row[1], row[counts[0]], row[counts[1]]) for row in rows[1:]] == [("Alpha Ingénierie", "1", "non")]


# --- detail --------------------------------------------------------------------------------------------


def test_detail_shows_identity_establishments_clubs_contacts_conventions_and_actions(client, world, act_as):
    EstablishmentFactory(company=world.alpha, siret=with_luhn_key(world.alpha.siren + "0001"), commune=world.montpellier)
    Contact.objects.create(company=world.alpha, first_name="Léa", last_name="Bernard", job_title="Responsable RSE", is_main=True)
    convention = ConventionFactory(reference="034-2016-0042", status=Convention.Status.ACTIVE, club=world.club)
    convention.companies.add(world.alpha)
    action = ActionFactory(title="Stages de 3e au collège Las Cazes")
    action.companies.add(world.alpha)
    act_as(world.prefecture)
    response = client.get(f"/entreprises/{world.alpha.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "Alpha Ingénierie</h1>" in html
    assert world.alpha.siren in html
    assert with_luhn_key(world.alpha.siren + "0001") in html
    assert "FACE Hérault" in html and "01/01/2015" in html and "En cours" in html
    assert "Léa Bernard" in html and "contact principal" in html
    assert "034-2016-0042" in html and "En vigueur" in html
    assert f'href="/conventions/{convention.pk}/"' in html
    assert "Stages de 3e au collège Las Cazes" in html
    assert f'href="/conventions/entreprise/{world.alpha.pk}/engagements/"' in html
    assert "Modifier l'entreprise" in html


@pytest.mark.parametrize(
    "org_name, company_name",
    [
        ("prefecture", "gamma"),
        ("prefecture_aude", "alpha"),
        ("club", "beta"),
        ("club", "gamma"),
        ("company_org", "beta"),
        ("partner", "alpha"),
    ],
)
def test_detail_and_edit_out_of_scope_are_404(client, world, act_as, org_name, company_name):
    act_as(getattr(world, org_name))
    company = getattr(world, company_name)
    assert client.get(f"/entreprises/{company.pk}/").status_code == 404
    assert client.get(f"/entreprises/{company.pk}/modifier/").status_code == 404
    assert client.post(f"/entreprises/{company.pk}/modifier/", {"name": "Piratée"}).status_code == 404
    company.refresh_from_db()
    assert company.name != "Piratée"


def test_detail_hides_conventions_the_club_does_not_animate(client, world, act_as):
    ConventionFactory(reference="CLUB-1", club=world.club).companies.add(world.alpha)
    ConventionFactory(reference="AUTRE-1", club=world.club_aude).companies.add(world.alpha)
    act_as(world.club)
    html = client.get(f"/entreprises/{world.alpha.pk}/").content.decode()
    assert "CLUB-1" in html
    assert "AUTRE-1" not in html


# --- create --------------------------------------------------------------------------------------------


def company_payload(**overrides):
    data = {
        "siren": "552 100 554",
        "name": "Delta Conseil",
        "legal_form": "SAS",
        "size": "pme",
        "naf_code": "70.22Z",
        "address": "1 rue de la Loge",
        "postcode": "34000",
        "commune": "34172",
        "etablissements-TOTAL_FORMS": "1",
        "etablissements-INITIAL_FORMS": "0",
        "etablissements-MIN_NUM_FORMS": "0",
        "etablissements-MAX_NUM_FORMS": "1000",
        "etablissements-0-siret": "",
        "etablissements-0-name": "",
        "etablissements-0-address": "",
        "etablissements-0-commune": "",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-first_name": "",
        "contacts-0-last_name": "",
        "contacts-0-job_title": "",
        "contacts-0-email": "",
        "contacts-0-phone": "",
    }
    data.update(overrides)
    return data


def test_prefecture_creates_a_company_with_an_establishment_and_a_contact(client, world, act_as):
    act_as(world.prefecture)
    assert client.get("/entreprises/nouvelle/").status_code == 200
    response = client.post(
        "/entreprises/nouvelle/",
        company_payload(
            **{
                "etablissements-0-siret": "552 100 554 00013",
                "etablissements-0-name": "Agence de Montpellier",
                "etablissements-0-commune": "Montpellier (34172)",
                "etablissements-0-is_head_office": "on",
                "contacts-0-first_name": "Nadia",
                "contacts-0-last_name": "Benali",
                "contacts-0-email": "nadia.benali@delta.example",
            }
        ),
    )
    company = Company.objects.get(siren=VALID_SIREN)
    assert response.status_code == 302
    assert response["Location"] == f"/entreprises/{company.pk}/"
    assert company.name == "Delta Conseil"
    assert company.commune == world.montpellier
    establishment = company.establishments.get()
    assert establishment.siret == VALID_SIRET
    assert establishment.commune == world.montpellier
    assert establishment.is_head_office
    assert company.contacts.get().email == "nadia.benali@delta.example"
    # A préfecture does not join clubs.
    assert not ClubMembership.objects.filter(company=company).exists()
    assert "L&#x27;entreprise a été créée." in client.get(response["Location"]).content.decode()


def test_club_creating_a_company_makes_it_a_member_from_today(client, world, act_as):
    act_as(world.club)
    response = client.post("/entreprises/nouvelle/", company_payload())
    assert response.status_code == 302
    company = Company.objects.get(siren=VALID_SIREN)
    membership = ClubMembership.objects.get(company=company)
    assert membership.club == world.club
    assert membership.start_date == timezone.localdate()
    assert membership.end_date is None
    # ...so the club finds it in its list right away.
    assert "Delta Conseil" in listed(client.get("/entreprises/"))


def test_invalid_siren_is_refused_at_the_field_and_everything_typed_is_kept(client, world, act_as):
    act_as(world.prefecture)
    response = client.post(
        "/entreprises/nouvelle/",
        company_payload(siren="552 100 555", **{"contacts-0-first_name": "Nadia", "contacts-0-last_name": "Benali"}),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ce SIREN n&#x27;est pas valide (clé de contrôle incorrecte)." in html
    assert "Le formulaire contient des erreurs" in html
    assert 'value="552 100 555"' in html
    assert 'value="Delta Conseil"' in html
    assert 'value="1 rue de la Loge"' in html
    assert 'value="34172"' in html
    assert 'value="Nadia"' in html
    assert not Company.objects.filter(name="Delta Conseil").exists()
    assert_error_pattern(html, ["id_siren"])


def test_siren_with_wrong_length_has_its_own_message(client, world, act_as):
    act_as(world.national)
    html = client.post("/entreprises/nouvelle/", company_payload(siren="1234")).content.decode()
    assert "Le SIREN doit comporter exactement 9 chiffres." in html


def test_existing_siren_is_refused_in_french(client, world, act_as):
    act_as(world.national)
    html = client.post("/entreprises/nouvelle/", company_payload(siren=world.gamma.siren)).content.decode()
    assert "Une entreprise portant ce SIREN existe déjà dans le portail" in html
    assert Company.objects.filter(siren=world.gamma.siren).count() == 1


def test_siret_not_starting_with_the_siren_is_refused(client, world, act_as):
    act_as(world.prefecture)
    other_siret = "40404040400018"  # valid Luhn key, but another company's SIREN
    response = client.post("/entreprises/nouvelle/", company_payload(**{"etablissements-0-siret": other_siret}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Le SIRET doit commencer par le SIREN de l&#x27;entreprise (552100554)." in html
    assert f'value="{other_siret}"' in html
    assert not Company.objects.filter(siren=VALID_SIREN).exists()
    assert not Establishment.objects.filter(siret=other_siret).exists()


def test_invalid_siret_checksum_is_refused(client, world, act_as):
    act_as(world.prefecture)
    html = client.post("/entreprises/nouvelle/", company_payload(**{"etablissements-0-siret": "55210055400014"})).content.decode()
    assert "Ce SIRET n&#x27;est pas valide (clé de contrôle incorrecte)." in html
    assert not Company.objects.filter(siren=VALID_SIREN).exists()


def test_two_head_offices_are_refused(client, world, act_as):
    act_as(world.national)
    payload = company_payload(
        **{
            "etablissements-TOTAL_FORMS": "2",
            "etablissements-0-siret": VALID_SIRET,
            "etablissements-0-is_head_office": "on",
            "etablissements-1-siret": with_luhn_key(VALID_SIREN + "0002"),
            "etablissements-1-is_head_office": "on",
        }
    )
    html = client.post("/entreprises/nouvelle/", payload).content.decode()
    assert "Un seul établissement peut être le siège." in html
    assert not Company.objects.filter(siren=VALID_SIREN).exists()


def test_unknown_commune_is_refused(client, world, act_as):
    act_as(world.national)
    html = client.post("/entreprises/nouvelle/", company_payload(commune="99999")).content.decode()
    assert "Commune inconnue : saisissez son code INSEE" in html
    assert 'value="99999"' in html


def test_prefecture_cannot_create_a_company_outside_its_territory(client, world, act_as):
    act_as(world.prefecture)
    html = client.post("/entreprises/nouvelle/", company_payload(commune="11069")).content.decode()
    assert "sinon l&#x27;entreprise sortirait de votre périmètre" in html
    assert not Company.objects.filter(siren=VALID_SIREN).exists()
    # A head office elsewhere is fine when an establishment is in the département.
    response = client.post(
        "/entreprises/nouvelle/",
        company_payload(commune="11069", **{"etablissements-0-siret": VALID_SIRET, "etablissements-0-commune": "34172"}),
    )
    assert response.status_code == 302


@pytest.mark.parametrize("org_name", ["company_org", "partner"])
def test_company_and_partner_cannot_create_companies(client, world, act_as, org_name):
    act_as(getattr(world, org_name))
    response = client.get("/entreprises/nouvelle/")
    assert response.status_code == 403
    assert "ne peut pas créer d&#x27;entreprise" in response.content.decode()
    assert client.post("/entreprises/nouvelle/", company_payload()).status_code == 403
    assert not Company.objects.filter(siren=VALID_SIREN).exists()
    assert "Ajouter une entreprise" not in client.get("/entreprises/").content.decode()


# --- edit ----------------------------------------------------------------------------------------------


def test_company_edits_itself_but_not_its_siren(client, world, act_as):
    act_as(world.company_org)
    form_page = client.get(f"/entreprises/{world.alpha.pk}/modifier/")
    assert form_page.status_code == 200
    html = form_page.content.decode()
    assert re.search(r'<input[^>]*name="siren"[^>]*disabled', html)
    assert 'value="34172"' in html  # the commune is shown as its INSEE code
    original_siren = world.alpha.siren
    response = client.post(
        f"/entreprises/{world.alpha.pk}/modifier/",
        company_payload(siren=VALID_SIREN, name="Alpha Ingénierie SAS", commune="34172"),
    )
    assert response.status_code == 302
    world.alpha.refresh_from_db()
    assert world.alpha.name == "Alpha Ingénierie SAS"
    assert world.alpha.siren == original_siren


def test_company_cannot_change_the_national_signatory_flag(client, world, act_as):
    act_as(world.company_org)
    client.post(f"/entreprises/{world.alpha.pk}/modifier/", company_payload(is_national_signatory="on"))
    world.alpha.refresh_from_db()
    assert not world.alpha.is_national_signatory


def test_edit_keeps_establishments_and_validates_them_against_the_stored_siren(client, world, act_as):
    establishment = EstablishmentFactory(company=world.alpha, siret=with_luhn_key(world.alpha.siren + "0001"))
    act_as(world.club)
    payload = company_payload(
        name="Alpha Ingénierie",
        **{
            "etablissements-TOTAL_FORMS": "2",
            "etablissements-INITIAL_FORMS": "1",
            "etablissements-0-id": str(establishment.pk),
            "etablissements-0-company": str(world.alpha.pk),
            "etablissements-0-siret": establishment.siret,
            "etablissements-0-name": "Siège renommé",
            "etablissements-1-siret": VALID_SIRET,  # another company's SIREN
        },
    )
    html = client.post(f"/entreprises/{world.alpha.pk}/modifier/", payload).content.decode()
    assert "Le SIRET doit commencer par le SIREN de l&#x27;entreprise" in html
    payload["etablissements-1-siret"] = with_luhn_key(world.alpha.siren + "0002")
    assert client.post(f"/entreprises/{world.alpha.pk}/modifier/", payload).status_code == 302
    assert sorted(world.alpha.establishments.values_list("name", flat=True)) == ["", "Siège renommé"]


def test_club_cannot_edit_a_visible_company_that_is_not_its_member(client, world, act_as):
    # Beta is visible to the club through a convention it animates, but is not a member.
    ConventionFactory(club=world.club).companies.add(world.beta)
    act_as(world.club)
    assert client.get(f"/entreprises/{world.beta.pk}/").status_code == 200
    assert "Modifier l'entreprise" not in client.get(f"/entreprises/{world.beta.pk}/").content.decode()
    response = client.post(f"/entreprises/{world.beta.pk}/modifier/", company_payload(name="Changée"))
    assert response.status_code == 403
    assert "pas la modifier" in response.content.decode()
    world.beta.refresh_from_db()
    assert world.beta.name == "Bêta Services"


def test_club_edits_its_member(client, world, act_as):
    act_as(world.club)
    response = client.post(f"/entreprises/{world.alpha.pk}/modifier/", company_payload(name="Alpha Renommée"))
    assert response.status_code == 302
    world.alpha.refresh_from_db()
    assert world.alpha.name == "Alpha Renommée"


def test_refused_edit_keeps_typed_values(client, world, act_as):
    act_as(world.prefecture)
    response = client.post(f"/entreprises/{world.beta.pk}/modifier/", company_payload(name="", naf_code="62.01Z"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ce champ est obligatoire." in html
    assert 'value="62.01Z"' in html
    world.beta.refresh_from_db()
    assert world.beta.name == "Bêta Services"


# --- bounded number of queries -------------------------------------------------------------------------


def make_companies(world, count, offset):
    """`count` companies in the Hérault, each with an establishment, a club membership, a convention and an action."""
    companies = Company.objects.bulk_create(
        Company(siren=with_luhn_key(f"{60000000 + offset + i:08d}"), name=f"Société {offset + i:04d}", commune=world.montpellier)
        for i in range(count)
    )
    Establishment.objects.bulk_create(
        Establishment(company=c, siret=with_luhn_key(c.siren + "0001"), commune=world.montpellier) for c in companies
    )
    ClubMembership.objects.bulk_create(
        ClubMembership(company=c, club=world.club, start_date=datetime.date(2016, 1, 1)) for c in companies
    )
    convention = ConventionFactory(status=Convention.Status.ACTIVE, club=world.club)
    convention.companies.add(*companies)
    action = ActionFactory(club=world.club)
    action.companies.add(*companies)
    return companies


@pytest.mark.parametrize("org_name", ["national", "prefecture", "club"])
def test_list_and_export_queries_do_not_grow_with_rows(client, world, act_as, settings, org_name):
    settings.PAGE_SIZE = 500
    make_companies(world, 5, 0)
    act_as(getattr(world, org_name))
    list_5 = count_queries(client, "/entreprises/")
    csv_5 = count_queries(client, "/entreprises/export.csv")
    filtered_5 = count_queries(client, "/entreprises/?active_convention=oui&family=1&q=soc")
    make_companies(world, 195, 5)
    assert len(listed(client.get("/entreprises/"))) >= 200
    assert count_queries(client, "/entreprises/") == list_5
    assert count_queries(client, "/entreprises/export.csv") == csv_5
    assert count_queries(client, "/entreprises/?active_convention=oui&family=1&q=soc") == filtered_5
    assert list_5 <= 15


def test_detail_queries_do_not_grow_with_rows(client, world, act_as):
    def grow(count, offset):
        Establishment.objects.bulk_create(
            Establishment(
                company=world.alpha, siret=with_luhn_key(f"{world.alpha.siren}{offset + i:04d}"), commune=world.montpellier
            )
            for i in range(count)
        )
        Contact.objects.bulk_create(
            Contact(company=world.alpha, first_name="Prénom", last_name=f"Nom {offset + i}") for i in range(count)
        )
        conventions = Convention.objects.bulk_create(
            Convention(
                reference=f"034-2017-{offset + i:04d}",
                title="Convention",
                kind=Convention.Kind.LOCAL,
                start_date=datetime.date(2017, 1, 1),
                end_date=datetime.date(2018, 12, 31),
                departement=world.herault,
                club=world.club,
            )
            for i in range(count)
        )
        world.alpha.conventions.add(*conventions)
        actions = Action.objects.bulk_create(
            Action(
                action_type=action_type(),
                title=f"Action {offset + i}",
                start_date=datetime.date(2017, 3, 1),
                departement=world.herault,
            )
            for i in range(count)
        )
        world.alpha.actions.add(*actions)

    grow(5, 0)
    act_as(world.prefecture)
    detail_5 = count_queries(client, f"/entreprises/{world.alpha.pk}/")
    edit_5 = count_queries(client, f"/entreprises/{world.alpha.pk}/modifier/")
    grow(195, 5)
    assert count_queries(client, f"/entreprises/{world.alpha.pk}/") == detail_5
    assert count_queries(client, f"/entreprises/{world.alpha.pk}/modifier/") == edit_5
    assert detail_5 <= 20
