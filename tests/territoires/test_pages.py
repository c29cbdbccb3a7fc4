"""Territory pages: départements of the scope, a département with its QPV, a QPV with the actions that reached it."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import OrganisationKind
from charte.territoires.models import EPCI, QPV, Commune, QPVCorrespondence
from conventions.models import Convention
from evaluation.engine import runs
from tests.factories import (
    ActionFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    departement,
)

pytestmark = pytest.mark.django_db


def act_as(kind, *codes):
    organisation = OrganisationFactory(kind=kind, departements=[departement(c) for c in codes])
    return MembershipFactory(organisation=organisation).user, organisation


def action(year, qpvs, companies=(), club=None, dep="34", total=10, qpv_residents=4, title=None):
    created = ActionFactory(
        start_date=datetime.date(year, 5, 1),
        departement=departement(dep),
        club=club,
        beneficiaries_total=total,
        beneficiaries_women=0,
        beneficiaries_under_26=0,
        beneficiaries_qpv=qpv_residents,
        **({"title": title} if title else {}),
    )
    created.qpvs.set(qpvs)
    created.companies.set(companies)
    return created


@pytest.fixture
def herault(db):
    montpellier = CommuneFactory(code="34172", name="Montpellier")
    mosson = QPVFactory(code="QP034005", name="Mosson", population=21652)
    mosson.communes.set([montpellier])
    petit_bard = QPVFactory(code="QP034006", name="Petit Bard Pergola", population=5756)
    mosson_2024 = QPVFactory(code="QN03401M", name="Mosson (2024)", generation=2024, population=20000)
    QPVCorrespondence.objects.create(qpv_2015=mosson, qpv_2024=mosson_2024)
    engie = CompanyFactory(name="Engie", commune=montpellier)
    sncf = CompanyFactory(name="SNCF", commune=montpellier)
    suez = CompanyFactory(name="Suez", commune=montpellier)
    draft_only = CompanyFactory(name="Brouillon SA", commune=montpellier)
    running = ConventionFactory(start_date=datetime.date(2016, 1, 1), end_date=datetime.date(2018, 12, 31))
    running.companies.set([sncf])
    Convention.objects.filter(pk=running.pk).update(status=Convention.Status.ACTIVE)
    draft = ConventionFactory(start_date=datetime.date(2017, 1, 1), end_date=datetime.date(2017, 12, 31))
    draft.companies.set([draft_only])
    club_user, club = act_as(OrganisationKind.CLUB, "34")
    _, other_club = act_as(OrganisationKind.CLUB, "34")
    action(2017, [mosson, petit_bard], [engie], club=club, total=12, qpv_residents=9, title="Stages chez Engie")
    action(2017, [mosson], [suez], club=other_club, total=5, qpv_residents=5, title="Mécénat Suez")
    action(2016, [mosson], [engie], club=club, total=30, qpv_residents=20, title="Job dating 2016")
    gard = QPVFactory(code="QP030001", name="Pissevin", departement=departement("30"))
    action(2017, [gard], [CompanyFactory(name="Gardoise")], dep="30", title="Action gardoise")
    return {
        "mosson": mosson,
        "petit_bard": petit_bard,
        "mosson_2024": mosson_2024,
        "club_user": club_user,
        "club": club,
        "gard": gard,
    }


def rows_by_code(response):
    return {qpv.code: qpv for qpv in response.context["qpvs"]}


# --- list -------------------------------------------------------------------------------------------


def test_a_prefecture_lists_its_departements_with_qpv_and_actions_of_this_year(client, herault):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34", "30")
    client.force_login(user)
    action(timezone.localdate().year, [herault["mosson"]])

    response = client.get(reverse("territoires:list"))

    rows = {d.code: d for d in response.context["departements"]}
    assert set(rows) == {"30", "34"}
    assert (rows["34"].qpv_2015, rows["34"].qpv_2024, rows["34"].actions_this_year) == (2, 1, 1)
    assert (rows["30"].qpv_2015, rows["30"].actions_this_year) == (1, 0)
    assert "Occitanie" in response.content.decode()


def test_national_lists_every_departement_paginated_and_filterable(client, herault):
    user, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(user)

    first = client.get(reverse("territoires:list"))
    assert first.context["page_obj"].paginator.count > 95
    assert len(first.context["departements"]) == 25

    found = client.get(reverse("territoires:list"), {"q": "2A"})
    assert [d.code for d in found.context["departements"]] == ["2A"]
    assert client.get(reverse("territoires:departement", args=["2A"])).status_code == 200


def test_a_partner_lists_only_its_territory(client, herault):
    user, _ = act_as(OrganisationKind.PARTNER, "34")
    client.force_login(user)

    response = client.get(reverse("territoires:list"))

    assert [d.code for d in response.context["departements"]] == ["34"]


# --- département ------------------------------------------------------------------------------------


def test_departement_page_defaults_to_the_latest_year_with_actions(client, herault):
    client.force_login(herault["club_user"])

    response = client.get(reverse("territoires:departement", args=["34"]))

    assert response.context["year"] == 2017
    assert response.context["years"][:3] == [timezone.localdate().year, 2017, 2016]
    rows = rows_by_code(response)
    assert (rows["QP034005"].actions_in_year, rows["QP034005"].beneficiaries_in_year) == (2, 17)
    assert (rows["QP034006"].actions_in_year, rows["QP034006"].beneficiaries_in_year) == (1, 12)
    assert rows["QP034005"].population == 21652
    assert response.context["totals"]["actions"] == 2
    assert response.context["totals"]["beneficiaries_qpv"] == 14


def test_departement_page_for_another_year_and_one_generation(client, herault):
    client.force_login(herault["club_user"])

    response = client.get(reverse("territoires:departement", args=["34"]), {"annee": "2016"})
    rows = rows_by_code(response)
    assert (rows["QP034005"].actions_in_year, rows["QP034005"].beneficiaries_in_year) == (1, 30)
    assert rows["QP034006"].actions_in_year == 0

    only_2024 = client.get(reverse("territoires:departement", args=["34"]), {"annee": "2016", "generation": "2024"})
    assert set(rows_by_code(only_2024)) == {"QN03401M"}
    assert only_2024.context["year"] == 2016


def test_a_departement_without_actions_shows_the_current_year(client, herault):
    user, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(user)

    response = client.get(reverse("territoires:departement", args=["11"]))

    assert response.context["year"] == timezone.localdate().year
    assert response.context["totals"]["actions"] == 0


def test_companies_engaged_are_named_within_scope_and_only_counted_otherwise(client, herault):
    prefecture, _ = act_as(OrganisationKind.PREFECTURE, "34")
    client.force_login(prefecture)
    response = client.get(reverse("territoires:departement", args=["34"]))
    names = [c.name for c in response.context["companies_page"].object_list]
    # Actions of 2017 (Engie, Suez) and the convention running in 2017 (SNCF); not the draft one.
    assert names == ["Engie", "SNCF", "Suez"]
    assert response.context["companies_count"] == 3
    figures = {c.name: (c.actions_in_year, c.has_running_convention) for c in response.context["companies_page"].object_list}
    assert figures == {"Engie": (1, False), "SNCF": (0, True), "Suez": (1, False)}

    # The club has none of them as members: it reads the count, not the names.
    client.force_login(herault["club_user"])
    response = client.get(reverse("territoires:departement", args=["34"]))
    page = response.content.decode()
    assert list(response.context["companies_page"].object_list) == []
    assert response.context["companies_count"] == 3
    assert "3 entreprises engagées dans le département, aucune dans votre périmètre." in page

    partner, _ = act_as(OrganisationKind.PARTNER, "34")
    client.force_login(partner)
    response = client.get(reverse("territoires:departement", args=["34"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["companies_page"] is None
    assert "3 entreprises engagées" in page
    for name in ("Engie", "SNCF", "Suez"):
        assert name not in page
    # Aggregates stay visible to the partner.
    assert rows_by_code(response)["QP034005"].actions_in_year == 2


def _compile(year):
    run = runs.start_run(year, sync=True)
    assert run.status == "succeeded", run.error
    return run


@pytest.mark.parametrize("kind", [OrganisationKind.NATIONAL, OrganisationKind.CLUB, OrganisationKind.PARTNER])
def test_qpv_figures_are_read_from_the_published_compile_with_the_same_values(client, herault, kind):
    user = herault["club_user"] if kind == OrganisationKind.CLUB else act_as(kind, "34")[0]
    client.force_login(user)
    url = reverse("territoires:departement", args=["34"])
    counted = client.get(url)
    assert counted.context["qpvs_compiled_at"] is None
    assert "qpv-source" not in counted.content.decode()

    _compile(2017)
    read = client.get(url)

    assert read.context["qpvs_compiled_at"] is not None
    assert "compilation publiée de 2017" in read.content.decode()

    def figures(response):
        return {code: (q.actions_in_year, q.beneficiaries_in_year) for code, q in rows_by_code(response).items()}

    assert figures(read) == figures(counted) == {"QP034005": (2, 17), "QP034006": (1, 12), "QN03401M": (0, 0)}

    # An action logged after the compile enters at the next one, like in the reports; a QPV the compile does not
    # hold yet is counted from the actions.
    action(2017, [herault["mosson"]], total=7, qpv_residents=1)
    new_qpv = QPVFactory(code="QP034099", name="Quartier nouveau")
    action(2017, [new_qpv], total=3, qpv_residents=1)
    after = figures(client.get(url))
    assert after["QP034005"] == (2, 17)
    assert after["QP034099"] == (1, 3)
    _compile(2017)
    assert figures(client.get(url))["QP034005"] == (3, 24)


def test_a_year_without_published_compile_counts_from_the_actions(client, herault):
    client.force_login(herault["club_user"])
    _compile(2017)
    response = client.get(reverse("territoires:departement", args=["34"]), {"annee": "2016"})
    assert response.context["qpvs_compiled_at"] is None
    assert rows_by_code(response)["QP034005"].actions_in_year == 1


@pytest.mark.parametrize("kind", [OrganisationKind.PREFECTURE, OrganisationKind.PARTNER])
def test_departement_page_queries_do_not_grow_with_qpv_read_from_the_compile(client, herault, kind):
    client.force_login(act_as(kind, "34")[0])
    url = reverse("territoires:departement", args=["34"])
    _more_qpv(2, herault["club"])
    _compile(2017)
    few = _queries(client, url)
    _more_qpv(45, herault["club"])
    _compile(2017)
    many = _queries(client, url)
    assert many == few


# --- EPCI ---------------------------------------------------------------------------------------------


@pytest.fixture
def metropole(herault):
    """Montpellier Méditerranée Métropole holds Mosson through the referential's EPCI link and Petit Bard through
    its commune; the Gard's QPV and the 2024 Mosson are not the Métropole's."""
    mmm = EPCI.objects.create(siren="243400017", name="Montpellier Méditerranée Métropole")
    Commune.objects.filter(code="34172").update(epci=mmm)
    QPV.objects.filter(code="QP034005").update(epci=mmm)
    herault["petit_bard"].communes.add(Commune.objects.get(code="34172"))
    return mmm


def _epci_reader(kind, epci):
    if kind == OrganisationKind.PARTNER:
        organisation = OrganisationFactory(kind=kind, departements=[departement("34")], epci=epci)
        return MembershipFactory(organisation=organisation).user
    return act_as(kind, "34")[0]


@pytest.mark.parametrize("kind", [OrganisationKind.NATIONAL, OrganisationKind.PREFECTURE, OrganisationKind.PARTNER])
def test_epci_qpv_figures_are_read_from_the_published_compile_and_equal_the_live_counts(client, herault, metropole, kind):
    client.force_login(_epci_reader(kind, metropole))
    url = reverse("territoires:epci", args=[metropole.siren])

    def figures(response):
        return {code: (q.actions_in_year, q.beneficiaries_in_year) for code, q in rows_by_code(response).items()}

    counted = client.get(url, {"annee": "2017"})
    assert counted.context["qpvs_compiled_at"] is None
    assert "comptés en direct sur les actions saisies" in counted.content.decode()

    _compile(2017)
    read = client.get(url, {"annee": "2017"})

    assert read.context["qpvs_compiled_at"] is not None
    assert "compilation publiée de 2017" in read.content.decode()
    assert figures(read) == figures(counted) == {"QP034005": (2, 17), "QP034006": (1, 12)}

    # Logged after the compile: the compiled figure waits for the next compile, as on the département page.
    action(2017, [herault["petit_bard"]], total=4, qpv_residents=1)
    assert figures(client.get(url, {"annee": "2017"}))["QP034006"] == (1, 12)
    _compile(2017)
    assert figures(client.get(url, {"annee": "2017"}))["QP034006"] == (2, 16)

    # A year without a published compile is counted from the actions, and says so.
    older = client.get(url, {"annee": "2016"})
    assert older.context["qpvs_compiled_at"] is None
    assert figures(older)["QP034005"] == (1, 30)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("kind", [OrganisationKind.PREFECTURE, OrganisationKind.PARTNER])
def test_epci_page_queries_do_not_grow_with_its_qpv(client, herault, metropole, kind, compiled):
    client.force_login(_epci_reader(kind, metropole))
    url = reverse("territoires:epci", args=[metropole.siren])

    def more_qpv(count, start):
        for index in range(start, start + count):
            qpv = QPVFactory(code=f"QP034{100 + index:03d}", name=f"Quartier {index}", epci=metropole)
            action(2017, [qpv], [CompanyFactory()], club=herault["club"])

    more_qpv(2, 0)
    if compiled:
        _compile(2017)
    few = _queries(client, url, {"annee": "2017"})
    more_qpv(30, 2)
    if compiled:
        _compile(2017)
    many = _queries(client, url, {"annee": "2017"})
    assert many == few


@pytest.mark.parametrize("kind, codes", [(OrganisationKind.PREFECTURE, ("30",)), (OrganisationKind.PARTNER, ("30",))])
def test_a_departement_or_qpv_out_of_scope_is_404(client, herault, kind, codes):
    user, _ = act_as(kind, *codes)
    client.force_login(user)

    assert client.get(reverse("territoires:departement", args=["34"])).status_code == 404
    assert client.get(reverse("territoires:qpv", args=["QP034005"])).status_code == 404
    assert client.get(reverse("territoires:departement", args=["30"])).status_code == 200
    assert client.get(reverse("territoires:departement", args=["99"])).status_code == 404


def _queries(client, url, params=None):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(context.captured_queries)


def _more_qpv(count, club):
    for index in range(count):
        qpv = QPVFactory(code=f"QP034{100 + index:03d}", name=f"Quartier {index}")
        company = CompanyFactory()
        action(2017, [qpv], [company], club=club)


@pytest.mark.parametrize("kind", [OrganisationKind.CLUB, OrganisationKind.PARTNER])
def test_departement_page_queries_do_not_grow_with_qpv(client, herault, kind):
    user = herault["club_user"] if kind == OrganisationKind.CLUB else act_as(kind, "34")[0]
    client.force_login(user)
    url = reverse("territoires:departement", args=["34"])
    _more_qpv(2, herault["club"])  # 5 QPV in the département
    few = _queries(client, url)
    _more_qpv(45, herault["club"])  # 50 QPV, 47 more companies engaged
    many = _queries(client, url)
    assert many == few
    assert _queries(client, reverse("territoires:list")) <= 12


# --- QPV --------------------------------------------------------------------------------------------


def test_qpv_page_shows_communes_correspondence_and_the_scoped_actions(client, herault):
    client.force_login(herault["club_user"])

    response = client.get(reverse("territoires:qpv", args=["QP034005"]))

    page = response.content.decode()
    assert "Montpellier (34172)" in page
    assert re.search(r"21[\s\u202f\xa0]?652 habitants", page)
    assert reverse("territoires:qpv", args=["QN03401M"]) in page
    # The club sees the rows of its own actions only, but the yearly aggregates count every action.
    assert {a.title for a in response.context["actions"]} == {"Stages chez Engie", "Job dating 2016"}
    assert "Mécénat Suez" not in page
    aggregates = {(row["year"], row["actions"]) for row in response.context["by_year_family"]}
    assert aggregates == {(2017, 2), (2016, 1)}

    by_year = client.get(reverse("territoires:qpv", args=["QP034005"]), {"annee": "2016"})
    assert {a.title for a in by_year.context["actions"]} == {"Job dating 2016"}

    successor = client.get(reverse("territoires:qpv", args=["QN03401M"])).content.decode()
    assert reverse("territoires:qpv", args=["QP034005"]) in successor


def test_a_partner_sees_aggregates_by_year_and_family_but_no_action(client, herault):
    user, _ = act_as(OrganisationKind.PARTNER, "34")
    client.force_login(user)

    response = client.get(reverse("territoires:qpv", args=["QP034005"]))

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["actions"] is None
    for title in ("Stages chez Engie", "Mécénat Suez", "Job dating 2016"):
        assert title not in page
    assert "Éducation et orientation scolaire" in page
    assert {(row["year"], row["beneficiaries"]) for row in response.context["by_year_family"]} == {(2017, 17), (2016, 30)}


def test_qpv_page_queries_do_not_grow_with_actions(client, herault):
    client.force_login(herault["club_user"])
    url = reverse("territoires:qpv", args=["QP034005"])
    few = _queries(client, url)
    for _ in range(50):
        action(2017, [herault["mosson"]], [CompanyFactory(), CompanyFactory()], club=herault["club"])
    many = _queries(client, url)
    assert many == few
