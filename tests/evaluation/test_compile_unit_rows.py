"""A unit writes its rows and counts itself done in one transaction; it deletes rows only when a previous attempt
committed them (the delete cannot be planned well while the run is being written: docs/benchmark.md), and the
count it returns is the rows written."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.engine import compile as engine
from evaluation.models import AnnualResult, EvaluationRun
from tests.evaluation.test_oracle import YEAR, build_territory


def deletes(queries):
    return [q["sql"] for q in queries if q["sql"].startswith("DELETE") and AnnualResult._meta.db_table in q["sql"]]


@pytest.mark.django_db
def test_a_first_attempt_deletes_nothing_and_a_second_replaces_the_rows():
    build_territory(4)
    run = EvaluationRun.objects.create(year=YEAR, units=["dep:13"], units_total=1)

    with CaptureQueriesContext(connection) as first:
        written = engine.compile_unit(run.pk, "dep:13")
    assert deletes(first.captured_queries) == []
    assert written == AnnualResult.objects.filter(run=run, unit="dep:13").count() > 0
    run.refresh_from_db()
    assert (run.done_units, run.units_done) == (["dep:13"], 1)

    # A redelivered task: the unit is done, its rows are replaced, not added to.
    before = sorted(map(str, AnnualResult.objects.filter(run=run).values_list("scope_type", "scope_key", "family", "indicator")))
    with CaptureQueriesContext(connection) as second:
        again = engine.compile_unit(run.pk, "dep:13")
    assert len(deletes(second.captured_queries)) == 1
    assert again == written
    after = sorted(map(str, AnnualResult.objects.filter(run=run).values_list("scope_type", "scope_key", "family", "indicator")))
    assert after == before
    run.refresh_from_db()
    assert (run.done_units, run.units_done) == (["dep:13"], 1)
