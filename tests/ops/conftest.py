import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.conf import settings


@pytest.fixture
def broker(in_ci):
    if not settings.CELERY_BROKER_URL:
        message = "CELERY_BROKER_URL n'est pas défini : le test avec un vrai worker Celery sur Redis ne peut pas tourner."
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return settings.CELERY_BROKER_URL


@pytest.fixture
def worker_app(broker):
    """Configured like the project's app, with a queue of its own (no stray worker or old message interferes)."""
    from charte.celery import app as project_app

    app = Celery("charte-ops-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = f"charte-ops-test-{uuid.uuid4().hex[:10]}"
    yield app
    project_app.set_current()
    project_app.set_default()
    app.close()


def run_settings(code, **environ):
    """Runs `code` in a fresh interpreter after django.setup() with charte.settings and these variables: what
    the settings module does at start-up (logging format, Sentry) cannot be re-run in the test process."""
    env = {k: v for k, v in os.environ.items() if k not in ("SENTRY_DSN", "LOG_FORMAT", "DEBUG", "METRICS_ENABLED")}
    env.update(SECRET_KEY="x" * 60, **environ)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='charte.settings'; django.setup()\n" + code,
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
