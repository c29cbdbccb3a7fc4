"""A partner attached to an EPCI sees that EPCI's figures only (issue 11, point 5).

Montpellier Méditerranée Métropole (SIREN 243400017) covers Montpellier and its QPV (Mosson, Petit Bard); the
Hérault also holds Béziers (its own agglomération) and Sète, whose QPV and the département's aggregates the
Métropole must not read, neither in the portal nor through the API. A partner of the whole Hérault, beside it,
still reads all of them: the test fails if the scoping stops distinguishing the two.
"""

import datetime

import pytest
from django.urls import reverse

from charte.comptes.models import Membership, OrganisationKind
from charte.comptes.scoping import Scope
from charte.territoires.models import EPCI, QPV, Commune, Departement
from evaluation.models import AnnualResult, EvaluationRun
from tests.api.conftest import client_for
from tests.factories import (
    ActionFactory,
    CommuneFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    UserFactory,
    departement,
)

pytestmark = pytest.mark.django_db

YEAR = 2017


@pytest.fixture
def herault():
    dep = departement("34")
    w = type("World", (), {})()
    w.dep = dep
    w.mmm = EPCI.objects.create(siren="243400017", name="Montpellier Méditerranée Métropole")
    w.beziers_agglo = EPCI.objects.create(siren="243400769", name="Béziers Méditerranée")
    w.montpellier = CommuneFactory(code="34172", name="Montpellier", departement=dep, epci=w.mmm)
    w.beziers = CommuneFactory(code="34032", name="Béziers", departement=dep, epci=w.beziers_agglo)
    w.sete = CommuneFactory(code="34301", name="Sète", departement=dep)
    # Mosson carries the EPCI link of the referential; Petit Bard only its commune: both are the Métropole's.
    w.mosson = QPVFactory(code="QP034005", name="Mosson", departement=dep, epci=w.mmm)
    w.mosson.communes.add(w.montpellier)
    w.petit_bard = QPVFactory(code="QP034006", name="Petit Bard Pergola", departement=dep)
    w.petit_bard.communes.add(w.montpellier)
    w.devese = QPVFactory(code="QP034003", name="Devèze", departement=dep, epci=w.beziers_agglo)
    w.devese.communes.add(w.beziers)
    w.thau = QPVFactory(code="QP034017", name="Ile De Thau", departement=dep)
    w.thau.communes.add(w.sete)

    day = datetime.date(YEAR, 4, 3)
    ActionFactory(title="Forum de la Mosson", start_date=day, beneficiaries_total=25).qpvs.add(w.mosson)
    ActionFactory(title="Stages à Béziers", start_date=day, beneficiaries_total=40).qpvs.add(w.devese)
    ActionFactory(title="Chantier de Sète", start_date=day, beneficiaries_total=12).qpvs.add(w.thau)

    w.metropole = OrganisationFactory(
        kind=OrganisationKind.PARTNER, name="Montpellier Méditerranée Métropole", departements=[dep], epci=w.mmm
    )
    w.whole_herault = OrganisationFactory(
        kind=OrganisationKind.PARTNER, name="Conseil départemental de l'Hérault", departements=[dep]
    )

    run = EvaluationRun.objects.create(year=YEAR, status=EvaluationRun.Status.SUCCEEDED)
    w.rows = {
        name: AnnualResult.objects.create(
            run=run, unit="national", year=YEAR, scope_type=scope_type, scope_key=key, actions_count=n
        )
        for name, scope_type, key, n in (
            ("national", "national", "", 3),
            ("region", "region", dep.region.code, 3),
            ("departement", "departement", "34", 3),
            ("mosson", "qpv", "QP034005", 1),
            ("devese", "qpv", "QP034003", 1),
            ("thau", "qpv", "QP034017", 1),
        )
    }
    return w


def signed_in(client, organisation):
    user = UserFactory()
    MembershipFactory(user=user, organisation=organisation, role=Membership.Role.MEMBER)
    client.force_login(user)
    return client


def page(client, name, *args, **query):
    response = client.get(reverse(name, args=args), query)
    return response.status_code, response.content.decode()


# --- the scope ----------------------------------------------------------------------------------------


def test_the_scope_of_a_partner_attached_to_an_epci_is_that_epci_not_the_departement(herault):
    scope = Scope.for_organisation(herault.metropole)

    assert scope.is_partner and scope.below_departement
    assert scope.epci_ids == {herault.mmm.pk} and scope.departement_ids == frozenset()
    assert set(QPV.objects.visible_to(scope)) == {herault.mosson, herault.petit_bard}
    assert set(Commune.objects.visible_to(scope)) == {herault.montpellier}
    assert set(EPCI.objects.visible_to(scope)) == {herault.mmm}
    assert not Departement.objects.visible_to(scope).exists()

    wide = Scope.for_organisation(herault.whole_herault)
    assert not wide.below_departement
    assert {herault.devese, herault.thau} <= set(QPV.objects.visible_to(wide))


