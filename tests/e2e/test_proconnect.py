"""ProConnect sign-in against a real OpenID Connect provider, started on loopback by the test.

The provider is django-oauth-toolkit in OIDC mode (tests/oidc_provider/), in its own process with its own
SQLite file and an RSA key made at start, answering as ProConnect does (one scope per claim, a signed
userinfo, RP-initiated logout without a question). Chromium drives the portal's live server: the portal
really discovers the provider, sends the person there, exchanges the code at the token endpoint (with PKCE,
which this provider requires), checks the signed ID token and userinfo, and ends the provider's session at
sign-out. Nothing of the client library is replaced.

Without django-oauth-toolkit or when the provider does not start, the tests are skipped, except under CI
(`CI` set) where they fail.
"""

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from axes.models import AccessAttempt

from charte.comptes.models import User
from tests.comptes.proconnect import CLIENT_ID, CLIENT_SECRET, proconnect_on
from tests.e2e.conftest import expect
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, departement

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
OP_PASSWORD = "mot-de-passe-du-fournisseur"
PEOPLE = [
    # Known to the portal, with another case: matched by e-mail on the first sign-in.
    {"username": "agnes", "email": "Agnes.Martin@Herault.Gouv.FR", "given_name": "Agnès", "usual_name": "Martin"},
    # Unknown to the portal, and no invitation.
    {"username": "inconnu", "email": "paul.inconnu@example.gouv.fr", "given_name": "Paul", "usual_name": "Inconnu"},
    # Known, but the account is deactivated.
    {"username": "ancien", "email": "ancien.agent@aude.gouv.fr", "given_name": "Jean", "usual_name": "Ancien"},
]
START_TIMEOUT = 60


def skip_or_fail(reason):
    if os.environ.get("CI"):
        pytest.fail(reason.replace("ignoré", "impossible en CI"), pytrace=False)
    pytest.skip(reason)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    def __init__(self, port, log):
        self.origin = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.origin}/o"
        self.log = log

    def requests_seen(self):
        """The request lines the provider logged (runserver's access log)."""
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    if importlib.util.find_spec("oauth2_provider") is None:
        skip_or_fail("Test ProConnect ignoré : django-oauth-toolkit n'est pas installé (requirements-dev.txt).")
    folder = tmp_path_factory.mktemp("fournisseur-oidc")
    port = free_port()
    log = folder / "provider.log"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "DJANGO_"))},
        "OP_DATA_DIR": str(folder),
        "OP_PORT": str(port),
        "OP_CLIENT_ID": CLIENT_ID,
        "OP_CLIENT_SECRET": CLIENT_SECRET,
        "OP_REDIRECT_URI": f"{live_server.url}/compte/proconnect/retour/",
        "OP_POST_LOGOUT_URI": f"{live_server.url}/compte/proconnect/deconnecte/",
        "OP_PKCE_REQUIRED": "1",
        "OP_USERS": json.dumps([{**person, "password": OP_PASSWORD} for person in PEOPLE]),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.serve"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    provider = Provider(port, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                skip_or_fail(f"Test ProConnect ignoré : le fournisseur OIDC s'est arrêté.\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                skip_or_fail(f"Test ProConnect ignoré : le fournisseur OIDC n'a pas démarré.\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in_at_provider(page, provider, username):
    page.wait_for_url(re.compile(rf"^{re.escape(provider.origin)}/login/"))
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe du fournisseur").fill(OP_PASSWORD)
    page.get_by_role("button", name="Valider").click()


def click_proconnect(page):
    page.goto("/compte/connexion/")
    page.get_by_role("button", name="S’identifier avec ProConnect").click()


def test_sign_in_matches_by_email_then_sign_out_ends_the_provider_session(page, live_server, provider, screenshot):
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[departement("34")])
    user = MembershipFactory(
        user=UserFactory(email="agnes.martin@herault.gouv.fr", first_name="", last_name=""), organisation=prefecture
    ).user
    users_before = User.objects.count()

    with proconnect_on(provider.issuer, use_pkce=True):
        page.goto("/compte/connexion/")
        expect(page.get_by_role("link", name="Qu’est-ce que ProConnect ?")).to_be_visible()
        screenshot(page, "proconnect-connexion")
        click_proconnect(page)
        sign_in_at_provider(page, provider, "agnes")

        # Back on the portal, signed in as the account of that e-mail, acting for its préfecture.
        page.wait_for_url(re.compile(r"/tableau-de-bord/$"))
        expect(page.locator("#current-user")).to_have_text("Agnès Martin · Préfecture de l'Hérault")
        screenshot(page, "proconnect-tableau-de-bord")
        user.refresh_from_db()
        assert user.proconnect_sub, "le premier passage relie le compte à l'identité ProConnect"
        assert (user.first_name, user.last_name) == ("Agnès", "Martin")
        assert User.objects.count() == users_before, "aucun compte créé par la connexion"
        seen = provider.requests_seen()
        assert "GET /o/.well-known/openid-configuration" in seen
        assert "POST /o/token/" in seen
        assert "GET /o/userinfo/" in seen
        assert "GET /o/.well-known/jwks.json" in seen

        # Sign-out: the portal's session ends, then ProConnect's, and the browser comes back to the portal.
        page.get_by_role("button", name="Se déconnecter").click()
        page.wait_for_url(f"{live_server.url}/")
        expect(page.get_by_text("Vous êtes déconnecté du portail et de ProConnect.")).to_be_visible()
        assert "GET /o/logout/?id_token_hint=" in provider.requests_seen()
        page.goto("/tableau-de-bord/")
        page.wait_for_url(re.compile(r"/compte/connexion/\?next="))

        # The provider's session has ended too: ProConnect asks the person to sign in again.
        click_proconnect(page)
        page.wait_for_url(re.compile(rf"^{re.escape(provider.origin)}/login/"))
        expect(page.get_by_label("Identifiant")).to_be_visible()

        # A second sign-in finds the account by its ProConnect identity.
        sign_in_at_provider(page, provider, "agnes")
        page.wait_for_url(re.compile(r"/tableau-de-bord/$"))
        expect(page.locator("#current-user")).to_contain_text("Agnès Martin")


def test_an_unknown_email_is_refused_in_french_and_locks_nobody_out(page, live_server, provider, screenshot):
    users_before = User.objects.count()
    with proconnect_on(provider.issuer, use_pkce=True):
        click_proconnect(page)
        sign_in_at_provider(page, provider, "inconnu")
        page.wait_for_url(re.compile(r"/compte/connexion/$"))
        expect(page.get_by_text("Aucun compte du portail n'utilise l'adresse paul.inconnu@example.gouv.fr")).to_be_visible()
        expect(page.get_by_text("demandez une invitation à l'administrateur de votre organisation")).to_be_visible()
        screenshot(page, "proconnect-adresse-inconnue")
    assert User.objects.count() == users_before
    assert not AccessAttempt.objects.exists(), "un refus ProConnect ne compte pas comme un mot de passe erroné"


def test_a_deactivated_account_is_refused(page, live_server, provider):
    UserFactory(email="ancien.agent@aude.gouv.fr", is_active=False)
    with proconnect_on(provider.issuer, use_pkce=True):
        click_proconnect(page)
        sign_in_at_provider(page, provider, "ancien")
        page.wait_for_url(re.compile(r"/compte/connexion/$"))
        expect(page.get_by_text("Le compte ancien.agent@aude.gouv.fr est désactivé")).to_be_visible()
        page.goto("/tableau-de-bord/")
        page.wait_for_url(re.compile(r"/compte/connexion/\?next="))
