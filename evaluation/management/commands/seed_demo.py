import time

from django.core.management.base import BaseCommand
from django.db import transaction

from conventions.demo import DEMO_PASSWORD, INVENTED_NOTICE, seed_demo
from evaluation.demo import seed_campaign
from evaluation.surveys.demo import seed_surveys


class Command(BaseCommand):
    help = (
        "Crée (ou complète) le territoire de démonstration Occitanie 2015-2017 : QPV, organisations, comptes de "
        "démonstration, entreprises, conventions, environ 2 000 actions et la campagne nationale 2017 (déclarations et valeurs), "
        "des réponses inventées aux enquêtes de quelques actions 2017 de FACE Hérault. "
        "Idempotent : ne supprime rien."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        # One transaction: a campaign failing halfway leaves no half-built demo.
        with transaction.atomic():
            report = seed_demo()
            campaign_report = seed_campaign()
            survey_responses = seed_surveys()
        out = self.stdout
        out.write(self.style.WARNING(INVENTED_NOTICE))
        out.write(f"QPV d'Occitanie (génération 2015) : {report.qpv_summary}.")
        if report.actions_created:
            out.write(f"Actions de démonstration : {report.actions_created} créées.")
        else:
            out.write("Actions de démonstration : déjà présentes, aucune recréée.")
        out.write("Totaux en base :")
        for label, count in report.counts.items():
            out.write(f"  {label} : {count}")
        out.write(campaign_report.summary())
        if survey_responses:
            out.write(f"Enquêtes 360° : {survey_responses} réponses inventées aux enquêtes d'actions 2017 de FACE Hérault.")
        else:
            out.write("Enquêtes 360° : déjà présentes, aucune recréée.")
        out.write(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}, donné à la création du compte) :")
        for email, role, organisation in report.accounts:
            out.write(f"  {email} — {role} — {organisation}")
        out.write(self.style.SUCCESS(f"Territoire de démonstration prêt en {time.monotonic() - started:.1f} s."))