def test_a_partner_attached_to_communes_sees_their_qpv_only(herault):
    sete_partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Ville de Sète", departements=[herault.dep])
    sete_partner.communes.set([herault.sete])
    scope = Scope.for_organisation(sete_partner)

    assert scope.commune_ids == {herault.sete.pk} and not scope.epci_ids
    assert list(QPV.objects.visible_to(scope)) == [herault.thau]
    assert not Departement.objects.visible_to(scope).exists()


def test_a_prefecture_keeps_its_departement_even_with_an_epci_set(herault):
    """Only partners are narrowed to an EPCI: the field means nothing for a préfecture's territory."""
    prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, departements=[herault.dep], epci=herault.mmm)
    scope = Scope.for_organisation(prefecture)

    assert not scope.below_departement and scope.departement_ids == {herault.dep.pk}
    assert herault.thau in QPV.objects.visible_to(scope)


# --- the portal ----------------------------------------------------------------------------------------


def test_the_metropole_reads_its_epci_and_its_qpv_pages(client, herault):
    signed_in(client, herault.metropole)

    status, html = page(client, "territoires:list")
    assert status == 200
    assert 'href="/territoires/epci/243400017/"' in html and 'href="/territoires/34/"' not in html

    status, html = page(client, "territoires:epci", "243400017", annee=YEAR)
    assert status == 200
    assert "Mosson" in html and "Petit Bard Pergola" in html
    assert "Devèze" not in html and "Ile De Thau" not in html
    # The year's figures are those of the Métropole's QPV only: 1 action, 25 beneficiaries.
    assert '<p class="fr-tile__title" id="epci-actions">1</p>' in html
    assert '<p class="fr-tile__title" id="epci-beneficiaires">25</p>' in html
    assert "Forum de la Mosson" not in html  # aggregates only, never an action's title

    status, html = page(client, "territoires:qpv", "QP034005")
    assert status == 200 and "Mosson" in html
    assert 'href="/territoires/epci/243400017/"' in html and 'href="/territoires/34/"' not in html


@pytest.mark.parametrize(
    "name, args",
    [
        ("territoires:departement", ("34",)),
        ("territoires:qpv", ("QP034003",)),  # Devèze, Béziers
        ("territoires:qpv", ("QP034017",)),  # Ile de Thau, Sète
        ("territoires:epci", ("243400769",)),  # Béziers Méditerranée
        ("rapports:report", ("departement", "34")),
        ("rapports:report", ("qpv", "QP034003")),
        ("rapports:csv", ("departement", "34")),
    ],
)
def test_the_metropole_is_refused_the_rest_of_the_herault(client, herault, name, args):
    signed_in(client, herault.metropole)

    status, _html = page(client, name, *args, annee=YEAR)

    assert status == 404


def test_a_partner_of_the_whole_herault_still_reads_beziers_and_the_departement(client, herault):
    signed_in(client, herault.whole_herault)

    assert page(client, "territoires:departement", "34")[0] == 200
    assert page(client, "territoires:qpv", "QP034003")[0] == 200
    assert page(client, "rapports:report", "departement", "34", annee=YEAR)[0] == 200


def test_the_metropole_reads_the_reports_of_its_qpv_and_its_dashboard_counts_them_only(client, herault):
    signed_in(client, herault.metropole)

    status, html = page(client, "rapports:index", annee=YEAR)
    assert status == 200
    assert "/rapports/qpv/QP034005/" in html and "QP034003" not in html and "/rapports/departement/" not in html

    assert page(client, "rapports:report", "qpv", "QP034005", annee=YEAR)[0] == 200

    status, html = page(client, "dashboard", annee=YEAR)
    assert status == 200
    assert '<p class="fr-tile__title" id="figure-actions">1</p>' in html
    assert "Montpellier Méditerranée Métropole" in html


# --- the API ---------------------------------------------------------------------------------------------


def ids(client, basename, **params):
    response = client.get(reverse(f"api:{basename}-list"), {"page_size": 200, **params})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["resultats"]}


@pytest.mark.parametrize("auth", ["session", "key"])
def test_the_api_gives_the_metropole_its_epci_only(herault, auth):
    client = client_for(herault.metropole, auth)

    assert ids(client, "qpv") == {herault.mosson.pk, herault.petit_bard.pk}
    assert ids(client, "commune") == {herault.montpellier.pk}
    assert ids(client, "epci") == {herault.mmm.pk}
    assert ids(client, "departement") == set()
    assert client.get(reverse("api:qpv-detail", args=[herault.devese.pk])).status_code == 404
    assert client.get(reverse("api:qpv-detail", args=[herault.mosson.pk])).status_code == 200

    rows = herault.rows
    seen = ids(client, "resultat")
    assert rows["mosson"].pk in seen
    assert not {rows[name].pk for name in ("departement", "region", "devese", "thau")} & seen


@pytest.mark.parametrize("auth", ["session", "key"])
def test_the_api_gives_a_partner_of_the_whole_herault_every_qpv_of_it(herault, auth):
    client = client_for(herault.whole_herault, auth)

    assert {herault.mosson.pk, herault.devese.pk, herault.thau.pk} <= ids(client, "qpv")
    assert {herault.rows[name].pk for name in ("departement", "devese", "mosson")} <= ids(client, "resultat")
