from django.core.management.base import BaseCommand, CommandError

from charte.territoires.importers import ImportRejected, import_qpv


class ImportCommand(BaseCommand):
    """What the territory import commands share: the file argument, the report, a clean failure."""

    def add_arguments(self, parser):
        parser.add_argument("file", help="Chemin du fichier CSV.")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Importe les lignes valides et ignore les lignes rejetées (sinon rien n'est enregistré).",
        )

    def run_import(self, path, options):
        raise NotImplementedError

    def handle(self, *args, **options):
        path = options["file"]
        try:
            report = self.run_import(path, options)
        except FileNotFoundError:
            raise CommandError(f"Fichier introuvable : {path}") from None
        except IsADirectoryError:
            raise CommandError(f"{path} est un dossier, pas un fichier CSV.") from None
        except OSError as error:
            raise CommandError(f"Impossible de lire le fichier {path} : {error.strerror or error}") from None
        except ImportRejected as rejection:
            self.print_report(rejection.report)
            raise CommandError(
                f"Fichier rejeté : {len(rejection.report.rejected)} ligne(s) en erreur, aucune donnée enregistrée. "
                "Corrigez le fichier ou relancez avec --skip-invalid pour importer les lignes valides."
            ) from None
        self.print_report(report)

    def print_report(self, report):
        self.stdout.write(report.summary())
        for error in report.rejected:
            self.stdout.write(self.style.WARNING(str(error)))


class Command(ImportCommand):
    help = (
        "Importe une liste de quartiers prioritaires (QPV) : liste officielle de l'ANCT (listeqp2024-cog2024.csv) "
        "ou fichier de démonstration (code_qp,nom_qp,insee_com,lib_com,insee_dep,lib_dep,pop_mun). "
        "Tout ou rien : si une ligne est rejetée, rien n'est enregistré, sauf avec --skip-invalid."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--generation",
            type=int,
            choices=[2015, 2024],
            help="N'accepte que les QPV de cette génération (les autres lignes sont rejetées).",
        )

    def run_import(self, path, options):
        return import_qpv(path, generation=options["generation"], skip_invalid=options["skip_invalid"])
