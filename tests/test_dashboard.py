"""The dashboard (/tableau-de-bord/): what each role has to do now and the key figures of its scope."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from charte import dashboard
from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from conventions.models import Action, Convention
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    UserFactory,
    action_type,
    departement,
)

URL = "/tableau-de-bord/"
Status = Convention.Status


@pytest.fixture
def territory(db):
    """Two départements; figures of the Hérault must never include the Aude's rows."""
    d34, d11 = departement("34"), departement("11")
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[d34])
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[d34])
    company = CompanyFactory(name="BRL", commune=CommuneFactory(code="34172", name="Montpellier"))
    company.organisation = OrganisationFactory(kind=OrganisationKind.COMPANY, name="BRL (comptes)")
    company.save()
    ClubMembershipFactory(company=company, club=club)
    return {"d34": d34, "d11": d11, "prefecture": prefecture, "club": club, "company": company}


def member(organisation, **kwargs):
    return MembershipFactory(organisation=organisation, **kwargs).user


def action(departement, year=2016, total=10, qpv=6, companies=(), **kwargs):
    created = ActionFactory(
        departement=departement,
        start_date=datetime.date(year, 3, 14),
        beneficiaries_total=total,
        beneficiaries_women=0,
        beneficiaries_under_26=0,
        beneficiaries_qpv=qpv,
        **kwargs,
    )
    created.companies.set(companies)
    return created


def page(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response, response.content.decode()


def test_prefecture_figures_count_its_departement_only_for_the_latest_year_with_actions(client, territory):
    d34, d11 = territory["d34"], territory["d11"]
    action(d34, year=2016, total=10, qpv=6)
    action(d34, year=2016, total=30, qpv=10, action_type=action_type("ALTERNANCE"))
    action(d34, year=2015, total=99, qpv=99)
    action(d11, year=2016, total=1000, qpv=1000)
    action(d11, year=2017, total=1000, qpv=1000)

    response, html = page(client, member(territory["prefecture"]))

    # No action this year in the Hérault: the latest year with actions there (2016, not the Aude's 2017).
    assert response.context["year"].year == 2016
    assert "Chiffres clés 2016" in html
    assert f"Aucune action n'a eu lieu en {timezone.localdate().year} (d'après leur date de début)" in html
    totals = response.context["totals"]
    assert (totals["actions"], totals["beneficiaries"], totals["beneficiaries_qpv"]) == (2, 40, 16)
    assert totals["qpv_share"] == 40.0
    assert "40,0&nbsp;%" in html
    families = {row["family"].code: row for row in response.context["families"]}
    assert list(families) == ["EDU", "EMP", "ECO", "SOL", "RSE"]
    assert (families["EDU"]["actions"], families["EDU"]["beneficiaries"], families["EDU"]["qpv_share"]) == (1, 10, 60.0)
    assert (families["EMP"]["actions"], families["EMP"]["beneficiaries_qpv"]) == (1, 10)
    assert families["RSE"]["actions"] == 0 and families["RSE"]["qpv_share"] is None
    assert '<div class="fr-table' in html and "<caption>Actions menées en 2016 par famille d'actions</caption>" in html
    assert "Éducation et orientation scolaire" in html


def test_year_selector_shows_another_year_and_ignores_years_not_offered(client, territory):
    d34 = territory["d34"]
    action(d34, year=2016, total=10, qpv=6)
    action(d34, year=2015, total=20, qpv=5)
    user = member(territory["prefecture"])

    response, html = page(client, user, annee="2015")
    assert response.context["year"].year == 2015
    assert response.context["totals"]["beneficiaries"] == 20
    assert '<label class="fr-label" for="annee">Année affichée</label>' in html
    assert '<option value="2015" selected>2015</option>' in html
    assert 'id="year-fallback"' not in html

    for wrong in ("1900", "deux-mille", ""):
        response, _ = page(client, user, annee=wrong)
        assert response.context["year"].year == 2016


def test_current_year_is_shown_when_it_has_actions(client, territory):
    today = timezone.localdate()
    ActionFactory(departement=territory["d34"], start_date=today.replace(day=1))
    action(territory["d34"], year=2016)
    response, html = page(client, member(territory["prefecture"]))
    assert response.context["year"].year == today.year
    assert 'id="year-fallback"' not in html


def test_choose_year():
    scope = Scope.none()
    today = datetime.date(2026, 5, 1)
    # Nothing anywhere: the current year, with nothing to fall back on.
    choice = dashboard.choose_year(scope, today=today)
    assert (choice.year, choice.choices, choice.is_fallback) == (2026, [2026], False)


def test_todo_counts_conventions_to_sign_activate_and_renew(client, territory):
    d34, d11 = territory["d34"], territory["d11"]
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=120)
    ConventionFactory(status=Status.NEGOTIATION, departement=d34)
    ConventionFactory(status=Status.NEGOTIATION, departement=d34)
    ConventionFactory(status=Status.NEGOTIATION, departement=d11)
    ConventionFactory(status=Status.SIGNED, departement=d34)
    ConventionFactory(status=Status.ACTIVE, departement=d34, start_date=datetime.date(2015, 1, 1), end_date=soon)
    # Already past its end but still in force: to renew as well.
    ConventionFactory(status=Status.ACTIVE, departement=d34, start_date=datetime.date(2015, 1, 1), end_date=today)
    # Already renewed, ending in two years, draft: nothing to do.
    renewed = ConventionFactory(status=Status.ACTIVE, departement=d34, start_date=datetime.date(2015, 1, 1), end_date=soon)
    ConventionFactory(predecessor=renewed, departement=d34, start_date=soon, end_date=soon + datetime.timedelta(days=700))
    ConventionFactory(
        status=Status.ACTIVE, departement=d34, start_date=datetime.date(2015, 1, 1), end_date=today + datetime.timedelta(days=700)
    )
    ConventionFactory(status=Status.ACTIVE, departement=d11, start_date=datetime.date(2015, 1, 1), end_date=soon)

    response, html = page(client, member(territory["prefecture"]))
    todo = response.context["todo"]
    assert (todo["to_sign"], todo["to_activate"], todo["to_renew"]) == (2, 1, 2)
    assert "2 conventions à signer" in html
    assert "1 convention à mettre en vigueur" in html
    assert "2 conventions à renouveler" in html
    assert f'href="{reverse("conventions:list")}?status=negotiation"' in html
    assert f'href="{reverse("conventions:list")}?status=signed"' in html


