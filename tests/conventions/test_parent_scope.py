"""Issue 10, finding 1: a préfecture cannot widen its own scope through a declination it writes itself.

The Aude préfecture does not see Engie's national convention. Declining it in a draft is refused (the parent
list only offers the national conventions it already sees), and a declination that exists anyway (older data,
written before the fix) opens nothing: the page, the API detail, the report, its exports and the history all
answer 404, before and after.
"""

import datetime

import pytest

from charte.comptes.models import OrganisationKind
from conventions.models import Convention
from tests.conventions.test_pages_form import payload
from tests.conventions.test_pages_support import login, person
from tests.factories import (
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    OrganisationFactory,
    departement,
)

pytestmark = pytest.mark.django_db
S = Convention.Status


class AudeWorld:
    def __init__(self):
        self.aude, self.herault = departement("11"), departement("34")
        self.engie = CompanyFactory(name="Engie")
        self.local_company = CompanyFactory(name="Cers Bâtiment", commune=CommuneFactory(code="11069", departement=self.aude))
        self.national = ConventionFactory(
            reference="NAT-2014-ENGIE", title="Convention nationale Engie", kind=Convention.Kind.NATIONAL, departement=None
        )
        self.national.companies.set([self.engie])
        Convention.objects.filter(pk=self.national.pk).update(status=S.ACTIVE)
        self.club, self.company = OrganisationFactory(kind=OrganisationKind.CLUB, departements=[self.aude]), self.local_company
        self.prefecture = person(OrganisationKind.PREFECTURE, [self.aude], name="Préfecture de l'Aude")
        self.anct = person(OrganisationKind.NATIONAL, name="ANCT")

    # What a reader of a convention can open, page by page.
    def urls(self, convention):
        pk = convention.pk
        return [
            f"/conventions/{pk}/",
            f"/api/v1/conventions/{pk}/",
            f"/rapports/convention/{pk}/",
            f"/rapports/convention/{pk}/rapport.xlsx",
            f"/rapports/convention/{pk}/rapport.csv",
            f"/rapports/convention/{pk}/rapport.pdf",
            f"/campagnes/conventions/{pk}/historique/",
        ]


@pytest.fixture
def world(db):
    return AudeWorld()


def statuses(client, world):
    return {url: client.get(url).status_code for url in world.urls(world.national)}


def aude_payload(world, **fields):
    data = payload(world, club="", companies=[str(world.local_company.pk)], departement=str(world.aude.pk), **fields)
    data["title"] = "Déclinaison Engie Aude"
    return data


def test_a_draft_declination_is_refused_and_opens_nothing(client, world):
    login(client, world.prefecture)
    assert set(statuses(client, world).values()) == {404}

    page = client.get("/conventions/nouvelle/").content.decode()
    assert "NAT-2014-ENGIE" not in page  # not offered as a parent
    response = client.post("/conventions/nouvelle/", aude_payload(world, parent=str(world.national.pk)))
    assert response.status_code == 200
    assert "n&#x27;est pas dans votre périmètre" in response.content.decode()
    assert not Convention.objects.filter(parent=world.national).exists()

    assert set(statuses(client, world).values()) == {404}


@pytest.mark.parametrize("status", [S.DRAFT, S.NEGOTIATION, S.SIGNED, S.ACTIVE])
def test_a_declination_written_by_the_prefecture_opens_nothing(client, world, status):
    # As if it had been written before the parent list was restricted, then carried through its lifecycle.
    ConventionFactory(
        parent=world.national, departement=world.aude, status=status, created_by=world.prefecture, title="Déclinaison"
    )
    assert set(statuses(login(client, world.prefecture), world).values()) == {404}


def test_a_concluded_declination_written_by_the_national_level_opens_its_parent(client, world):
    ConventionFactory(parent=world.national, departement=world.aude, status=S.DRAFT, created_by=world.anct)
    assert login(client, world.prefecture).get(f"/conventions/{world.national.pk}/").status_code == 404
    Convention.objects.filter(parent=world.national).update(status=S.ACTIVE)
    assert client.get(f"/conventions/{world.national.pk}/").status_code == 200
    assert client.get(f"/api/v1/conventions/{world.national.pk}/").status_code == 200


def test_a_party_located_in_the_departement_opens_the_national_convention(client, world):
    EstablishmentFactory(company=world.engie, commune=CommuneFactory(code="11262", departement=world.aude))
    login(client, world.prefecture)
    assert client.get(f"/conventions/{world.national.pk}/").status_code == 200
    # ...and then it is offered as a parent.
    assert "NAT-2014-ENGIE" in client.get("/conventions/nouvelle/").content.decode()
    response = client.post("/conventions/nouvelle/", aude_payload(world, parent=str(world.national.pk)))
    assert response.status_code == 302
    assert Convention.objects.get(parent=world.national).departement == world.aude


def test_editing_keeps_a_parent_linked_by_the_national_level(client, world):
    declination = ConventionFactory(
        parent=world.national, departement=world.aude, created_by=world.anct, title="Déclinaison Engie Aude", club=None
    )
    declination.companies.set([world.local_company])
    data = aude_payload(world, parent=str(world.national.pk), reference=declination.reference)
    data.update(start_date="2016-01-01", end_date="2018-12-31", version=str(getattr(declination, "version", "")))
    response = login(client, world.prefecture).post(f"/conventions/{declination.pk}/modifier/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    declination.refresh_from_db()
    assert declination.parent_id == world.national.pk
    assert datetime.date(2016, 1, 1) == declination.start_date
