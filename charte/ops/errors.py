"""Error reporting to Sentry (or a compatible service), switched on by SENTRY_DSN only (settings.py)."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration


def init_sentry(dsn, *, environment, traces_sample_rate=0.0):
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration(), LoggingIntegration()],
        # No user e-mail, IP address, cookie or request body leaves the portal: they are personal data.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )
