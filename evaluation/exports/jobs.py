"""Export jobs: a large CSV export (over EXPORT_BACKGROUND_ROWS rows) built by a Celery task into private storage,
then downloaded by the person who asked for it.

- The job keeps the list's query string and the membership the person acted under; the task rebuilds the scope
  from that membership when it runs (`Scope.for_membership`) and reads the rows through the same export as the
  list (`conventions.exports`, `entreprises.exports`): same columns, same formatting, same neutralisation, and
  never more rows than the requester may see now (a membership ended meanwhile fails the job).
- The file is written by chunks of rows (`iterator(chunk_size=...)`): the worker holds one chunk, whatever the
  number of rows. It is written under a temporary name and renamed when complete, so a task delivered twice
  (acks_late) or a worker killed midway never leaves a half file behind a "ready" job.
- The requester is told when it is ready or failed (a notification, `Notification.Event.EXPORT_READY`); files are
  deleted EXPORT_RETENTION_DAYS after they were made (beat task `evaluation.purge_exports`).
"""

import contextlib
import datetime
import logging
import os
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from charte.comptes.scoping import Scope
from charte.web import csv_blocks
from conventions.exports import action_export, convention_export
from entreprises.exports import company_export

from ..campaigns import notifications
from ..models import ExportJob, Notification

logger = logging.getLogger(__name__)

EXPORTS = {
    ExportJob.Kind.ACTIONS: action_export,
    ExportJob.Kind.CONVENTIONS: convention_export,
    ExportJob.Kind.COMPANIES: company_export,
}
# rows_done is written to the job every this many rows: a few hundred small updates for the national export.
PROGRESS_EVERY = 10_000
EXPORT_TASK = "evaluation.run_export"

FAILED_MESSAGE = (
    "L'export n'a pas pu être préparé à cause d'une erreur inattendue. Demandez-le à nouveau depuis la liste ; "
    "si l'erreur revient, contactez l'assistance."
)


class ExportRefused(Exception):
    """The job cannot run for a reason the requester can act on; the message says it in French."""


def export_of(job, scope):
    return EXPORTS[job.kind](scope, QueryDict(job.query))


def create_job(*, user, scope, kind, query):
    """Record the job and send its task after commit. `kind` and `query` come from the browser: an unknown kind
    is refused; the query string is only ever read as filters within the scope, so tampering widens nothing."""
    if kind not in EXPORTS:
        raise ExportRefused("Cette liste ne s'exporte pas.")
    if scope.kind is None or not scope.membership_id:
        raise ExportRefused("Choisissez d'abord l'organisation pour laquelle vous exportez.")
    job = ExportJob.objects.create(
        kind=kind,
        created_by=user,
        membership_id=scope.membership_id,
        organisation_id=scope.organisation_id,
        query=query[:2000],
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id):
    import celery

    # By name, as a shared task: this module is imported by the task module.
    celery.current_app.signature(EXPORT_TASK, args=(job_id,)).delay()


def run(job_id):
    """Build the file of a job (the Celery task's body). Safe to run twice: a finished job is left alone, a job
    caught halfway is written again from the start."""
    claimed = ExportJob.objects.filter(pk=job_id, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]).update(
        status=ExportJob.Status.RUNNING, started_at=timezone.now(), rows_done=0, message=""
    )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("membership__organisation", "created_by").get(pk=job_id)
    try:
        scope = Scope.for_membership(job.membership)
        if scope.kind is None or not job.created_by.is_active:
            raise ExportRefused(
                f"Votre adhésion à « {job.organisation.name} » n'est plus active : l'export n'a pas été préparé, "
                "car il contiendrait des données que vous ne pouvez plus consulter."
            )
        _write(job, export_of(job, scope))
    except ExportRefused as refusal:
        _fail(job, str(refusal))
    except Exception:
        # Logged with its trace (and reported to Sentry when on); the requester reads a French message. Not
        # raised again: without a broker the task runs inside the request, which must not end in a 500.
        logger.exception("Export %s : échec", job_id)
        _fail(job, FAILED_MESSAGE)
    return ExportJob.objects.get(pk=job_id)


