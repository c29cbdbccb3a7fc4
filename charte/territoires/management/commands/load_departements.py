from django.core.management.base import BaseCommand
from django.db import transaction

from charte.territoires.models import Departement, Region
from charte.territoires.referential import load_regions_and_departements


class Command(BaseCommand):
    help = "Charge (ou met à jour) les régions et départements du code officiel géographique."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = load_regions_and_departements(Region, Departement)
        self.stdout.write(
            f"Régions et départements : {counts['created']} créés, {counts['updated']} mis à jour, "
            f"{counts['unchanged']} inchangés."
        )
