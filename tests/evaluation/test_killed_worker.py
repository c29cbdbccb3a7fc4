"""A Celery worker killed (SIGKILL) in the middle of a national compile (issue 14, item 5): a real worker PROCESS
on Redis compiles the demo year and is killed inside the Hérault's unit, after that unit's rows were inserted and
before it commits. PostgreSQL rolls the transaction back (no row, unit not counted); a second worker process, started
then, takes the pending units and, once the visibility timeout has passed, the killed one, which Redis still holds
(acks_late); the run ends published with exactly the figures of a compile in process: no duplicate row, nothing
half-published.

Needs PostgreSQL (the worker processes open the test database; SQLite's in-memory test database is not reachable from
another process) and Redis: skipped without them, except in CI where it must run.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from celery import Celery
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from evaluation.engine import runs
from evaluation.models import AnnualResult, EvaluationRun
from tests.evaluation.test_oracle import compiled

pytestmark = [pytest.mark.services, pytest.mark.slow]

YEAR = 2017
VISIBILITY_TIMEOUT = 5


@pytest.fixture
def services(in_ci):
    missing = []
    if not settings.CELERY_BROKER_URL:
        missing.append("CELERY_BROKER_URL")
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (DATABASE_URL)")
    if missing:
        message = f"Test du worker tué : il faut {' et '.join(missing)}."
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)


def database_url(application_name):
    d = connection.settings_dict
    password = f":{d['PASSWORD']}" if d.get("PASSWORD") else ""
    return (
        f"postgres://{d['USER']}{password}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"
        f"?application_name={application_name}"
    )


@pytest.fixture
def workers(services, tmp_path):
    """Starts `celery worker` processes (pool solo: one task at a time) on a queue of this test, reading the test
    database under an application name of their own; the test's app sends to that queue. Yields (app, start), start
    returning (the process, its application name)."""
    from charte.celery import app as project_app

    queue = f"charte-test-kill-{uuid.uuid4().hex[:10]}"
    app = Celery("charte-test-kill", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = queue
    app.set_current()
    processes = {}
    # Unique on the server (another test process may be connected too): how the test finds each worker's session.
    application_names = {name: f"worker-{name}-{queue}"[:63] for name in ("a", "b")}

    def start(name):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "charte.settings_test",
            "DATABASE_URL": database_url(application_names[name]),
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "LOG_FORMAT": "text",
        }
        log = open(tmp_path / f"worker-{name}.log", "w")  # noqa: SIM115 (closed with the process)
        node = f"{name}-{queue}@{os.uname().nodename}"
        processes[name] = process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "charte", "worker", "-P", "solo", "-Q", queue, "-n", node,
             "--without-mingle", "--without-gossip", "-l", "INFO"],
            env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(timeout=1, destination=[node]):
                return process, application_names[name]
        pytest.fail(f"Le worker {name} n'a pas démarré : " + (tmp_path / f"worker-{name}.log").read_text()[-2000:])

    try:
        yield app, start
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        project_app.set_current()
        project_app.set_default()
        app.close()


def sql(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def unit_held_by(application_name, run):
    """The unit whose transaction that worker is in (compile_unit holds the advisory lock (run, hashtext(unit)) for
    its whole transaction), or None."""
    held = sql(
        "SELECT l.objid::bigint FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE a.application_name = %s AND l.locktype = 'advisory' AND l.granted AND l.classid = %s",
        [application_name, run.pk],
    )
    if not held:
        return None
    hashes = dict(sql("SELECT hashtext('evaluation-unit:' || u) & 4294967295, u FROM unnest(%s::text[]) AS u", [run.units]))
    return hashes[held[0][0]]


def waiting_on_a_lock(application_name):
    return sql("SELECT wait_event_type FROM pg_stat_activity WHERE application_name = %s", [application_name]) == [("Lock",)]


def wait_until(condition, what, timeout=300):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.002)
    return value


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_compile_leaves_no_duplicate_and_the_run_is_published(workers):
    app, start = workers
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    reference = compiled(runs.start_run(YEAR, sync=True))

    # Worker a alone takes the run. When it enters the Hérault's unit (the demo's rows), the test locks the run's row
    # (FOR NO KEY UPDATE): the unit inserts all its rows, then waits for that lock to count itself done; killed there,
    # its transaction has written everything and committed nothing.
    worker_a, session_a = start("a")
    run = runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
    wait_until(lambda: unit_held_by(session_a, run) == "dep:34", "le worker a n'est jamais entré dans l'unité dep:34")
    with transaction.atomic():
        EvaluationRun.objects.select_for_update(no_key=True).get(pk=run.pk)
        wait_until(lambda: waiting_on_a_lock(session_a), "le worker a n'attend pas le verrou de la compilation", 60)
        killed_unit = unit_held_by(session_a, run)
        os.killpg(worker_a.pid, signal.SIGKILL)
        worker_a.wait(10)
    assert worker_a.returncode == -signal.SIGKILL
    assert killed_unit is not None
    # PostgreSQL rolled the killed transaction back: the unit has no row and is not counted.
    wait_until(lambda: unit_held_by(session_a, run) is None, "la session du worker tué est restée ouverte", 30)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.RUNNING
    assert killed_unit not in run.done_units and run.units_done < run.units_total
    assert not AnnualResult.objects.filter(run=run, unit=killed_unit).exists()

    # Worker b takes over: the pending units, and the killed one once Redis gives it back (visibility timeout).
    worker_b, _ = start("b")
    app.AsyncResult(run.task_id).get(timeout=300)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.SUCCEEDED, run.error
    assert run.units_done == run.units_total and killed_unit in run.done_units
    assert AnnualResult.objects.filter(run=run, unit=killed_unit).exists()
    assert worker_b.poll() is None
    assert EvaluationRun.objects.published().get(year=YEAR) == run
    # The same figures as in process, each row once (compiled() fails on a duplicate row).
    assert compiled(run) == reference
