"""Request rates per key, per signed-in person and per address: 429 with Retry-After beyond the rate."""

import os
import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from .conftest import assert_error, key_client, session_client

URL = "/api/v1/familles/"


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"cle": "3/minute", "utilisateur": "2/minute", "anonyme": "1/minute"},
    }


def test_a_key_beyond_its_rate_gets_429_with_retry_after(world, low_rates):
    client = key_client(world.orgs["prefecture"])
    for _ in range(3):
        assert client.get(URL).status_code == 200
    response = client.get(URL)
    error = assert_error(response, 429, "trop_de_requetes")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert error["message"].startswith("Trop de requêtes : réessayez dans ")

    # Another key of the same organisation has its own counter.
    assert key_client(world.orgs["prefecture"]).get(URL).status_code == 200


def test_a_session_is_throttled_per_person(world, low_rates):
    client = session_client(world.orgs["club"])
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    response = client.get(URL)
    assert_error(response, 429, "trop_de_requetes")
    assert response["Retry-After"]


def test_anonymous_requests_are_throttled_per_address(db, low_rates):
    client = APIClient()
    assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/schema/")
    assert response.status_code == 429
    assert response["Retry-After"]


def test_rates_come_from_the_environment():
    code = "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "charte.settings_test", "API_RATE_PER_KEY": "7/hour"}
    output = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], env=env, capture_output=True, text=True
    )
    assert "'cle': '7/hour'" in output.stdout, output.stderr
