"""Celery tasks of the conventions: thin wrappers over `conventions.services`."""

import datetime

from celery import shared_task
from django.utils import timezone

from charte.celery import RETRY

from . import services


@shared_task(bind=True, name="conventions.expire_due_conventions", **RETRY)
def expire_due_conventions(self, today=None):
    """Daily (beat): active conventions past their end date become expired. `today`: ISO date, for tests and
    catch-up runs. Idempotent: a second run finds nothing left to close."""
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    return {"expired": services.expire_due_conventions(day)}


@shared_task(name="conventions.analyse_import", acks_late=True)
def analyse_import(batch_id):
    """Preview of a large uploaded file (conventions.imports.batches.analyse)."""
    from .imports import batches

    batches.analyse(batch_id)


@shared_task(name="conventions.apply_import", acks_late=True)
def apply_import(batch_id):
    """Import of a confirmed large file, in one transaction; a second delivery finds it done and does nothing."""
    from .imports import batches

    batches.apply(batch_id)
