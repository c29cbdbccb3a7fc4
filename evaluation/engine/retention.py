"""How long the rows of old compile runs stay.

The nightly national compile writes about a million rows at the scale of France, 97 % of them for conventions,
companies and QPV: kept forever, superseded runs would fill the database. Once a run is superseded (it is not
the published run of its year: a later national run succeeded, or it is a département, région or club run of an
older version of the portal, never published) and finished more than
`EVALUATION_RESULTS_RETENTION_DAYS` ago, its convention, company and QPV rows go; its territorial rows
(national, régions, départements, clubs: what a préfet or a club was shown, ~30,000 rows) stay for audit, with
the run itself (who asked, when, status, error, and the date its detail went). A failed run's partial rows are
never read: they all go after the same delay. Published runs are never touched, however old.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import AnnualResult, EvaluationRun, ScopeType

# What a superseded run loses: the detail. Its territorial figures stay.
DETAIL_SCOPES = (ScopeType.CONVENTION, ScopeType.COMPANY, ScopeType.QPV)


@dataclass
class Purge:
    runs: int = 0
    rows: int = 0


def purgeable_runs(days=None, now=None):
    days = settings.EVALUATION_RESULTS_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    return (
        EvaluationRun.objects.filter(
            status__in=[EvaluationRun.Status.SUCCEEDED, EvaluationRun.Status.FAILED],
            finished_at__lt=cutoff,
            results_purged_at__isnull=True,
        )
        .exclude(pk__in=EvaluationRun.objects.published().values("pk"))
        .order_by("pk")
    )


def purge_results(days=None, now=None, dry_run=False):
    """Delete the rows of the runs `purgeable_runs` lists, one run per transaction. Returns what was (or, with
    `dry_run`, would be) deleted."""
    outcome = Purge()
    for run_id in list(purgeable_runs(days, now).values_list("pk", flat=True)):
        with transaction.atomic():
            # Locked and checked again: a run published meanwhile (the newer one deleted) keeps its rows.
            run = EvaluationRun.objects.select_for_update().get(pk=run_id)
            if run.results_purged_at or EvaluationRun.objects.published().filter(pk=run.pk).exists():
                continue
            rows = AnnualResult.objects.filter(run=run)
            if run.status == EvaluationRun.Status.SUCCEEDED:
                rows = rows.filter(scope_type__in=DETAIL_SCOPES)
            if dry_run:
                outcome.rows += rows.count()
            else:
                outcome.rows += rows.delete()[0]
                run.results_purged_at = now or timezone.now()
                run.save(update_fields=["results_purged_at"])
            outcome.runs += 1
    return outcome
