"""django-axes' sign-in records are purged every night past AXES_LOG_RETENTION_DAYS, as the personal-data page says."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from charte.ops.tasks import purge_sign_in_records


def record(model, days_ago, username):
    row = model.objects.create(username=username, ip_address="192.0.2.1", user_agent="Firefox", **EXTRA.get(model, {}))
    # attempt_time is auto_now_add: aged afterwards.
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - datetime.timedelta(days=days_ago))
    return row


EXTRA = {AccessAttempt: {"failures_since_start": 1, "get_data": "", "post_data": ""}}


@pytest.mark.django_db
def test_the_nightly_task_deletes_only_the_records_older_than_the_retention(settings):
    settings.AXES_LOG_RETENTION_DAYS = 30
    for model in (AccessLog, AccessFailureLog, AccessAttempt):
        record(model, 31, "ancien@example.org")
        record(model, 29, "recent@example.org")

    deleted = purge_sign_in_records.apply().get()  # in place: under CI a broker would send it to the worker thread

    assert deleted == {"AccessLog": 1, "AccessFailureLog": 1, "AccessAttempt": 1}
    for model in (AccessLog, AccessFailureLog, AccessAttempt):
        assert list(model.objects.values_list("username", flat=True)) == ["recent@example.org"]
    # Running it again deletes nothing more.
    assert purge_sign_in_records.apply().get() == {"AccessLog": 0, "AccessFailureLog": 0, "AccessAttempt": 0}


def test_beat_runs_the_purge_every_day():
    entry = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "ops.purge_sign_in_records")
    assert entry["schedule"].day_of_week == set(range(7))


@pytest.mark.django_db
def test_the_personal_data_page_gives_the_sign_in_retention(client, settings):
    settings.AXES_LOG_RETENTION_DAYS = 75
    page = client.get(reverse("donnees_personnelles")).content.decode()
    row = page[page.index("Tentatives de connexion") : page.index("</tr>", page.index("Tentatives de connexion"))]
    assert "75 jours, puis effacées automatiquement chaque nuit" in row
    assert "Sans purge automatique" not in page
