"""A small territory for the campaigns: the Hérault préfecture, its club, one company with one active
convention (2016-2018) committed to hosting pupils in stage de 3e, and the 2017 campaign.

Dates: the 2017 campaign opens on 15/01/2018, reminds on 01/03/2018 and closes on 31/03/2018.
"""

import datetime
from types import SimpleNamespace

import pytest

from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from conventions.models import Convention
from evaluation.campaigns import services
from tests.factories import (
    ClubMembershipFactory,
    CommitmentFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    TargetFactory,
    UserFactory,
    departement,
    indicator,
)

OPENS = datetime.date(2018, 1, 15)
REMINDER = datetime.date(2018, 3, 1)
CLOSES = datetime.date(2018, 3, 31)
DURING = datetime.date(2018, 2, 10)
AFTER = datetime.date(2018, 4, 2)


@pytest.fixture(autouse=True)
def tasks_run_in_place(request):
    """The services enqueue notifications after commit; these tests check their e-mails in-process, so the
    tasks run eagerly even when CI provides a broker. Tests marked `services` (the real worker) opt out."""
    if request.node.get_closest_marker("services"):
        yield
        return
    from charte.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def member(organisation, email):
    membership = MembershipFactory(
        organisation=organisation, user=UserFactory(email=email, first_name="Camille", last_name=email.split("@")[0])
    )
    return membership.user, Scope.for_membership(membership)


def company_with_members(name, *emails, club=None):
    organisation = OrganisationFactory(kind=OrganisationKind.COMPANY, name=name)
    company = CompanyFactory(name=name, organisation=organisation)
    if club is not None:
        ClubMembershipFactory(company=company, club=club)
    users = [member(organisation, email) for email in emails]
    return company, users


def active_convention(company, departement_code="34", club=None, **kwargs):
    kwargs.setdefault("status", Convention.Status.ACTIVE)
    convention = ConventionFactory(departement=departement(departement_code), club=club, **kwargs)
    convention.companies.add(company)
    return convention


@pytest.fixture
def world(db):
    herault, gard = departement("34"), departement("30")
    national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    prefecture_gard = OrganisationFactory(name="Préfecture du Gard", departements=[gard])
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    other_club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Gard", departements=[gard])

    national_user, national_scope = member(national, "agent@anct.gouv.fr")
    prefecture_user, prefecture_scope = member(prefecture, "agent@herault.gouv.fr")
    gard_user, gard_scope = member(prefecture_gard, "agent@gard.gouv.fr")
    animator, club_scope = member(club, "animatrice@face-herault.org")
    other_animator, other_club_scope = member(other_club, "animateur@face-gard.org")

    company, ((company_user, company_scope), (colleague, _)) = company_with_members(
        "BRL", "claire@brl.example", "paul@brl.example", club=club
    )
    convention = active_convention(company, club=club, reference="034-2016-BRL")
    commitment = CommitmentFactory(
        convention=convention
    )  # STAGE_3E: suggests STAGE3_OFFERTS, STAGE3_ACCUEILLIS, BENEFICIAIRES_QPV
    TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=2017, value=10)
    TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=2018, value=12)

    campaign = services.open_campaign(prefecture, prefecture_user, 2017, "Campagne 2017 — Hérault", OPENS, REMINDER, CLOSES)
    declaration = campaign.declarations.get(company=company, convention=convention)
    return SimpleNamespace(**locals())


def key(commitment, code):
    return (commitment.pk, indicator(code).pk)
