"""The life of a compile run: started (portal, nightly beat, command), its units of work run as Celery tasks in
parallel (a chord: one task per département, one for what no département holds), then the roll-ups to régions
and to national, side by side (a second chord), then the publication, which marks the run succeeded. A unit
that fails for good marks the run failed with a French message; its partial rows are never read (only
succeeded runs are).

Each step may run twice (acks_late, retries): a unit replaces its own rows of the run in one transaction and
counts itself done once, so a second attempt neither duplicates rows nor progress.

Every run compiles the whole year, for every territory at once (docs/methodologie.md §10): a préfecture or a
club asking to recompile its territory starts (or joins) the national run of the year, so that a région or the
national total never mixes figures read at different times. The published set of a year is its latest
succeeded national run (`EvaluationRun.objects.published()`).
"""

import datetime
import uuid

import celery
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from charte.comptes.models import Organisation, OrganisationKind
from charte.territoires.models import Departement, Region

from ..models import RUN_SCOPE_TYPES, AnnualResult, EvaluationRun, ScopeType
from . import compile as engine

try:
    from kombu.exceptions import OperationalError as BrokerError
except ImportError:  # pragma: no cover - kombu comes with celery
    BrokerError = OSError

Status = EvaluationRun.Status
Trigger = EvaluationRun.Trigger

# The last step, named like a unit in failure messages.
PUBLICATION = "publication"

# The tasks of `evaluation.engine.tasks`, sent by name: they call this module, which therefore does not import
# theirs (no import cycle). `evaluation.tasks` (imported when the app is ready) registers them in every process.
COMPILE_UNIT = "evaluation.compile_unit"
START_ROLLUPS = "evaluation.start_rollups"
FINISH_RUN = "evaluation.finish_run"


def _task(name, *args):
    """The immutable signature of a task of the engine (like `task.si(*args)`), bound like a `shared_task` to the
    current app: the one whose broker and queue the caller set up (a test's worker app, or the project's)."""
    return celery.current_app.signature(name, args=args, immutable=True)


def _check_scope(year, scope_type, scope_key):
    if scope_type not in RUN_SCOPE_TYPES:
        raise ValidationError("Une compilation porte sur le national, une région, un département ou un club.")
    if not 2000 <= int(year) <= 2100:
        raise ValidationError(f"Année invalide : {year}.")
    if scope_type == ScopeType.NATIONAL:
        return ""
    key = str(scope_key or "").strip()
    if scope_type == ScopeType.DEPARTEMENT and not Departement.objects.filter(code=key).exists():
        raise ValidationError(f"Département inconnu : « {key} ».")
    if scope_type == ScopeType.REGION and not Region.objects.filter(code=key).exists():
        raise ValidationError(f"Région inconnue : « {key} ».")
    if scope_type == ScopeType.CLUB and not (
        key.isdigit() and Organisation.objects.filter(pk=int(key), kind=OrganisationKind.CLUB).exists()
    ):
        raise ValidationError(f"Club inconnu : « {key} ».")
    return key


def start_run(year, scope_type=ScopeType.NATIONAL, scope_key="", requested_by=None, trigger=Trigger.COMMAND, *, sync=False):
    """Start the national run of the year (or join it) and return it; once the transaction commits, its tasks
    are enqueued (`sync`: compute it here instead).

    Whatever scope is asked for (a département or a club report's button, the command's --departement), the run
    covers the whole year: the scope is checked (an unknown one is refused in French) and nothing more. A national
    run of the year still going (and not lost) is returned instead of starting a second one."""
    _check_scope(year, scope_type, scope_key)
    # A lost run (no progress for EVALUATION_STALLED_AFTER_MINUTES) is failed first: asking again starts a new one.
    fail_stalled_runs()
    going = EvaluationRun.objects.active().filter(year=year, scope_type=ScopeType.NATIONAL).first()
    if going is not None and not sync:
        return going
    units = engine.units_for(ScopeType.NATIONAL)
    run = EvaluationRun.objects.create(
        year=year,
        scope_type=ScopeType.NATIONAL,
        scope_key="",
        requested_by=requested_by,
        trigger=trigger,
        units=units,
        units_total=len(units),
    )
    if sync:
        execute_sync(run.pk)
        run.refresh_from_db()
    else:
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id):
    """Send the run to the workers: the units in parallel, then (`START_ROLLUPS`) the roll-ups in
    parallel, then the publication."""
    run = EvaluationRun.objects.get(pk=run_id)
    header = [_task(COMPILE_UNIT, run.pk, unit) for unit in run.units if unit not in engine.ROLLUPS]
    # The id of the publication task (whose result says the run is over) is recorded before anything is sent:
    # once the workers start, this process writes nothing more to the run.
    finish_id = str(uuid.uuid4())
    EvaluationRun.objects.filter(pk=run.pk).update(task_id=finish_id)
    body = _task(START_ROLLUPS, run.pk, finish_id)
    try:
        return celery.chord(header)(body) if header else body.delay()
    except BrokerError as exc:
        # Nothing was sent: a pending run nobody will compute must not block the next request.
        mark_failed(run.pk, f"La compilation n'a pas pu être confiée aux workers (courtier injoignable) : {exc}")
        raise


def mark_running(run_id):
    now = timezone.now()
    EvaluationRun.objects.filter(pk=run_id, status=Status.PENDING).update(status=Status.RUNNING, started_at=now)
    note_progress(run_id, now)


