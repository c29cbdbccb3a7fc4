"""Every list of the portal runs the same number of queries with a few rows and with many more (issue 14).

The lists are found, not listed by hand: every portal URL of the walk (`tests/test_url_walk.py`: resolver, RULES,
TARGETS) is opened by every role on its own territory, and a page is a list when its template context holds a
`django.core.paginator.Page` (every list of the portal is paginated, by `Paginator` or `LargeListPaginator`; the
views are functions, not ListViews, so the page object is the one mark they share). A new list page therefore joins
this audit by itself. Each list is opened once on the walk's dataset plus FEW rows of each kind (`grow()`), then
once more after GROWTH more rows of each kind in the Hérault, visible to every role that reads the list; the query
counts must be equal. API lists are audited the same way in `tests/api/test_list_queries.py`.
"""

import datetime

import pytest
from django.core.paginator import Page
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import ApiKey
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommitmentFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    MembershipFactory,
    QPVFactory,
    SignatoryFactory,
    TargetFactory,
)
from tests.test_url_walk import TARGETS, portal_url_patterns, rules_of
from tests.walk_fixtures import ROLES, build_world

# A few rows of each kind first (so no list is measured empty: an empty list skips its row queries), then many more.
FEW, GROWTH = 2, 10
pytestmark = pytest.mark.django_db


def grow(world, count, first=0):
    """`count` more rows of each kind in the Hérault, each tied to company A, its club and its préfecture so that
    every role that reads a list sees them: companies, conventions (commitments, targets, signatories), actions
    (companies, QPV), QPV, club memberships, members, API keys, notifications."""
    from entreprises.models import Diagnostic
    from evaluation.models import Notification, NotificationDelivery

    side = world.herault
    today = timezone.localdate()
    start = datetime.date(today.year, 1, 1)
    for n in range(first, first + count):
        company = CompanyFactory(name=f"Entreprise ajoutée {n}", commune=side.commune)
        EstablishmentFactory(company=company, commune=side.commune, is_head_office=True)
        ClubMembershipFactory(company=company, club=side.club)
        Diagnostic.objects.create(company=company, club=side.club, date=today)
        qpv = QPVFactory(code=f"QP034{900 + n}", name=f"Quartier ajouté {n}", departement=side.departement)
        convention = ConventionFactory(
            reference=f"034-2026-{5000 + n}",
            departement=side.departement,
            club=side.club,
            start_date=start,
            end_date=datetime.date(today.year + 2, 12, 31),
        )
        convention.companies.add(side.company_a, company)
        TargetFactory(commitment=CommitmentFactory(convention=convention), year=start.year, value=n + 1)
        SignatoryFactory(convention=convention, name=f"Signataire {n}", signed_on=start)
        action = ActionFactory(
            title=f"Action ajoutée {n}",
            departement=side.departement,
            club=side.club,
            convention=side.signed,
            logged_by=side.animator,
            start_date=today.replace(day=1),
        )
        action.companies.add(side.company_a, company)
        action.qpvs.add(qpv, *side.qpvs)
        for role, organisation in world.organisations.items():
            if role != "nobody":
                MembershipFactory(organisation=organisation)
                ApiKey.issue(organisation, f"Outil {n}", ApiKey.Access.READ, created_by=world.users["national"])
        for user in world.users.values():
            notification = Notification.objects.create(key=f"ajout-{n}-{user.pk}", event="validated", subject="Objet", body="…")
            NotificationDelivery.objects.create(notification=notification, email=user.email, user=user, reason="member")


def list_cases(world):
    """(role, name, kwargs) of every page that renders a list for this role on its own territory."""
    cases = []
    client = Client()
    for role in ROLES:
        client.force_login(world.users[role])
        for _route, name in portal_url_patterns():
            for rule in rules_of(name):
                if rule.expected[role] != 200:
                    continue
                with transaction.atomic():
                    kwargs = TARGETS[rule.target].kwargs(world, role, "ici") if rule.target else {}
                    response = client.get(reverse(name, kwargs=kwargs))
                    transaction.set_rollback(True)
                if response.status_code == 200 and not response.streaming and response.context is not None:
                    context = response.context
                    values = context.flatten().values() if hasattr(context, "flatten") else [context[k] for k in context.keys()]
                    if any(isinstance(value, Page) for value in values):
                        cases.append((role, name, rule.target))
        client.logout()
    return cases


def count_queries(world, role, name, target):
    client = Client()
    client.force_login(world.users[role])
    with transaction.atomic():
        kwargs = TARGETS[target].kwargs(world, role, "ici") if target else {}
        url = reverse(name, kwargs=kwargs)
        client.get(url)  # warm: session, caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        transaction.set_rollback(True)
    assert response.status_code == 200, url
    return len(queries)


@pytest.fixture(scope="module")
def audit(django_db_setup, django_db_blocker):
    """{(role, name, target): (queries with the walk's rows, queries after grow())}."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        grow(world, FEW)
        cases = list_cases(world)
        before = {case: count_queries(world, *case) for case in cases}
        grow(world, GROWTH, first=FEW)
        after = {case: count_queries(world, *case) for case in cases}
        transaction.set_rollback(True)
    return {case: (before[case], after[case]) for case in cases}


# Lists every role should have found: the audit must not silently find nothing.
EXPECTED_LISTS = {
    "entreprises:list",
    "conventions:list",
    "actions:list",
    "territoires:list",
    "territoires:qpv",
    "evaluation:declaration_list",
    "entreprises:clubs",
    "notifications:list",
    "comptes:api_keys",
    "comptes:organisation_members",
}


def test_the_audit_finds_the_portal_lists(audit):
    names = {name for _role, name, _target in audit}
    missing = {name for name in EXPECTED_LISTS if name not in names}
    assert not missing, f"Listes non détectées : {sorted(missing)} (trouvées : {sorted(names)})"


def test_every_list_runs_the_same_number_of_queries_with_more_rows(audit):
    grown = {f"{role} {name}[{target or ''}]": counts for (role, name, target), counts in audit.items() if counts[0] != counts[1]}
    assert not grown, f"Requêtes qui croissent avec les lignes (avant, après) : {grown}"
