"""How long the sign-in records of django-axes are kept (the personal-data page says it, from the same setting).

axes writes one `AccessLog` row per sign-in (e-mail typed, IP address, browser, date), and `AccessAttempt` /
`AccessFailureLog` rows for failures; it never deletes them by itself. Beat runs `purge_sign_in_records` every night:
whatever is older than `AXES_LOG_RETENTION_DAYS` goes. A lock-out lasts `AXES_COOLOFF_TIME` (one hour), far below
any retention, so the purge never lifts a running lock-out.
"""

import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.db import transaction
from django.utils import timezone


@transaction.atomic
def purge_sign_in_records(days=None, now=None):
    """Delete the axes rows older than `days` (default: the setting); returns the number deleted per model."""
    days = settings.AXES_LOG_RETENTION_DAYS if days is None else days
    limit = (now or timezone.now()) - datetime.timedelta(days=days)
    return {
        model.__name__: model.objects.filter(attempt_time__lt=limit).delete()[0]
        for model in (AccessLog, AccessFailureLog, AccessAttempt)
    }
