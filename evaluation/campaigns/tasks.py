"""Celery tasks of the campaigns: thin wrappers that take ids or dates and call plain functions.

Each may run twice (acks_late: a worker lost mid-task gives it back to the broker); the functions they
call are idempotent (Notification's unique key). A database that briefly refuses connections is retried
with an exponential backoff, a bounded number of times.
"""

import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from charte.celery import RETRY

from . import notifications


def _delivery(request):
    """How the task reached us (logged in the result backend): a queue of the broker, or run in place."""
    return {"eager": bool(request.is_eager), "queue": (request.delivery_info or {}).get("routing_key")}


# A mail server that refuses is retried like a database that does: same backoff, same bound; what is still
# pending afterwards is sent by `deliver_pending` (hourly, beat).
DELIVERY_RETRY = {**RETRY, "autoretry_for": (OperationalError, notifications.DeliveryFailed)}


@shared_task(bind=True, name="evaluation.send_campaign_reminders", **RETRY)
def send_campaign_reminders(self, today=None):
    """Daily (beat): the campaigns' e-mails to the companies still pending (opening, reminder, last reminder,
    overdue), then the e-mails that could not leave earlier. `today`: ISO date, for tests and catch-up runs."""
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    counts = notifications.send_campaign_notifications(day)
    redelivered = notifications.deliver_pending()
    return {
        "opened": counts[notifications.Event.OPENED],
        "reminders": counts[notifications.Event.REMINDER],
        "last_reminders": counts[notifications.Event.LAST_REMINDER],
        "overdue": counts[notifications.Event.OVERDUE],
        "redelivered": redelivered,
        **_delivery(self.request),
    }


@shared_task(bind=True, name="evaluation.send_convention_renewal_notices", **RETRY)
def send_convention_renewal_notices(self, today=None):
    """Daily (beat): conventions ending within RENEWAL_NOTICE_DAYS whose renewal is not signed."""
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    return {"renewals": notifications.send_convention_renewal_notices(day), **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.deliver_pending_notifications", **RETRY)
def deliver_pending_notifications(self):
    """Hourly (beat): the e-mails whose retries ran out (the mail server was down longer)."""
    return {"redelivered": notifications.deliver_pending(), **_delivery(self.request)}


@shared_task(bind=True, name=notifications.DELIVER_TASK, **DELIVERY_RETRY)
def deliver_notification(self, notification_id):
    """Enqueued after commit for each notification recorded: its e-mails, one per recipient."""
    return {"sent": notifications.deliver(notification_id), **_delivery(self.request)}


@shared_task(bind=True, name="evaluation.notify_declaration_event", **RETRY)
def notify_declaration_event(self, declaration_id, event):
    """Enqueued after commit by the services when a declaration is submitted, returned or validated."""
    notification = notifications.notify_declaration_event(declaration_id, event)
    return {"notification": notification.pk if notification else None, **_delivery(self.request)}
