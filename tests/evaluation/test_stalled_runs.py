"""A compile whose tasks were lost (worker killed and its message lost, broker flushed) never ends by itself:
`runs.fail_stalled_runs` (beat, every five minutes) fails it after EVALUATION_STALLED_AFTER_MINUTES without progress,
publishes nothing of it, and the report page offers « Relancer la compilation ». A slow run whose units still report
is left alone."""

import datetime
import html as html_lib
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from evaluation.engine import runs
from evaluation.engine import tasks as engine_tasks
from evaluation.models import AnnualResult, EvaluationRun
from tests.evaluation.test_oracle import YEAR, build_territory
from tests.factories import MembershipFactory, OrganisationFactory, departement

Status = EvaluationRun.Status


def lost_run(done=2):
    """A national run whose tasks were sent and lost after `done` units: what the broker held is gone."""
    run = EvaluationRun.objects.create(year=YEAR, units=runs.engine.units_for("national"), trigger="portal")
    EvaluationRun.objects.filter(pk=run.pk).update(units_total=len(run.units))
    for unit in run.units[:done]:
        runs.run_unit(run.pk, unit)
    run.refresh_from_db()
    return run


def later(minutes):
    return timezone.now() + datetime.timedelta(minutes=minutes)


@pytest.fixture
def published(db):
    build_territory(2)
    return runs.start_run(YEAR, sync=True)


def text(response):
    return re.sub(r"\s+", " ", html_lib.unescape(response.content.decode()))


def test_a_run_whose_tasks_were_lost_is_failed_in_french_and_nothing_of_it_is_published(published, settings):
    settings.EVALUATION_STALLED_AFTER_MINUTES = 30
    run = lost_run(done=2)
    assert run.status == Status.RUNNING and run.units_done == 2 and run.progress_at

    # 29 minutes without news: maybe slow, left alone.
    assert runs.fail_stalled_runs(now=later(29)) == []
    assert EvaluationRun.objects.get(pk=run.pk).status == Status.RUNNING

    assert runs.fail_stalled_runs(now=later(31)) == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.finished_at
    assert run.error.startswith("Compilation arrêtée : aucune de ses tâches n'a avancé depuis 30 minutes")
    assert f"{len(run.units) - 2} unités non calculées : {run.units[2]}, " in run.error
    assert "Rien n'en est publié ; relancez la compilation." in run.error
    # The published figures stay those of the previous run.
    assert list(EvaluationRun.objects.published()) == [published]

    # A lost task delivered late (the broker gave it back) changes nothing: no rows, no publication.
    rows_before = AnnualResult.objects.filter(run=run).count()
    for unit in run.units[2:]:
        assert runs.run_unit(run.pk, unit) == 0
    runs.finish(run.pk)
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.units_done == 2
    assert AnnualResult.objects.filter(run=run).count() == rows_before
    assert list(EvaluationRun.objects.published()) == [published]
    # Run again, the detector finds nothing more.
    assert runs.fail_stalled_runs(now=later(120)) == []


def test_a_slow_run_whose_units_still_report_is_not_killed(db, settings):
    settings.EVALUATION_STALLED_AFTER_MINUTES = 30
    build_territory(1)
    run = lost_run(done=1)
    # Started two hours ago, but its last unit reported 20 minutes ago: alive.
    EvaluationRun.objects.filter(pk=run.pk).update(created_at=later(-120), started_at=later(-120), progress_at=later(-20))
    assert runs.fail_stalled_runs() == []
    # Then a unit starts and ends: its heartbeat moves forward, so even 25 minutes after that, still alive.
    runs.run_unit(run.pk, run.units[1])
    run.refresh_from_db()
    assert run.progress_at > later(-1)
    assert runs.fail_stalled_runs(now=later(25)) == []
    assert EvaluationRun.objects.get(pk=run.pk).status == Status.RUNNING
    # A pending run never started is judged from its creation.
    pending = EvaluationRun.objects.create(year=YEAR + 1, units=["34"], units_total=1)
    assert runs.fail_stalled_runs(now=later(29)) == []
    assert set(runs.fail_stalled_runs(now=later(31))) == {run.pk, pending.pk}


def test_the_beat_task_fails_the_stalled_runs(db, settings):
    settings.EVALUATION_STALLED_AFTER_MINUTES = 30
    build_territory(1)
    run = lost_run(done=1)
    EvaluationRun.objects.filter(pk=run.pk).update(progress_at=later(-31))
    assert engine_tasks.fail_stalled_runs.apply().get()["failed"] == [run.pk]
    assert EvaluationRun.objects.get(pk=run.pk).status == Status.FAILED
    assert any(entry["task"] == "evaluation.fail_stalled_runs" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_asking_again_fails_the_stalled_run_and_starts_one_new_run(
    client, published, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATION_STALLED_AFTER_MINUTES = 30
    run = lost_run(done=2)
    prefecture = OrganisationFactory(name="Préfecture 34", departements=[departement("34")])
    client.force_login(MembershipFactory(organisation=prefecture).user)

    # Still running: the button is disabled while the run is active.
    html = text(client.get("/rapports/departement/34/", {"annee": YEAR}))
    assert "Compilation 2017 : en cours" in html and "compilation-echouee" not in html

    EvaluationRun.objects.filter(pk=run.pk).update(progress_at=later(-31))
    # Asking for a compile fails the lost run first, then starts a new one; pressing again while the new one is
    # alive returns it (no second run).
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert client.post("/rapports/departement/34/lancer/", {"annee": YEAR}).status_code == 302
        assert client.post("/rapports/departement/34/lancer/", {"annee": YEAR}).status_code == 302
    run.refresh_from_db()
    assert run.status == Status.FAILED
    newest = EvaluationRun.objects.order_by("-pk").first()
    assert newest.pk != run.pk and newest.status == Status.PENDING
    assert EvaluationRun.objects.count() == 3 and len(sent) == 1
    # Its tasks run: the new run is published.
    sent[0]()
    newest.refresh_from_db()
    assert newest.status == Status.SUCCEEDED
    assert list(EvaluationRun.objects.published()) == [newest]


def test_the_report_page_offers_relancer_after_a_stalled_run(client, published, settings):
    settings.EVALUATION_STALLED_AFTER_MINUTES = 30
    run = lost_run(done=2)
    runs.fail_stalled_runs(now=later(31))
    prefecture = OrganisationFactory(name="Préfecture 34", departements=[departement("34")])
    client.force_login(MembershipFactory(organisation=prefecture).user)

    html = text(client.get("/rapports/departement/34/", {"annee": YEAR}))
    assert "La dernière compilation 2017 a échoué" in html
    assert EvaluationRun.objects.get(pk=run.pk).error.split(" (")[0] in html
    assert "Les chiffres ci-dessous sont ceux de la dernière compilation réussie." in html
    assert "Relancer la compilation 2017</button>" in html and "<progress" not in html


def test_while_a_run_is_alive_asking_again_returns_it(db, django_capture_on_commit_callbacks):
    build_territory(1)
    with django_capture_on_commit_callbacks(execute=False):
        first = runs.start_run(YEAR)
        second = runs.start_run(YEAR)
    assert first.pk == second.pk and EvaluationRun.objects.count() == 1


def test_the_durations_check_refuses_a_time_limit_above_the_visibility_timeout(settings):
    from django.core.management.base import SystemCheckError

    settings.CELERY_TASK_TIME_LIMIT = 4000
    with pytest.raises(SystemCheckError, match="charte.E003"):
        call_command("check")
