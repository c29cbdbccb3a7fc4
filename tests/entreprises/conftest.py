"""Two départements (Hérault 34, Aude 11), one organisation of each kind, and companies on both sides."""

import datetime
from types import SimpleNamespace

import pytest

from charte.comptes.models import OrganisationKind
from entreprises.models import Company
from tests.factories import (
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)


@pytest.fixture
def world(db):
    herault, aude = departement("34"), departement("11")
    montpellier = CommuneFactory(code="34172", name="Montpellier", departement=herault)
    carcassonne = CommuneFactory(code="11069", name="Carcassonne", departement=aude)
    w = SimpleNamespace(herault=herault, aude=aude, montpellier=montpellier, carcassonne=carcassonne)
    w.national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    w.prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture de l'Hérault", departements=[herault])
    w.prefecture_aude = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture de l'Aude", departements=[aude])
    w.club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    w.club_aude = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Aude", departements=[aude])
    w.partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Montpellier Métropole", departements=[herault])
    w.company_org = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Alpha (compte)")

    w.alpha = CompanyFactory(name="Alpha Ingénierie", commune=montpellier, size=Company.Size.PME, organisation=w.company_org)
    w.beta = CompanyFactory(name="Bêta Services", commune=montpellier, size=Company.Size.TPE)
    w.gamma = CompanyFactory(name="Gamma Aude", commune=carcassonne, size=Company.Size.GE)
    ClubMembershipFactory(company=w.alpha, club=w.club, start_date=datetime.date(2015, 1, 1))
    ClubMembershipFactory(company=w.gamma, club=w.club_aude, start_date=datetime.date(2015, 1, 1))
    return w


@pytest.fixture
def act_as(client):
    """Sign in a new person acting for this organisation."""

    def sign_in(organisation):
        user = UserFactory()
        MembershipFactory(user=user, organisation=organisation)
        client.force_login(user)
        return user

    return sign_in
