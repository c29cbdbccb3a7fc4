from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "conventions"
    label = "conventions"
    verbose_name = "Conventions et actions"

    def ready(self):
        # The catalogue pages must not change what the engine measures from actions (charte.catalogue.engine_needs).
        from charte.catalogue import engine_needs

        from .realised import REALISED_FROM_ACTIONS

        engine_needs.register("le moteur le mesure à partir des actions enregistrées", REALISED_FROM_ACTIONS)
