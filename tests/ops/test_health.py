"""The health endpoint: 200 when every part answers, 503 naming the part that does not (database, Redis, workers,
beat), and nothing in the body but part names and states."""

import json
import threading
import time

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker checks)
import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.db.utils import ConnectionHandler

from charte.ops import health
from charte.ops.tasks import BEAT_HEARTBEAT_KEY, beat_heartbeat

URL = "/sante/"


def unreachable_database():
    """The project's database settings pointed where nothing answers: a closed port (PostgreSQL), a file in a
    folder that does not exist (SQLite). The check really tries to connect there."""
    broken = dict(connections["default"].settings_dict)
    if connections["default"].vendor == "sqlite":
        broken["NAME"] = "/nonexistent-charte-folder/db.sqlite3"
    else:
        broken.update(HOST="127.0.0.1", PORT="1")
    return ConnectionHandler({"default": broken})


@pytest.mark.django_db
def test_all_parts_up_without_broker(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    # Without a broker (tasks run in the web process) there is no Redis, worker or beat to check.
    assert body == {"statut": "ok", "services": {"base_de_donnees": "ok", "cache": "ok", "stockage_fichiers": "ok"}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_database_down_answers_503_naming_it(client, monkeypatch):
    monkeypatch.setattr("health_check.checks.connections", unreachable_database())
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["statut"] == "en_panne"
    assert body["services"]["base_de_donnees"] == "indisponible"
    assert body["services"]["stockage_fichiers"] == "ok"
    # Public endpoint: neither the database's address nor its error text.
    text = response.content.decode()
    assert "nonexistent" not in text and "127.0.0.1" not in text and "port" not in text.lower()


@pytest.mark.django_db
def test_redis_down_answers_503_naming_it(client, settings, monkeypatch):
    # A broker on a port nothing listens on, for the Redis check and for the workers' ping alike.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/7"
    settings.HEALTH_CELERY_TIMEOUT = 0.5
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration (CI exports it).
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    app = Celery("charte-ops-dead-broker", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    monkeypatch.setattr(health, "celery_app", lambda: app)
    response = client.get(URL)
    assert response.status_code == 503
    services = response.json()["services"]
    assert services["redis"] == "indisponible"
    assert services["workers_celery"] != "ok"
    assert services["base_de_donnees"] == "ok"
    assert "6379" not in response.content.decode() and ":1" not in response.content.decode()


def test_beat_heartbeat_stale_or_missing_fails(settings, tmp_path):
    # A cache shared between processes (files here, Redis in production): the worker writes, the web reads.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}
    check = health.BeatHeartbeat(max_age=300)
    cache = caches["default"]
    with pytest.raises(health.ServiceUnavailable, match="aucun battement"):
        check.run()
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - 301)
    with pytest.raises(health.ServiceUnavailable, match="trop ancien"):
        check.run()
    beat_heartbeat.run()
    check.run()


def test_beat_heartbeat_refuses_a_process_local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(health.ServiceUnavailable, match="non partagé"):
        health.BeatHeartbeat().run()


def test_beat_sends_the_heartbeat_often_enough():
    entry = settings.CELERY_BEAT_SCHEDULE["battement-beat"]
    assert entry["task"] == beat_heartbeat.name
    assert entry["schedule"] < settings.BEAT_HEARTBEAT_MAX_AGE


def _close_thread_connections(**kwargs):
    connections.close_all()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_everything_up_with_a_real_worker_answers_200(client, worker_app, broker, monkeypatch, settings):
    """Redis, a real worker answering the ping on its queue, and the heartbeat written by that worker (sent the way
    beat sends it) in a cache on Redis: 200, every part named."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": broker}}
    caches["default"].delete(BEAT_HEARTBEAT_KEY)
    monkeypatch.setattr(health, "celery_app", lambda: worker_app)
    done = threading.Event()

    def heartbeat_done(sender=None, **kwargs):
        if sender is not None and sender.name == beat_heartbeat.name:
            done.set()

    task_postrun.connect(heartbeat_done, weak=False)
    task_postrun.connect(_close_thread_connections, weak=False)
    try:
        with start_worker(worker_app, pool="solo", perform_ping_check=True):
            worker_app.send_task(beat_heartbeat.name)
            assert done.wait(30), "le worker n'a pas exécuté le battement"
            response = client.get(URL)
    finally:
        task_postrun.disconnect(heartbeat_done)
        task_postrun.disconnect(_close_thread_connections)
    body = json.loads(response.content)
    assert response.status_code == 200, body
    assert body["services"] == {
        "base_de_donnees": "ok",
        "cache": "ok",
        "stockage_fichiers": "ok",
        "redis": "ok",
        "workers_celery": "ok",
        "celery_beat": "ok",
    }
