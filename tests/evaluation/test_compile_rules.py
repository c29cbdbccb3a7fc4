"""The engine's figures follow docs/methodologie.md, one rule per test, on the small territory of the campaigns
(tests/evaluation/conftest.py: the Hérault préfecture's 2017 campaign, BRL and its convention 034-2016-BRL with
a target of 10 pupils hosted in 2017). Each test failed on the engine before the rule was implemented."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from charte.comptes.models import OrganisationKind
from conventions.models import Action, Convention
from evaluation.campaigns import services
from evaluation.engine import runs
from evaluation.models import AnnualResult, Campaign, Declaration, DeclarationValue
from tests.evaluation.conftest import DURING, active_convention, key
from tests.factories import (
    CommitmentFactory,
    CompanyFactory,
    ConventionFactory,
    OrganisationFactory,
    TargetFactory,
    action_type,
    departement,
    indicator,
)

YEAR = 2017


def compile_year(year=YEAR):
    run = runs.start_run(year, sync=True)
    assert run.status == "succeeded", run.error
    return run


def row(run, scope_type, scope_key, code=None, family=None):
    return AnnualResult.objects.get(
        run=run,
        scope_type=scope_type,
        scope_key=str(scope_key),
        family=family,
        indicator=indicator(code) if code else None,
    )


def declare(declaration, commitment, status=Declaration.Status.VALIDATED, **values):
    for code, value in values.items():
        DeclarationValue.objects.create(declaration=declaration, commitment=commitment, indicator=indicator(code), value=value)
    Declaration.objects.filter(pk=declaration.pk).update(
        status=status, return_comment="À corriger" if status == Declaration.Status.RETURNED else ""
    )


def declaration_for(campaign, convention, company):
    return Declaration.objects.get_or_create(campaign=campaign, convention=convention, company=company, year=campaign.year)[0]


def national_campaign(year=YEAR):
    anct = OrganisationFactory(kind=OrganisationKind.NATIONAL, name=f"ANCT {year}")
    return Campaign.objects.create(
        year=year,
        title=f"Campagne nationale {year}",
        organisation=anct,
        opens_on=datetime.date(year + 1, 1, 15),
        reminder_on=datetime.date(year + 1, 2, 1),
        closes_on=datetime.date(year + 1, 3, 31),
    )


def national_convention(company, **kwargs):
    convention = ConventionFactory(kind=Convention.Kind.NATIONAL, departement=None, status=Convention.Status.ACTIVE, **kwargs)
    convention.companies.add(company)
    return convention


def add_action(code, departement_code="34", year=YEAR, total=20, qpv=5, convention=None, companies=()):
    action = Action.objects.create(
        action_type=action_type(code),
        title=f"Action {code}",
        start_date=datetime.date(year, 5, 2),
        departement=departement(departement_code),
        convention=convention,
        beneficiaries_total=total,
        beneficiaries_qpv=qpv,
    )
    action.companies.set(companies)
    return action


# --- §7: the declared share pairs its terms on one line ------------------------------------------------------


def test_the_declared_qpv_share_pairs_both_terms_on_the_same_line(world):
    """A line with only QPV residents (50) and a line with both (10 beneficiaries, 5 residents): the share is
    5 / 10, not (50 + 5) / 10 = 550 %. The totals above it still count the incomplete line."""
    other = CommitmentFactory(convention=world.convention)
    declare(world.declaration, world.commitment, BENEFICIAIRES_QPV=50)
    declare(world.declaration, other, BENEFICIAIRES=10, BENEFICIAIRES_QPV=5)
    run = compile_year()

    family = world.commitment.family
    for scope_type, scope_key in (("convention", world.convention.pk), ("departement", "34"), ("national", "")):
        share = row(run, scope_type, scope_key, "PART_BENEFICIAIRES_QPV", family)
        assert share.declared_value == share.declared_validated_value == Decimal("50.00"), scope_type
        assert row(run, scope_type, scope_key, "BENEFICIAIRES_QPV", family).declared_value == 55
        assert row(run, scope_type, scope_key, "BENEFICIAIRES", family).declared_value == 10


def test_a_declaration_line_with_more_qpv_residents_than_beneficiaries_is_refused(world):
    TargetFactory(commitment=world.commitment, indicator=indicator("BENEFICIAIRES"), year=YEAR, value=30)
    residents = key(world.commitment, "BENEFICIAIRES_QPV")
    with pytest.raises(ValidationError) as refused:
        services.save_draft(
            world.declaration,
            world.company_user,
            {key(world.commitment, "BENEFICIAIRES"): "10", residents: "12"},
            world.declaration.version,
            scope=world.company_scope,
            today=DURING,
        )
    message = refused.value.message_dict[services.value_key(*residents)][0]
    assert "ne peut pas dépasser" in message and "(12)" in message and "(10)" in message
    assert not DeclarationValue.objects.exists()

    # Within the whole, then the whole lowered under the part saved before: refused again, at the same field.
    services.save_draft(
        world.declaration,
        world.company_user,
        {key(world.commitment, "BENEFICIAIRES"): "10", residents: "10"},
        world.declaration.version,
        scope=world.company_scope,
        today=DURING,
    )
    world.declaration.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.save_draft(
            world.declaration,
            world.company_user,
            {key(world.commitment, "BENEFICIAIRES"): "8"},
            world.declaration.version,
            scope=world.company_scope,
            today=DURING,
        )
    assert services.value_key(*residents) in refused.value.message_dict


def test_submitting_checks_lines_saved_before_the_rule(world):
    TargetFactory(commitment=world.commitment, indicator=indicator("BENEFICIAIRES"), year=YEAR, value=30)
    for code, value in (("STAGE3_ACCUEILLIS", 4), ("BENEFICIAIRES", 3), ("BENEFICIAIRES_QPV", 7)):
        DeclarationValue.objects.create(
            declaration=world.declaration, commitment=world.commitment, indicator=indicator(code), value=value
        )
    with pytest.raises(ValidationError) as refused:
        services.submit(world.declaration, world.company_user, scope=world.company_scope, today=DURING)
    assert services.value_key(*key(world.commitment, "BENEFICIAIRES_QPV")) in refused.value.message_dict
    world.declaration.refresh_from_db()
    assert world.declaration.status == Declaration.Status.DRAFT


# --- §6: generic indicators over every action of the family ----------------------------------------------------


def test_generic_indicators_are_computed_on_every_action_of_the_family(world):
    """A stage de 3e (suggests QPV residents, not beneficiaries) and a tutoring action (suggests neither), both of
    the Éducation family: beneficiaries and residents computed are the family row's, and so is their share."""
    TargetFactory(commitment=world.commitment, indicator=indicator("BENEFICIAIRES"), year=YEAR, value=30)
    TargetFactory(commitment=world.commitment, indicator=indicator("BENEFICIAIRES_QPV"), year=YEAR, value=10)
    add_action("STAGE_3E", total=20, qpv=5, convention=world.convention, companies=[world.company])
    add_action("TUTORAT", total=30, qpv=15, convention=world.convention, companies=[world.company])
    run = compile_year()

    family = world.commitment.family
    for scope_type, scope_key in (("convention", world.convention.pk), ("company", world.company.pk), ("departement", "34")):
        total = row(run, scope_type, scope_key, family=family)
        assert (total.beneficiaries, total.beneficiaries_qpv, total.qpv_share) == (50, 20, 0.4)
        assert row(run, scope_type, scope_key, "BENEFICIAIRES", family).computed_value == 50
        assert row(run, scope_type, scope_key, "BENEFICIAIRES_QPV", family).computed_value == 20
        assert row(run, scope_type, scope_key, "PART_BENEFICIAIRES_QPV", family).computed_value == Decimal("40.00")
        # A type-specific indicator stays on the types suggesting it.
        assert row(run, scope_type, scope_key, "STAGE3_ACCUEILLIS", family).computed_value == 20


