"""Shared set-up of the campaign page tests (holds no test): one person per role, a national campaign for
2017 whose window contains today, BRL in the Hérault (club FACE Hérault) and SNCF in the Gard (FACE Gard).

The pages use the real date: the campaign opens 30 days ago and closes in 30 days; tests that need a
closed campaign move its dates.
"""

import datetime
from types import SimpleNamespace

from django.utils import timezone

from charte.comptes.models import OrganisationKind
from evaluation.campaigns import services
from evaluation.models import Campaign, Declaration
from tests.evaluation.conftest import active_convention, company_with_members, member
from tests.factories import CommitmentFactory, OrganisationFactory, TargetFactory, departement, indicator

YEAR = 2017
S = Declaration.Status


def today():
    return timezone.localdate()


def make_world():
    now = today()
    herault, gard = departement("34"), departement("30")
    national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    prefecture_gard = OrganisationFactory(name="Préfecture du Gard", departements=[gard])
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    other_club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Gard", departements=[gard])
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Montpellier Métropole", departements=[herault])

    national_user, _ = member(national, "agent@anct.gouv.fr")
    prefecture_user, prefecture_scope = member(prefecture, "agent@herault.gouv.fr")
    gard_user, _ = member(prefecture_gard, "agent@gard.gouv.fr")
    animator, club_scope = member(club, "animatrice@face-herault.org")
    other_animator, _ = member(other_club, "animateur@face-gard.org")
    partner_user, _ = member(partner, "contact@montpellier3m.fr")

    company, ((company_user, company_scope), (colleague, _)) = company_with_members(
        "BRL", "claire@brl.example", "paul@brl.example", club=club
    )
    convention = active_convention(company, club=club, reference="034-2016-BRL")
    commitment = CommitmentFactory(convention=convention)
    TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=YEAR, value=10)

    foreign_company, ((foreign_user, _),) = company_with_members("SNCF", "contact@sncf.example", club=other_club)
    foreign_convention = active_convention(foreign_company, "30", club=other_club, reference="030-2016-SNCF")
    CommitmentFactory(convention=foreign_convention)

    campaign = services.open_campaign(
        national,
        national_user,
        YEAR,
        "Campagne nationale 2017",
        now - datetime.timedelta(days=30),
        now + datetime.timedelta(days=10),
        now + datetime.timedelta(days=30),
    )
    declaration = campaign.declarations.get(company=company)
    foreign_declaration = campaign.declarations.get(company=foreign_company)
    return SimpleNamespace(**locals())


def login(client, user):
    client.force_login(user)
    return client


def declaration_url(declaration, suffix=""):
    return f"/campagnes/declarations/{declaration.pk}/{suffix}"


def line_field(commitment, code, prefix="value"):
    return f"{prefix}_{commitment.pk}_{indicator(code).pk}"


def close_campaign(campaign):
    """Move the window into the past: the campaign closed yesterday."""
    now = today()
    Campaign.objects.filter(pk=campaign.pk).update(
        opens_on=now - datetime.timedelta(days=60),
        reminder_on=now - datetime.timedelta(days=20),
        closes_on=now - datetime.timedelta(days=1),
    )


def fresh(declaration):
    return Declaration.objects.get(pk=declaration.pk)
