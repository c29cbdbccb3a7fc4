"""A company's commitments against what its logged actions realised (conventions/realised.py and the page
`conventions:company_commitments` linked from the company's detail page)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conventions.models import Action, Commitment, Convention, Target
from conventions.realised import realised_by_target
from tests.factories import ActionFactory, CommitmentFactory, ConventionFactory, TargetFactory, action_type, family, indicator


def log(company, type_code, day, companies=(), **counts):
    action = ActionFactory(action_type=action_type(type_code), start_date=day, **counts)
    action.companies.add(company, *companies)
    return action


@pytest.fixture
def followed(world):
    """An active 2016-2018 convention of Alpha, with targets, and Alpha's (and others') actions."""
    convention = ConventionFactory(reference="034-2016-0001", status=Convention.Status.ACTIVE, club=world.club)
    convention.companies.add(world.alpha)
    stages = CommitmentFactory(convention=convention, family=family("EDU"), action_type=action_type("STAGE_3E"))
    sponsorship = CommitmentFactory(convention=convention, family=family("SOL"), action_type=None, description="Mécénat")
    t = {
        "pupils_2016": TargetFactory(commitment=stages, indicator=indicator("STAGE3_ACCUEILLIS"), year=2016, value=10),
        "pupils_2017": TargetFactory(commitment=stages, indicator=indicator("STAGE3_ACCUEILLIS"), year=2017, value=12),
        "qpv_2016": TargetFactory(commitment=stages, indicator=indicator("BENEFICIAIRES_QPV"), year=2016, value=5),
        "offered_2016": TargetFactory(commitment=stages, indicator=indicator("STAGE3_OFFERTS"), year=2016, value=15),
        "hours_2017": TargetFactory(commitment=sponsorship, indicator=indicator("HEURES_MECENAT"), year=2017, value=80),
        "employees_2017": TargetFactory(commitment=sponsorship, indicator=indicator("SALARIES_MOBILISES"), year=2017, value=4),
    }
    counts = {"beneficiaries_women": 0, "beneficiaries_under_26": 0}
    log(world.alpha, "STAGE_3E", datetime.date(2016, 3, 1), beneficiaries_total=4, beneficiaries_qpv=2, **counts)
    # A collective action counts fully for each of its companies.
    log(world.alpha, "STAGE_3E", datetime.date(2016, 6, 1), [world.beta], beneficiaries_total=3, beneficiaries_qpv=3, **counts)
    log(world.alpha, "STAGE_3E", datetime.date(2017, 2, 1), beneficiaries_total=5, beneficiaries_qpv=1, **counts)
    log(world.alpha, "TUTORAT", datetime.date(2016, 4, 1), beneficiaries_total=20, beneficiaries_qpv=20, **counts)
    log(world.beta, "STAGE_3E", datetime.date(2016, 4, 1), beneficiaries_total=50, beneficiaries_qpv=50, **counts)
    log(world.alpha, "MECENAT_COMPETENCES", datetime.date(2017, 5, 1), hours=Decimal("30.5"), employees_involved=2)
    log(world.alpha, "MECENAT_FINANCIER", datetime.date(2017, 9, 1), hours=10, employees_involved=1)
    log(world.alpha, "MECENAT_COMPETENCES", datetime.date(2016, 5, 1), hours=99, employees_involved=9)
    return convention, t


def hand_computed(company, target):
    """The same figures as realised_by_target, added up in Python action by action."""
    field = {
        "STAGE3_ACCUEILLIS": "beneficiaries_total",
        "BENEFICIAIRES_QPV": "beneficiaries_qpv",
        "HEURES_MECENAT": "hours",
        "SALARIES_MOBILISES": "employees_involved",
    }.get(target.indicator.code)
    if field is None:
        return None
    total = Decimal(0)
    for action in Action.objects.filter(companies=company).select_related("action_type"):
        if action.start_date.year != target.year:
            continue
        commitment = target.commitment
        if commitment.action_type_id and action.action_type_id != commitment.action_type_id:
            continue
        if not commitment.action_type_id and action.action_type.family_id != commitment.family_id:
            continue
        total += Decimal(getattr(action, field))
    return total


def test_realised_matches_a_hand_computation_in_one_query(world, followed, django_assert_num_queries):
    _, t = followed
    targets = list(Target.objects.select_related("indicator", "commitment"))
    with django_assert_num_queries(1):
        realised = realised_by_target(targets, Action.objects.filter(companies=world.alpha))
    assert realised == {target.pk: hand_computed(world.alpha, target) for target in targets}
    assert realised[t["pupils_2016"].pk] == 7
    assert realised[t["pupils_2017"].pk] == 5
    assert realised[t["qpv_2016"].pk] == 5
    assert realised[t["offered_2016"].pk] is None  # places offered are declared, not logged
    assert realised[t["hours_2017"].pk] == Decimal("40.5")  # every action type of the family
    assert realised[t["employees_2017"].pk] == 3


def test_realised_of_nothing_is_zero_not_missing(world, followed):
    _, t = followed
    targets = list(Target.objects.select_related("indicator", "commitment"))
    realised = realised_by_target(targets, Action.objects.none())
    assert realised[t["pupils_2016"].pk] == 0
    assert realised[t["offered_2016"].pk] is None


def test_page_shows_targets_realised_and_rates(client, world, followed, act_as):
    act_as(world.prefecture)
    response = client.get(f"/conventions/entreprise/{world.alpha.pk}/engagements/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "034-2016-0001" in html
    row = html[html.index("Élèves de 3e accueillis en stage") :]
    row = row[: row.index("</tr>")]
    assert "<td>10</td>" in row and "<td>7</td>" in row and "70 %" in row
    assert "Déclaré par l&#x27;entreprise" in html or "Déclaré par l'entreprise" in html
    assert "40,5" in html  # hours, French decimal comma


def test_page_follows_only_signed_conventions(client, world, followed, act_as):
    draft = ConventionFactory(reference="034-2018-BROUILLON", status=Convention.Status.DRAFT)
    draft.companies.add(world.alpha)
    act_as(world.national)
    html = client.get(f"/conventions/entreprise/{world.alpha.pk}/engagements/").content.decode()
    assert "034-2016-0001" in html
    assert "034-2018-BROUILLON" not in html


@pytest.mark.parametrize("org_name", ["prefecture_aude", "club_aude", "partner"])
def test_page_out_of_scope_is_404(client, world, followed, act_as, org_name):
    act_as(getattr(world, org_name))
    assert client.get(f"/conventions/entreprise/{world.alpha.pk}/engagements/").status_code == 404


def test_company_reads_its_own_commitments(client, world, followed, act_as):
    act_as(world.company_org)
    assert client.get(f"/conventions/entreprise/{world.alpha.pk}/engagements/").status_code == 200
    assert client.get(f"/conventions/entreprise/{world.beta.pk}/engagements/").status_code == 404


def test_page_queries_do_not_grow_with_commitments_and_actions(client, world, followed, act_as):
    convention, _ = followed

    def grow(count):
        commitments = Commitment.objects.bulk_create(
            Commitment(convention=convention, family=family("EMP"), action_type=action_type("ALTERNANCE")) for _ in range(count)
        )
        Target.objects.bulk_create(
            Target(commitment=c, indicator=indicator("ALTERNANTS_RECRUTES"), year=2017, value=3) for c in commitments
        )
        actions = Action.objects.bulk_create(
            Action(
                action_type=action_type("ALTERNANCE"),
                title="Alternance",
                start_date=datetime.date(2017, 9, 1),
                departement=world.herault,
            )
            for _ in range(count)
        )
        world.alpha.actions.add(*actions)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(f"/conventions/entreprise/{world.alpha.pk}/engagements/").status_code == 200
        return len(context.captured_queries)

    act_as(world.prefecture)
    grow(5)
    small = queries()
    grow(195)
    assert queries() == small
