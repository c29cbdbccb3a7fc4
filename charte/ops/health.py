"""The health endpoint (/sante/): the database, Redis, the Celery workers and beat, the cache and the media storage,
checked by django-health-check. JSON, one entry a part; 200 when every part answers, 503 otherwise.

The body names each part and says "ok" or what kind of failure (indisponible, délai dépassé…), never a host, a port
or an error text: the endpoint is public (load balancers and probes have no session). Details go to the logs.
"""

import asyncio
import dataclasses
import datetime
import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views import View
from health_check import Cache, Database, HealthCheck, Storage
from health_check.contrib.celery import Ping
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable

from charte.ops.tasks import BEAT_HEARTBEAT_KEY

logger = logging.getLogger(__name__)

FAILURES = {
    "Unavailable": "indisponible",
    "Unexpected Result": "réponse inattendue",
    "Warning": "dégradé",
}


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """Beat sends `ops.beat_heartbeat` every minute; a worker writes the time in the shared cache. Older than
    BEAT_HEARTBEAT_MAX_AGE seconds (or absent): beat, or every worker, has stopped."""

    max_age: int = 300

    def run(self):
        cache = caches["default"]
        if isinstance(cache, LocMemCache | DummyCache):
            # Each process would read its own memory: the worker's heartbeat can never be seen here.
            raise ServiceUnavailable("cache non partagé (CACHE_URL)")
        try:
            beat = cache.get(BEAT_HEARTBEAT_KEY)
        except Exception as error:  # a cache client raises its own errors (redis.RedisError…)
            raise ServiceUnavailable("cache injoignable") from error
        if beat is None:
            raise ServiceUnavailable("aucun battement reçu")
        if time.time() - float(beat) > self.max_age:
            raise ServiceUnavailable("dernier battement trop ancien")


def _redis_client(url):
    from redis.asyncio import Redis as RedisClient

    # Short timeouts: a probe that hangs is worse than one that fails.
    return lambda: RedisClient.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def celery_app():
    from charte.celery import app

    return app


def health_checks():
    """(part name, check) pairs for this deployment: the broker's parts only when there is a broker."""
    checks = [
        ("base_de_donnees", Database()),
        ("cache", Cache()),
        ("stockage_fichiers", Storage()),
    ]
    broker = settings.CELERY_BROKER_URL
    if broker:
        if broker.startswith(("redis://", "rediss://")):
            checks.append(("redis", Redis(client_factory=_redis_client(broker))))
        timeout = datetime.timedelta(seconds=settings.HEALTH_CELERY_TIMEOUT)
        checks.append(("workers_celery", Ping(app=celery_app(), timeout=timeout)))
        checks.append(("celery_beat", BeatHeartbeat(max_age=settings.BEAT_HEARTBEAT_MAX_AGE)))
    return checks


def _failure(error):
    if error.message_type == "Unknown Error":
        return "erreur"
    if "Timed out" in str(error.message):
        return "délai dépassé"
    return FAILURES.get(error.message_type, "erreur")


async def run_checks():
    checks = health_checks()
    results = await asyncio.gather(*(check.get_result() for _, check in checks))
    return {
        name: "ok" if result.error is None else _failure(result.error) for (name, _), result in zip(checks, results, strict=True)
    }


@method_decorator(login_not_required, name="dispatch")
class HealthView(View):
    async def get(self, request):
        parts = await run_checks()
        healthy = all(state == "ok" for state in parts.values())
        response = JsonResponse(
            {"statut": "ok" if healthy else "en_panne", "services": parts},
            status=200 if healthy else 503,
            json_dumps_params={"ensure_ascii": False},
        )
        add_never_cache_headers(response)
        if not healthy:
            # A warning naming the parts, instead of Django's "Service Unavailable" error line: a probe every few
            # seconds during an outage must not become as many error reports (Sentry).
            logger.warning("Santé : en panne (%s)", ", ".join(name for name, state in parts.items() if state != "ok"))
            response._has_been_logged = True
        return response
