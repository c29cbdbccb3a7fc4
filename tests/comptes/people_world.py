"""A small territory for the members and invitations tests: the Hérault (34) and the Aude (11), each with a
préfecture (an administrator and an agent), a FACE club (an animator, administrator) and, in the Hérault, a
company with an account that is a member of the club, a company without account (with a declared contact), and
a company that left the club."""

import datetime
from types import SimpleNamespace

from charte.comptes.models import Membership, OrganisationKind
from entreprises.models import Contact
from tests.factories import (
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)

ADMIN, MEMBER = Membership.Role.ADMIN, Membership.Role.MEMBER


def member(organisation, email, role=MEMBER, **user_fields):
    return MembershipFactory(user=UserFactory(email=email, **user_fields), organisation=organisation, role=role)


def build():
    w = SimpleNamespace()
    herault, aude = departement("34"), departement("11")
    montpellier = CommuneFactory(code="34172", name="Montpellier", departement=herault)
    carcassonne = CommuneFactory(code="11069", name="Carcassonne", departement=aude)
    w.national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    w.national_admin = member(w.national, "national@anct.example.org", ADMIN).user
    w.prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    w.prefecture_admin = member(w.prefecture, "admin@herault.gouv.example", ADMIN).user
    w.prefecture_agent = member(w.prefecture, "agent@herault.gouv.example").user
    w.aude_prefecture = OrganisationFactory(name="Préfecture de l'Aude", departements=[aude])
    w.club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    w.animator = member(w.club, "animateur@face-herault.example", ADMIN).user
    w.aude_club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Aude", departements=[aude])
    w.partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Métropole", departements=[herault])

    w.account = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Compte Garrigue")
    w.company = CompanyFactory(name="Garrigue Numérique", commune=montpellier, organisation=w.account)
    ClubMembershipFactory(company=w.company, club=w.club)
    w.company_admin = member(w.account, "rse@garrigue.example", ADMIN, first_name="Rose", last_name="Sabatier").user
    w.company_member = member(w.account, "compta@garrigue.example").user

    w.new_company = CompanyFactory(name="Vignes du Lez", commune=montpellier)
    w.contact = Contact.objects.create(
        company=w.new_company, first_name="Lucie", last_name="Ferrer", job_title="Directrice", email="lucie@vignes.example"
    )
    ClubMembershipFactory(company=w.new_company, club=w.club)

    w.former_account = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Compte Ancien Membre")
    w.former = CompanyFactory(name="Ancien Membre", commune=montpellier, organisation=w.former_account)
    ClubMembershipFactory(
        company=w.former, club=w.club, start_date=datetime.date(2015, 1, 1), end_date=datetime.date(2016, 12, 31)
    )

    w.aude_account = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Compte Cers")
    w.aude_company = CompanyFactory(name="Cers Bâtiment", commune=carcassonne, organisation=w.aude_account)
    return w