# --- §2, §4: statuses; attainment on the validated value --------------------------------------------------------


def test_only_transmitted_declarations_are_declared_and_attainment_is_on_the_validated(world):
    statuses = [Declaration.Status.DRAFT, Declaration.Status.RETURNED, Declaration.Status.SUBMITTED, Declaration.Status.VALIDATED]
    for n, status in enumerate(statuses):
        company = CompanyFactory(name=f"Entreprise {n}")
        convention = active_convention(company, reference=f"034-2017-S{n}")
        commitment = CommitmentFactory(convention=convention)
        TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=YEAR, value=10)
        declare(declaration_for(world.campaign, convention, company), commitment, status, STAGE3_ACCUEILLIS=8)
    run = compile_year()

    hosted = row(run, "departement", "34", "STAGE3_ACCUEILLIS", world.commitment.family)
    assert (hosted.declared_value, hosted.declared_validated_value, hosted.target_value) == (16, 8, 50)
    assert hosted.attainment_rate == pytest.approx(8 / 50)
    assert (hosted.companies_expected, hosted.companies_reporting) == (5, 2)


# --- §3: expected conventions, reporting within expected, campaign coverage -------------------------------------


def test_a_convention_terminated_before_the_year_counts_nowhere(world):
    """Terminated on 1 September 2017 (and another one terminated without a known date): their 2018
    declarations count nowhere, their companies are not expected."""
    national_campaign(2018)
    gard = departement("30")
    company = CompanyFactory(name="Résiliée SA")
    for n, changed in enumerate((timezone.make_aware(datetime.datetime(2017, 9, 1)), None)):
        convention = active_convention(
            company,
            departement_code="30",
            reference=f"030-2016-R{n}",
            status=Convention.Status.TERMINATED,
            termination_reason="Cessation d'activité",
            status_changed_at=changed,
        )
        commitment = CommitmentFactory(convention=convention)
        TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=2018, value=10)
        campaign = Campaign.objects.get(year=2018)
        declare(declaration_for(campaign, convention, company), commitment, STAGE3_ACCUEILLIS=9)
    add_action("STAGE_3E", departement_code=gard.code, year=2018)
    run = compile_year(2018)

    total = row(run, "departement", "30")
    assert (total.companies_expected, total.companies_reporting) == (0, 0)
    assert (
        not AnnualResult.objects.filter(run=run, declared_value__isnull=False)
        .exclude(scope_type="qpv")
        .filter(scope_key__in=["30", str(company.pk)])
        .exists()
    )
    national = row(run, "national", "", "STAGE3_ACCUEILLIS", world.commitment.family)
    assert national.declared_value is None and national.target_value == 12  # BRL's 2018 target only