def test_actions_logged_this_month_by_the_organisation(client, territory):
    d34 = territory["d34"]
    user = member(territory["prefecture"])
    colleague = member(territory["prefecture"])
    outsider = UserFactory()
    mine = [ActionFactory(departement=d34, logged_by=person) for person in (user, colleague)]
    ActionFactory(departement=d34, logged_by=outsider)
    ActionFactory(departement=d34, logged_by=None)
    old = ActionFactory(departement=d34, logged_by=user)
    last_month = timezone.now().replace(day=1) - datetime.timedelta(days=2)
    Action.objects.filter(pk=old.pk).update(created_at=last_month)
    # Logged by a colleague, but in a département the préfecture does not see.
    ActionFactory(departement=territory["d11"], logged_by=colleague)

    response, html = page(client, user)
    assert response.context["todo"]["logged_this_month"] == len(mine) == 2
    assert "2 actions saisies ce mois-ci" in html
    # The two figures of the page say which date they count, and agree: entered this month, dated in 2016.
    today = timezone.localdate()
    assert f"depuis le 1er {date_format(today, 'F Y')}, quelle que soit la date" in html
    fallback = " ".join(html.split('id="year-fallback">')[1].split("</p>")[0].split())
    assert fallback == (
        f"Aucune action n'a eu lieu en {today.year} (d'après leur date de début) : les chiffres affichés sont "
        f"ceux de 2016, dernière année où des actions ont eu lieu. Les 2 actions saisies ce mois-ci ont eu lieu avant "
        f"{today.year}."
    )


def test_companies_without_a_convention_in_force(client, territory):
    d34 = territory["d34"]
    montpellier = territory["company"].commune
    engaged = CompanyFactory(commune=montpellier)
    ConventionFactory(status=Status.ACTIVE, departement=d34).companies.add(engaged)
    in_negotiation = CompanyFactory(commune=montpellier)
    ConventionFactory(status=Status.NEGOTIATION, departement=d34).companies.add(in_negotiation)
    CompanyFactory(commune=CommuneFactory(code="11069", departement=territory["d11"]))  # not in scope

    response, html = page(client, member(territory["prefecture"]))
    # BRL and the company still negotiating have no convention in force.
    assert response.context["todo"]["companies_without_convention"] == 2
    assert response.context["companies_count"] == 3
    assert "2 entreprises sans convention en vigueur" in html
    assert f'href="{reverse("entreprises:list")}?active_convention=non"' in html


