"""Load test of a running portal (gunicorn) on a benchmark database: the main pages and API calls of each role.

    # the server, on the benchmark database (API throttling raised: the load test is not an abusive client)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charte_bench API_RATE_PER_USER=100000/minute \\
        .venv/bin/gunicorn charte.wsgi -w 2 -b 127.0.0.1:8765 --timeout 120
    # the load, from another shell: 1 then 8 concurrent clients
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charte_bench \\
        .venv/bin/python scripts/load_test.py --base-url http://127.0.0.1:8765 --clients 1 --output /tmp/load-1.md

Before the load, the script prepares (in the benchmark database only, never the portal's) one account per role:
national, the préfecture of département 34, a club of département 34, a company of département 34 (the one with
the most actions) and a partner of département 34, and signs each in by writing a session (no password, no login
form: the login page is measured anonymously, as the floor). Every URL is requested once to warm up (not
counted), then `--requests` times in a shuffled order by `--clients` threads sharing the queue, each request timed
from connection to the last byte of the answer. Prints p50, p95, p99 and errors (any status but 200) per URL,
and writes the same table, the load average of the machine before and after, and the settings of the run to
`--output` (Markdown).
"""

import argparse
import http.client
import math
import os
import queue
import random
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charte.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from charte.comptes.models import Membership, Organisation, OrganisationKind, PartnerCategory, User  # noqa: E402
from charte.territoires.models import Departement  # noqa: E402
from conventions.models import Convention  # noqa: E402
from entreprises.models import Company  # noqa: E402

DEPARTEMENT = "34"
YEAR = 2018


def guard():
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(("charte_bench", "charte_scale")):
        sys.exit("Test de charge réservé à une base de banc d'essai (charte_bench…), jamais à celle du portail.")


def organisation(kind, name, **fields):
    org, _ = Organisation.objects.get_or_create(kind=kind, name=name, defaults=fields)
    return org


def account(role, org):
    user, _ = User.objects.get_or_create(email=f"charge-{role}@banc-essai.invalid")
    Membership.objects.get_or_create(user=user, organisation=org, defaults={"role": Membership.Role.ADMIN})
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def prepare():
    """{role: (session cookie or None, [(label, path)])}, the accounts created on first use."""
    departement = Departement.objects.get(code=DEPARTEMENT)
    national = Organisation.objects.filter(kind=OrganisationKind.NATIONAL).first() or organisation(
        OrganisationKind.NATIONAL, "ANCT (banc d'essai)"
    )
    prefecture = organisation(OrganisationKind.PREFECTURE, f"Préfecture {DEPARTEMENT} (banc d'essai)")
    prefecture.departements.add(departement)
    partner = organisation(
        OrganisationKind.PARTNER, f"Partenaire {DEPARTEMENT} (banc d'essai)", partner_category=PartnerCategory.OTHER
    )
    partner.departements.add(departement)
    # The club animating conventions of the département; the generator gives clubs no territory: it gets this one.
    club = Organisation.objects.get(
        pk=Convention.objects.filter(departement=departement, club__isnull=False).order_by("pk").values("club")[:1]
    )
    club.departements.add(departement)
    company = (
        Company.objects.filter(organisation__name__endswith="(banc d'essai)").first()
        or Company.objects.filter(commune__departement=departement, organisation__isnull=True)
        .annotate(n=Count("actions"))
        .order_by("-n", "pk")
        .first()
    )
    if company.organisation_id is None:
        company.organisation = organisation(OrganisationKind.COMPANY, f"{company.name} (banc d'essai)")
        company.save(update_fields=["organisation"])
    convention_34 = Convention.objects.filter(departement=departement).order_by("pk").first()
    club_convention = Convention.objects.filter(club=club).order_by("pk").first()
    company_convention = company.conventions.order_by("pk").first()

    def common(convention):
        return [
            ("liste des actions, page 1", "/actions/"),
            ("API actions", "/api/v1/actions/"),
            ("API résultats", "/api/v1/resultats/"),
            ("tableau de bord", "/tableau-de-bord/"),
            ("liste des conventions", "/conventions/"),
            ("détail d'une convention", f"/conventions/{convention.pk}/"),
        ]

    return {
        "anonyme": (None, [("page de connexion (plancher)", "/compte/connexion/")]),
        "national": (
            account("national", national),
            [
                *common(convention_34),
                ("liste des actions, page 200", "/actions/?page=200"),
                ("API résultats, 2018, département 34", f"/api/v1/resultats/?annee={YEAR}&departement={DEPARTEMENT}"),
                ("rapport national", f"/rapports/national/france/?annee={YEAR}"),
                ("territoire 34", f"/territoires/{DEPARTEMENT}/"),
                ("liste des entreprises", "/entreprises/"),
            ],
        ),
        "préfecture": (
            account("prefecture", prefecture),
            [
                *common(convention_34),
                ("liste des actions, page 200", "/actions/?page=200"),
                ("rapport du département 34", f"/rapports/departement/{DEPARTEMENT}/?annee={YEAR}"),
                ("territoire 34", f"/territoires/{DEPARTEMENT}/"),
                ("liste des entreprises", "/entreprises/"),
            ],
        ),
        "club": (
            account("club", club),
            [
                *common(club_convention),
                ("rapport du club", f"/rapports/club/{club.pk}/?annee={YEAR}"),
                ("territoire 34", f"/territoires/{DEPARTEMENT}/"),
                ("liste des entreprises", "/entreprises/"),
            ],
        ),
        "entreprise": (
            account("company", company.organisation),
            [*common(company_convention), ("rapport de l'entreprise", f"/rapports/entreprise/{company.pk}/?annee={YEAR}")],
        ),
        "partenaire": (
            account("partner", partner),
            [
                ("tableau de bord", "/tableau-de-bord/"),
                ("API résultats", "/api/v1/resultats/"),
                ("rapport du département 34", f"/rapports/departement/{DEPARTEMENT}/?annee={YEAR}"),
                ("territoire 34", f"/territoires/{DEPARTEMENT}/"),
            ],
        ),
    }


