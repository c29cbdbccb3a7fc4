"""Every Celery task of the app, for Celery's autodiscovery (`app.autodiscover_tasks()` imports `<app>.tasks`).

The tasks live with their part: `evaluation.campaigns.tasks` (reminders, declaration notifications) and
`evaluation.engine.tasks` (the compile runs, the nightly compile, the purge of old results) and
`evaluation.exports.tasks` (large CSV exports, purge of expired files). Their names
(`evaluation.compile_unit`...) are explicit, so moving them changes neither the beat schedule nor the queues.
"""

from .campaigns import tasks as campaign_tasks
from .engine import tasks as engine_tasks
from .exports import tasks as export_tasks
from .surveys import tasks as survey_tasks

__all__ = ["campaign_tasks", "engine_tasks", "export_tasks", "survey_tasks"]