def test_without_a_campaign_covering_it_a_scope_expects_nobody_and_shows_no_figure(world):
    """The 2017 campaign is the Hérault préfecture's: the Gard has no campaign, hence "—" (None), not 0; no
    campaign at all in 2016, hence no N-1 company figure anywhere."""
    company = CompanyFactory(name="Gardoise")
    convention = active_convention(company, departement_code="30", reference="030-2016-G")
    TargetFactory(
        commitment=CommitmentFactory(convention=convention), indicator=indicator("STAGE3_ACCUEILLIS"), year=YEAR, value=5
    )
    add_action("STAGE_3E", departement_code="30", convention=convention, companies=[company])
    add_action("STAGE_3E", departement_code="34")
    run = compile_year()

    for scope_type, scope_key in (("departement", "30"), ("convention", convention.pk), ("company", company.pk)):
        figures = row(run, scope_type, scope_key)
        assert (figures.companies_expected, figures.companies_reporting) == (None, None), scope_type
    herault = row(run, "departement", "34")
    assert (herault.companies_expected, herault.companies_reporting) == (1, 0)
    assert herault.prev_companies_expected is None and row(run, "national", "").prev_companies_expected is None
    assert not AnnualResult.objects.filter(run=run, scope_key="30", target_value__isnull=False).exists()

    national_campaign()
    run = compile_year()
    assert row(run, "departement", "30").companies_expected == 1
    assert row(run, "departement", "30", "STAGE3_ACCUEILLIS", world.commitment.family).target_value == 5


