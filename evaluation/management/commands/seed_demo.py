import time

from django.core.management.base import BaseCommand
from django.db import transaction

from conventions.demo import DEMO_PASSWORD, INVENTED_NOTICE, seed_demo
from conventions.practices.demo import seed_practices
from evaluation.demo import seed_campaign
from evaluation.engine import runs
from evaluation.models import Campaign, EvaluationRun
from evaluation.surveys.demo import seed_surveys


class Command(BaseCommand):
    help = (
        "Crée (ou complète) le territoire de démonstration Occitanie 2015-2017 : QPV, organisations, comptes de "
        "démonstration, entreprises, conventions, environ 2 000 actions et la campagne nationale 2017 (déclarations et valeurs), "
        "des réponses inventées aux enquêtes de quelques actions 2017 de FACE Hérault. "
        "Idempotent : ne supprime rien."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--compile",
            action="store_true",
            help="Compiler aussi, dans ce processus, chaque année de campagne qui n'a pas encore de chiffres publiés "
            "(`make run` le demande : les rapports de démonstration s'ouvrent avec leurs chiffres).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        # One transaction: a campaign failing halfway leaves no half-built demo.
        with transaction.atomic():
            report = seed_demo()
            campaign_report = seed_campaign()
            practices_created = seed_practices()
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
        out.write(f"Fiches de bonnes pratiques de démonstration : {practices_created} créées.")
        if survey_responses:
            out.write(f"Enquêtes 360° : {survey_responses} réponses inventées aux enquêtes d'actions 2017 de FACE Hérault.")
        else:
            out.write("Enquêtes 360° : déjà présentes, aucune recréée.")
        out.write(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}, donné à la création du compte) :")
        for email, role, organisation in report.accounts:
            out.write(f"  {email} — {role} — {organisation}")
        if options["compile"]:
            self._compile_campaign_years(out)
        out.write(self.style.SUCCESS(f"Territoire de démonstration prêt en {time.monotonic() - started:.1f} s."))

    def _compile_campaign_years(self, out):
        """A newcomer opening a report should see figures, not "no compile yet". Only years without a published
        run are compiled, so that running `make run` again costs nothing."""
        published_years = set(EvaluationRun.objects.published_by_year())
        years = sorted(set(Campaign.objects.values_list("year", flat=True)) - published_years)
        for year in years:
            run = runs.start_run(year, trigger=EvaluationRun.Trigger.COMMAND, sync=True)
            out.write(f"Évaluation {year} compilée : {run.get_status_display().lower()}.")
        if not years:
            out.write("Évaluation de démonstration : déjà compilée.")
