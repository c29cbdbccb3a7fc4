"""Deep pages of `/api/v1/actions/` by page number (OFFSET) and by cursor (keyset), on a benchmark database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charte_api2 python scripts/measure_api_pages.py [PAGE ...]

Signs in a national and a préfecture user (created on first run, in the benchmark database only) with DRF's test
client and prints, for page 1 and each deep PAGE (default 2000 and the last but one), the best and median of 5
requests and the query count, by `?page=` and by `?curseur=` at the same depth (the cursor of that depth is taken
from the row before it once, outside the timing, as a client following `suivante` would hold it), and the load
average before and after: the machine is shared.
"""

import os
import statistics
import sys
import time
from base64 import b64encode
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charte.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from charte.comptes.models import Membership, Organisation, OrganisationKind, User  # noqa: E402
from charte.comptes.scoping import Scope  # noqa: E402
from charte.territoires.models import Departement  # noqa: E402
from conventions.models import Action  # noqa: E402

BENCHMARK_DATABASES = ("charte_api", "charte_bench", "charte_scale")
if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(BENCHMARK_DATABASES):
    sys.exit("Mesure réservée à une base de banc d'essai (charte_api…, charte_bench…).")
settings.ALLOWED_HOSTS = ["*"]
PAGE_SIZE = settings.PAGE_SIZE
URL = "/api/v1/actions/"


def reader(kind, email, departement=None):
    organisation = Organisation.objects.filter(kind=kind, name__endswith="(mesure API)").first()
    if organisation is None:
        organisation = Organisation.objects.create(kind=kind, name=f"{kind} (mesure API)")
        if departement:
            organisation.departements.add(departement)
    user, _ = User.objects.get_or_create(email=email)
    Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": Membership.Role.ADMIN})
    client = APIClient()
    client.force_login(user)
    return client, Scope.for_organisation(organisation)


def timed(client, params, repeat=5):
    durations, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(URL, params)
            durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        queries = len(captured)
    return min(durations), statistics.median(durations), queries


def cursor_at(scope, page):
    """The cursor `suivante` holds after page - 1 pages: the (date, id) of the last row before the page."""
    if page == 1:
        return ""
    rows = Action.objects.visible_to(scope).order_by("-start_date", "-pk").values_list("start_date", "pk")
    start_date, pk = rows[(page - 1) * PAGE_SIZE - 1]
    return b64encode(f"p={start_date}|{pk}".encode()).decode()


def main(pages):
    print(f"Charge avant : {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    herault = Departement.objects.filter(code="34").first()
    readers = {
        "national": reader(OrganisationKind.NATIONAL, "national@api.invalid"),
        "préfecture 34": reader(OrganisationKind.PREFECTURE, "prefecture34@api.invalid", herault),
    }
    print("| rôle | lignes visibles | page | par numéro : meilleur / médiane (requêtes) | par curseur : idem |")
    print("|---|---|---|---|---|")
    for role, (client, scope) in readers.items():
        total = Action.objects.visible_to(scope).count()
        last = max(1, -(-total // PAGE_SIZE))
        for page in [1, *(p for p in pages or (2000, last - 1) if 1 < p <= last)]:
            client.get(URL, {"page": page})  # warm
            by_number = timed(client, {"page": page})
            by_cursor = timed(client, {"curseur": cursor_at(scope, page)})
            print(
                f"| {role} | {total:,} | {page:,} | {by_number[0]:.0f} / {by_number[1]:.0f} ms ({by_number[2]}) "
                f"| {by_cursor[0]:.0f} / {by_cursor[1]:.0f} ms ({by_cursor[2]}) |".replace(",", " ")
            )
    print(f"Charge après : {' '.join(f'{n:.2f}' for n in os.getloadavg())}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
