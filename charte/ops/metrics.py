"""Prometheus metrics of the HTTP requests and the Celery tasks, off unless METRICS_ENABLED.

With several processes (gunicorn workers, Celery workers on the same machine), set PROMETHEUS_MULTIPROC_DIR to one
empty directory for all of them, emptied at each start: prometheus-client then writes each process's values there
and the endpoint adds them up. Without it, the endpoint shows the values of the process that answers.
"""

import hmac
import ipaddress
import os
import time

from celery.signals import task_failure, task_postrun, task_prerun, task_retry
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import MiddlewareNotUsed
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

REQUESTS = Counter(
    "charte_http_requests",
    "Requêtes HTTP traitées, par méthode, vue et statut.",
    ["method", "view", "status"],
)
REQUEST_SECONDS = Histogram(
    "charte_http_request_duration_seconds",
    "Durée des requêtes HTTP, par méthode et vue.",
    ["method", "view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASKS = Counter(
    "charte_celery_tasks",
    "Tâches Celery terminées, par tâche et état (SUCCESS, FAILURE, RETRY).",
    ["task", "state"],
)
TASK_SECONDS = Histogram(
    "charte_celery_task_duration_seconds",
    "Durée des tâches Celery, par tâche.",
    ["task"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900),
)


def enabled():
    return bool(getattr(settings, "METRICS_ENABLED", False))


class MetricsMiddleware:
    """Counts every request by its URL name (bounded set), never by its path (one series per object otherwise)."""

    def __init__(self, get_response):
        if not enabled():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or "") if match else ""
        view = view or "<non résolue>"
        REQUEST_SECONDS.labels(request.method, view).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, view, str(response.status_code)).inc()
        return response


def _client_allowed(request):
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    allowed = settings.METRICS_ALLOWED_IPS
    if allowed:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in allowed)
    return False


@never_cache
@login_not_required
def metrics_view(request):
    # Off: the address does not exist. On but neither a token nor an address list: nobody may read it.
    if not enabled():
        raise Http404
    if not _client_allowed(request):
        return HttpResponseForbidden("Accès refusé.", content_type="text/plain; charset=utf-8")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


_task_started = {}


@task_prerun.connect(weak=False, dispatch_uid="charte.ops.metrics.prerun")
def _task_started_at(task_id=None, **kwargs):
    if enabled():
        _task_started[task_id] = time.perf_counter()


@task_postrun.connect(weak=False, dispatch_uid="charte.ops.metrics.postrun")
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _task_started.pop(task_id, None)
    if started is None or task is None:
        return
    TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    # A retried or failed task is counted by its own signal; postrun gives the final state of the others.
    if state not in ("FAILURE", "RETRY"):
        TASKS.labels(task.name, state or "SUCCESS").inc()


@task_failure.connect(weak=False, dispatch_uid="charte.ops.metrics.failure")
def _task_failed(sender=None, **kwargs):
    if enabled() and sender is not None:
        TASKS.labels(sender.name, "FAILURE").inc()


@task_retry.connect(weak=False, dispatch_uid="charte.ops.metrics.retry")
def _task_retried(sender=None, **kwargs):
    if enabled() and sender is not None:
        TASKS.labels(sender.name, "RETRY").inc()
