"""Deployment checks of the mandatory pages: the legal notices name a real publisher and contact."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register("legal", deploy=True)
def publisher_is_set(app_configs, **kwargs):
    """A State site must say who publishes it (loi du 21 juin 2004, art. 6) and where to write: the demonstration
    defaults are right for `make run` only."""
    if settings.DEBUG:
        return []
    unset = []
    if settings.PUBLISHER_NAME == settings.PUBLISHER_NAME_DEFAULT:
        unset.append("PUBLISHER_NAME")
    if settings.CONTACT_EMAIL.endswith(".local"):
        unset.append("CONTACT_EMAIL")
    if not unset:
        return []
    return [
        Warning(
            f"{', '.join(unset)} garde sa valeur de démonstration : les mentions légales, la déclaration "
            "d'accessibilité et la page des données personnelles nommeraient un éditeur ou une adresse de contact fictifs.",
            hint="Définissez PUBLISHER_NAME, PUBLISHER_ADDRESS, PUBLICATION_DIRECTOR, HOSTING_PROVIDER et CONTACT_EMAIL "
            "(README, « Pages obligatoires »).",
            id="charte.W002",
        )
    ]


@register("celery")
def task_durations_are_consistent(app_configs, **kwargs):
    """A task still running when the broker's visibility timeout ends is given to a second worker (acks_late); a
    compile unit still running when the stall delay ends would have its run failed. The hard time limit of every
    task must stay below both."""
    limit = settings.CELERY_TASK_TIME_LIMIT
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    stalled = settings.EVALUATION_STALLED_AFTER_MINUTES * 60
    if limit < visibility and limit < stalled:
        return []
    return [
        Error(
            f"CELERY_TASK_TIME_LIMIT ({limit} s) doit rester inférieur à CELERY_VISIBILITY_TIMEOUT ({visibility} s) et à "
            f"EVALUATION_STALLED_AFTER_MINUTES ({stalled} s) : une tâche encore en cours serait livrée deux fois, ou sa "
            "compilation déclarée bloquée.",
            hint="README, « Exploitation » : réglages des durées des tâches.",
            id="charte.E003",
        )
    ]
