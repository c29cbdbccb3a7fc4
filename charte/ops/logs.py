"""Structured logs: a request id per HTTP request, carried into the Celery tasks that request starts.

The id lives in a context variable: the middleware sets it for the request, `before_task_publish` copies it into
the headers of every task sent meanwhile, and `task_prerun` sets it again in the worker, so the task's log lines
carry the id of the request that asked for it. A filter puts it (and the task id) on every log record, for the
JSON formatter (production) and the text one (DEBUG) alike.
"""

import contextvars
import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_finished
from django.dispatch import receiver
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# Header names of the task messages (Celery keeps custom headers on task.request).
TASK_HEADER = "request_id"
# A proxy's id is reused only when it cannot smuggle anything into a log line or a header.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

request_id_var = contextvars.ContextVar("request_id", default=None)
task_id_var = contextvars.ContextVar("task_id", default=None)


def current_request_id():
    return request_id_var.get()


def new_request_id():
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in the chain, so that every later log line of the request has the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if VALID_REQUEST_ID.match(incoming) else new_request_id()
        request.request_id = request_id
        # Not reset on the way out: Django logs a 4xx/5xx after the middleware chain; request_finished clears it.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished, weak=False, dispatch_uid="charte.ops.request_id.finished")
def _clear_request_id(**kwargs):
    request_id_var.set(None)


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: time, level, logger, message, request_id, task_id (+ exception and extra fields)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)


@before_task_publish.connect(weak=False, dispatch_uid="charte.ops.request_id.publish")
def _add_request_id_header(headers=None, **kwargs):
    request_id = request_id_var.get()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


# Tokens to undo what task_prerun set, keyed by task id (a solo or threaded worker runs several tasks in turn).
_tokens = {}


@task_prerun.connect(weak=False, dispatch_uid="charte.ops.request_id.prerun")
def _set_task_context(task_id=None, task=None, **kwargs):
    tokens = [task_id_var.set(task_id)]
    # Eager tasks (no broker) run inside the request: its id is already set and their request has no headers.
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if request_id:
        tokens.append(request_id_var.set(request_id))
    _tokens[task_id] = tokens


@task_postrun.connect(weak=False, dispatch_uid="charte.ops.request_id.postrun")
def _clear_task_context(task_id=None, **kwargs):
    tokens = _tokens.pop(task_id, [])
    for token in reversed(tokens):
        try:
            token.var.reset(token)
        except ValueError:
            # Set in another context (a task started from a signal handler's thread): nothing of ours to undo here.
            pass
