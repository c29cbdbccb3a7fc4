"""A world of two départements in two régions: Hérault (34, Occitanie) where the tested organisations
live, and Paris (75, Île-de-France) whose rows none of them but the national level may see."""

import datetime
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from charte.comptes.models import ApiKey, Membership, OrganisationKind
from charte.territoires.models import EPCI, QPVCorrespondence
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommitmentFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    SignatoryFactory,
    TargetFactory,
    UserFactory,
    departement,
)


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    # Throttle counters live in the cache, which outlives a test's database rollback.
    cache.clear()
    yield
    cache.clear()


@dataclass
class Side:
    departement: object
    commune: object = None
    epci: object = None
    qpv_2015: object = None
    qpv_2024: object = None
    correspondence: object = None
    company: object = None
    club: object = None
    convention: object = None
    action: object = None
    objects: dict = field(default_factory=dict)

    def rows(self, basename):
        """The ids a list shows to an organisation whose scope is this side."""
        if basename == "qpv":
            return {self.qpv_2015.pk, self.qpv_2024.pk}
        return {self.objects[basename].pk}


def build_side(code, commune_code, qpv_suffix):
    dep = departement(code)
    side = Side(departement=dep)
    side.epci = EPCI.objects.create(siren=f"2{code}000001", name=f"Métropole {code}")
    side.commune = CommuneFactory(code=commune_code, name=f"Commune {code}", departement=dep, epci=side.epci)
    side.qpv_2015 = QPVFactory(code=f"QP0{code}{qpv_suffix}", departement=dep, generation=2015, epci=side.epci)
    side.qpv_2015.communes.add(side.commune)
    side.qpv_2024 = QPVFactory(code=f"QN0{code}{qpv_suffix[:2]}M", departement=dep, generation=2024, epci=side.epci)
    side.qpv_2024.communes.add(side.commune)
    side.correspondence = QPVCorrespondence.objects.create(qpv_2015=side.qpv_2015, qpv_2024=side.qpv_2024)
    side.company = CompanyFactory(name=f"Entreprise du {code}", commune=side.commune)
    side.club = OrganisationFactory(kind=OrganisationKind.CLUB, name=f"Club FACE {code}", departements=[dep])
    ClubMembershipFactory(company=side.company, club=side.club, start_date=datetime.date(2015, 1, 1))
    side.convention = ConventionFactory(departement=dep, club=side.club)
    side.convention.companies.add(side.company)
    SignatoryFactory(convention=side.convention)
    TargetFactory(commitment=CommitmentFactory(convention=side.convention))
    side.action = ActionFactory(departement=dep, club=side.club, convention=side.convention)
    side.action.companies.add(side.company)
    side.action.qpvs.add(side.qpv_2015)
    side.objects = {
        "region": dep.region,
        "departement": dep,
        "epci": side.epci,
        "commune": side.commune,
        "qpv": side.qpv_2015,
        "qpv-correspondance": side.correspondence,
        "entreprise": side.company,
        "convention": side.convention,
        "action": side.action,
    }
    return side


@dataclass
class World:
    inside: Side
    outside: Side
    orgs: dict


@pytest.fixture
def world(db):
    inside = build_side("34", "34172", "001")
    outside = build_side("75", "75056", "001")
    company_org = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Entreprise du 34 (comptes)")
    inside.company.organisation = company_org
    inside.company.save()
    orgs = {
        "national": OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT"),
        "prefecture": OrganisationFactory(
            kind=OrganisationKind.PREFECTURE, name="Préfecture de l'Hérault", departements=[inside.departement]
        ),
        "club": inside.club,
        "company": company_org,
        "partner": OrganisationFactory(
            kind=OrganisationKind.PARTNER, name="Montpellier Méditerranée Métropole", departements=[inside.departement]
        ),
    }
    return World(inside=inside, outside=outside, orgs=orgs)


def member(organisation, role=Membership.Role.MEMBER):
    return MembershipFactory(user=UserFactory(), organisation=organisation, role=role).user


def session_client(organisation, role=Membership.Role.MEMBER):
    client = APIClient()
    client.force_login(member(organisation, role))
    return client


def key_client(organisation, scope=ApiKey.Access.READ_WRITE, created_by=None):
    created_by = created_by or member(organisation, Membership.Role.ADMIN)
    key, full_key = ApiKey.issue(organisation, "Outil de test", scope, created_by=created_by)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    client.api_key = key
    client.full_key = full_key
    return client


def client_for(organisation, auth):
    return session_client(organisation) if auth == "session" else key_client(organisation)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"erreur"}
    assert body["erreur"]["code"] == code
    assert body["erreur"]["message"]
    assert isinstance(body["erreur"]["details"], dict)
    return body["erreur"]
