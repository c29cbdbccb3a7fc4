"""The demo year compiled (`seed_demo`, then 2017): no share above 100 % anywhere, roll-ups that agree with their
parts within the run, and a validated declaration reopened by the préfecture leaves the figures at the next
compile (methodology §2)."""

import pytest
from django.core.management import call_command

from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from evaluation.campaigns import services
from evaluation.engine import runs
from evaluation.models import AnnualResult, Declaration, DeclarationValue
from tests.evaluation.test_compile import additive_rollups_agree
from tests.factories import MembershipFactory, OrganisationFactory

YEAR = 2017


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_the_demo_year_has_no_share_above_100_percent_and_consistent_rollups(demo):
    run = runs.start_run(YEAR, sync=True)
    assert run.status == "succeeded", run.error
    results = AnnualResult.objects.filter(run=run)
    ratio = results.filter(indicator__code="PART_BENEFICIAIRES_QPV")
    # The demo declares the two terms on different commitments: nothing pairs them on one line, so no declared
    # share (it was 2 195 % nationally when the two totals were divided).
    assert ratio.exists() and ratio.exclude(computed_value=None).exists()
    for field in ("declared_value", "declared_validated_value", "computed_value", "prev_declared_value", "prev_computed_value"):
        assert not ratio.filter(**{f"{field}__gt": 100}).exists(), field
    assert not results.filter(qpv_share__gt=1).exists() and not results.filter(prev_qpv_share__gt=1).exists()
    assert results.exclude(qpv_share=None).exists()
    # No declared line of the demo has more QPV residents than beneficiaries (the services would refuse it).
    lines = {}
    for value in DeclarationValue.objects.filter(indicator__code__in=["BENEFICIAIRES", "BENEFICIAIRES_QPV"]):
        lines.setdefault((value.declaration_id, value.commitment_id), {})[value.indicator.code] = value.value
    pairs = [line for line in lines.values() if None not in (line.get("BENEFICIAIRES"), line.get("BENEFICIAIRES_QPV"))]
    assert all(line["BENEFICIAIRES_QPV"] <= line["BENEFICIAIRES"] for line in pairs)
    assert additive_rollups_agree(run) > 500


def test_reopening_a_validated_declaration_changes_the_figures_at_the_next_compile(demo):
    declaration = Declaration.objects.select_related("convention", "company").get(
        year=YEAR, convention__reference="034-2017-0001", company__name="Engie"
    )
    assert declaration.status == Declaration.Status.VALIDATED
    first = runs.start_run(YEAR, sync=True)

    def figures(run):
        rows = AnnualResult.objects.filter(run=run, scope_key=str(declaration.convention_id), scope_type="convention")
        family_rows = rows.filter(indicator=None).exclude(family=None)
        indicator_rows = rows.exclude(indicator=None).exclude(indicator__aggregation="ratio")
        return (
            sum(r.declared_validated_value or 0 for r in indicator_rows),
            sum(r.companies_reporting or 0 for r in family_rows),
            [r.attainment_rate for r in indicator_rows.order_by("family", "indicator")],
        )

    validated, reporting, rates = figures(first)
    assert validated > 0 and reporting > 0 and any(rate for rate in rates)

    anct = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT (test)")
    membership = MembershipFactory(organisation=anct)
    services.reopen(declaration, membership.user, Scope.for_membership(membership), "Pièces justificatives à revoir")
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.DRAFT

    # The published figures wait for the next compile; then the reopened declaration counts nowhere.
    assert AnnualResult.objects.published().filter(run=first).exists()
    second = runs.start_run(YEAR, sync=True)
    validated_after, reporting_after, rates_after = figures(second)
    assert validated_after == 0 and reporting_after == 0 and rates_after != rates
    assert not any(rates_after)
    assert set(AnnualResult.objects.published().values_list("run_id", flat=True)) == {second.pk}
