"""After a compile, PostgreSQL's planner knows the results table is not empty (issue 17): the run ANALYZEs it
before it is published. Without it, the first reports and API calls after a national compile are planned for an
empty table. PostgreSQL only: it fails, not skips, in CI without PostgreSQL."""

import pytest
from django.db import connection

from evaluation.engine import runs
from evaluation.models import AnnualResult
from tests.evaluation.test_oracle import YEAR, build_territory

pytestmark = pytest.mark.services


def estimated_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'evaluation_annualresult'")
        return cursor.fetchone()[0]


def test_a_compile_leaves_the_planner_statistics_of_the_results_up_to_date(db, in_ci):
    if connection.vendor != "postgresql":
        message = "Les statistiques du planificateur ne se vérifient que sur PostgreSQL (DATABASE_URL)."
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    build_territory(1)
    run = runs.start_run(YEAR, sync=True)
    assert run.status == "succeeded"
    # The estimate is the table as the compile left it (statistics outlive a test's rollback: compared with the
    # rows there, not with zero). Never analysed, it is -1.
    rows = AnnualResult.objects.count()
    assert rows > 100 and 0.5 * rows <= estimated_rows() <= 2 * rows
