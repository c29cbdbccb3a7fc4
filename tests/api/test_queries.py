"""Every list endpoint runs the same number of queries whatever the page size (no N+1 on nested rows)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from charte.territoires.models import EPCI, QPVCorrespondence
from conventions.models import ActionPartner
from entreprises.models import Label
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommitmentFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    QPVFactory,
    SignatoryFactory,
    TargetFactory,
    departement,
)

from .conftest import key_client, session_client
from .test_bad_input import LIST_ROUTES

ROWS = 12


@pytest.fixture
def many_rows(world):
    dep = departement("34")
    label = Label.objects.create(name="Lucie")
    for n in range(ROWS):
        epci = EPCI.objects.create(siren=f"24{n:07d}", name=f"Communauté {n}")
        commune = CommuneFactory(code=f"34{n + 500:03d}", departement=dep, epci=epci)
        qpv_2015 = QPVFactory(code=f"QP034{n + 500:03d}", departement=dep, epci=epci)
        qpv_2015.communes.add(commune)
        qpv_2024 = QPVFactory(code=f"QN034{n + 10:02d}Z", departement=dep, generation=2024, epci=epci)
        QPVCorrespondence.objects.create(qpv_2015=qpv_2015, qpv_2024=qpv_2024)
        company = CompanyFactory(commune=commune)
        company.labels.add(label)
        EstablishmentFactory(company=company, commune=commune)
        ClubMembershipFactory(company=company, club=world.inside.club)
        convention = ConventionFactory(departement=dep, club=world.inside.club)
        convention.companies.add(company, world.inside.company)
        SignatoryFactory(convention=convention)
        TargetFactory(commitment=CommitmentFactory(convention=convention))
        action = ActionFactory(departement=dep, club=world.inside.club, convention=convention)
        action.companies.add(company)
        action.qpvs.add(qpv_2015, qpv_2024)
        ActionPartner.objects.create(action=action, kind="college", name=f"Collège {n}")


def count_queries(client, url, page_size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": page_size})
    assert response.status_code == 200
    return len(queries), len(response.json()["resultats"])


@pytest.mark.parametrize("auth", ["session", "key"])
@pytest.mark.parametrize("basename", LIST_ROUTES)
def test_list_query_count_does_not_grow_with_the_page(many_rows, world, basename, auth):
    organisation = world.orgs["prefecture"]
    client = session_client(organisation) if auth == "session" else key_client(organisation)
    url = reverse(f"api:{basename}-list")
    client.get(url)  # the first request records the key's use (a write at most once a minute)
    small, small_rows = count_queries(client, url, 5)
    large, large_rows = count_queries(client, url, 100)
    assert small == large, f"{basename}: {small} requêtes pour 5 lignes, {large} pour {large_rows}"
    assert large_rows > small_rows or large_rows <= 5
    assert large <= 14
