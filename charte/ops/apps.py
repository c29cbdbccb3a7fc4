from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "charte.ops"
    label = "ops"
    verbose_name = "Exploitation"

    def ready(self):
        # Celery signal handlers (request id, task metrics): connected once, in every process that loads Django.
        from charte.ops import logs, metrics  # noqa: F401
