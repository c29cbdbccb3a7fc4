"""The follow-ups of the 360° surveys, run daily by beat; the logic is `services.send_due_follow_ups`, safe to
run twice (each contact is locked and marked as it is sent)."""

from celery import shared_task

from . import services


@shared_task(
    name="evaluation.send_survey_follow_ups", acks_late=True, autoretry_for=(ConnectionError,), max_retries=3, retry_backoff=True
)
def send_survey_follow_ups():
    """Daily (beat): the 3- and 6-month follow-up e-mails due, then the addresses erased after the last one."""
    return services.send_due_follow_ups()
