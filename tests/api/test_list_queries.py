"""Every list endpoint of the API runs the same number of queries with a few rows and with many more (issue 14).

The API counterpart of the portal's audit (`tests/test_list_queries.py`), on the same walk dataset: the endpoints
are taken from the router, not listed by hand, and each is read by every role acting for an organisation (session
of a member); a role refused a list (403) is left out. Each list is read with FEW rows of each kind added in the
Hérault, then after GROWTH more (`grow_api`: the portal's rows plus EPCI, communes, QPV correspondences, campaigns,
declarations with their values and published results), visible to every role that reads them; the query counts must
be equal, and the rows read must have grown for every list but the fixed referential (so the audit cannot pass on
lists it never filled).
"""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from charte.api.urls import router
from charte.territoires.models import EPCI, QPV, QPVCorrespondence
from conventions.models import Convention, Target
from entreprises.models import Company
from evaluation.models import AnnualResult, Campaign, Declaration, DeclarationValue, EvaluationRun
from tests.factories import CommuneFactory, QPVFactory
from tests.test_list_queries import FEW, GROWTH, grow
from tests.walk_fixtures import ROLES, build_world

pytestmark = pytest.mark.django_db

READERS = [role for role in ROLES if role != "nobody"]  # "nobody" has no active membership: 403 everywhere
LISTS = sorted(basename for _prefix, _viewset, basename in router.registry)
# The catalogue and the régions and départements are fixed referential rows: nothing adds any.
FIXED = {"region", "departement", "famille", "type-action", "indicateur"}


def grow_api(world, count, first=0):
    """The portal's `grow()`, then the rows only the API lists: EPCI and their communes, QPV 2015 -> 2024
    correspondences, campaigns, declarations of company A with a value each, and published results about the added
    QPV, conventions and companies (a national succeeded run of last year)."""
    grow(world, count, first)
    side = world.herault
    year = timezone.localdate().year - 1
    run = EvaluationRun.objects.filter(year=year, status=EvaluationRun.Status.SUCCEEDED).order_by("-pk").first()
    run = run or EvaluationRun.objects.create(year=year, status=EvaluationRun.Status.SUCCEEDED)
    for n in range(first, first + count):
        epci = EPCI.objects.create(siren=f"2{n:08d}", name=f"Communauté ajoutée {n}")
        CommuneFactory(code=f"34{700 + n}", name=f"Commune ajoutée {n}", departement=side.departement, epci=epci)
        qpv = QPV.objects.get(code=f"QP034{900 + n}")
        QPV.objects.filter(pk=qpv.pk).update(epci=epci)
        successor = QPVFactory(code=f"QN034{n:02d}A", generation=2024, departement=side.departement, epci=epci)
        QPVCorrespondence.objects.create(qpv_2015=qpv, qpv_2024=successor)
        convention = Convention.objects.get(reference=f"034-2026-{5000 + n}")
        company = Company.objects.get(name=f"Entreprise ajoutée {n}")
        campaign = Campaign.objects.create(
            organisation=side.prefecture,
            year=2000 + n,
            title=f"Campagne ajoutée {n}",
            opens_on=datetime.date(2000 + n, 1, 1),
            reminder_on=datetime.date(2000 + n, 2, 1),
            closes_on=datetime.date(2000 + n, 3, 1),
        )
        campaign.departements.add(side.departement)
        declaration = Declaration.objects.create(
            campaign=side.campaign, convention=convention, company=side.company_a, year=side.campaign.year
        )
        target = Target.objects.select_related("commitment").get(commitment__convention=convention)
        DeclarationValue.objects.create(
            declaration=declaration, commitment=target.commitment, indicator_id=target.indicator_id, value=n
        )
        for scope_type, key in (("qpv", qpv.code), ("convention", convention.pk), ("company", company.pk)):
            AnnualResult.objects.create(run=run, unit="national", year=year, scope_type=scope_type, scope_key=str(key))


def read(world, role, basename):
    """(status, queries, rows) of the list read by a member of the role's organisation (second request: the first
    one warms the session and the caches)."""
    client = APIClient()
    client.force_login(world.users[role])
    url = reverse(f"api:{basename}-list")
    client.get(url, {"page_size": 200})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 200})
    rows = len(response.json()["resultats"]) if response.status_code == 200 else 0
    return response.status_code, len(queries), rows


@pytest.fixture(scope="module")
def audit(django_db_setup, django_db_blocker):
    """{(role, basename): ((queries, rows) with FEW added rows, (queries, rows) after GROWTH more)}, readable only."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        grow_api(world, FEW)
        before = {(role, basename): read(world, role, basename) for role in READERS for basename in LISTS}
        grow_api(world, GROWTH, first=FEW)
        after = {case: read(world, *case) for case in before}
        transaction.set_rollback(True)
    for case, (status, *_counts) in before.items():
        assert status in (200, 403), f"{case}: {status}"
        assert after[case][0] == status, case
    return {case: (before[case][1:], after[case][1:]) for case, (status, *_rest) in before.items() if status == 200}


def test_every_api_list_is_read_by_some_role_and_filled_by_the_growth(audit):
    assert {basename for _role, basename in audit} == set(LISTS)
    # The national level reads every list; each list that is not fixed referential shows more rows to someone.
    assert {basename for role, basename in audit if role == "national"} == set(LISTS)
    grown = {basename for (_role, basename), ((_q0, rows0), (_q1, rows1)) in audit.items() if rows1 > rows0}
    assert grown == set(LISTS) - FIXED


def test_every_api_list_runs_the_same_number_of_queries_with_more_rows(audit):
    grown = {
        f"{role} {basename}": (q0, q1, f"{rows0} -> {rows1} lignes")
        for (role, basename), ((q0, rows0), (q1, rows1)) in audit.items()
        if q0 != q1
    }
    assert not grown, f"Requêtes qui croissent avec les lignes (avant, après) : {grown}"
