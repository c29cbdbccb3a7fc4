"""Response headers of the security review (issue 10): a Content-Security-Policy without inline script on every
page, the API documentation and the admin included; pages of signed-in people never cached."""

import re

import pytest

from charte.comptes.models import OrganisationKind
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

PUBLIC = [
    "/",
    "/compte/connexion/",
    "/api/docs/",
    "/api/docs/?script=",
    "/api/redoc/",
    "/admin/login/",
    "/rapports/donnees-ouvertes/",
    "/accessibilite/",
    "/mentions-legales/",
    "/donnees-personnelles/",
    "/plan-du-site/",
]
SIGNED_IN = ["/tableau-de-bord/", "/entreprises/", "/conventions/", "/actions/", "/campagnes/", "/rapports/"]
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def national(client, db):
    organisation = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    client.force_login(MembershipFactory(organisation=organisation).user)
    return client


def assert_strict_policy(response):
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert not any(source.startswith(("http:", "https:", "*")) for sources in policy.values() for source in sources)
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    return policy


def assert_no_inline_script_without_nonce(response, policy):
    nonces = {source[len("'nonce-") : -1] for source in policy["script-src"] if source.startswith("'nonce-")}
    for attributes, body in SCRIPT.findall(response.content.decode()):
        if "src=" in attributes:
            continue
        nonce = re.search(r'nonce="([^"]+)"', attributes)
        assert body.strip() == "" or (nonce and nonce.group(1) in nonces), f"inline script without nonce: {body[:80]}"


@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_have_a_strict_policy(client, db, url):
    response = client.get(url)
    assert response.status_code == 200, url
    policy = assert_strict_policy(response)
    if response["Content-Type"].startswith("text/html"):
        assert_no_inline_script_without_nonce(response, policy)


def test_a_public_page_to_an_anonymous_visitor_may_be_cached(client, db):
    assert "Cache-Control" not in client.get("/")


def test_redoc_may_start_its_worker(client, db):
    assert "blob:" in directives(client.get("/api/redoc/"))["worker-src"]


@pytest.mark.parametrize("url", SIGNED_IN)
def test_signed_in_pages_have_the_policy_and_are_never_stored(national, url):
    response = national.get(url)
    assert response.status_code == 200, url
    policy = assert_strict_policy(response)
    assert_no_inline_script_without_nonce(response, policy)
    assert response["Cache-Control"] == "private, no-store"


def test_admin_pages_have_the_policy_and_are_never_stored(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in ("/admin/", "/admin/entreprises/company/", "/admin/entreprises/company/add/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_inline_script_without_nonce(response, assert_strict_policy(response))
        assert response["Cache-Control"] == "private, no-store"


def test_exports_and_api_answers_to_a_signed_in_person_are_never_stored(national):
    for url in ("/entreprises/export.csv", "/api/v1/entreprises/"):
        response = national.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store"


def test_api_answers_to_a_key_are_never_stored(db):
    from rest_framework.test import APIClient

    from charte.comptes.models import ApiKey, Membership

    organisation = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    creator = MembershipFactory(organisation=organisation, role=Membership.Role.ADMIN).user
    _, secret = ApiKey.issue(organisation, "Outil", ApiKey.Access.READ, created_by=creator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    response = client.get("/api/v1/entreprises/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
