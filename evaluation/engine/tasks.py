"""Celery tasks of the evaluation engine (issue 5): thin wrappers that take ids and call `runs`.

Each may run twice (acks_late: a worker lost mid-task gives it back to the broker); a unit replaces its own
rows of the run, so a second attempt neither duplicates rows nor progress. Transient failures (the database
or the broker briefly unreachable) are retried with an exponential backoff, a bounded number of times.

`runs` sends the compile tasks by their names (`runs.COMPILE_UNIT`...), so it does not import this module.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from charte.celery import RETRY

from ..models import EvaluationRun
from . import retention, runs

# Transient failures worth another try: the database or the broker briefly unreachable.
TRANSIENT = (OperationalError, InterfaceError, runs.BrokerError)
COMPILE = {"acks_late": True, "max_retries": 5}


def _delivery(request):
    """How the task reached us (logged in the result backend): a queue of the broker, or run in place."""
    return {"eager": bool(request.is_eager), "queue": (request.delivery_info or {}).get("routing_key")}


def backoff(retries):
    """Seconds before the next attempt: 1, 2, 4, 8, 16... at most a minute."""
    return min(60, 2**retries)


def _compile_step(task, run_id, unit, step):
    """Run one step of a compile; retry transient errors with backoff, record a definitive failure on the run."""
    try:
        return step()
    except TRANSIENT as exc:
        if task.request.retries < task.max_retries:
            raise task.retry(exc=exc, countdown=backoff(task.request.retries)) from exc
        runs.mark_failed(run_id, runs.failure_message(unit, exc))
        raise
    except Exception as exc:
        runs.mark_failed(run_id, runs.failure_message(unit, exc))
        raise


@shared_task(bind=True, name="evaluation.compile_unit", **COMPILE)
def compile_evaluation_unit(self, run_id, unit):
    """One unit of a run (a département, `autres`, a club or a roll-up): its rows, written in one transaction."""
    rows = _compile_step(self, run_id, unit, lambda: runs.run_unit(run_id, unit))
    return {"run": run_id, "unit": unit, "rows": rows, **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.start_rollups", **COMPILE)
def start_rollups(self, run_id, finish_id):
    """After every unit (chord body): the roll-ups to régions and to national side by side, then the
    publication. Sent twice (a redelivery), it only sends idempotent tasks twice."""
    _compile_step(self, run_id, runs.PUBLICATION, lambda: runs.send_rollups(run_id, finish_id))
    return {"run": run_id, **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.finish_run", **COMPILE)
def finish_evaluation_run(self, run_id):
    """After the roll-ups: the run is published."""
    _compile_step(self, run_id, runs.PUBLICATION, lambda: runs.finish(run_id))
    return {"run": run_id, "unit": runs.PUBLICATION, **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.nightly_compile", **RETRY)
def nightly_compile(self, year=None):
    """Nightly (beat): the national compile of the current year (its rows carry N-1 as well)."""
    run = runs.start_run(int(year or timezone.localdate().year), trigger=EvaluationRun.Trigger.BEAT)
    return {"run": run.pk, **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.purge_results", **RETRY)
def purge_evaluation_results(self):
    """Weekly (beat): the detail rows of superseded runs past the retention delay (`evaluation.engine.retention`)."""
    outcome = retention.purge_results()
    return {"runs": outcome.runs, "rows": outcome.rows, **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.fail_stalled_runs", **RETRY)
def fail_stalled_runs(self):
    """Every five minutes (beat): the runs whose tasks were lost are failed (`runs.fail_stalled_runs`)."""
    return {"failed": runs.fail_stalled_runs(), **_delivery(self.request)}
