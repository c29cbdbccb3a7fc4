import os

import pytest
from django.conf import settings
from django.db import connection


def test_french_locale_and_paris_time():
    assert settings.LANGUAGE_CODE == "fr"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert settings.AUTH_USER_MODEL == "comptes.User"


@pytest.mark.django_db
def test_ci_runs_on_postgresql():
    """CI exports DATABASE_URL for PostgreSQL; without it the settings would silently use SQLite."""
    if not os.environ.get("CI"):
        pytest.skip("Hors CI, la base par défaut (SQLite) est attendue.")
    assert connection.vendor == "postgresql", f"CI a tourné sur {connection.vendor}, pas sur PostgreSQL"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False


def test_embedded_default_runs_tasks_in_process(monkeypatch):
    """Without a broker, Celery tasks run eagerly (the `make run` default)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(DEBUG="1", SECRET_KEY="x" * 60)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='charte.settings'; "
            "django.setup(); from django.conf import settings as s; "
            "print(s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['ENGINE'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert out.stdout.split() == ["True", "django.db.backends.sqlite3"]


@pytest.mark.parametrize(("jit", "expected"), [(None, "-c jit=off"), ("1", None)])
def test_postgresql_connections_turn_jit_off_unless_asked(jit, expected):
    """Issue 14: JIT compiling cost 50 to 85 ms per heavy query of the national pages; off by default."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_JIT",)}
    env.update(DEBUG="1", SECRET_KEY="x" * 60, DATABASE_URL="postgres://u@127.0.0.1:5432/x")
    if jit:
        env["DATABASE_JIT"] = jit
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='charte.settings'; django.setup(); "
        "from django.conf import settings as s; print(s.DATABASES['default'].get('OPTIONS', {}).get('options'))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(expected)


@pytest.mark.django_db
def test_the_connection_runs_without_jit_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("JIT n'existe que sur PostgreSQL.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
