"""Benchmark of the evaluation engine on a national-scale synthetic dataset, in a database of its own.

The command prepares the database (created if missing, migrated), then runs itself again with DATABASE_URL
pointing at it (`--inner`): generation if needed, the hand-written SQL floor, the compile of a département in
process, then for 1 and 2 Celery workers (separate `celery -A charte worker -c 1` processes on a Redis database
of their own) the national compile and the recompile of one département through the broker.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/charte_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"


def _maintenance_dsn(url):
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/postgres")), parts.path.lstrip("/")


class Command(BaseCommand):
    help = (
        "Banc d'essai du moteur d'évaluation : génère un jeu national fictif (101 départements, 20 000 entreprises, "
        "30 000 conventions, 2 000 000 d'actions, 500 000 valeurs déclarées) dans une base PostgreSQL à part, puis "
        "mesure la compilation nationale par Celery avec 1 et 2 workers, la recompilation d'un département et le "
        "plancher SQL écrit à la main."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database-url", default=DEFAULT_DATABASE, help=f"Base du banc d'essai ({DEFAULT_DATABASE}).")
        parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"Base Redis des workers ({DEFAULT_REDIS}).")
        parser.add_argument("--scale", type=float, default=1.0, help="Taille du jeu (1 = national).")
        parser.add_argument("--regenerate", action="store_true", help="Recréer la base et le jeu de données.")
        parser.add_argument("--year", type=int, default=2018, help="Année compilée (2018 : N-1 = 2017).")
        parser.add_argument("--departement", default="34", help="Département recompilé seul.")
        parser.add_argument("--workers", default="1,2", help="Nombres de workers à essayer, par exemple 1,2.")
        parser.add_argument(
            "--checksums",
            action="store_true",
            help="Sans rien mesurer : empreinte des lignes de chaque compilation nationale réussie de l'année, "
            "pour vérifier qu'une modification du moteur ne change aucun chiffre.",
        )
        parser.add_argument("--inner", action="store_true", help="(interne) exécution dans la base du banc d'essai")

    def handle(self, *args, **options):
        if options["inner"]:
            return self.inner(**options)
        return self.outer(**options)

    # --- outside: prepare the database, run again inside it ------------------------------------------------

    def outer(self, database_url, regenerate, **options):
        import psycopg2

        maintenance, name = _maintenance_dsn(database_url)
        if not name or name == urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/"):
            raise CommandError("Le banc d'essai s'exécute dans une base à part, jamais dans celle du portail.")
        connection = psycopg2.connect(maintenance)
        connection.autocommit = True
        with connection.cursor() as cursor:
            if regenerate:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if not cursor.fetchone():
                cursor.execute(f'CREATE DATABASE "{name}"')
                self.stdout.write(f"Base « {name} » créée.")
        connection.close()

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "charte.settings",
            "CELERY_BROKER_URL": options["redis_url"],
            "CELERY_RESULT_BACKEND": options["redis_url"],
        }
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self.stdout.write("Migrations de la base du banc d'essai…")
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
        argv = [*manage, "benchmark_evaluation", "--inner", "--database-url", database_url]
        for name in ("redis_url", "scale", "year", "departement", "workers"):
            argv += [f"--{name.replace('_', '-')}", str(options[name])]
        if options["checksums"]:
            argv.append("--checksums")
        result = subprocess.run(argv, env=env)
        if result.returncode:
            raise CommandError("Le banc d'essai a échoué (voir ci-dessus).")

    # --- inside the benchmark database -------------------------------------------------------------------

    def log(self, message):
        self.stdout.write(message)
        self.stdout.flush()

    def inner(self, database_url, redis_url, scale, year, departement, workers, **options):
        from django.db import connection

        from evaluation.engine import benchmark

        if connection.vendor != "postgresql" or connection.settings_dict["NAME"] != urlparse(database_url).path.lstrip("/"):
            raise CommandError("Exécution interne hors de la base du banc d'essai : refusée.")
        if options["checksums"]:
            return self.log_checksums(year)
        if not benchmark.is_generated():
            self.log(f"Génération du jeu de données (échelle {scale})…")
            started = time.monotonic()
            benchmark.generate(scale, log=self.log)
            self.log(f"Jeu de données généré en {time.monotonic() - started:.0f} s.")
        self.describe_dataset()

        figures = {}
        figures["floor"] = self.best(lambda: len(benchmark.sql_floor(year)), "Plancher SQL (N seul)")
        figures["floor_n1"] = self.best(lambda: len(benchmark.sql_floor(year, with_previous=True)), "Plancher SQL (N et N-1)")
        figures["dep_sync"] = self.timed_sync_departement(year, departement)

        for count in [int(n) for n in workers.split(",") if n.strip()]:
            with self.workers(count, database_url, redis_url) as workers_:
                figures[f"national_{count}"], rows, run_id = self.timed_celery_run(year, "national", "")
                self.log(f"  {count} worker(s) : compilation nationale {figures[f'national_{count}']:.2f} s ({rows} lignes)")
                self.log_unit_timings(workers_.log_dir)
                self.log_checksum(run_id)
                figures[f"dep_{count}"], _, _ = self.timed_celery_run(year, "departement", departement)
                self.log(f"  {count} worker(s) : recompilation du département {departement} {figures[f'dep_{count}']:.2f} s")
        self.summary(figures, workers, departement)

    def describe_dataset(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            self.log(cursor.fetchone()[0])
        from charte.territoires.models import QPV, Departement
        from conventions.models import Action, Convention
        from entreprises.models import Company
        from evaluation.models import Declaration, DeclarationValue

        counts = {
            "départements": Departement.objects.count(),
            "QPV": QPV.objects.count(),
            "entreprises": Company.objects.count(),
            "conventions": Convention.objects.count(),
            "actions": Action.objects.count(),
            "liens action-entreprise": Action.companies.through.objects.count(),
            "liens action-QPV": Action.qpvs.through.objects.count(),
            "déclarations": Declaration.objects.count(),
            "valeurs déclarées": DeclarationValue.objects.count(),
        }
        self.log("Jeu de données : " + ", ".join(f"{label} {n:,}".replace(",", " ") for label, n in counts.items()))

    def best(self, function, label, repeat=3):
        timings = []
        for _ in range(repeat):
            started = time.monotonic()
            rows = function()
            timings.append(time.monotonic() - started)
        self.log(f"{label} : {min(timings):.2f} s (meilleur de {repeat}, {rows} lignes)")
        return min(timings)

    def timed_sync_departement(self, year, departement):
        from evaluation.engine import compile as engine
        from evaluation.engine import runs
        from evaluation.models import EvaluationRun, ScopeType

        # The département's unit alone, in a run of its own: measured, never published (only national runs are).
        units = engine.units_for(ScopeType.DEPARTEMENT, departement)
        started = time.monotonic()
        run = EvaluationRun.objects.create(
            year=year, scope_type=ScopeType.DEPARTEMENT, scope_key=departement, units=units, units_total=len(units)
        )
        runs.execute_sync(run.pk)
        elapsed = time.monotonic() - started
        self.log(f"Département {departement} dans ce processus : {elapsed:.2f} s ({run.results.count()} lignes)")
        return elapsed

    def timed_celery_run(self, year, scope_type, key):
        from evaluation.engine import runs
        from evaluation.models import EvaluationRun

        # A run left pending by an interrupted benchmark would be returned instead of a new one.
        EvaluationRun.objects.active().update(status=EvaluationRun.Status.FAILED, error="Abandonnée par le banc d'essai.")
        started = time.monotonic()
        if scope_type == "national":
            run = runs.start_run(year, trigger=EvaluationRun.Trigger.COMMAND)
        else:
            # One département's unit through the workers, in a run of its own: measured, never published.
            from evaluation.engine import compile as engine

            units = engine.units_for(scope_type, key)
            run = EvaluationRun.objects.create(
                year=year, scope_type=scope_type, scope_key=key, units=units, units_total=len(units)
            )
            runs.enqueue(run.pk)
        while True:
            status = EvaluationRun.objects.values_list("status", flat=True).get(pk=run.pk)
            if status in (EvaluationRun.Status.SUCCEEDED, EvaluationRun.Status.FAILED):
                break
            if time.monotonic() - started > 1800:
                raise CommandError("Compilation non terminée après 30 minutes.")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        run.refresh_from_db()
        if run.status == EvaluationRun.Status.FAILED:
            raise CommandError(run.error)
        return elapsed, run.results.count(), run.pk

    def log_checksum(self, run_id):
        from evaluation.engine import benchmark

        checksums = benchmark.results_checksum(run_id)
        self.log(
            f"    empreinte de la compilation {run_id} : "
            + " ; ".join(f"{scope} {rows} lignes {digest}" for scope, (rows, digest) in checksums.items())
        )

    def log_checksums(self, year):
        from evaluation.models import EvaluationRun, ScopeType

        runs_ = EvaluationRun.objects.filter(
            year=year, scope_type=ScopeType.NATIONAL, status=EvaluationRun.Status.SUCCEEDED
        ).order_by("pk")
        if not runs_:
            self.log(f"Aucune compilation nationale réussie de {year} dans la base du banc d'essai.")
        for run in runs_:
            self.log_checksum(run.pk)

    def log_unit_timings(self, log_dir):
        """Where the workers spent the national run: the total and the slowest units, from their INFO lines."""
        timings = unit_timings(log_dir)
        if not timings:
            return
        self.log(
            f"    temps des unités : {sum(t for t, _ in timings):.1f} s au total sur {len(timings)} unités ; "
            "les plus longues : " + ", ".join(f"{unit} {t:.1f} s" for t, unit in sorted(timings, reverse=True)[:6])
        )

    def workers(self, count, database_url, redis_url):
        command = self

        class Workers:
            def __enter__(self):
                import redis

                from charte.celery import app

                redis.Redis.from_url(redis_url).flushdb()
                env = {
                    **os.environ,
                    "DATABASE_URL": database_url,
                    "CELERY_BROKER_URL": redis_url,
                    "CELERY_RESULT_BACKEND": redis_url,
                }
                self.processes = []
                # A folder of this run's own: two benchmarks at once (or another user's) never write the same logs.
                self.log_dir = tempfile.mkdtemp(prefix="charte-bench-")
                for n in range(count):
                    log = open(os.path.join(self.log_dir, f"worker-{n}.log"), "w")  # noqa: SIM115 - closed with the process
                    argv = [sys.executable, "-m", "celery", "-A", "charte", "worker", "-c", "1", "-P", "prefork"]
                    # INFO: each task's "succeeded in N s" line, read back for the slowest units (`unit_timings`).
                    argv += ["-n", f"bench{n}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]
                    self.processes.append((subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT), log))
                deadline = time.monotonic() + 90
                while len(app.control.ping(timeout=0.5) or []) < count:
                    if time.monotonic() > deadline:
                        raise CommandError(f"Les workers Celery ne répondent pas (voir {self.log_dir}).")
                command.log(f"{count} worker(s) Celery prêts (journaux : {self.log_dir}).")
                return self

            def __exit__(self, *exc):
                for process, _log in self.processes:
                    process.terminate()
                for process, log in self.processes:
                    try:
                        process.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
                    log.close()
                return False

        if settings.CELERY_BROKER_URL != redis_url:
            raise CommandError("Le processus interne doit être lancé avec CELERY_BROKER_URL = --redis-url.")
        return Workers()

    def summary(self, figures, workers, departement):
        floor, floor_n1 = figures["floor"], figures["floor_n1"]
        self.log("")
        self.log("Résumé (secondes) :")
        self.log(f"  plancher SQL N : {floor:.2f} ; plancher SQL N et N-1 : {floor_n1:.2f}")
        for count in [int(n) for n in workers.split(",") if n.strip()]:
            national = figures[f"national_{count}"]
            self.log(
                f"  {count} worker(s) : national {national:.2f} s, soit {national / floor:.1f} x le plancher N et "
                f"{national / floor_n1:.1f} x le plancher N et N-1 ; département {departement} {figures[f'dep_{count}']:.2f} s"
            )
        self.log(f"  département {departement} sans Celery : {figures['dep_sync']:.2f} s")


SUCCEEDED = re.compile(r"evaluation\.compile_unit\[[^\]]+\] succeeded in ([0-9.]+)s: .*'unit': '([^']+)'")


def unit_timings(log_dir):
    """[(seconds, unit)] of every compile task the workers logged in `log_dir`."""
    timings = []
    for path in sorted(Path(log_dir).glob("worker-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            match = SUCCEEDED.search(line)
            if match:
                timings.append((float(match.group(1)), match.group(2)))
    return timings
