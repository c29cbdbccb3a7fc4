from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    label = "evaluation"
    verbose_name = "Évaluation"

    def ready(self):
        # The engine sends its tasks by name (`evaluation.engine.runs`): register them in every process, not
        # only in workers (autodiscovery), so that eager mode (no broker) finds them too.
        # The generic indicators are measured on every action of a family (methodology §6): the catalogue pages
        # must keep them as they are (charte.catalogue.engine_needs).
        from charte.catalogue import engine_needs

        from . import checks, tasks  # noqa: F401
        from .engine.compile import GENERIC_INDICATORS

        engine_needs.register("le moteur le mesure sur toutes les actions de chaque famille", GENERIC_INDICATORS)

        # The spreadsheet import of declared values runs through the shared import batches (conventions.imports).
        # Its pages are the generic import pages, with what differs for this kind (`declared_views.PAGES`).
        from conventions.imports import batches
        from conventions.imports import views as import_views
        from conventions.models import ImportBatch

        from .campaigns import declared_views
        from .campaigns.declared_values import DeclaredValueImporter

        batches.register(ImportBatch.Kind.DECLARED_VALUES, DeclaredValueImporter)
        import_views.register(ImportBatch.Kind.DECLARED_VALUES, declared_views.PAGES)

        # The practice sheets (conventions.practices) tell reviewers, authors and named companies through the
        # lower-level hook; this app records and sends.
        from charte import notices

        from .campaigns.notifications import notify_for_lower_app

        notices.register_sender(notify_for_lower_app)
