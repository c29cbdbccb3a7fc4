"""schemathesis against the OpenAPI schema, on a live test server, with its default checks (server errors,
status codes, content types, headers and bodies conforming to the schema, valid data accepted and invalid data
rejected, authentication really required, unsupported methods answered 405...).

The command-line runner (`st run`, the version pinned in requirements-dev.txt) talks to pytest-django's
`live_server` over HTTP, as any client would. Two runs: a national key (sees everything, may write
actions) and a préfecture's read-write key (a smaller scope). The requests the server handled are
counted on the server side: over 2,000 for the national run alone.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.signals import request_started
from django.test.testcases import QuietWSGIRequestHandler

from charte.comptes.models import ApiKey, Membership, OrganisationKind
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

from .conftest import build_side

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The coverage phase sends the boundary and invalid values of every parameter and field (about 2,000
# requests); the fuzzing phase, per operation and per mode (valid, invalid data), `max_examples` cases.
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def unthrottled(settings):
    # The default rate (120 per minute and per key) would answer 429 to most of the run.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"cle": "100000/minute", "utilisateur": "100000/minute", "anonyme": "100000/minute"},
    }


@pytest.fixture
def keys():
    """A world of two départements with rows of every kind, campaigns and declarations included."""
    from charte.catalogue.models import Family

    from .test_evaluation_api import activate, compiled_run, open_campaign_for, result_row

    inside, outside = build_side("34", "34172", "001"), build_side("75", "75056", "001")
    national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    prefecture = OrganisationFactory(
        kind=OrganisationKind.PREFECTURE, name="Préfecture de l'Hérault", departements=[inside.departement]
    )
    prefecture_75 = OrganisationFactory(
        kind=OrganisationKind.PREFECTURE, name="Préfecture de Paris", departements=[outside.departement]
    )
    for side, organisation in ((inside, prefecture), (outside, prefecture_75)):
        activate(side.convention)
        open_campaign_for(organisation)
    run = compiled_run()
    result_row(run, "national", declared_value=12.5, attainment_rate=0.5, qpv_share=0.25)
    for side in (inside, outside):
        result_row(run, "departement", side.departement.code)
        result_row(run, "departement", side.departement.code, family=Family.objects.first(), indicator_code="STAGE3_ACCUEILLIS")
        result_row(run, "company", side.company.pk, prev_declared_value=3)

    def issue(organisation):
        creator = MembershipFactory(user=UserFactory(), organisation=organisation, role=Membership.Role.ADMIN).user
        return ApiKey.issue(organisation, "schemathesis", ApiKey.Access.READ_WRITE, created_by=creator)[1]

    return {"national": issue(national), "prefecture": issue(prefecture)}


# Writing an action names rows by code or id (type of action, département, companies and QPV of the caller's
# scope, convention...) and obeys rules across fields (women <= total, end >= start): no schema can say which
# ids exist in a database, so a schema-valid action may be refused with a 400 that names the field. Only for
# these three operations is 400 an expected answer to schema-valid data; every other check stays as is.
CONFIG = """
[[operations]]
include-name-regex = "^(POST|PUT|PATCH) /api/v1/actions/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""


def run_schemathesis(base_url, key, config, phases, max_examples):
    config.write_text(CONFIG)
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/schema/",
        "--header",
        f"Authorization: Api-Key {key}",
        "--max-examples",
        str(max_examples),
        "--seed",
        "20240131",
        "--workers",
        "1",
        "--no-shrink",
        "--phases",
        phases,
        "--request-timeout",
        "20",
        "--output-truncate",
        "false",
    ]
    # Run from the temporary directory: schemathesis keeps its state (.schemathesis/) in the current one.
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=config.parent)


@pytest.fixture
def served_requests():
    """Every request the live server handles (the signal is sent by Django's handler, in the server's thread)."""
    served = []

    def count(sender, **kwargs):
        served.append(1)

    request_started.connect(count, weak=False)
    yield served
    request_started.disconnect(count)


@pytest.fixture
def fast_live_server(live_server, monkeypatch):
    # Without TCP_NODELAY, each response waits for the client's delayed ACK (about 40 ms): the run would take
    # four times longer for nothing.
    monkeypatch.setattr(QuietWSGIRequestHandler, "disable_nagle_algorithm", True)
    return live_server


@pytest.mark.parametrize(
    ("organisation", "phases", "max_examples", "min_requests"),
    [
        # Every phase with the widest scope (over 3,000 requests); the préfecture's run adds random data in a
        # smaller scope, kept short so that the whole file stays under two minutes.
        ("national", "examples,coverage,fuzzing", 10, 2000),
        ("prefecture", "examples,fuzzing", 15, 400),
    ],
)
def test_schemathesis_default_checks(
    fast_live_server, unthrottled, keys, served_requests, organisation, phases, max_examples, min_requests, tmp_path
):
    config = tmp_path / "schemathesis.toml"
    result = run_schemathesis(fast_live_server.url, keys[organisation], config, phases, max_examples)
    output = result.stdout[-8000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "passed" in output and "failed" not in output.split("SUMMARY")[-1], output
    assert len(served_requests) >= min_requests, f"{len(served_requests)} requêtes seulement\n{output}"
