"""Timings of the pages issue 17 is about, on a benchmark database (never the portal's own).

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/charte_scale python scripts/measure_scale.py [--explain]

Signs in a national user (created on first run, in the benchmark database only) with Django's test client and
prints, per page, the best and median of 5 requests, the answer's size and its query count; with `--explain`,
the EXPLAIN ANALYZE of the actions list's page query (page 1 and page 200).
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charte.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from charte.comptes.models import Membership, Organisation, OrganisationKind, User  # noqa: E402

if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(("charte_scale", "charte_bench")):
    sys.exit("Mesure réservée à une base de banc d'essai (charte_scale…).")
settings.ALLOWED_HOSTS = ["*"]

organisation = Organisation.objects.filter(kind=OrganisationKind.NATIONAL).first() or Organisation.objects.create(
    kind=OrganisationKind.NATIONAL, name="ANCT (banc d'essai)"
)
user, _ = User.objects.get_or_create(email="national@scale.invalid")
Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": Membership.Role.ADMIN})

client = Client()
client.force_login(user)
YEAR = os.environ.get("MEASURE_YEAR", "2017")
PAGES = [
    ("liste des actions, page 1", "/actions/"),
    ("liste des actions, page 200", "/actions/?page=200"),
    ("tableau de bord", "/tableau-de-bord/"),
    ("rapport national", f"/rapports/national/france/?annee={YEAR}"),
    ("rapport national PDF", f"/rapports/national/france/rapport.pdf?annee={YEAR}"),
]
only = sys.argv[1:] and [a for a in sys.argv[1:] if not a.startswith("--")]
for label, url in PAGES:
    if only and not any(word in label for word in only):
        continue
    timings, size, queries = [], 0, 0
    for _ in range(1 if "PDF" in label else 5):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            timings.append(time.perf_counter() - started)
        size, queries = len(body), len(captured)
        assert response.status_code == 200, (url, response.status_code)
    print(
        f"{label:32} best {min(timings) * 1000:8.0f} ms  median {statistics.median(timings) * 1000:8.0f} ms  "
        f"{size / 1024:9.0f} kB  {queries} requêtes"
    )

if "--explain" in sys.argv:
    # The heaviest statements of the actions list (its page and its count), analysed as PostgreSQL runs them.
    for url in ("/actions/", "/actions/?page=200"):
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        for query in captured.captured_queries:
            sql = query["sql"]
            if '"conventions_action"' in sql and ("LIMIT" in sql or "COUNT(" in sql) and "IN (" not in sql[:200]:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = [row[0] for row in cursor.fetchall()]
                print(f"\n{url} : {sql[:90]}…")
                print("\n".join(plan[:6] + ["  …"] + plan[-2:]))
