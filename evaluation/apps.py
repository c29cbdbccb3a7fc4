from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    label = "evaluation"
    verbose_name = "Évaluation"

    def ready(self):
        # The engine sends its tasks by name (`evaluation.engine.runs`): register them in every process, not
        # only in workers (autodiscovery), so that eager mode (no broker) finds them too.
        from . import checks, tasks  # noqa: F401
