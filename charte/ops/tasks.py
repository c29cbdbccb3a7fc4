import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

BEAT_HEARTBEAT_KEY = "charte:ops:beat-heartbeat"


@shared_task(name="ops.beat_heartbeat", ignore_result=True)
def beat_heartbeat():
    """Sent by beat every minute, run by a worker: a fresh timestamp proves both are alive (the health check
    reads it). Kept in the shared cache (CACHE_URL) for twice the staleness limit, so a dead beat shows as such."""
    cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=settings.BEAT_HEARTBEAT_MAX_AGE * 2)


@shared_task(name="ops.purge_sign_in_records", ignore_result=True)
def purge_sign_in_records():
    """Nightly: the sign-in records older than AXES_LOG_RETENTION_DAYS (charte.ops.retention)."""
    from charte.ops.retention import purge_sign_in_records as purge

    return purge()
