"""JSON logs on stdout with a request id: taken from X-Request-ID when it is a plain token, generated otherwise,
returned in the response, and carried into the Celery tasks the request starts (their log lines carry it)."""

import io
import json
import logging
import re
import threading

import pytest
from celery import shared_task
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from django.http import HttpResponse
from django.test import RequestFactory

from charte.ops.logs import JsonFormatter, RequestIdFilter, RequestIdMiddleware, request_id_var
from tests.ops.conftest import run_settings

logger = logging.getLogger("tests.ops")
TASK_LOGGED = threading.Event()


@shared_task(name="tests.ops.log_line")
def log_line(text):
    logger.info("tâche : %s", text)
    TASK_LOGGED.set()


@pytest.fixture
def json_lines():
    """The project's JSON formatter and filter, as settings.LOGGING sets them, on a handler of the test's logger (a
    starting worker reconfigures the root logger's handlers)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)

    def lines():
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.mark.django_db
def test_response_carries_a_generated_request_id(client):
    response = client.get("/sante/")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/sante/")["X-Request-ID"] != response["X-Request-ID"]


@pytest.mark.django_db
def test_a_valid_incoming_request_id_is_kept(client):
    response = client.get("/sante/", headers={"X-Request-ID": "proxy-4f2a9c1e-0001"})
    assert response["X-Request-ID"] == "proxy-4f2a9c1e-0001"


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["court", "a" * 129, "deux mots ici", "ligne\u00e9\u00e9\u00e9\u00e9\u00e9", "x;rm -rf /;x"])
def test_an_unsafe_incoming_request_id_is_replaced(client, bad):
    response = client.get("/sante/", headers={"X-Request-ID": bad})
    assert response["X-Request-ID"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_log_lines_of_a_request_and_of_its_eager_task_are_json_with_the_id(json_lines, monkeypatch):
    """Without a broker the task runs inside the request: its line carries the request's id too."""
    monkeypatch.setitem(log_line.app.conf, "task_always_eager", True)

    def view(request):
        logger.info("dans la vue")
        log_line.delay("en place")
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(RequestFactory().get("/", headers={"X-Request-ID": "essai-requete-42"}))
    assert response["X-Request-ID"] == "essai-requete-42"
    lines = json_lines()
    assert [line["message"] for line in lines] == ["dans la vue", "tâche : en place"]
    assert all(line["request_id"] == "essai-requete-42" for line in lines)
    assert {"time", "level"} <= set(lines[0])
    assert lines[0]["level"] == "INFO"
    # The eager task's line also names the task.
    assert lines[0]["task_id"] is None and lines[1]["task_id"]


def _close_thread_connections(**kwargs):
    connections.close_all()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_the_id_of_the_request_that_sent_the_task(worker_app, json_lines):
    """The worker runs in another thread (its own context: nothing inherited): the id reaches it only through the
    task's message headers."""
    TASK_LOGGED.clear()

    def view(request):
        worker_app.tasks[log_line.name].delay("par le worker")
        return HttpResponse("ok")

    task_postrun.connect(_close_thread_connections, weak=False)
    try:
        with start_worker(worker_app, pool="solo", perform_ping_check=False):
            RequestIdMiddleware(view)(RequestFactory().get("/", headers={"X-Request-ID": "essai-worker-0042"}))
            assert TASK_LOGGED.wait(30), "le worker n'a pas exécuté la tâche"
            # Then a task sent outside any request (beat, a command): the same worker thread must not reuse the id.
            TASK_LOGGED.clear()
            request_id_var.set(None)
            worker_app.tasks[log_line.name].delay("hors requête")
            assert TASK_LOGGED.wait(30), "le worker n'a pas exécuté la seconde tâche"
    finally:
        task_postrun.disconnect(_close_thread_connections)
    lines = [line for line in json_lines() if line.get("message") == "tâche : par le worker"]
    assert len(lines) == 1
    assert lines[0]["request_id"] == "essai-worker-0042"
    assert lines[0]["task_id"]
    later = [line for line in json_lines() if line.get("message") == "tâche : hors requête"]
    assert len(later) == 1 and later[0]["request_id"] is None
    assert later[0]["task_id"] not in (None, lines[0]["task_id"])


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({"DEBUG": "1"}, "text"), ({"DEBUG": "0"}, "json"), ({"DEBUG": "1", "LOG_FORMAT": "json"}, "json")],
)
def test_log_format_follows_the_environment(environ, expected):
    out = run_settings(
        "import logging; from django.conf import settings as s; h = logging.getLogger().handlers[0]\n"
        "print(s.LOG_FORMAT, type(h.formatter).__name__)\n"
        "logging.getLogger('essai').warning('bonjour')",
        **environ,
    )
    assert out.returncode == 0, out.stderr
    first, *logged = out.stdout.splitlines()
    assert first.split()[0] == expected
    if expected == "json":
        assert json.loads(logged[-1])["message"] == "bonjour"
    else:
        assert "WARNING essai" in logged[-1] and "bonjour" in logged[-1]


def test_an_unknown_log_format_is_refused():
    out = run_settings("pass", DEBUG="1", LOG_FORMAT="xml")
    assert out.returncode != 0
    assert "LOG_FORMAT" in out.stderr