def test_conventions_in_force_during_the_year(territory):
    d34 = territory["d34"]
    scope = Scope.for_membership(MembershipFactory(organisation=territory["prefecture"]))
    date = datetime.date
    ConventionFactory(status=Status.ACTIVE, departement=d34, start_date=date(2015, 1, 1), end_date=date(2017, 12, 31))
    ConventionFactory(status=Status.EXPIRED, departement=d34, start_date=date(2014, 1, 1), end_date=date(2016, 6, 30))
    ConventionFactory(status=Status.SIGNED, departement=d34, start_date=date(2016, 1, 1), end_date=date(2018, 1, 1))
    ConventionFactory(status=Status.ACTIVE, departement=territory["d11"], start_date=datetime.date(2015, 1, 1))
    assert dashboard.conventions_in_force(scope, 2016) == 2
    assert dashboard.conventions_in_force(scope, 2017) == 1
    assert dashboard.conventions_in_force(scope, 2013) == 0


def test_club_counts_only_what_it_animates(client, territory):
    d34, club = territory["d34"], territory["club"]
    action(d34, total=10, qpv=1, club=club)
    action(d34, total=500, qpv=1)
    response, html = page(client, member(club))
    assert response.context["totals"]["beneficiaries"] == 10
    assert response.context["companies_count"] == 1
    assert "FACE Hérault" in html


def test_company_sees_its_conventions_and_its_actions(client, territory):
    company, d34 = territory["company"], territory["d34"]
    other = CompanyFactory(name="Autre entreprise", commune=company.commune)
    own = ConventionFactory(reference="034-2016-BRL", title="Convention BRL", status=Status.ACTIVE, departement=d34)
    own.companies.add(company)
    ConventionFactory(reference="034-2016-AUTRE", title="Convention d'une autre", departement=d34).companies.add(other)
    action(d34, total=12, qpv=3, companies=[company])
    action(d34, total=800, qpv=3, companies=[other])

    response, html = page(client, member(company.organisation))
    assert "034-2016-BRL" in html and "Convention BRL" in html
    assert '<p class="fr-badge fr-badge--sm fr-badge--success">En vigueur</p>' in html
    assert "034-2016-AUTRE" not in html
    assert response.context["totals"]["beneficiaries"] == 12
    # A company's to-do is its own logging, not the préfecture's.
    assert "à signer" not in html and "sans convention" not in html and "entreprises suivies" not in html


def test_partner_sees_territory_figures_only(client, territory):
    d34 = territory["d34"]
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Montpellier Métropole", departements=[d34])
    QPVFactory(code="QP034005", name="Mosson", population=22000)
    QPVFactory(code="QP034006", name="Petit Bard", population=6000)
    QPVFactory(code="QP011001", name="La Conte", departement=territory["d11"], population=1000)
    action(d34, total=10, qpv=6, companies=[territory["company"]])
    action(territory["d11"], total=1000, qpv=6)
    ConventionFactory(reference="034-2016-VISIBLE", status=Status.NEGOTIATION, departement=d34)

    response, html = page(client, member(partner))
    assert "todo" not in response.context
    assert "À faire maintenant" not in html
    assert response.context["territory"]["qpv_2015"] == 2
    assert response.context["territory"]["population_2015"] == 28000
    # Aggregates of the territory, never a row: no company, no convention is named.
    assert response.context["totals"]["beneficiaries"] == 10
    assert "BRL" not in html and "034-2016-VISIBLE" not in html
    assert "Hérault (34)" in html


def test_without_active_membership_the_dashboard_says_so(client, territory):
    user = member(territory["prefecture"], is_active=False)
    response, html = page(client, user)
    assert "Aucune organisation active" in html
    assert "Chiffres clés" not in html


@pytest.mark.parametrize("kind", ["prefecture", "club", "company", "partner"])
def test_number_of_queries_does_not_grow_with_actions(client, territory, kind):
    d34 = territory["d34"]
    organisation = {
        "prefecture": territory["prefecture"],
        "club": territory["club"],
        "company": territory["company"].organisation,
        "partner": OrganisationFactory(kind=OrganisationKind.PARTNER, departements=[d34]),
    }[kind]
    user = member(organisation)
    client.force_login(user)

    def add_actions(count):
        for _ in range(count):
            created = ActionFactory(departement=d34, club=territory["club"], logged_by=user, start_date=datetime.date(2016, 5, 2))
            created.companies.add(territory["company"])
            ConventionFactory(status=Status.NEGOTIATION, departement=d34, club=territory["club"]).companies.add(
                CompanyFactory(commune=territory["company"].commune)
            )

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert response.status_code == 200
        return len(queries), response

    add_actions(5)
    with_5, response = count_queries()
    assert response.context["totals"]["actions"] == 5
    add_actions(195)
    with_200, response = count_queries()
    assert response.context["totals"]["actions"] == 200
    assert with_5 == with_200
    assert with_200 <= 25