def note_progress(run_id, now=None):
    """The run's tasks are alive (committed at once, outside any unit's transaction, so the detector sees it)."""
    EvaluationRun.objects.filter(pk=run_id, status__in=EvaluationRun.ACTIVE_STATUSES).update(
        progress_at=now or timezone.now()
    )


def run_unit(run_id, unit):
    """Compile one unit, which counts itself done in the same transaction. Returns the rows written."""
    mark_running(run_id)
    with transaction.atomic():
        if EvaluationRun.objects.filter(pk=run_id, status__in=[Status.SUCCEEDED, Status.FAILED]).exists():
            # A late redelivery after the run succeeded (its rows are published, never rewritten) or after it was
            # failed (a lost task coming back after the run was declared stalled: a new run replaces it).
            return 0
        rows = engine.compile_unit(run_id, unit)
    note_progress(run_id)
    return rows


def stalled_after():
    return datetime.timedelta(minutes=settings.EVALUATION_STALLED_AFTER_MINUTES)


def fail_stalled_runs(now=None):
    """Fail the runs, pending or running, whose tasks gave no sign of life (a unit starting or done) for
    EVALUATION_STALLED_AFTER_MINUTES: their tasks were lost (worker killed and its message lost, broker flushed),
    so nothing would ever end them. Nothing of them is published (only succeeded runs are; a lost task coming back
    later does nothing, `run_unit`, `finish`). Returns the ids failed. Safe to run at any time, from beat or here."""
    now = now or timezone.now()
    limit = now - stalled_after()
    last_sign = Coalesce("progress_at", "started_at", "created_at")
    failed = []
    stalled = EvaluationRun.objects.active().alias(last_sign=last_sign).filter(last_sign__lt=limit)
    for run in stalled.only("pk", "units", "done_units"):
        missing = [unit for unit in run.units if unit not in run.done_units]
        message = (
            f"{EvaluationRun.STALLED_REASON} depuis {settings.EVALUATION_STALLED_AFTER_MINUTES} "
            f"minutes (tâches perdues : worker arrêté, file des tâches vidée). {len(missing)} unité"
            f"{'s' if len(missing) > 1 else ''} non calculée{'s' if len(missing) > 1 else ''}"
            f"{' : ' + ', '.join(missing[:10]) + ('…' if len(missing) > 10 else '') if missing else ''}. "
            "Rien n'en est publié ; relancez la compilation."
        )
        # Re-checked in the UPDATE: a unit that reported in the meantime keeps its run alive.
        if (
            EvaluationRun.objects.active()
            .alias(last_sign=last_sign)
            .filter(pk=run.pk, last_sign__lt=limit)
            .update(status=Status.FAILED, error=message, finished_at=now)
        ):
            failed.append(run.pk)
    return failed


def send_rollups(run_id, finish_id):
    """Once the units are done: the roll-ups side by side, then the publication (whose task id is `finish_id`)."""
    run = EvaluationRun.objects.get(pk=run_id)
    note_progress(run.pk)
    publication = _task(FINISH_RUN, run.pk).set(task_id=finish_id)
    rollups = [_task(COMPILE_UNIT, run.pk, unit) for unit in run.units if unit in engine.ROLLUPS]
    return celery.chord(rollups)(publication) if rollups else publication.delay()


def analyze_results():
    """Refresh the planner's statistics of the results table (PostgreSQL): a compile has just written up to a
    million rows the autovacuum has not seen yet, and with estimates near zero the first reports and API calls
    would be planned as if the table were empty. ANALYZE samples the table: about a second at national scale."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # A sample of 9,000 rows (30 x 300) instead of 30,000: the published reads filter on a few runs, years
            # and scope types (all in the most-common values either way) and on a scope key; four times less to
            # read, which matters when the table's pages have left the cache (up to 55 s measured on the
            # benchmark machine with the default sample, 0.5 s when cached).
            cursor.execute("SET LOCAL default_statistics_target = 30")
            cursor.execute(f"ANALYZE {connection.ops.quote_name(AnnualResult._meta.db_table)}")


def finish(run_id):
    """Every unit is done (or this raises): the statistics of the results table are refreshed, then the run is
    published."""
    run = EvaluationRun.objects.get(pk=run_id)
    if run.status not in (Status.SUCCEEDED, Status.FAILED) and not [unit for unit in run.units if unit not in run.done_units]:
        analyze_results()
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if run.status == Status.FAILED:
            # Declared stalled (or failed) while its last tasks were lost: never published, a new run replaces it.
            return
        missing = [unit for unit in run.units if unit not in run.done_units]
        if missing:
            raise RuntimeError(f"Unités non calculées : {', '.join(missing)}.")
        if run.status != Status.SUCCEEDED:
            run.status = Status.SUCCEEDED
            run.error = ""
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])


def failure_message(unit, exc):
    where = {
        engine.REGIONS: "la consolidation régionale",
        engine.NATIONAL: "la consolidation nationale",
        PUBLICATION: "la publication",
    }.get(unit, f"l'unité « {unit} »")
    return f"La compilation a échoué pendant {where} : {type(exc).__name__} — {exc}"


def mark_failed(run_id, message):
    EvaluationRun.objects.filter(pk=run_id).exclude(status=Status.SUCCEEDED).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def execute_sync(run_id):
    """The whole run in this process, unit after unit (command `--sync`, tests)."""
    run = EvaluationRun.objects.get(pk=run_id)
    unit = None
    try:
        for unit in run.units:
            run_unit(run.pk, unit)
        unit = PUBLICATION
        finish(run.pk)
    except Exception as exc:
        mark_failed(run.pk, failure_message(unit, exc))
        raise
