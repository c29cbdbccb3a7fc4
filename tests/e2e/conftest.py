"""Browser tests: Playwright (the Python package only) driving Debian's Chromium against the real portal.

Write a scenario test like this::

    import pytest

    from tests.factories import MembershipFactory, OrganisationFactory, departement
    from tests.e2e.conftest import PASSWORD

    pytestmark = pytest.mark.browser


    def test_something(page, live_server, login, screenshot):
        user = MembershipFactory(organisation=OrganisationFactory(departements=[departement("34")])).user
        login(page, live_server, user.email, PASSWORD)
        page.goto(f"{live_server.url}/entreprises/")      # or page.goto("/entreprises/"): base_url is set
        page.get_by_role("link", name="Entreprises").click()
        ...
        screenshot(page, "entreprises-liste")             # -> test-artifacts/entreprises-liste.png

Fixtures and helpers:

- ``browser``: a headless Chromium, ``/usr/bin/chromium`` (never a downloaded browser), launched for each
  test. When Chromium or the playwright package is missing, the tests are skipped with a French
  message, except under CI (the ``CI`` variable is set): there they fail, so a broken CI cannot pass silently.
- ``page``: a fresh browser context (own cookies, French locale, 1280x1000 window, 10 s timeouts) and page
  for one test, with ``base_url`` set to ``live_server.url``. It brings pytest-django's ``live_server``
  (a real HTTP server on a transactional test database); the reference data that migrations load (régions,
  départements, the catalogue) is put back before each transactional test by ``tests/conftest.py``.
  Create your rows with the factories before or during the test: the server thread sees them at once.
  When a test fails, a screenshot ``test-artifacts/echec-<test>.png`` is saved.
- ``login``: ``login(page, live_server, email, password)`` signs in through the real login form
  (``/compte/connexion/``) and waits for the dashboard. Users made by ``UserFactory`` have the password
  ``PASSWORD`` below. Don't use ``client.login`` anywhere: django-axes refuses it.
- ``screenshot``: ``screenshot(page, name)`` saves a full-page PNG as ``test-artifacts/<name>.png`` and
  returns its path. Every scenario test saves at least one; look at them.

Mark every browser test with ``@pytest.mark.browser`` (or ``pytestmark = pytest.mark.browser``), so that
``pytest -m "not browser"`` runs the rest alone.

Trap (STACK.md, 1): Playwright's synchronous API runs an event loop in the test's thread, and Django then
refuses ORM calls there (``SynchronousOnlyOperation``). ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set before
playwright is imported: the ORM calls of a test and of its fixtures are ordinary synchronous code.
"""

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    expect = sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "motdepasse-solide-1"  # the password of tests.factories.UserFactory
TIMEOUT_MS = 10_000
# Refusals that the policy makes on purpose: Redoc's bundle asks for its publisher's logo on a CDN; the page's
# own policy (templates/drf_spectacular/redoc.html) keeps images local, and Redoc then drops the image.
EXPECTED_CSP_REFUSALS = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)


def browser_unavailable_reason():
    """Why the browser tests cannot run on this machine, in French; None when they can."""
    if sync_playwright is None:
        return "Tests navigateur ignorés : le paquet Python playwright n'est pas installé (requirements-dev.txt)."
    if not os.access(CHROMIUM, os.X_OK):
        return f"Tests navigateur ignorés : Chromium est absent ({CHROMIUM}) ; installez le paquet Debian chromium."
    return None


def skip_or_fail_without_browser():
    reason = browser_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason.replace("ignorés", "impossibles en CI"), pytrace=False)
    pytest.skip(reason)


def artifact_name(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test, so that `page` knows at teardown whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser():
    """One Chromium per test: Playwright's sync API runs an event loop in this thread while it is open,
    and Django keeps database connections per async context meanwhile; closing it after each test keeps
    that confined to the browser tests."""
    skip_or_fail_without_browser()
    from django.db import connections

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # Connections opened under the event loop are not the ones pytest-django flushes and closes.
            connections.close_all()


@pytest.fixture
def page(request, browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 1000}
    )
    context.set_default_timeout(TIMEOUT_MS)
    new_page = context.new_page()
    # The Content-Security-Policy (issue 10) must never block the portal's own scripts or styles: Chromium
    # reports each refusal on the console, and any such refusal fails the test that met it.
    csp_refusals = []
    new_page.on(
        "console",
        lambda message: (
            csp_refusals.append(message.text)
            if "Content Security Policy" in message.text and not any(url in message.text for url in EXPECTED_CSP_REFUSALS)
            else None
        ),
    )
    yield new_page
    report = getattr(request.node, "report_call", None)
    if csp_refusals and not (report is not None and report.failed):
        context.close()
        pytest.fail("La politique de sécurité du contenu a bloqué : " + " | ".join(csp_refusals[:5]))
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            new_page.screenshot(path=str(ARTIFACTS / f"echec-{artifact_name(request.node.name)}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot must never hide the test's own failure
            pass
    context.close()


def sign_in(page, live_server, email, password):
    """Sign in through the real login form, as a person would, and wait for the dashboard."""
    page.goto(f"{live_server.url}/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.locator("main").get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/tableau-de-bord/"))
    return page


@pytest.fixture
def login():
    return sign_in


@pytest.fixture
def screenshot():
    def take(page, name):
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{artifact_name(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
