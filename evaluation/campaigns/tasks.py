"""Celery tasks of the campaigns: thin wrappers that take ids or dates and call plain functions.

Each may run twice (acks_late: a worker lost mid-task gives it back to the broker); the functions they
call are idempotent (Notification's unique key). A database that briefly refuses connections is retried
with an exponential backoff, a bounded number of times.
"""

import datetime

from celery import shared_task
from django.utils import timezone

from charte.celery import RETRY

from . import notifications


def _delivery(request):
    """How the task reached us (logged in the result backend): a queue of the broker, or run in place."""
    return {"eager": bool(request.is_eager), "queue": (request.delivery_info or {}).get("routing_key")}


@shared_task(bind=True, name="evaluation.send_campaign_reminders", **RETRY)
def send_campaign_reminders(self, today=None):
    """Daily (beat): reminders of the campaigns between their reminder and close dates, then the e-mails
    that could not leave earlier. `today`: ISO date, for tests and catch-up runs."""
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    sent = notifications.send_campaign_reminders(day)
    redelivered = notifications.deliver_pending()
    return {"reminders": sent, "redelivered": redelivered, **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.notify_declaration_event", **RETRY)
def notify_declaration_event(self, declaration_id, event):
    """Enqueued after commit by the services when a declaration is returned or validated."""
    notification = notifications.notify_declaration_event(declaration_id, event)
    return {"notification": notification.pk if notification else None, **_delivery(self.request)}
