"""People acting for each kind of organisation, and a small territory in two départements."""

import pytest

from charte.comptes.models import OrganisationKind
from tests.factories import (
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    action_type,
    departement,
)


def act_as(kind, *codes, name=None):
    """A user acting for a new organisation of this kind covering these départements."""
    extra = {"name": name} if name else {}
    organisation = OrganisationFactory(kind=kind, departements=[departement(c) for c in codes], **extra)
    return MembershipFactory(organisation=organisation).user, organisation


def company_user(company):
    organisation = OrganisationFactory(kind=OrganisationKind.COMPANY, name=f"Compte {company.name}")
    company.organisation = organisation
    company.save(update_fields=["organisation"])
    return MembershipFactory(organisation=organisation).user


@pytest.fixture
def world(db):
    """Hérault (34) and Gard (30): a club in each with one member company, QPV on both sides."""
    club_34_user, club_34 = act_as(OrganisationKind.CLUB, "34", name="FACE Hérault")
    club_30_user, club_30 = act_as(OrganisationKind.CLUB, "30", name="FACE Gard")
    montpellier = CommuneFactory(code="34172", name="Montpellier")
    nimes = CommuneFactory(code="30189", name="Nîmes", departement=departement("30"))
    engie = CompanyFactory(name="Engie", commune=montpellier)
    sncf = CompanyFactory(name="SNCF", commune=montpellier)
    brl_gard = CompanyFactory(name="Gardoise de travaux", commune=nimes)
    ClubMembershipFactory(company=engie, club=club_34)
    ClubMembershipFactory(company=sncf, club=club_34)
    ClubMembershipFactory(company=brl_gard, club=club_30)
    return {
        "club_34_user": club_34_user,
        "club_34": club_34,
        "club_30_user": club_30_user,
        "club_30": club_30,
        "engie": engie,
        "sncf": sncf,
        "gard_company": brl_gard,
        "mosson": QPVFactory(code="QP034005", name="Mosson"),
        "petit_bard": QPVFactory(code="QP034006", name="Petit Bard Pergola"),
        "pissevin": QPVFactory(code="QP030001", name="Pissevin", departement=departement("30")),
    }


def action_data(**overrides):
    """What the logging form posts for a typical action; override or drop (None) any key."""
    data = {
        "action_type": action_type("STAGE_3E").pk,
        "start_date": "2017-03-13",
        "end_date": "2017-03-17",
        "title": "Stages de 3e au collège Las Cazes",
        "description": "Une semaine d'observation.",
        "departement": departement("34").pk,
        "companies": [],
        "qpvs": [],
        "convention": "",
        "beneficiaries_total": "12",
        "beneficiaries_women": "7",
        "beneficiaries_under_26": "12",
        "beneficiaries_qpv": "9",
        "employees_involved": "4",
        "hours": "35",
        "partenaires-TOTAL_FORMS": "2",
        "partenaires-INITIAL_FORMS": "0",
        "partenaires-MIN_NUM_FORMS": "0",
        "partenaires-MAX_NUM_FORMS": "1000",
        "partenaires-0-kind": "college",
        "partenaires-0-name": "Collège Las Cazes",
        "partenaires-1-kind": "",
        "partenaires-1-name": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
