"""A real Celery worker on Redis compiles a year of the demo territory: the chord of département tasks and
the roll-up publish the same figures as a compile in process; a département task that fails mid-run (a
transient database error after its rows were inserted) is retried and the run ends with the same results and
no duplicate row.

Like `test_worker.py`: the worker is a thread of the test process (pool "solo") consuming a queue of its own,
the test is transactional (the worker reads committed data through its own connection). Skipped without a
broker, except in CI where it must run.
"""

import threading
import time
import uuid
from unittest import mock

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker checks)
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connections

from evaluation.engine import compile as engine
from evaluation.engine import (
    runs,
    tasks,  # noqa: F401  (registers the compile tasks with the worker's app)
)
from evaluation.models import AnnualResult, EvaluationRun
from tests.evaluation.test_oracle import compiled

pytestmark = [pytest.mark.services, pytest.mark.slow]

YEAR = 2017
RAN = []


@pytest.fixture
def broker(in_ci):
    if not settings.CELERY_BROKER_URL:
        message = "CELERY_BROKER_URL n'est pas défini : le test de la compilation par un worker Celery ne peut pas tourner."
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return settings.CELERY_BROKER_URL


def after_task(sender=None, task_id=None, args=None, state=None, **kwargs):
    # In the worker thread: note what ran, and close that thread's connection (PostgreSQL would refuse to
    # drop the test database while it is open).
    RAN.append((sender.name, tuple(args or ()), state, threading.current_thread()))
    connections.close_all()


@pytest.fixture
def worker(broker):
    """A worker consuming a queue of its own; the chord's body is sent by the worker to that same queue."""
    from charte.celery import app as project_app

    app = Celery("charte-test-compile", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = f"charte-test-{uuid.uuid4().hex[:10]}"
    RAN.clear()
    task_postrun.connect(after_task, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=True):
            yield app
    finally:
        task_postrun.disconnect(after_task)
        project_app.set_current()
        project_app.set_default()
        app.close()


def wait_for(app, run, timeout=180):
    """Wait on the roll-up task's result in Redis, not on the database: SQLite (the tests' default) lets no
    reader in while the worker thread writes."""
    run.refresh_from_db()
    app.AsyncResult(run.task_id).get(timeout=timeout)
    run.refresh_from_db()
    return run


def ran_until(name, timeout=30):
    """The names of the tasks run, once `name` is among them: Celery stores a task's result (which `wait_for`
    wakes on) before it sends `task_postrun` (which fills RAN), so on a busy machine the test thread may look
    at RAN a moment before the worker thread writes the last task there."""
    deadline = time.monotonic() + timeout
    while name not in (names := [task for task, *_ in RAN]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return names


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_compiles_the_demo_year_like_a_compile_in_process(demo, worker):
    run = runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
    wait_for(worker, run)
    names = ran_until("evaluation.finish_run")
    assert run.status == EvaluationRun.Status.SUCCEEDED, run.error
    assert run.percent == 100 and run.units_done == run.units_total == 104 and run.started_at and run.finished_at

    units = [args[1] for name, args, state, thread in RAN if name == "evaluation.compile_unit"]
    assert sorted(units) == sorted(run.units)
    # The roll-ups ran after every other unit, and the publication after them.
    assert set(units[-2:]) == {"regions", "national"}
    assert all(thread is not threading.current_thread() for *_, thread in RAN)
    assert names.count("evaluation.start_rollups") == names.count("evaluation.finish_run") == 1
    assert names[-1] == "evaluation.finish_run"

    reference = runs.start_run(YEAR, sync=True)
    result = compiled(run)
    assert result == compiled(reference)
    # The demo's figures are there: Hérault actions of 2017 and 2016, targets of its conventions.
    herault = result[("departement", "34", None, None)]
    assert herault["actions_count"] > 100 and herault["prev_actions_count"] > 100
    assert any(row["target_value"] for key, row in result.items() if key[:2] == ("departement", "34"))


@pytest.mark.django_db(transaction=True)
def test_a_task_failing_mid_run_is_retried_and_the_run_ends_with_the_same_results(demo, worker):
    reference = compiled(runs.start_run(YEAR, sync=True))
    original = engine._insert_scope
    failures = []

    def flaky(run, unit, scope_type, *args):
        written = original(run, unit, scope_type, *args)
        # After the unit's last rows were inserted, in its transaction: the connection drops, once.
        if unit == "dep:34" and scope_type == "company" and not failures:
            failures.append(AnnualResult.objects.filter(run=run, unit=unit).count())
            raise OperationalError("le serveur a fermé la connexion de manière inattendue")
        return written

    with mock.patch.object(engine, "_insert_scope", flaky):
        run = runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
        wait_for(worker, run)

    assert failures and failures[0] > 0  # rows had been written when it failed
    assert run.status == EvaluationRun.Status.SUCCEEDED, run.error
    attempts = [state for name, args, state, _ in RAN if name == "evaluation.compile_unit" and args[1] == "dep:34"]
    assert attempts == ["RETRY", "SUCCESS"]
    assert compiled(run) == reference  # compiled() also fails on any duplicate row
    assert AnnualResult.objects.filter(run=run).count() == len(reference)
