from charte.territoires.importers import import_qpv_correspondence
from charte.territoires.management.commands.import_qpv import ImportCommand


class Command(ImportCommand):
    help = (
        "Importe la table de correspondance de l'ANCT entre QPV 2024 et QPV 2015 (colonnes code_qp_2024 et "
        "code_qp_2015, séparateur ; ou ,). Les QPV des deux générations doivent déjà être importés."
    )

    def run_import(self, path, options):
        return import_qpv_correspondence(path, skip_invalid=options["skip_invalid"])