class _Progress:
    """Writes `rows_done` as the file grows. On PostgreSQL the rows are read inside one transaction (below), so the
    count goes through a connection of its own, committed at once: the job page sees it move."""

    def __init__(self, job_id):
        self.job_id = job_id
        self.own = connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None

    def __call__(self, done):
        if self.own is None:
            ExportJob.objects.filter(pk=self.job_id).update(rows_done=done)
            return
        with self.own.cursor() as cursor:
            cursor.execute(f"UPDATE {ExportJob._meta.db_table} SET rows_done = %s WHERE id = %s", [done, self.job_id])

    def close(self):
        if self.own is not None:
            self.own.close()


def _reading():
    """On PostgreSQL, one transaction around the read: Django's server-side cursor is then declared without
    WITH HOLD and streams, where outside a transaction PostgreSQL materialises the whole result first (43 s for
    the 2 million national actions before the first row). The file is also one consistent snapshot."""
    return transaction.atomic() if connection.vendor == "postgresql" else contextlib.nullcontext()


def _write(job, export):
    storage = job.file.storage
    name = f"{timezone.now():%Y/%m}/{export.kind}-{job.pk}.csv"
    final = storage.path(name)
    partial = f"{final}.{os.getpid()}.partiel"
    os.makedirs(os.path.dirname(final), exist_ok=True)
    # The exact count is cheap next to writing the rows, and gives the progress bar its end.
    ExportJob.objects.filter(pk=job.pk).update(rows_total=export.queryset.count())
    progress = _Progress(job.pk)
    rows_written = 0

    def counted(rows):
        nonlocal rows_written
        for row in rows:
            yield row
            rows_written += 1
            if rows_written % PROGRESS_EVERY == 0:
                progress(rows_written)

    started = time.monotonic()
    try:
        with _reading(), open(partial, "w", encoding="utf-8", newline="") as handle:
            for block in csv_blocks(export.header, counted(export.rows())):
                handle.write(block)
        os.replace(partial, final)
    finally:
        progress.close()
        if os.path.exists(partial):
            os.remove(partial)
    now = timezone.now()
    with transaction.atomic():
        updated = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
            status=ExportJob.Status.DONE,
            file=name,
            file_size=os.path.getsize(final),
            rows_done=rows_written,
            rows_total=rows_written,
            finished_at=now,
            expires_at=now + datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS),
        )
        if updated:
            job.refresh_from_db()
            _notify(job, Notification.Event.EXPORT_READY)
    logger.info("Export %s : %s lignes en %.1f s", job.pk, rows_written, time.monotonic() - started)


def _fail(job, message):
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, message=message, finished_at=timezone.now())
        job.refresh_from_db()
        _notify(job, Notification.Event.EXPORT_FAILED)


def _notify(job, event):
    user = job.created_by
    recipient = notifications.Recipient(
        email=user.email,
        reason=notifications.Reason.MEMBER,
        organisation_name=job.organisation.name,
        user_id=user.pk,
    )
    url = notifications.site_url(reverse("exports:detail", args=[job.pk]))
    what = f"L'export des {job.get_kind_display().lower()} demandé le {timezone.localtime(job.created_at):%d/%m/%Y à %H:%M}"
    if event == Notification.Event.EXPORT_READY:
        subject = f"Votre export des {job.get_kind_display().lower()} est prêt"
        rows = f"{job.rows_done:,}".replace(",", "\u202f") + (" lignes" if job.rows_done > 1 else " ligne")
        body = (
            f"{what} est prêt ({rows}). Téléchargez-le depuis cette page, jusqu'au "
            f"{timezone.localtime(job.expires_at):%d/%m/%Y} :\n{url}\n"
        )
    else:
        subject = f"Votre export des {job.get_kind_display().lower()} a échoué"
        body = f"{what} n'a pas pu être préparé.\n{job.message}\n{url}\n"
    notifications.notify(f"{event}:{job.pk}", event, [recipient], subject, body, url=url)


def file_name(job):
    """The download's name: the list and the day the file was made (`actions-2026-12-03.csv`)."""
    return f"{job.kind}-{timezone.localtime(job.finished_at or job.created_at).date().isoformat()}.csv"


def purge_expired(now=None):
    """Delete the files of jobs past their expiry date; the job stays (who asked what, when) as « Expiré »."""
    now = now or timezone.now()
    purged = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now).only("pk", "file"):
        if job.file:
            job.file.storage.delete(job.file.name)
        purged += ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
            status=ExportJob.Status.EXPIRED, file="", file_size=0
        )
    return purged
