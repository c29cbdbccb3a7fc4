"""Large CSV exports as export jobs (issues 14/17): past EXPORT_BACKGROUND_ROWS rows the list's export button offers
to prepare the file in the background; a Celery task (eager here) writes it to private storage with the requester's
scope rebuilt at run time, the requester is notified and downloads it; nobody else can, and it expires."""

import datetime
import html
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import Membership, OrganisationKind
from evaluation.exports import jobs
from evaluation.models import ExportJob, NotificationDelivery
from tests.conventions.test_pages_support import World, login, person
from tests.factories import ActionFactory, EstablishmentFactory, MembershipFactory

pytestmark = pytest.mark.django_db

LISTS = {"actions": "actions:export", "conventions": "conventions:export", "entreprises": "entreprises:export"}


@pytest.fixture
def world(db):
    world = World()
    for n in range(3):
        action = ActionFactory(
            title=f"Stage Hérault {n}", departement=world.herault, club=world.club, convention=world.convention
        )
        action.companies.set([world.company])
    foreign = ActionFactory(title="Stage Gard", departement=world.gard, club=world.other_club, convention=world.foreign)
    foreign.companies.set([world.other_company])
    ActionFactory(title='=HYPERLINK("http://evil.example")', departement=world.herault)
    EstablishmentFactory(company=world.company)
    return world


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """The export task is sent after commit (eager without a broker): the tests run those callbacks."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def small_threshold(settings):
    settings.EXPORT_BACKGROUND_ROWS = 1


def ask(client, kind, query="", capture=None):
    """Open the export as the button does, then confirm the job on the offer page; the task runs on commit."""
    offer = client.get(reverse(LISTS[kind]) + (f"?{query}" if query else ""))
    assert offer.status_code == 200 and not offer.streaming
    assert "Préparer l'export" in offer.content.decode()
    with capture(execute=True):
        response = client.post(reverse("exports:create"), {"kind": kind, "query": query})
    assert response.status_code == 302
    return ExportJob.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def streamed(client, kind, query=""):
    response = client.get(reverse(LISTS[kind]) + (f"?{query}" if query else ""))
    assert response.streaming
    return b"".join(response.streaming_content)


def downloaded(client, job):
    response = client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return b"".join(response.streaming_content)


def test_a_small_export_streams_and_a_large_one_offers_a_job(client, world, settings):
    login(client, world.prefecture)
    assert client.get(reverse("actions:export")).streaming
    settings.EXPORT_BACKGROUND_ROWS = 2
    offer = client.get(reverse("actions:export") + "?departement=")
    text = offer.content.decode()
    assert not offer.streaming and "plus de 2 lignes" in text
    assert 'name="kind" value="actions"' in text and 'action="/exports/nouveau/"' in text
    assert not ExportJob.objects.exists()  # opening the export writes nothing: the POST does


@pytest.mark.parametrize("kind", LISTS)
def test_the_job_file_is_the_streamed_export_for_the_same_filters_and_scope(client, world, settings, kind, on_commit):
    login(client, world.prefecture)
    query = urlencode({"departement": world.herault.pk}) if kind == "actions" else ""
    expected = streamed(client, kind, query)
    settings.EXPORT_BACKGROUND_ROWS = 0  # the préfecture has one convention and one company: any row makes a job

    job = ask(client, kind, query, on_commit)

    assert job.status == ExportJob.Status.DONE, job.message
    assert downloaded(client, job) == expected
    assert job.rows_done == expected.count(b"\r\n") - 1 > 0
    if kind == "actions":
        assert b"'=HYPERLINK" in expected  # the same neutralisation as the streamed file


def test_lifecycle_progress_notification_and_download(client, world, small_threshold, on_commit):
    login(client, world.prefecture)
    job = ask(client, "actions", "", on_commit)

    assert job.status == ExportJob.Status.DONE
    assert job.rows_total == job.rows_done == 4  # the Hérault's four actions, not the Gard's
    assert job.expires_at - job.finished_at == datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS)
    # Private storage: under EXPORT_ROOT, not under MEDIA_ROOT, and no public URL.
    path = Path(job.file.path)
    assert path.is_file() and Path(settings.EXPORT_ROOT) in path.parents
    assert Path(settings.MEDIA_ROOT) not in path.parents
    with pytest.raises(ValueError):
        job.file.url  # noqa: B018
    assert not [name for name in os.listdir(path.parent) if name.endswith(".partiel")]

    page = client.get(reverse("exports:detail", args=[job.pk])).content.decode()
    assert "Fichier prêt" in page and reverse("exports:download", args=[job.pk]) in page
    progress = client.get(reverse("exports:progress", args=[job.pk])).json()
    assert progress["finished"] and progress["succeeded"] and progress["percent"] == 100

    delivery = NotificationDelivery.objects.select_related("notification").get(user=world.prefecture)
    assert delivery.notification.event == "export_ready"
    assert "est prêt (4 lignes)" in delivery.notification.body
    assert delivery.notification.url.endswith(reverse("exports:detail", args=[job.pk]))

    listing = client.get(reverse("exports:list")).content.decode()
    assert "Actions" in listing and reverse("exports:download", args=[job.pk]) in listing


def test_a_pending_job_shows_a_progress_bar_updated_by_script(client, world):
    membership = world.prefecture.memberships.get()
    job = ExportJob.objects.create(
        kind="actions",
        created_by=world.prefecture,
        membership=membership,
        organisation=membership.organisation,
        status=ExportJob.Status.RUNNING,
        rows_total=200,
        rows_done=50,
    )
    login(client, world.prefecture)
    page = client.get(reverse("exports:detail", args=[job.pk])).content.decode()
    assert '<progress class="charte-progress" id="progression-export" max="100" value="25">' in page
    assert "js/export-progress.js" in page and 'http-equiv="refresh"' not in page
    progress = client.get(reverse("exports:progress", args=[job.pk])).json()
    assert progress == {**progress, "finished": False, "percent": 25, "rows_done": 50, "rows_total": 200}


def test_only_the_requester_reads_the_job_even_the_national_level_gets_404(client, world, small_threshold, on_commit):
    login(client, world.prefecture)
    job = ask(client, "actions", "", on_commit)
    colleague = MembershipFactory(organisation=world.prefecture.memberships.get().organisation).user
    for other in (world.national, colleague, world.club_user):
        login(client, other)
        for name in ("exports:detail", "exports:progress", "exports:download"):
            response = client.get(reverse(name, args=[job.pk]))
            assert response.status_code == 404, (other, name)
        assert reverse("exports:detail", args=[job.pk]) not in client.get(reverse("exports:list")).content.decode()


def test_a_prefecture_job_never_holds_another_departement_even_with_tampered_filters(client, world, small_threshold, on_commit):
    login(client, world.prefecture)
    tampered = urlencode({"departement": world.gard.pk, "convention": world.foreign.pk, "company": world.other_company.pk})
    job = ask(client, "actions", tampered, on_commit)
    content = downloaded(client, job).decode("utf-8-sig")
    assert job.status == ExportJob.Status.DONE
    assert "Stage Gard" not in content and world.foreign.reference not in content and world.other_company.siren not in content

    # Jobs of every list posted with the Gard's filters, or none: never one of the Gard's rows.
    membership = world.prefecture.memberships.get()
    for kind in LISTS:
        for query in (urlencode({"departement": world.gard.pk, "q": "SNCF"}), ""):
            job = jobs.create_job(user=world.prefecture, scope=_scope(membership), kind=kind, query=query)
            jobs.run(job.pk)
            job.refresh_from_db()
            content = job.file.open("rb").read().decode("utf-8-sig") if job.file else ""
            assert job.status == ExportJob.Status.DONE, job.message
            assert "SNCF Gard" not in content and world.foreign.reference not in content and "Stage Gard" not in content


def test_an_unknown_list_or_no_organisation_creates_no_job(client, world):
    login(client, world.prefecture)
    response = client.post(reverse("exports:create"), {"kind": "utilisateurs", "query": ""}, follow=True)
    assert "Cette liste ne s'exporte pas." in html.unescape(response.content.decode())
    assert not ExportJob.objects.exists()


def test_a_membership_ended_before_the_task_runs_fails_the_job_with_a_clear_message(client, world, small_threshold):
    membership = world.prefecture.memberships.get()
    job = jobs.create_job(user=world.prefecture, scope=_scope(membership), kind="actions", query="")
    Membership.objects.filter(pk=membership.pk).update(is_active=False)

    jobs.run(job.pk)

    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and not job.file
    assert job.message.startswith("Votre adhésion à « Préfecture de l'Hérault » n'est plus active")
    notification = NotificationDelivery.objects.get(user=world.prefecture).notification
    assert notification.event == "export_failed" and job.message in notification.body


def test_an_error_while_writing_fails_the_job_with_a_french_message_and_no_file(client, world, monkeypatch, on_commit):
    def broken(scope, data):
        raise RuntimeError("disque plein")

    monkeypatch.setitem(jobs.EXPORTS, ExportJob.Kind.ACTIONS, broken)
    membership = world.prefecture.memberships.get()
    with on_commit(execute=True):
        job = jobs.create_job(user=world.prefecture, scope=_scope(membership), kind="actions", query="")
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and job.message == jobs.FAILED_MESSAGE
    login(client, world.prefecture)
    page = client.get(reverse("exports:detail", args=[job.pk])).content.decode()
    assert "L'export a échoué" in html.unescape(page) and "erreur inattendue" in page
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404


def test_a_job_run_twice_is_written_once(world):
    membership = world.prefecture.memberships.get()
    job = jobs.create_job(user=world.prefecture, scope=_scope(membership), kind="actions", query="")
    jobs.run(job.pk)
    first = ExportJob.objects.get(pk=job.pk)
    assert jobs.run(job.pk) is None  # delivered again (acks_late): already done, left alone
    again = ExportJob.objects.get(pk=job.pk)
    assert (again.status, again.file.name, again.finished_at) == (first.status, first.file.name, first.finished_at)
    assert NotificationDelivery.objects.filter(user=world.prefecture).count() == 1


def test_expired_files_are_purged_and_no_longer_served(client, world):
    membership = world.prefecture.memberships.get()
    job = jobs.create_job(user=world.prefecture, scope=_scope(membership), kind="actions", query="")
    jobs.run(job.pk)
    job.refresh_from_db()
    path = Path(job.file.path)
    assert jobs.purge_expired(now=timezone.now() + datetime.timedelta(days=6)) == 0
    assert path.exists()

    assert jobs.purge_expired(now=job.expires_at + datetime.timedelta(seconds=1)) == 1

    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED and not job.file and not path.exists()
    login(client, world.prefecture)
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
    assert "Fichier expiré" in client.get(reverse("exports:detail", args=[job.pk])).content.decode()


def test_the_beat_schedule_purges_exports_daily():
    assert settings.CELERY_BEAT_SCHEDULE["purge-exports-expires"]["task"] == "evaluation.purge_exports"


def test_the_jobs_list_runs_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    membership = world.prefecture.memberships.get()

    def make(count):
        for _ in range(count):
            ExportJob.objects.create(
                kind="actions", created_by=world.prefecture, membership=membership, organisation=membership.organisation
            )

    login(client, world.prefecture)
    make(2)
    with django_assert_max_num_queries(12) as few:
        assert client.get(reverse("exports:list")).status_code == 200
    make(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("exports:list") + "?kind=actions&status=pending")
    assert page.status_code == 200 and page.content.decode().count("En attente") >= 20


def _scope(membership):
    from charte.comptes.scoping import Scope

    return Scope.for_membership(membership)


def test_a_partner_job_holds_no_action(world, small_threshold):
    partner = person(OrganisationKind.PARTNER, [world.herault], name="Partenaire")
    membership = partner.memberships.get()
    job = jobs.create_job(user=partner, scope=_scope(membership), kind="actions", query="")
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.rows_done == 0