def fetch(base, path, cookie, timeout):
    """(status, seconds, bytes) of one GET, timed from the connection to the last byte."""
    host = urlparse(base)
    headers = {"Host": host.netloc, "Accept-Encoding": "identity"}
    if cookie:
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host.hostname, host.port or 80, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        size = len(response.read())
        status = response.status
    except OSError as exc:
        status, size = type(exc).__name__, 0
    finally:
        conn.close()
    return status, time.perf_counter() - started, size


def percentile(values, fraction):
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(round(fraction * len(ordered), 9)) - 1)]


def number(value):
    return f"{value:,.0f}".replace(",", "\u202f")


def ms(value):
    return f"{number(value)} ms"


def loadavg():
    return Path("/proc/loadavg").read_text().split()[:3]


def worker_memory(master_pid):
    """{pid: (VmRSS, VmHWM) in MB} of the gunicorn master's workers (its children, read from /proc)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    memory = {}
    for pid in children:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        memory[int(pid)] = tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
    return memory


def measure_exports(args, plan):
    """The national exports one at a time: time to the first byte, total time, size, and the peak memory (VmHWM) of
    the gunicorn workers before and after; restart gunicorn first, as VmHWM is the peak since the worker started."""
    cookie = plan["national"][0]
    exports = [
        ("export CSV des actions (national)", "/actions/export.csv"),
        ("export CSV des conventions (national)", "/conventions/export.csv"),
        ("rapport national PDF", f"/rapports/national/france/rapport.pdf?annee={YEAR}"),
    ]
    lines = [
        f"Exports du {datetime.now().astimezone():%d/%m/%Y %H:%M %Z}, {args.base_url} (un à la fois) ; charge de la "
        f"machine avant {' '.join(loadavg())}.",
        "",
        "| export | premier octet | total | taille | mémoire des workers avant (RSS / pic) | pic après |",
        "|---|---|---|---|---|---|",
    ]
    for label, path in exports:
        before = worker_memory(args.gunicorn_pid)
        host = urlparse(args.base_url)
        conn = http.client.HTTPConnection(host.hostname, host.port or 80, timeout=600)
        started = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"})
        response = conn.getresponse()
        first = response.read(1)
        first_byte = time.perf_counter() - started
        size = len(first)
        while chunk := response.read(1 << 16):
            size += len(chunk)
        total = time.perf_counter() - started
        conn.close()
        after = worker_memory(args.gunicorn_pid)
        assert response.status == 200, (path, response.status)
        lines.append(
            f"| {label} | {ms(first_byte * 1000)} | {ms(total * 1000)} | {number(size / 1024)} kB "
            f"| {', '.join(f'{rss:.0f} / {hwm:.0f} Mo' for rss, hwm in before.values())} "
            f"| {', '.join(f'{hwm:.0f} Mo' for _, hwm in after.values())} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    parser.add_argument("--clients", type=int, default=1, help="Clients concurrents (threads).")
    parser.add_argument("--requests", type=int, default=20, help="Requêtes mesurées par adresse et par rôle.")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--only", default="", help="Rôles à garder, séparés par des virgules (tous sinon).")
    parser.add_argument("--output", help="Fichier Markdown où écrire le tableau.")
    parser.add_argument(
        "--exports", action="store_true", help="Mesurer les exports nationaux (temps, mémoire des workers) au lieu des pages."
    )
    parser.add_argument("--gunicorn-pid", type=int, help="PID du maître gunicorn (pour --exports).")
    args = parser.parse_args()
    guard()
    plan = prepare()
    if args.exports:
        if not args.gunicorn_pid:
            parser.error("--exports demande --gunicorn-pid.")
        text = measure_exports(args, plan)
        print("\n" + text)
        if args.output:
            Path(args.output).write_text(text + "\n")
        return
    if args.only:
        plan = {role: v for role, v in plan.items() if role in args.only.split(",") or role == "anonyme"}
    targets = [(role, label, path, cookie) for role, (cookie, pages) in plan.items() for label, path in pages]

    for role, label, path, cookie in targets:  # warm-up, not counted
        status, seconds, _ = fetch(args.base_url, path, cookie, args.timeout)
        print(f"  préchauffage {role:10} {label:40} {status} {seconds * 1000:7.0f} ms", flush=True)

    work = queue.Queue()
    jobs = [target for target in targets for _ in range(args.requests)]
    random.Random(0).shuffle(jobs)
    for job in jobs:
        work.put(job)
    results = {(role, label, path): [] for role, label, path, _ in targets}
    lock = threading.Lock()

    def client():
        while True:
            try:
                role, label, path, cookie = work.get_nowait()
            except queue.Empty:
                return
            outcome = fetch(args.base_url, path, cookie, args.timeout)
            with lock:
                results[(role, label, path)].append(outcome)

    load_before = loadavg()
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    load_after = loadavg()

    lines = [
        f"Test de charge du {datetime.now().astimezone():%d/%m/%Y %H:%M %Z}, {args.base_url}, {args.clients} client(s), "
        f"{args.requests} requêtes mesurées par adresse (après une de préchauffage), {len(jobs)} en {elapsed:.0f} s ; "
        f"charge de la machine (load average 1/5/15 min) avant {' '.join(load_before)}, après {' '.join(load_after)}.",
        "",
        "| rôle | page | p50 | p95 | p99 | max | taille | erreurs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    over = []
    for (role, label, path), outcomes in results.items():
        timings = [seconds * 1000 for _, seconds, _ in outcomes]
        errors = [status for status, _, _ in outcomes if status != 200]
        p95 = percentile(timings, 0.95)
        if p95 > 300:
            over.append(f"{role} {label} ({path}) : p95 {p95:.0f} ms")
        size = max(s for _, _, s in outcomes)
        error_text = f"{len(errors)} ({', '.join(sorted(set(map(str, errors))))})" if errors else "0"
        lines.append(
            f"| {role} | {label} | {ms(statistics.median(timings))} | {ms(p95)} | {ms(percentile(timings, 0.99))} "
            f"| {ms(max(timings))} | {number(size / 1024)} kB | {error_text} |"
        )
    lines += ["", "Au-dessus de 300 ms (p95) : " + ("; ".join(over) if over else "aucune.")]
    text = "\n".join(lines)
    print("\n" + text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
