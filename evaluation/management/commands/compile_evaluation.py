import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evaluation.engine import runs
from evaluation.models import EvaluationRun, ScopeType


class Command(BaseCommand):
    help = (
        "Compile l'évaluation d'une année, pour tous les territoires : par les workers Celery, ou dans ce processus "
        "avec --sync. --departement, --region ou --club sont vérifiés puis compilés avec toute l'année, afin que "
        "les totaux restent cohérents."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="Année évaluée, par exemple 2017.")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--departement", help="Code INSEE du département, par exemple 34.")
        scope.add_argument("--region", help="Code INSEE de la région, par exemple 76.")
        scope.add_argument("--club", help="Identifiant du club.")
        parser.add_argument("--sync", action="store_true", help="Calculer ici, sans passer par les workers Celery.")

    def handle(self, *args, year, departement, region, club, sync, **options):
        if departement:
            scope_type, key = ScopeType.DEPARTEMENT, departement
        elif region:
            scope_type, key = ScopeType.REGION, region
        elif club:
            scope_type, key = ScopeType.CLUB, club
        else:
            scope_type, key = ScopeType.NATIONAL, ""
        if scope_type != ScopeType.NATIONAL:
            self.stdout.write(
                "La compilation porte sur toute l'année, pour tous les territoires, afin que les totaux restent cohérents."
            )
        started = time.monotonic()
        try:
            run = runs.start_run(year, scope_type, key, trigger=EvaluationRun.Trigger.COMMAND, sync=sync)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except Exception as exc:
            raise CommandError(f"La compilation a échoué : {exc}") from exc
        run.refresh_from_db()
        if run.status == EvaluationRun.Status.SUCCEEDED:
            rows = run.results.count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"{run} : {rows} lignes de résultats, {run.units_done} unités, en {time.monotonic() - started:.1f} s."
                )
            )
        elif run.status == EvaluationRun.Status.FAILED:
            raise CommandError(run.error)
        else:
            self.stdout.write(
                f"Compilation n° {run.pk} envoyée aux workers ({run.units_total} unités) : "
                "suivez sa progression dans l'administration ou le portail."
            )
