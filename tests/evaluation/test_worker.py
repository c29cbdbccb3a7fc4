"""A real Celery worker on Redis runs the daily reminder job and the expected e-mails leave.

The worker is a thread of the test process (pool "solo"), so Django's locmem outbox sees its e-mails; it
reads the database through its own connection, hence a transactional test (committed data). Without a
broker the test is skipped, except in CI where it must run (CI exports CELERY_BROKER_URL).
"""

import threading
import time
import uuid

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker checks)
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult, EagerResult
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections

from evaluation.campaigns import tasks
from evaluation.models import Notification
from tests.evaluation.conftest import REMINDER

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def broker(in_ci):
    if not settings.CELERY_BROKER_URL:
        message = "CELERY_BROKER_URL n'est pas défini : le test du worker Celery sur Redis ne peut pas tourner."
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return settings.CELERY_BROKER_URL


RAN_IN = []


def after_task(sender=None, **kwargs):
    # Runs where the task ran: records the thread, and closes that thread's database connection, which
    # must not outlive the test (PostgreSQL refuses to drop the test database while it is open).
    RAN_IN.append((sender.name, threading.current_thread()))
    connections.close_all()


@pytest.fixture
def worker_app(broker):
    """An app configured like the project's (settings, CELERY_BROKER_URL) whose default queue is a queue of
    its own: the ping check and the job go there, so neither a stray worker on the same broker nor an old
    message left in the usual queue can interfere. The project's tasks are shared tasks: registered here too."""
    from charte.celery import app as project_app

    app = Celery("charte-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = f"charte-test-{uuid.uuid4().hex[:10]}"
    yield app
    # start_worker makes its app the current one; give the project its app back.
    project_app.set_current()
    project_app.set_default()
    app.close()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_reminders_once(worker_app, broker, world, mailoutbox):
    from charte.celery import app as project_app

    app = worker_app
    # Configured from the environment: a real broker, no in-place execution.
    assert project_app.conf.task_always_eager is False and app.conf.task_always_eager is False
    assert app.conf.broker_url == broker
    queue = app.conf.task_default_queue

    RAN_IN.clear()
    task_postrun.connect(after_task, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=True):
            reminders = app.tasks[tasks.send_campaign_reminders.name]
            first = reminders.delay(REMINDER.isoformat())
            assert isinstance(first, AsyncResult) and not isinstance(first, EagerResult)
            outcome = first.get(timeout=30)
            # Sent twice (a beat that fires again, a redelivered message): nothing more leaves.
            again = reminders.delay(REMINDER.isoformat()).get(timeout=30)
            # The e-mails leave in a task of their own (evaluation.deliver_notification), queued after commit.
            deadline = time.monotonic() + 30
            while not Notification.objects.filter(sent_at__isnull=False).exists() and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(after_task)

    assert outcome == {
        "opened": 0,
        "reminders": 1,
        "last_reminders": 0,
        "overdue": 0,
        "redelivered": 0,
        "eager": False,
        "queue": queue,
    }
    reminder_threads = [thread for name, thread in RAN_IN if name == tasks.send_campaign_reminders.name]
    assert len(reminder_threads) == 2 and threading.current_thread() not in reminder_threads
    assert [name for name, _thread in RAN_IN].count(tasks.deliver_notification.name) == 1
    assert again["reminders"] == 0
    assert sorted(m.to for m in mailoutbox) == [["claire@brl.example"], ["paul@brl.example"]]
    assert "votre déclaration est attendue avant le 31/03/2018" in mailoutbox[0].subject
    assert Notification.objects.get().sent_at is not None
