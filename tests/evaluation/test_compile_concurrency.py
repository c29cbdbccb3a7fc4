"""Two copies of the same unit running at once (a task redelivered while its first copy still runs) leave the
unit's rows once, not twice (PostgreSQL: SQLite serialises writing transactions by itself; CI runs on
PostgreSQL, see tests/charte/test_settings.py)."""

import threading
from unittest import mock

import pytest
from django.db import connection, connections

from evaluation.engine import compile as engine
from evaluation.models import AnnualResult, EvaluationRun
from tests.evaluation.test_oracle import YEAR, build_territory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="Deux transactions d'écriture simultanées : PostgreSQL seulement."
)


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_unit_at_once_write_its_rows_once():
    build_territory(3)
    reference = EvaluationRun.objects.create(year=YEAR, units=["dep:13"], units_total=1)
    expected = engine.compile_unit(reference.pk, "dep:13")
    run = EvaluationRun.objects.create(year=YEAR, units=["dep:13"], units_total=1)

    # Both copies meet here once they have deleted the unit's rows and before they insert: without a lock,
    # each deletes nothing the other wrote and both insert. With it, the second copy waits before deleting,
    # so the meeting never happens (the first gives up waiting after a moment and goes on).
    barrier = threading.Barrier(2, timeout=3)
    original = engine._unit_plan

    def meeting(*args):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return original(*args)

    errors = []

    def copy():
        try:
            engine.compile_unit(run.pk, "dep:13")
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(engine, "_unit_plan", meeting):
        threads = [threading.Thread(target=copy) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
    assert AnnualResult.objects.filter(run=run).count() == expected > 0
