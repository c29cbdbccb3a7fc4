"""Prometheus metrics: off by default (no middleware, no address); when on, readable with the token or from an
allowed address only, and counting requests by view and Celery tasks by name and state."""

import pytest
from celery import shared_task
from prometheus_client import REGISTRY

URL = "/metriques/"
TOKEN = "jeton-de-test-0123456789"


@shared_task(name="tests.ops.metered")
def metered(fail=False):
    if fail:
        raise ValueError("échec voulu")
    return "fait"


def requests_seen(view, status="200"):
    return REGISTRY.get_sample_value("charte_http_requests_total", {"method": "GET", "view": view, "status": status}) or 0


def tasks_seen(state):
    return REGISTRY.get_sample_value("charte_celery_tasks_total", {"task": metered.name, "state": state}) or 0


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return settings


@pytest.fixture
def eager(monkeypatch):
    monkeypatch.setitem(metered.app.conf, "task_always_eager", True)
    monkeypatch.setitem(metered.app.conf, "task_eager_propagates", False)


@pytest.mark.django_db
def test_off_by_default_no_address_and_nothing_counted(client, settings):
    assert settings.METRICS_ENABLED is False
    before = requests_seen("methodologie")
    client.get("/methodologie/")
    assert requests_seen("methodologie") == before
    assert client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.django_db
def test_on_without_token_nor_address_nobody_reads(client, settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get(URL).status_code == 403
    assert client.get(URL, headers={"Authorization": "Bearer "}).status_code == 403


@pytest.mark.django_db
def test_the_token_opens_the_metrics_and_requests_are_counted_by_view(client, metrics_on):
    # A public page that answers 200 whatever the services (the health probe answers 503 under a broker without worker).
    before = requests_seen("methodologie")
    assert client.get("/methodologie/").status_code == 200
    assert requests_seen("methodologie") == before + 1
    assert client.get(URL).status_code == 403
    assert client.get(URL, headers={"Authorization": "Bearer mauvais-jeton"}).status_code == 403
    response = client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    text = response.content.decode()
    assert f'charte_http_requests_total{{method="GET",status="200",view="methodologie"}} {before + 1}' in text
    assert "charte_http_request_duration_seconds_bucket" in text


@pytest.mark.django_db
def test_an_allowed_network_reads_without_token(client, metrics_on):
    metrics_on.METRICS_TOKEN = ""
    metrics_on.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "127.0.0.1"]
    assert client.get(URL, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get(URL, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get(URL, REMOTE_ADDR="10.2.0.1").status_code == 403


@pytest.mark.django_db
def test_unresolved_paths_share_one_series(client, metrics_on):
    # One series for every unknown path, not one per path a scanner tries.
    before = requests_seen("<non résolue>", "404")
    client.get("/nexiste-pas-1/")
    client.get("/nexiste-pas-2/")
    assert requests_seen("<non résolue>", "404") == before + 2


def test_tasks_are_counted_by_name_and_state(metrics_on, eager):
    success, failure = tasks_seen("SUCCESS"), tasks_seen("FAILURE")
    metered.delay()
    metered.delay(fail=True)
    assert tasks_seen("SUCCESS") == success + 1
    assert tasks_seen("FAILURE") == failure + 1
    assert REGISTRY.get_sample_value("charte_celery_task_duration_seconds_count", {"task": metered.name}) >= 2


def test_tasks_are_not_counted_when_off(settings, eager):
    settings.METRICS_ENABLED = False
    success = tasks_seen("SUCCESS")
    metered.delay()
    assert tasks_seen("SUCCESS") == success
