"""Report pages of the compiled evaluation: per role and scope, compile runs started from the portal, progress,
the list of companies that have not reported, and a bounded number of queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charte.comptes.models import OrganisationKind
from conventions.models import Action, Convention
from evaluation.engine import runs
from evaluation.models import AnnualResult, Declaration, EvaluationRun
from tests.evaluation.test_oracle import YEAR, build_territory
from tests.factories import (
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    action_type,
    departement,
)

Status = EvaluationRun.Status


def login(client, organisation):
    client.force_login(MembershipFactory(organisation=organisation).user)
    return client


def page(client, path, year=YEAR):
    return client.get(path, {"annee": year})


@pytest.fixture
def territory(db):
    build_territory(2)
    run = runs.start_run(YEAR, sync=True)
    return run


def national_org():
    return OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")


def prefecture_of(code):
    return OrganisationFactory(name=f"Préfecture {code}", departements=[departement(code)])


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_prefecture_sees_its_departement_report_with_the_run_date(client, territory):
    login(client, prefecture_of("13"))
    response = page(client, "/rapports/departement/13/")
    assert response.status_code == 200
    html = text(response)
    row = AnnualResult.objects.for_scope(YEAR, "departement", "13").get(family=None, indicator=None)
    assert f'id="chiffre-actions">{row.actions_count}<' in html
    assert "Chiffres calculés le" in html
    assert 'role="img"' in html and "<desc" in html  # charts with a text alternative
    assert "Lancer la compilation 2017" in html
    # Another département is out of its scope: 404, never 403.
    assert page(client, "/rapports/departement/34/").status_code == 404
    assert page(client, "/rapports/national/france/").status_code == 404


def test_the_report_lists_companies_that_have_not_reported(client, territory):
    login(client, national_org())
    declarations = Declaration.objects.filter(year=YEAR)
    pending = declarations.exclude(status__in=["submitted", "validated"])
    reported = declarations.filter(status__in=["submitted", "validated"]).exclude(convention__in=pending.values("convention"))
    assert pending and reported
    html = text(page(client, "/rapports/national/france/"))
    section = html.split('id="non-declarantes"')[1]
    for declaration in pending:
        assert declaration.convention.reference in section
    for declaration in reported:
        assert declaration.convention.reference not in section


def test_club_report_for_its_animators_and_404_for_another_club(client, territory):
    club, other = OrganisationFactory(kind=OrganisationKind.CLUB, name="Club A"), OrganisationFactory(kind=OrganisationKind.CLUB)
    login(client, club)
    response = page(client, f"/rapports/club/{club.pk}/")
    assert response.status_code == 200 and "Lancer la compilation 2017" in text(response)
    assert page(client, f"/rapports/club/{other.pk}/").status_code == 404
    assert page(client, "/rapports/club/abc/").status_code == 404


def test_national_convention_and_company_reports(client, territory):
    login(client, national_org())
    national = text(page(client, "/rapports/national/france/"))
    total = AnnualResult.objects.for_scope(YEAR, "national").get(family=None, indicator=None)
    assert f'id="chiffre-actions">{total.actions_count}<' in national

    company_row = (
        AnnualResult.objects.for_scope(YEAR, "company", "")
        .model.objects.filter(run=territory, scope_type="company", family__isnull=False)
        .first()
    )
    response = page(client, f"/rapports/entreprise/{company_row.scope_key}/")
    assert response.status_code == 200 and "Chiffres calculés le" in text(response)
    assert "Lancer la compilation" not in text(response)  # runs are national, départemental or per club
    convention = Convention.objects.first()
    assert page(client, f"/rapports/convention/{convention.pk}/").status_code == 200


def test_a_company_sees_its_own_report_only(client, territory):
    mine, other = CompanyFactory(), CompanyFactory()
    organisation = OrganisationFactory(kind=OrganisationKind.COMPANY)
    mine.organisation = organisation
    mine.save()
    login(client, organisation)
    assert page(client, f"/rapports/entreprise/{mine.pk}/").status_code == 200
    assert page(client, f"/rapports/entreprise/{other.pk}/").status_code == 404
    assert page(client, "/rapports/departement/13/").status_code == 404


def test_a_partner_reads_its_departement_but_no_company(client, territory):
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, departements=[departement("13")])
    login(client, partner)
    html = text(page(client, "/rapports/departement/13/"))
    assert "Chiffres calculés le" in html and "Lancer la compilation" not in html
    assert "Aucune déclaration en attente" in html  # no company-level row for a partner
    assert client.post("/rapports/departement/13/lancer/", {"annee": YEAR}).status_code == 403


def test_no_published_run_says_so_and_offers_the_button(client, db):
    login(client, prefecture_of("34"))
    html = text(page(client, "/rapports/departement/34/"))
    assert "Aucune compilation de 2017 n'a encore été publiée" in html
    assert "Lancer la compilation 2017" in html and "<progress" not in html


def test_starting_a_run_from_the_portal(client, db, django_capture_on_commit_callbacks):
    prefecture = prefecture_of("34")
    login(client, prefecture)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/rapports/departement/34/lancer/", {"annee": YEAR})
    assert response.status_code == 302 and response["Location"] == "/rapports/departement/34/?annee=2017"
    # The whole year is compiled, and the page says why (methodology §10).
    run = EvaluationRun.objects.get()
    assert (run.year, run.scope_type, run.scope_key) == (YEAR, "national", "")
    assert "pour tous les territoires, afin que les totaux restent cohérents" in text(page(client, "/rapports/departement/34/"))
    assert (run.trigger, run.status) == ("portal", Status.PENDING)
    assert run.requested_by.memberships.get().organisation == prefecture

    # Before a worker takes it, the page says it waits (not "en cours (en attente)").
    html = text(page(client, "/rapports/departement/34/"))
    assert "Compilation 2017 : en attente de démarrage" in html and "en cours (" not in html

    # While it runs, the page shows a labelled progress bar that a script updates from the JSON progress view,
    # with a polite live region for the announcements and, without JavaScript, a link to refresh by hand: the
    # page never reloads itself (RGAA 13.1).
    assert len(run.units) == 104
    EvaluationRun.objects.filter(pk=run.pk).update(status=Status.RUNNING, units_total=4, units_done=2)
    html = text(page(client, "/rapports/departement/34/"))
    assert "Compilation 2017 : en cours" in html and "en cours (en cours)" not in html
    assert '<progress class="charte-progress" id="progression-compilation" max="100" value="50">' in html
    assert '<label class="fr-label" for="progression-compilation">Avancement de la compilation</label>' in html
    assert "50 % — 2 unités de calcul terminées sur 4." in html
    assert '<p class="fr-sr-only" aria-live="polite" aria-atomic="true" id="compilation-annonce"></p>' in html
    assert f'data-progress-url="/rapports/departement/34/progression/?annee=2017&amp;run={run.pk}"' in html
    assert 'id="compilation-actualiser" href="/rapports/departement/34/?annee=2017">Actualiser' in html
    assert "js/report-progress.js" in html
    assert "http-equiv" not in html.lower()
    progress = client.get("/rapports/departement/34/progression/", {"annee": YEAR, "run": run.pk}).json()
    assert progress == {
        "run": run.pk,
        "status": "running",
        "label": "en cours",
        "percent": 50,
        "units_done": 2,
        "units_total": 4,
        "finished": False,
        "succeeded": False,
        "report_url": "/rapports/departement/34/?annee=2017",
    }
    # Once over, the poll says so, and the page no longer shows a progress bar.
    EvaluationRun.objects.filter(pk=run.pk).update(status=Status.SUCCEEDED, units_done=4)
    progress = client.get("/rapports/departement/34/progression/", {"annee": YEAR, "run": run.pk}).json()
    assert (progress["finished"], progress["succeeded"], progress["percent"]) == (True, True, 100)
    assert "<progress" not in text(page(client, "/rapports/departement/34/"))
    # The progress is scoped like the report: another département, or an unknown run, tells nothing.
    assert client.get("/rapports/departement/13/progression/", {"annee": YEAR}).status_code == 404
    assert client.get("/rapports/departement/34/progression/", {"annee": YEAR, "run": run.pk + 1}).json()["run"] is None

    # Out of scope: 404, and GET is refused.
    assert client.post("/rapports/departement/13/lancer/", {"annee": YEAR}).status_code == 404
    assert client.get("/rapports/departement/34/lancer/").status_code == 405


def test_without_a_broker_the_start_says_the_compile_is_done_and_shows_the_figures(client, transactional_db):
    # No broker (the embedded default): the tasks run in the request, on commit, so the run is over when the
    # page comes back. It must not say "demandée" nor show a progress bar.
    build_territory(1)
    login(client, prefecture_of("34"))
    response = client.post("/rapports/departement/34/lancer/", {"annee": YEAR}, follow=True)
    html = text(response)
    assert EvaluationRun.objects.get().status == Status.SUCCEEDED
    assert "Compilation 2017 terminée : les chiffres ci-dessous sont à jour." in html
    assert "demandée" not in html and "<progress" not in html
    assert "Chiffres calculés le" in html


def test_a_broker_out_of_reach_is_told_in_french_when_starting_from_the_portal(client, transactional_db):
    # A real commit: the run is sent to the broker during the request, as in production.
    from unittest import mock

    from kombu.exceptions import OperationalError as BrokerDown

    login(client, prefecture_of("34"))
    with mock.patch("celery.chord", side_effect=BrokerDown("[Errno 111] Connection refused")):
        response = client.post("/rapports/departement/34/lancer/", {"annee": YEAR}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "le service de calcul est injoignable. Réessayez dans quelques minutes." in html
    assert "Errno" not in html
    # The run is failed with the technical reason, for the support.
    assert "Connection refused" in EvaluationRun.objects.get().error


def test_run_start_permissions(client, db, django_capture_on_commit_callbacks):
    club = OrganisationFactory(kind=OrganisationKind.CLUB, departements=[departement("34")])
    login(client, club)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/rapports/club/{club.pk}/lancer/", {"annee": YEAR}).status_code == 302
        # A club reads its département but does not compile it.
        refused = client.post("/rapports/departement/34/lancer/", {"annee": YEAR})
    assert refused.status_code == 403 and "ne peut pas lancer" in refused.content.decode()
    assert list(EvaluationRun.objects.values_list("scope_type", "scope_key")) == [("national", "")]

    client.logout()
    login(client, national_org())
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/national/france/lancer/", {"annee": YEAR})
    assert EvaluationRun.objects.filter(scope_type="national", status=Status.SUCCEEDED).exists()
    assert "Chiffres calculés le" in text(page(client, "/rapports/national/france/"))


def _grow(count):
    """More conventions, declarations and actions in the Bouches-du-Rhône."""
    bdr = departement("13")
    for n in range(count):
        convention = ConventionFactory(
            reference=f"CROISSANCE-{count}-{n}",
            departement=bdr,
            status="active",
            start_date=datetime.date(2016, 1, 1),
            end_date=datetime.date(2018, 12, 31),
        )
        convention.companies.set([CompanyFactory()])
        Action.objects.create(
            action_type=action_type("STAGE_3E"),
            title="Stage",
            start_date=datetime.date(YEAR, 3, 1),
            departement=bdr,
            beneficiaries_total=3,
            beneficiaries_qpv=1,
        )


def _report_queries(client, path):
    runs.start_run(YEAR, sync=True)
    page(client, path)  # warm the session
    with CaptureQueriesContext(connection) as captured:
        assert page(client, path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/rapports/departement/13/", "/rapports/region/93/"])
def test_report_queries_do_not_grow_with_the_data(client, db, path):
    build_territory(2)
    login(client, prefecture_of("13"))
    _grow(5)
    small = _report_queries(client, path)
    _grow(45)
    assert Convention.objects.filter(departement__code="13").count() >= 50
    # 19 on PostgreSQL: the reader's scope keys (départements, régions, QPV, clubs, conventions, companies) and the
    # published runs are each read once as values before the results (AnnualResult.visible_to, published()).
    # A département's page reads two more for its comparison with the others (evaluation.reports.compare).
    assert _report_queries(client, path) == small <= 22


def test_region_report_like_the_departement_s_for_the_readers_of_its_departements(client, territory):
    login(client, prefecture_of("13"))  # Bouches-du-Rhône, in Provence-Alpes-Côte d'Azur (93)
    response = page(client, "/rapports/region/93/")
    assert response.status_code == 200
    html = text(response)
    row = AnnualResult.objects.for_scope(YEAR, "region", "93").get(family=None, indicator=None)
    assert f'id="chiffre-actions">{row.actions_count}<' in html
    assert "<h1>Rapport d'évaluation 2017 — Région Provence-Alpes-Côte d&#x27;Azur</h1>" in html
    assert "Chiffres calculés le" in html and 'role="img"' in html
    # The companies of the région that have not declared are those of its départements' conventions.
    section = html.split('id="non-declarantes"')[1]
    for declaration in Declaration.objects.filter(year=YEAR, convention__departement__code="13").exclude(
        status__in=["submitted", "validated"]
    ):
        assert declaration.convention.reference in section
    for declaration in Declaration.objects.filter(year=YEAR).exclude(convention__departement__code="13"):
        assert declaration.convention.reference not in section
    # Exports resolve it the same way.
    assert client.get("/rapports/region/93/rapport.csv", {"annee": YEAR}).status_code == 200
    # Another région (Occitanie), an unknown code: 404, never 403.
    assert page(client, "/rapports/region/76/").status_code == 404
    assert page(client, "/rapports/region/zz/").status_code == 404
    # The reports index and the département page link it.
    assert 'href="/rapports/region/93/?annee=' in text(page(client, "/rapports/"))
    assert 'href="/rapports/region/93/?annee=2017"' in text(page(client, "/territoires/13/"))


def test_region_report_is_404_for_a_company_and_open_to_a_partner_and_the_national_level(client, territory):
    company_org = OrganisationFactory(kind=OrganisationKind.COMPANY)
    CompanyFactory(organisation=company_org)
    login(client, company_org)
    assert page(client, "/rapports/region/93/").status_code == 404
    assert 'href="/rapports/region/' not in text(page(client, "/rapports/"))
    client.logout()
    login(client, OrganisationFactory(kind=OrganisationKind.PARTNER, departements=[departement("13")]))
    assert page(client, "/rapports/region/93/").status_code == 200
    assert page(client, "/rapports/region/76/").status_code == 404
    client.logout()
    login(client, national_org())
    assert page(client, "/rapports/region/76/").status_code == 200
