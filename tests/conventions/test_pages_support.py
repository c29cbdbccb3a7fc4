"""Shared set-up of the convention page tests: one person per role, objects in two départements (34 in the
préfecture's scope, 30 outside). Imported by the test_pages_* modules; holds no test itself."""

import datetime

from charte.comptes.models import OrganisationKind
from conventions.models import Convention
from tests.factories import (
    ClubMembershipFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)

S = Convention.Status
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def person(kind, departements=(), organisation=None, **org_kwargs):
    organisation = organisation or OrganisationFactory(kind=kind, departements=list(departements), **org_kwargs)
    return MembershipFactory(user=UserFactory(), organisation=organisation).user


class World:
    """Two départements, a club and a company in each, a convention of each company animated by its club."""

    def __init__(self):
        self.herault, self.gard = departement("34"), departement("30")
        self.club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[self.herault])
        self.other_club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Gard", departements=[self.gard])
        self.company = CompanyFactory(name="Engie Hérault")
        self.other_company = CompanyFactory(name="SNCF Gard")
        ClubMembershipFactory(company=self.company, club=self.club)
        ClubMembershipFactory(company=self.other_company, club=self.other_club)
        self.convention = ConventionFactory(
            reference="034-2016-0001", title="Convention Engie", departement=self.herault, club=self.club
        )
        self.convention.companies.set([self.company])
        self.foreign = ConventionFactory(
            reference="030-2016-0001", title="Convention SNCF", departement=self.gard, club=self.other_club
        )
        self.foreign.companies.set([self.other_company])
        self.national = person(OrganisationKind.NATIONAL, name="ANCT")
        self.prefecture = person(OrganisationKind.PREFECTURE, [self.herault], name="Préfecture de l'Hérault")
        self.club_user = person(None, organisation=self.club)
        company_org = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Engie (comptes)")
        self.company.organisation = company_org
        self.company.save()
        self.company_user = person(None, organisation=company_org)
        self.partner = person(OrganisationKind.PARTNER, [self.herault], name="Montpellier Métropole")

    def set_status(self, convention, status):
        # Tests start from any status; the lifecycle itself is what the step pages are tested for.
        reason = "Cessation d'activité." if status == S.TERMINATED else ""
        Convention.objects.filter(pk=convention.pk).update(status=status, termination_reason=reason)
        convention.refresh_from_db()
        return convention


def login(client, user):
    client.force_login(user)
    return client


DATES = {"start_date": "2017-01-01", "end_date": "2019-12-31"}
TODAY = datetime.date.today()
