"""Opening a campaign: who may open it for which départements, which conventions are expected to report
for year N, and the idempotent creation of the declarations. Plus the scoping of campaigns/declarations."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from charte.comptes import scoping
from conventions.models import Convention
from evaluation.campaigns import services
from evaluation.models import Campaign, Declaration
from tests.evaluation.conftest import CLOSES, OPENS, REMINDER, active_convention, company_with_members
from tests.factories import CompanyFactory, ConventionFactory, departement

C = Convention.Status


def open_(organisation, user, year=2017, departements=None, **dates):
    dates = {"opens_on": OPENS, "reminder_on": REMINDER, "closes_on": CLOSES, **dates}
    return services.open_campaign(organisation, user, year, f"Campagne {year}", departements=departements, **dates)


def test_declarations_are_created_for_exactly_the_conventions_that_ran_during_the_year(world):
    w = world
    c = CompanyFactory()
    ran = {
        "en vigueur": active_convention(c, start_date=datetime.date(2017, 6, 1), end_date=datetime.date(2019, 5, 31)),
        "échue": active_convention(
            c, status=C.EXPIRED, start_date=datetime.date(2015, 1, 1), end_date=datetime.date(2017, 1, 31)
        ),
        "résiliée en cours d'année": active_convention(
            c,
            status=C.TERMINATED,
            termination_reason="Cessation",
            status_changed_at=timezone.make_aware(datetime.datetime(2017, 9, 1)),
        ),
    }
    did_not_run = {
        "brouillon": active_convention(c, status=C.DRAFT),
        "en négociation": active_convention(c, status=C.NEGOTIATION),
        "signée non en vigueur": active_convention(c, status=C.SIGNED),
        "finie en 2016": active_convention(
            c, start_date=datetime.date(2015, 1, 1), end_date=datetime.date(2016, 12, 31), status=C.EXPIRED
        ),
        "commence en 2018": active_convention(c, start_date=datetime.date(2018, 1, 1), end_date=datetime.date(2019, 12, 31)),
        "résiliée avant 2017": active_convention(
            c,
            status=C.TERMINATED,
            termination_reason="Cessation",
            status_changed_at=timezone.make_aware(datetime.datetime(2016, 11, 1)),
        ),
        "autre département": active_convention(c, departement_code="30"),
        "charte-cadre": active_convention(c, kind=Convention.Kind.FRAMEWORK),
    }
    national = ConventionFactory(kind=Convention.Kind.NATIONAL, departement=None, status=C.ACTIVE)
    national.companies.add(c)

    created = services.sync_expected_declarations(w.campaign)

    assert created == len(ran)
    declared = set(Declaration.objects.filter(company=c).values_list("convention_id", flat=True))
    assert declared == {conv.pk for conv in ran.values()}
    assert not declared & {conv.pk for conv in did_not_run.values()}
    assert national.pk not in declared  # a préfecture's campaign covers its départements only


def test_one_declaration_per_company_of_a_collective_convention(world):
    w = world
    first, second = CompanyFactory(), CompanyFactory()
    collective = active_convention(first, kind=Convention.Kind.COLLECTIVE)
    collective.companies.add(second)
    services.sync_expected_declarations(w.campaign)
    assert set(Declaration.objects.filter(convention=collective).values_list("company_id", flat=True)) == {first.pk, second.pk}


def test_sync_is_idempotent_and_adds_only_the_missing_declarations(world):
    w = world
    before = Declaration.objects.count()
    assert services.sync_expected_declarations(w.campaign) == 0
    late = active_convention(CompanyFactory(), reference="034-2017-LATE")
    assert services.sync_expected_declarations(w.campaign) == 1
    assert services.sync_expected_declarations(w.campaign) == 0
    assert Declaration.objects.count() == before + 1
    assert Declaration.objects.get(convention=late).year == 2017


def test_a_national_campaign_covers_every_departement_without_duplicating_an_existing_declaration(world):
    w = world
    gard_company = CompanyFactory()
    gard_convention = active_convention(gard_company, departement_code="30")
    national_convention = ConventionFactory(kind=Convention.Kind.NATIONAL, departement=None, status=C.ACTIVE)
    national_convention.companies.add(gard_company)

    campaign = open_(w.national, w.national_user)

    assert campaign.departements.count() == 0
    assert set(campaign.declarations.values_list("convention_id", flat=True)) == {gard_convention.pk, national_convention.pk}
    # The Hérault declaration already belongs to the préfecture's campaign of the same year.
    assert Declaration.objects.filter(convention=w.convention, year=2017).count() == 1


def test_the_database_refuses_two_declarations_for_one_convention_company_and_year(world):
    w = world
    other = Campaign.objects.create(
        organisation=w.national, year=2017, title="Doublon", opens_on=OPENS, reminder_on=REMINDER, closes_on=CLOSES
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Declaration.objects.create(campaign=other, convention=w.convention, company=w.company)


def test_a_prefecture_opens_only_for_its_own_departements(world):
    w = world
    with pytest.raises(PermissionDenied):
        open_(w.prefecture, w.prefecture_user, year=2016, departements=[departement("30")])
    campaign = open_(w.prefecture_gard, w.gard_user)
    assert list(campaign.departements.values_list("code", flat=True)) == ["30"]


def test_clubs_and_companies_cannot_open_a_campaign(world):
    w = world
    for organisation, user in ((w.club, w.animator), (w.company.organisation, w.company_user)):
        with pytest.raises(PermissionDenied):
            open_(organisation, user, year=2016)
    assert Campaign.objects.count() == 1


def test_campaign_dates_must_be_ordered_and_one_campaign_per_year(world):
    w = world
    with pytest.raises(ValidationError) as error:
        open_(w.prefecture_gard, w.gard_user, reminder_on=datetime.date(2018, 5, 1))
    assert "relance" in str(error.value)
    with pytest.raises(ValidationError):
        open_(w.prefecture, w.prefecture_user)  # the Hérault already has its 2017 campaign
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(
            organisation=w.national, year=2017, title="x", opens_on=CLOSES, reminder_on=REMINDER, closes_on=OPENS
        )


def test_open_on_lists_the_campaigns_open_at_a_date(world):
    assert list(Campaign.objects.open_on(datetime.date(2018, 2, 1))) == [world.campaign]
    assert not Campaign.objects.open_on(datetime.date(2018, 4, 1)).exists()


def test_scoping_of_campaigns_and_declarations(world):
    w = world
    gard_company, _ = company_with_members("Gard SA", club=w.other_club)
    gard_convention = active_convention(gard_company, departement_code="30")
    gard_campaign = open_(w.prefecture_gard, w.gard_user)
    national_campaign = open_(w.national, w.national_user, year=2015)  # nothing ran in 2015
    gard_declaration = Declaration.objects.get(convention=gard_convention)

    assert set(Campaign.objects.visible_to(w.prefecture_scope)) == {w.campaign, national_campaign}
    assert set(Campaign.objects.visible_to(w.gard_scope)) == {gard_campaign, national_campaign}
    assert set(Campaign.objects.visible_to(w.club_scope)) == {w.campaign, national_campaign}
    assert set(Campaign.objects.visible_to(w.company_scope)) == {w.campaign}
    assert set(Campaign.objects.visible_to(w.national_scope)) == {w.campaign, gard_campaign, national_campaign}

    assert set(Declaration.objects.visible_to(w.prefecture_scope)) == {w.declaration}
    assert set(Declaration.objects.visible_to(w.gard_scope)) == {gard_declaration}
    assert set(Declaration.objects.visible_to(w.club_scope)) == {w.declaration}
    # A member company's declaration on a convention the club does not animate is not the club's (issue 10).
    assert not Declaration.objects.visible_to(w.other_club_scope).exists()
    gard_convention.club = w.other_club
    gard_convention.save()
    assert set(Declaration.objects.visible_to(w.other_club_scope)) == {gard_declaration}  # the convention it animates
    assert set(Declaration.objects.visible_to(w.company_scope)) == {w.declaration}
    assert Declaration.objects.visible_to(w.national_scope).count() == 2

    partner_scope = scoping.Scope(kind="partner", organisation_id=0, departement_ids=frozenset({departement("34").pk}))
    assert not Campaign.objects.visible_to(partner_scope).exists()
    assert not Declaration.objects.visible_to(partner_scope).exists()
