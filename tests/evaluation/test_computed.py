"""Values computed from the logged actions, beside the declared ones (the mapping is conventions.realised)."""

import datetime
from decimal import Decimal

from evaluation.campaigns import services
from evaluation.campaigns.lines import declaration_lines
from tests.evaluation.conftest import DURING, active_convention, key
from tests.factories import ActionFactory, CommitmentFactory, action_type, family, indicator


def log(company, convention=None, when=datetime.date(2017, 3, 14), type_code="STAGE_3E", **counts):
    counts = {"beneficiaries_women": 0, "beneficiaries_under_26": 0, **counts}
    action = ActionFactory(start_date=when, convention=convention, action_type=action_type(type_code), **counts)
    action.companies.add(company)
    return action


def test_computed_from_the_company_actions_of_the_year_and_of_the_commitment_type(world):
    w = world
    log(w.company, w.convention, beneficiaries_total=6, beneficiaries_qpv=4)
    log(w.company, None, beneficiaries_total=3, beneficiaries_qpv=3, beneficiaries_women=1, beneficiaries_under_26=3)
    log(w.company, w.convention, when=datetime.date(2016, 5, 1), beneficiaries_total=40, beneficiaries_qpv=40)  # 2016
    log(w.company, w.convention, type_code="TUTORAT", beneficiaries_total=20, beneficiaries_qpv=20)  # other type
    other_convention = active_convention(w.company, reference="034-2017-AUTRE")
    log(w.company, other_convention, beneficiaries_total=50, beneficiaries_qpv=50)  # counts for the other convention
    other_company_action = log(w.company, w.convention, beneficiaries_total=7, beneficiaries_qpv=0)
    other_company_action.companies.set([])  # not the company's

    values = services.computed_values(w.declaration)

    assert values[key(w.commitment, "STAGE3_ACCUEILLIS")] == Decimal(9)
    assert values[key(w.commitment, "BENEFICIAIRES_QPV")] == Decimal(7)
    assert key(w.commitment, "STAGE3_OFFERTS") not in values  # an offer is never computed from what happened


def test_a_commitment_for_a_whole_family_counts_every_action_type_of_the_family(world):
    w = world
    commitment = CommitmentFactory(convention=w.convention, family=family("EDU"), action_type=None)
    from tests.factories import TargetFactory

    TargetFactory(commitment=commitment, indicator=indicator("BENEFICIAIRES"), year=2017, value=30)
    log(w.company, w.convention, beneficiaries_total=6, beneficiaries_qpv=4)
    log(w.company, w.convention, type_code="TUTORAT", beneficiaries_total=5, beneficiaries_qpv=5)
    log(w.company, w.convention, type_code="ALTERNANCE", beneficiaries_total=100, beneficiaries_qpv=1)  # EMP family

    assert services.computed_values(w.declaration)[key(commitment, "BENEFICIAIRES")] == Decimal(11)


def test_declaration_lines_show_target_previous_year_value_and_computed(world, django_assert_max_num_queries):
    w = world
    log(w.company, w.convention, beneficiaries_total=6, beneficiaries_qpv=4)
    services.save_draft(w.declaration, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "vu")}, 1, today=DURING)
    # The 2016 declaration of the same convention gives the N-1 column.
    from evaluation.models import Campaign, Declaration, DeclarationValue

    campaign_2016 = Campaign.objects.create(
        organisation=w.national, year=2016, title="2016", opens_on=DURING, reminder_on=DURING, closes_on=DURING
    )
    previous = Declaration.objects.create(campaign=campaign_2016, convention=w.convention, company=w.company)
    DeclarationValue.objects.create(
        declaration=previous, commitment=w.commitment, indicator=indicator("STAGE3_ACCUEILLIS"), value=5
    )

    with django_assert_max_num_queries(8):
        lines = declaration_lines(w.declaration)

    by_code = {line.indicator.code: line for line in lines}
    assert list(by_code) == ["STAGE3_ACCUEILLIS", "BENEFICIAIRES_QPV", "STAGE3_OFFERTS"]
    accueillis = by_code["STAGE3_ACCUEILLIS"]
    assert (accueillis.target, accueillis.previous_value, accueillis.value, accueillis.comment, accueillis.computed) == (
        Decimal(10),
        Decimal(5),
        Decimal(8),
        "vu",
        Decimal(6),
    )
    assert by_code["STAGE3_OFFERTS"].is_offered and not accueillis.is_offered
    assert by_code["STAGE3_OFFERTS"].computed is None and by_code["STAGE3_OFFERTS"].target is None
