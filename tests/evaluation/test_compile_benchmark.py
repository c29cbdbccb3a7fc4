"""The benchmark's dataset generator, at a tiny scale (PostgreSQL only: it writes with generate_series): the rows
it writes are consistent with the models' rules, the engine compiles them, and the SQL floor agrees with the
engine on the département totals."""

import pytest
from django.db import connection

from conventions.models import Action, Convention, Target
from evaluation.engine import benchmark, runs
from evaluation.models import AnnualResult, Declaration, DeclarationValue, ScopeType
from tests.factories import departement

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="Le générateur du banc d'essai écrit avec generate_series (PostgreSQL)."
)


def test_the_generator_writes_a_consistent_dataset_the_engine_compiles(db):
    sizes = benchmark.generate(scale=0.001)
    assert benchmark.is_generated()
    assert Convention.objects.filter(reference__startswith="BENCH-").count() == sizes.conventions
    assert Action.objects.count() == sizes.actions
    assert DeclarationValue.objects.count() > 0 and Declaration.objects.filter(status="validated").exists()
    # Targets fall inside their convention's years (the database triggers would have refused them otherwise).
    assert Target.objects.filter(year__in=[2017, 2018]).count() == Target.objects.count() > 0

    # Asked for one département, the run compiles the whole year (methodology §10).
    run = runs.start_run(benchmark.COMPILED_YEAR, ScopeType.DEPARTEMENT, "34", sync=True)
    row = AnnualResult.objects.get(run=run, scope_type="departement", scope_key="34", family=None, indicator=None)
    in_year = Action.objects.filter(departement__code="34", start_date__year=benchmark.COMPILED_YEAR)
    assert row.actions_count == in_year.count() > 0
    assert row.prev_actions_count == Action.objects.filter(departement__code="34", start_date__year=2017).count()
    assert row.companies_expected > 0 and row.companies_reporting > 0

    # The hand-written floor and the engine agree on the département x family x indicator totals.
    dep_id = departement("34").pk
    floor = {
        (fam, ind): (computed, declared, target)
        for dep, fam, ind, year, computed, _n, _ben, _bqpv, declared, _validated, target, _rate in benchmark.sql_floor(
            benchmark.COMPILED_YEAR
        )
        if dep == dep_id and year == benchmark.COMPILED_YEAR
    }
    engine = {
        (r.family_id, r.indicator_id): (r.computed_value, r.declared_value, r.target_value)
        for r in AnnualResult.objects.filter(
            run=run, scope_type="departement", scope_key="34", indicator__aggregation="sum"
        ).exclude(family=None)
    }
    assert floor
    for key, (computed, declared, target) in floor.items():
        assert engine[key][1] == declared and engine[key][2] == target, key
        if computed is not None:
            assert engine[key][0] == computed, key

    # The checksum that compares two versions of the engine on the benchmark: two compiles of the same data agree,
    # and one figure changed in one scope shows there, and only there.
    again = runs.start_run(benchmark.COMPILED_YEAR, sync=True)
    assert benchmark.results_checksum(again.pk) == benchmark.results_checksum(run.pk)
    assert sum(rows for rows, _ in benchmark.results_checksum(run.pk).values()) == run.results.count()
    changed = AnnualResult.objects.filter(run=again, scope_type="departement", scope_key="34").first()
    AnnualResult.objects.filter(pk=changed.pk).update(actions_count=(changed.actions_count or 0) + 1)
    before, after = benchmark.results_checksum(run.pk), benchmark.results_checksum(again.pk)
    assert [scope for scope in before if before[scope] != after[scope]] == ["departement"]
