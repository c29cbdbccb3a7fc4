from django.core.management.base import BaseCommand
from django.db import transaction

from charte.catalogue.models import ActionType, Family, Indicator
from charte.catalogue.referential import load_catalogue


class Command(BaseCommand):
    help = "Crée les familles, indicateurs et types d'actions standard qui manquent (sans toucher aux libellés modifiés)."

    def handle(self, *args, **options):
        with transaction.atomic():
            created = load_catalogue(Family, Indicator, ActionType)
        self.stdout.write(f"Catalogue standard : {created} élément(s) créé(s).")
