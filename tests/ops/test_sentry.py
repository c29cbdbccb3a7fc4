"""Error reporting is switched on by SENTRY_DSN only; nothing is sent anywhere by these tests (no event raised)."""

import json

from tests.ops.conftest import run_settings

REPORT = (
    "import json, sentry_sdk; c = sentry_sdk.get_client()\n"
    "print(json.dumps({'active': c.is_active()} | ({'pii': c.options['send_default_pii'], "
    "'environment': c.options['environment'], 'integrations': sorted(c.integrations)} if c.is_active() else {})))"
)


def test_no_dsn_no_sentry():
    out = run_settings(REPORT, DEBUG="1")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {"active": False}


def test_a_dsn_starts_sentry_with_django_and_celery_and_no_personal_data():
    # A DSN on a port nothing listens on: init connects nowhere until an event is captured.
    out = run_settings(REPORT, DEBUG="1", SENTRY_DSN="http://cle@127.0.0.1:1/42", SENTRY_ENVIRONMENT="recette")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["active"] is True
    assert report["pii"] is False
    assert report["environment"] == "recette"
    assert {"django", "celery"} <= set(report["integrations"])