def test_links_lead_to_the_lists_filtered_the_same_way(client, territory):
    """The dashboard's links open the lists with the filter that finds what the figure counts."""
    d34 = territory["d34"]
    montpellier = territory["company"].commune
    engaged = CompanyFactory(name="Engagée", commune=montpellier)
    ConventionFactory(reference="034-ACTIVE", status=Status.ACTIVE, departement=d34).companies.add(engaged)
    ConventionFactory(reference="034-NEGO", status=Status.NEGOTIATION, departement=d34)
    action(d34, year=2016, companies=[engaged])
    client.force_login(member(territory["prefecture"]))
    html = client.get(URL).content.decode()

    links = {
        "companies": f"{reverse('entreprises:list')}?active_convention=non",
        "to_sign": f"{reverse('conventions:list')}?status=negotiation",
        "actions": f"{reverse('actions:list')}?date_from=2016-01-01&date_to=2016-12-31",
    }
    for href in links.values():
        assert f'href="{href.replace("&", "&amp;")}"' in html
    companies = client.get(links["companies"])
    assert companies.status_code == 200
    assert "BRL" in companies.content.decode() and "Engagée" not in companies.content.decode()
    to_sign = client.get(links["to_sign"])
    assert to_sign.status_code == 200
    assert "034-NEGO" in to_sign.content.decode() and "034-ACTIVE" not in to_sign.content.decode()
    assert client.get(links["actions"]).status_code == 200


# --- figures read from the published compile ----------------------------------------------------------


def _compile(year):
    from evaluation.engine import runs

    run = runs.start_run(year, sync=True)
    assert run.status == "succeeded", run.error
    return run


def _figures(response):
    totals = response.context["totals"]
    families = {
        row["family"].code: (row["actions"], row["beneficiaries"], row["beneficiaries_qpv"])
        for row in response.context["families"]
    }
    return (totals["actions"], totals["beneficiaries"], totals["beneficiaries_qpv"], totals["qpv_share"]), families


def test_national_prefecture_and_partner_read_the_published_compile_with_the_same_figures(client, territory):
    d34, d11 = territory["d34"], territory["d11"]
    action(d34, total=10, qpv=6)
    action(d34, total=30, qpv=10, action_type=action_type("ALTERNANCE"))
    action(d11, total=1000, qpv=1000)
    readers = {
        "national": member(OrganisationFactory(kind=OrganisationKind.NATIONAL)),
        "prefecture": member(territory["prefecture"]),
        "partner": member(OrganisationFactory(kind=OrganisationKind.PARTNER, departements=[d34])),
        "club": member(territory["club"]),
    }
    counted = {role: _figures(page(client, user, annee=2016)[0]) for role, user in readers.items()}
    assert counted["national"][0] == (3, 1040, 1016, 97.7)
    assert counted["prefecture"][0] == counted["partner"][0] == (2, 40, 16, 40.0)

    _compile(2016)
    action(d34, total=5, qpv=5)  # logged after the compile: enters at the next one

    for role, user in readers.items():
        response, html = page(client, user, annee=2016)
        if role == "club":
            # A club's figures are the actions it logged, which no compiled scope holds: still counted.
            assert response.context["figures_compiled_at"] is None and "figures-source" not in html
            continue
        assert _figures(response) == counted[role], role
        assert response.context["figures_compiled_at"] is not None
        assert "compilation publiée de 2016" in html

    _compile(2016)
    assert _figures(page(client, readers["prefecture"], annee=2016)[0])[0] == (3, 45, 21, 46.7)


def test_a_year_without_published_compile_is_counted_from_the_actions(client, territory):
    action(territory["d34"], year=2015, total=8, qpv=2)
    action(territory["d34"], year=2016, total=10, qpv=6)
    _compile(2016)
    response, html = page(client, member(territory["prefecture"]), annee=2015)
    assert response.context["figures_compiled_at"] is None
    assert _figures(response)[0] == (1, 8, 2, 25.0)


@pytest.mark.parametrize("kind", ["national", "prefecture"])
def test_number_of_queries_with_a_published_compile_does_not_grow_with_actions(client, territory, kind):
    organisation = territory["prefecture"] if kind == "prefecture" else OrganisationFactory(kind=OrganisationKind.NATIONAL)
    client.force_login(member(organisation))

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"annee": 2016})
        assert response.context["figures_compiled_at"] is not None
        return len(queries), response.context["totals"]["actions"]

    for _ in range(3):
        action(territory["d34"], action_type=action_type("ALTERNANCE"))
    _compile(2016)
    few, actions = count_queries()
    assert actions == 3
    for _ in range(40):
        action(territory["d34"])
    _compile(2016)
    many, actions = count_queries()
    assert actions == 43
    assert many == few
