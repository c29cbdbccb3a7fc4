import os

from celery import Celery
from django.db import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charte.settings")

app = Celery("charte")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Options of the periodic and notification tasks, whose work is idempotent: acknowledged once done (a worker
# lost mid-task gives it back to the broker), and a database that briefly refuses connections is retried with an
# exponential backoff, a bounded number of times.
RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}
