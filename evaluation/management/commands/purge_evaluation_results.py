from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from evaluation.engine import retention


class Command(BaseCommand):
    help = (
        "Supprime le détail (conventions, entreprises, QPV) des compilations remplacées terminées depuis plus de N jours "
        "et les lignes des compilations échouées ; les chiffres territoriaux, les compilations publiées et la trace de "
        "chaque compilation restent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Délai de conservation en jours (par défaut EVALUATION_RESULTS_RETENTION_DAYS = "
            f"{settings.EVALUATION_RESULTS_RETENTION_DAYS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien supprimer.")

    def handle(self, *args, days, dry_run, **options):
        if days is not None and days < 0:
            raise CommandError("Le délai de conservation doit être un nombre de jours positif ou nul.")
        outcome = retention.purge_results(days, dry_run=dry_run)
        verb = "seraient supprimées" if dry_run else "supprimées"
        self.stdout.write(
            self.style.SUCCESS(f"{outcome.rows} lignes de résultats {verb}, de {outcome.runs} compilation(s) remplacée(s).")
        )
