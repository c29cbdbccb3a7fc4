"""E-mails: reminders from the reminder date to the close to the companies that have not submitted, the
return and the validation; each event sent once, however many times the job runs."""

import datetime

import pytest

from charte.comptes.models import Membership
from evaluation.campaigns import notifications, services, tasks
from evaluation.models import Notification
from tests.evaluation.conftest import CLOSES, DURING, OPENS, REMINDER, active_convention, company_with_members, key


@pytest.fixture
def pending_world(world):
    """BRL has not submitted; "Transmise SA" has; "Renvoyée SA" was returned; "Sans compte" has nobody to write to."""
    w = world
    submitted, ((submitted_user, _),) = company_with_members("Transmise SA", "transmise@example.org")
    returned, ((returned_user, _),) = company_with_members("Renvoyée SA", "renvoyee@example.org")
    nobody, _ = company_with_members("Sans compte")
    conventions = {c: active_convention(c) for c in (submitted, returned, nobody)}
    services.sync_expected_declarations(w.campaign)
    from tests.factories import CommitmentFactory

    for company, user in ((submitted, submitted_user), (returned, returned_user)):
        convention = conventions[company]
        commitment = CommitmentFactory(convention=convention)
        declaration = convention.declarations.get()
        services.save_draft(declaration, user, {key(commitment, "STAGE3_OFFERTS"): ("2", "")}, 1, today=DURING)
        services.submit(declaration, user, today=DURING)
    services.return_declaration(
        conventions[returned].declarations.get(), w.prefecture_user, w.prefecture_scope, "Incomplet", today=DURING
    )
    Membership.objects.filter(user=w.colleague).update(is_active=False)  # left the company: no more e-mails
    return w


def run_job(day, capture):
    with capture(execute=True):
        return tasks.send_campaign_reminders.delay(day.isoformat()).get()


def test_reminders_go_once_to_the_companies_that_have_not_submitted(
    pending_world, mailoutbox, django_capture_on_commit_callbacks
):
    result = run_job(REMINDER, django_capture_on_commit_callbacks)

    assert result["reminders"] == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["claire@brl.example", "renvoyee@example.org"]
    brl = next(m for m in mailoutbox if m.to == ["claire@brl.example"])
    assert brl.subject == "Campagne 2017 — Hérault : votre déclaration est attendue avant le 31/03/2018"
    assert "034-2016-BRL" in brl.body and "dans 30 jours" in brl.body
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2

    # The job runs again the same day, and every day until the last reminder: nothing more.
    assert run_job(REMINDER, django_capture_on_commit_callbacks)["reminders"] == 0
    assert run_job(CLOSES - datetime.timedelta(days=4), django_capture_on_commit_callbacks)["reminders"] == 0
    assert len(mailoutbox) == 2


def test_each_stage_of_the_campaign_is_sent_once(pending_world, mailoutbox, django_capture_on_commit_callbacks):
    """Opening, reminder, last reminder (J-3) and overdue (after the close): one e-mail each per company still
    pending, whatever the number of runs; nothing before the opening nor long after the close."""

    def stage(day):
        result = run_job(day, django_capture_on_commit_callbacks)
        return {k: v for k, v in result.items() if k in ("opened", "reminders", "last_reminders", "overdue") and v}

    assert stage(OPENS - datetime.timedelta(days=1)) == {}
    assert stage(OPENS) == {"opened": 2}
    assert stage(REMINDER - datetime.timedelta(days=1)) == {}
    assert stage(REMINDER) == {"reminders": 2}
    assert stage(CLOSES - datetime.timedelta(days=3)) == {"last_reminders": 2}
    assert stage(CLOSES) == {}
    assert stage(CLOSES + datetime.timedelta(days=1)) == {"overdue": 2}
    assert stage(CLOSES + datetime.timedelta(days=2)) == {}
    assert len(mailoutbox) == 8
    subjects = [m.subject for m in mailoutbox if m.to == ["claire@brl.example"]]
    assert subjects == [
        "Campagne 2017 — Hérault : la campagne est ouverte jusqu'au 31/03/2018",
        "Campagne 2017 — Hérault : votre déclaration est attendue avant le 31/03/2018",
        "Dernière relance — Campagne 2017 — Hérault : votre déclaration est attendue avant le 31/03/2018",
        "Campagne 2017 — Hérault : campagne close, déclaration non transmise",
    ]


def test_a_missed_reminder_day_is_caught_up_before_the_close(pending_world, mailoutbox, django_capture_on_commit_callbacks):
    assert run_job(REMINDER + datetime.timedelta(days=3), django_capture_on_commit_callbacks)["reminders"] == 2


def test_return_and_validation_notified_once_each(world, mailoutbox, django_capture_on_commit_callbacks):
    w, d = world, world.declaration
    with django_capture_on_commit_callbacks(execute=True):
        services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, d.version, today=DURING)
        services.submit(d, w.company_user, today=DURING)
    # Submitted: the convention's club and the préfecture of the Hérault; not the Gard's, not the national level.
    assert sorted(m.to[0] for m in mailoutbox) == ["agent@herault.gouv.fr", "animatrice@face-herault.org"]
    assert mailoutbox[0].subject == "Déclaration 2017 à vérifier : BRL (034-2016-BRL)"
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.return_declaration(d, w.animator, w.club_scope, "Ajoutez la feuille d'émargement.", today=DURING)
    assert sorted(m.to[0] for m in mailoutbox) == ["claire@brl.example", "paul@brl.example"]
    assert {m.subject for m in mailoutbox} == {"Déclaration 2017 renvoyée pour correction : 034-2016-BRL"}
    assert "Ajoutez la feuille d'émargement." in mailoutbox[0].body  # not HTML-escaped in a text e-mail

    # The same event delivered twice by the broker: no new e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.notify_declaration_event.delay(d.pk, "returned")
    assert len(mailoutbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        services.submit(d, w.company_user, today=DURING)
        services.validate(d, w.animator, w.club_scope, today=DURING)
    validated = [m for m in mailoutbox if "validée" in m.subject]
    assert sorted(m.to[0] for m in validated) == ["claire@brl.example", "paul@brl.example"]
    assert validated[0].subject == "Déclaration 2017 validée : 034-2016-BRL"
    assert Notification.objects.filter(event="validated", declaration=d).count() == 1
    assert Notification.objects.filter(event="submitted", declaration=d).count() == 2  # two submissions, two events


def test_an_e_mail_that_could_not_leave_is_sent_by_a_later_run(
    world, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.mail import EmailMultiAlternatives

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("serveur SMTP injoignable")

    monkeypatch.setattr(EmailMultiAlternatives, "send", broken)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.send_campaign_reminders(REMINDER)  # the task retries, then gives up: the rows stay pending
    notification = Notification.objects.get()
    assert notification.sent_at is None and mailoutbox == []
    assert notification.deliveries.filter(sent_at__isnull=True).count() == 2

    monkeypatch.undo()
    later = notification.created_at + notifications.REDELIVERY_DELAY + datetime.timedelta(minutes=1)
    assert notifications.deliver_pending(now=later) == 2
    assert sorted(m.to for m in mailoutbox) == [["claire@brl.example"], ["paul@brl.example"]]
    assert notifications.deliver_pending(now=later) == 0
    notification.refresh_from_db()
    assert notification.sent_at is not None


def test_the_reminder_job_is_in_the_beat_schedule():
    from django.conf import settings

    from charte.celery import app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in (tasks.send_campaign_reminders, tasks.send_convention_renewal_notices, tasks.deliver_pending_notifications):
        assert task.name in scheduled
        assert task.name in app.tasks
