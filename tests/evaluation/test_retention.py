"""Retention of compile runs: the rows of superseded or failed runs go after the delay, the runs stay, published
runs are never touched; the command, its dry run and the weekly task."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evaluation.engine import retention, runs, tasks
from evaluation.models import AnnualResult, EvaluationRun, ScopeType
from tests.evaluation.test_oracle import YEAR, build_territory

Status = EvaluationRun.Status


def finished(run, days_ago):
    EvaluationRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - datetime.timedelta(days=days_ago))
    run.refresh_from_db()
    return run


def rows(run):
    return AnnualResult.objects.filter(run=run).count()


@pytest.fixture
def history(db):
    """The year compiled three times: long ago (superseded), recently (superseded), then the published run
    (finished 150 days ago, nothing newer); a département run of an older version of the portal (never
    published); an old failed run with partial rows."""
    build_territory(2)
    h = type("History", (), {})()
    h.old = finished(runs.start_run(YEAR, sync=True), 200)
    h.recent = finished(runs.start_run(YEAR, sync=True), 10)
    h.published = finished(runs.start_run(YEAR, sync=True), 150)
    legacy = EvaluationRun.objects.create(
        year=YEAR, scope_type=ScopeType.DEPARTEMENT, scope_key="13", units=["dep:13"], units_total=1
    )
    runs.execute_sync(legacy.pk)
    h.legacy = finished(legacy, 400)
    h.failed = finished(runs.start_run(YEAR - 1, sync=True), 120)
    EvaluationRun.objects.filter(pk=h.failed.pk).update(status=Status.FAILED, error="Unité perdue.")
    return h


def test_only_superseded_or_failed_runs_past_the_delay_lose_their_rows(history):
    h = history
    kept = {run.pk: rows(run) for run in (h.recent, h.published)}
    shown = sorted(AnnualResult.objects.published().values_list("pk", flat=True))
    assert rows(h.old) > 0 and rows(h.failed) > 0 and rows(h.legacy) > 0
    assert set(AnnualResult.objects.filter(run=h.legacy).values_list("scope_type", flat=True)) == {
        "departement", "convention", "company", "qpv"
    }  # fmt: skip

    outcome = retention.purge_results(days=90)

    assert outcome.runs == 3 and outcome.rows > 0
    # A superseded run keeps its territorial figures (what was shown), not its detail; the failed run nothing.
    assert rows(h.failed) == 0
    territorial = {"national", "region", "departement", "club"}
    assert set(AnnualResult.objects.filter(run=h.old).values_list("scope_type", flat=True)) == territorial
    assert set(AnnualResult.objects.filter(run=h.legacy).values_list("scope_type", flat=True)) == {"departement"}
    assert {pk: AnnualResult.objects.filter(run_id=pk).count() for pk in kept} == kept
    # The runs stay, with the date their rows went; the published figures did not move.
    purged = EvaluationRun.objects.filter(results_purged_at__isnull=False)
    assert set(purged) == {h.old, h.legacy, h.failed}
    assert sorted(AnnualResult.objects.published().values_list("pk", flat=True)) == shown
    # Twice changes nothing.
    assert retention.purge_results(days=90) == retention.Purge(0, 0)


def test_the_delay_comes_from_the_settings(history, settings):
    settings.EVALUATION_RESULTS_RETENTION_DAYS = 5
    outcome = retention.purge_results()
    # The recent superseded run (10 days) goes too; the published ones never.
    assert outcome.runs == 4 and rows(history.published) > 0
    assert not AnnualResult.objects.filter(run=history.recent, scope_type__in=retention.DETAIL_SCOPES).exists()


def test_the_command_counts_first_then_deletes(history, capsys):
    before = AnnualResult.objects.count()
    call_command("purge_evaluation_results", "--days", "90", "--dry-run")
    out = capsys.readouterr().out
    assert "lignes de résultats seraient supprimées, de 3 compilation(s) remplacée(s)" in out
    assert AnnualResult.objects.count() == before

    call_command("purge_evaluation_results", "--days", "90")
    out = capsys.readouterr().out
    deleted = before - AnnualResult.objects.count()
    assert deleted > 0 and f"{deleted} lignes de résultats supprimées, de 3 compilation(s)" in out

    with pytest.raises(CommandError, match="nombre de jours positif"):
        call_command("purge_evaluation_results", "--days", "-1")


def test_the_weekly_task_purges_with_the_settings_delay(history, settings):
    settings.EVALUATION_RESULTS_RETENTION_DAYS = 90
    outcome = tasks.purge_evaluation_results.apply().get()
    assert (outcome["runs"], outcome["eager"]) == (3, True) and outcome["rows"] > 0
    assert "purge-compilations-remplacees" in settings.CELERY_BEAT_SCHEDULE
