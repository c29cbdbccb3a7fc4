"""Authentication: session or API key; missing, malformed, unknown, wrong, revoked keys answer 401."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from charte.comptes.models import ApiKey

from .conftest import assert_error, key_client

URL = "/api/v1/qpv/"


def test_anonymous_request_is_401_with_the_scheme(db):
    response = APIClient().get(URL)
    error = assert_error(response, 401, "non_authentifie")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert "clé d'API" in error["message"]


def test_api_is_not_redirected_to_the_login_page(db):
    # The portal's LoginRequiredMiddleware must leave the API to DRF: a JSON 401, not a 302 to the login form.
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key",
        "Api-Key pas-une-cle",
        "Api-Key abcdefgh",
        "Api-Key abc.defghijklmnopqrstuvwxyz012345",
        "Api-Key abcdefgh.\x00bcdefghijklmnopqrstuvwxyz",
        "Api-Key abcdefgh.court",
    ],
)
def test_malformed_key_is_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(URL), 401, "authentification_refusee")


def test_unknown_prefix_and_wrong_secret_are_401(world):
    client = key_client(world.orgs["prefecture"])
    prefix, secret = client.full_key.split(".")
    for forged in (f"ZZZZZZZZ.{secret}", f"{prefix}.{secret[:-2]}xx"):
        other = APIClient()
        other.credentials(HTTP_AUTHORIZATION=f"Api-Key {forged}")
        error = assert_error(other.get(URL), 401, "authentification_refusee")
        assert error["message"] == "Clé d'API invalide ou révoquée."
    assert client.get(URL).status_code == 200


def test_revoked_key_is_401(world):
    client = key_client(world.orgs["prefecture"])
    assert client.get(URL).status_code == 200
    client.api_key.revoke()
    assert_error(client.get(URL), 401, "authentification_refusee")


def test_key_of_a_deactivated_organisation_is_401(world):
    client = key_client(world.orgs["prefecture"])
    world.orgs["prefecture"].is_active = False
    world.orgs["prefecture"].save()
    error = assert_error(client.get(URL), 401, "authentification_refusee")
    assert "désactivée" in error["message"]


def test_other_authorization_schemes_are_not_keys(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer abc")
    assert_error(client.get(URL), 401, "non_authentifie")


def test_only_the_hash_of_the_secret_is_stored(world):
    client = key_client(world.orgs["prefecture"])
    key = ApiKey.objects.get(pk=client.api_key.pk)
    prefix, secret = client.full_key.split(".")
    assert key.prefix == prefix and len(prefix) == 8
    assert secret not in key.hashed_key and len(secret) >= 43  # 32 random bytes
    assert key.check_secret(secret) and not key.check_secret(secret + "x")


def test_last_used_is_recorded_at_most_once_a_minute(world, django_assert_num_queries):
    client = key_client(world.orgs["prefecture"])
    assert client.api_key.last_used_at is None
    client.get(URL)
    key = ApiKey.objects.get(pk=client.api_key.pk)
    first_use = key.last_used_at
    assert first_use is not None

    client.get(URL)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first_use

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get(URL)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first_use


def test_session_writes_need_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    from .conftest import member

    client.force_login(member(world.orgs["club"]))
    response = client.delete(reverse("api:action-detail", args=[world.inside.action.pk]))
    error = assert_error(response, 403, "interdit")
    assert error["message"].startswith("Jeton CSRF absent ou invalide")