def test_expected_to_report_is_the_campaigns_rule(world):
    gard = active_convention(CompanyFactory(), departement_code="30", reference="030-2016-E")
    national = national_convention(CompanyFactory(), reference="NAT-2016-E")
    no_company = Convention.objects.create(
        reference="034-2016-V", title="Sans entreprise", kind="local", departement=departement("34"),
        start_date=datetime.date(2016, 1, 1), end_date=datetime.date(2018, 12, 31), status="active",
    )  # fmt: skip
    assert no_company.pk
    assert set(Campaign.objects.expected_conventions(YEAR)) == {world.convention}
    assert set(Convention.objects.expected_to_report(YEAR, [])) == {world.convention, gard, national}
    assert set(Convention.objects.expected_to_report(YEAR, [departement("30").pk])) == {gard}
    national_campaign()
    assert set(Campaign.objects.expected_conventions(YEAR)) == {world.convention, gard, national}
    assert not Campaign.objects.expected_conventions(2016).exists()


def test_reporting_companies_are_among_the_expected_ones_of_the_row(world):
    """BRL declares pupils hosted (its target) and offered places (no target): it reports on the family and on
    pupils hosted, not on the offered places' row, where it is not expected."""
    declare(world.declaration, world.commitment, STAGE3_ACCUEILLIS=9, STAGE3_OFFERTS=12)
    run = compile_year()
    family = world.commitment.family
    hosted = row(run, "departement", "34", "STAGE3_ACCUEILLIS", family)
    offered = row(run, "departement", "34", "STAGE3_OFFERTS", family)
    assert (hosted.companies_expected, hosted.companies_reporting) == (1, 1)
    assert (offered.companies_expected, offered.companies_reporting, offered.declared_value) == (0, 0, 12)
    assert row(run, "departement", "34", family=family).companies_reporting == 1


# --- §4: collective and national conventions --------------------------------------------------------------------


def test_a_collective_target_counts_once_and_not_on_its_companies_rows(world):
    national_campaign()
    other = CompanyFactory(name="Partenaire collectif")
    collective = active_convention(world.company, reference="034-2017-COL", kind=Convention.Kind.COLLECTIVE)
    collective.companies.add(other)
    shared = CommitmentFactory(convention=collective)
    TargetFactory(commitment=shared, indicator=indicator("STAGE3_ACCUEILLIS"), year=YEAR, value=20)
    declare(declaration_for(world.campaign, collective, world.company), shared, STAGE3_ACCUEILLIS=7)
    declare(declaration_for(world.campaign, collective, other), shared, STAGE3_ACCUEILLIS=9)
    declare(world.declaration, world.commitment, STAGE3_ACCUEILLIS=6)
    # A national convention of BRL: at national, its club, itself and BRL, never in a département.
    group = national_convention(world.company, reference="NAT-2017-BRL", club=world.club)
    by_group = CommitmentFactory(convention=group)
    TargetFactory(commitment=by_group, indicator=indicator("STAGE3_ACCUEILLIS"), year=YEAR, value=5)
    declare(declaration_for(world.campaign, group, world.company), by_group, STAGE3_ACCUEILLIS=4)
    run = compile_year()

    family = world.commitment.family

    def hosted(scope_type, scope_key):
        return row(run, scope_type, scope_key, "STAGE3_ACCUEILLIS", family)

    brl = hosted("company", world.company.pk)
    # Its own targets (10 local + 5 national), its validated values under them (6 + 4); its declared value
    # includes its contribution to the collective (7).
    assert (brl.target_value, brl.declared_value, brl.declared_validated_value) == (15, 17, 17)
    assert brl.attainment_rate == pytest.approx(10 / 15)
    assert hosted("company", other.pk).target_value is None and hosted("company", other.pk).declared_value == 9
    shared_row = hosted("convention", collective.pk)
    assert (shared_row.target_value, shared_row.declared_validated_value, shared_row.attainment_rate) == (20, 16, 0.8)
    assert (hosted("departement", "34").target_value, hosted("departement", "34").declared_value) == (30, 22)
    assert (hosted("national", "").target_value, hosted("national", "").declared_value) == (35, 26)
    assert (hosted("club", world.club.pk).target_value, hosted("club", world.club.pk).declared_value) == (15, 10)
    assert hosted("convention", group.pk).declared_value == 4
