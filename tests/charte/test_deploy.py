"""Production-readiness checks run as a user would run them: `manage.py` in a subprocess with a
production-like environment (DEBUG off, a real secret key, explicit hosts)."""

import os
import re
import subprocess
import sys

from django.conf import settings

HTTPS_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016", "security.W021"}


def manage(*args, **env_overrides):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright: a production process never has it.
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k8#Zq2!vR9pW4mX7nB1cT6yH3jL5sD0fG8aE2uI4oP6rQ9wZ1xC3vB5nM7kJ0hG",
    "ALLOWED_HOSTS": "charte.example.gouv.fr",
    "SITE_URL": "https://charte.example.gouv.fr",
    "PUBLISHER_NAME": "Préfecture de l'Hérault",
    "CONTACT_EMAIL": "charte@herault.gouv.fr",
}


def test_check_deploy_reports_only_https_warnings():
    result = manage("check", "--deploy", **PRODUCTION_ENV)
    found = set(re.findall(r"\((\w+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert found <= HTTPS_WARNINGS, result.stdout + result.stderr


def test_check_deploy_is_clean_behind_an_https_proxy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        BEHIND_HTTPS_PROXY="1",
        SECURE_SSL_REDIRECT="1",
        SECURE_COOKIES="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="1",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_e_mail_links_would_point_at_the_loopback_default():
    result = manage("check", "--deploy", **{**PRODUCTION_ENV, "SITE_URL": "http://127.0.0.1:8000"})
    output = result.stdout + result.stderr
    assert "(charte.W001)" in output and "SITE_URL" in output, output
    # The same in development is fine: `make run` serves on the loopback.
    dev = manage("check", "--deploy", **{**PRODUCTION_ENV, "DEBUG": "1", "SITE_URL": "http://localhost:8000"})
    assert "charte.W001" not in dev.stdout + dev.stderr


def test_production_refuses_to_start_without_secret_key():
    result = manage("check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="charte.example.gouv.fr")
    assert result.returncode != 0
    assert "SECRET_KEY doit être défini" in result.stderr


def test_models_and_migrations_agree():
    result = manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_check_deploy_warns_when_the_legal_notices_keep_the_demonstration_publisher():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("PUBLISHER_NAME", "CONTACT_EMAIL")}
    result = manage("check", "--deploy", **env)
    output = result.stdout + result.stderr
    assert "(charte.W002)" in output and "PUBLISHER_NAME" in output and "CONTACT_EMAIL" in output, output
    dev = manage("check", "--deploy", **{**env, "DEBUG": "1"})
    assert "charte.W002" not in dev.stdout + dev.stderr
