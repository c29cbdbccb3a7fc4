"""axe-core (WCAG 2.1 A and AA rules) on the main pages of every role, API documentation included.

The engine is the one bundled by the PyPI package ``axe-playwright-python`` (pinned in requirements-dev.txt,
axe-core under the MPL 2.0): it is injected into the page by Playwright, nothing is fetched from a CDN.

Each role signs in once, in one browser context, and walks its pages with the same tab; the pages are the
portal's main ones (dashboard, lists, details, forms, reports, territories, campaigns, declarations, members,
notifications, API keys, catalogue, imports) on the objects of ``tests/walk_fixtures.py``, each opened only
where the role × URL matrix of ``tests/test_url_walk.py`` says the role gets it (200). A violation of impact
"serious" or "critical" fails the test, listed with the elements (CSS selectors) it was found on.
"""

import pytest
from django.urls import reverse

from tests.e2e.conftest import ARTIFACTS, PASSWORD
from tests.test_url_walk import TARGETS, rules_of
from tests.walk_fixtures import build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from axe_playwright_python.base import AXE_SCRIPT
except ImportError:  # pragma: no cover - the browser fixture already fails (CI) or skips without playwright
    AXE_SCRIPT = None

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}

# (URL name, target of tests/test_url_walk.py's TARGETS or None): the pages each role walks when its row
# of the matrix says 200 there. A form drawn by the same template for creating and editing is walked once
# (companies: the edit form, which a company may open; conventions and actions: the creation form), and the
# national report shares the département's template.
MAIN_PAGES = [
    ("dashboard", None),
    ("notifications:list", None),
    ("notifications:preferences", None),
    ("comptes:api_keys", None),
    ("comptes:api_key_create", None),
    ("comptes:members", None),
    ("comptes:organisation_members", "company_account"),
    ("comptes:invite", "company_account"),
    ("entreprises:list", None),
    ("entreprises:detail", "company"),
    ("entreprises:edit", "company"),
    ("entreprises:diagnostic_create", "company_of_page"),
    ("entreprises:diagnostic_detail", "diagnostic"),
    ("entreprises:clubs", None),
    ("entreprises:club_members", "club"),
    ("entreprises:club_member_add", "club"),
    ("catalogue:index", None),
    ("catalogue:history", None),
    ("conventions:list", None),
    ("conventions:create", None),
    ("conventions:detail", "convention"),
    ("conventions:sign", "convention"),
    ("conventions:company_commitments", "company_of_page"),
    ("actions:list", None),
    ("actions:create", None),
    ("actions:grid", None),
    ("actions:import", None),
    ("actions:import_batch", "import_batch"),
    ("company_import:import", None),
    ("company_import:import_batch", "company_import_batch"),
    ("evaluation:declared_import", None),
    ("evaluation:declared_import_batch", "declared_import_batch"),
    ("comptes:person_erase", "person"),
    ("entreprises:contact_erase", "contact"),
    ("actions:detail", "action"),
    ("territoires:list", None),
    ("territoires:departement", "departement"),
    ("territoires:epci", "epci"),
    ("territoires:qpv", "qpv"),
    ("evaluation:campaign_list", None),
    ("evaluation:campaign_create", None),
    ("evaluation:campaign_detail", "campaign"),
    ("evaluation:completeness", "campaign"),
    ("evaluation:declaration_list", None),
    ("evaluation:declaration", "declaration"),
    ("evaluation:convention_history", "convention"),
    ("rapports:index", None),
    ("rapports:report", "report_departement"),
    ("rapports:report", "report_company"),
    ("rapports:report", "report_region"),
]
# Public pages, read without signing in (the same pages for a signed-in person, under the header that every
# page above already has).
ANONYMOUS_PAGES = [
    "home",
    "comptes:login",
    "comptes:password_reset",
    "rapports:open_data",
    "methodologie",
    "accessibilite",
    "mentions_legales",
    "donnees_personnelles",
    "plan_du_site",
]
SIGNED_IN_ROLES = ("national", "prefecture", "club", "company", "partner", "nobody")


def rule_for(name, target):
    return next(rule for rule in rules_of(name) if rule.target == target)


def urls_of(world, role):
    """The main pages the role may open (200 in the role × URL matrix), on objects of its own territory."""
    urls = []
    for name, target in MAIN_PAGES:
        if rule_for(name, target).expected[role] != 200:
            continue
        kwargs = TARGETS[target].kwargs(world, role, "ici") if target else {}
        urls.append(reverse(name, kwargs=kwargs))
    return urls


def axe_violations(page, context=None, rules=None):
    """Run axe-core in the page; return its violations of impact serious or critical."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    if rules:
        options["rules"] = rules
    results = page.evaluate("([context, options]) => axe.run(context || document, options)", [context, options])
    return [violation for violation in results["violations"] if violation["impact"] in BLOCKING]


def describe(url, violations):
    lines = []
    for violation in violations:
        count = len(violation["nodes"])
        lines.append(f"{url} — {violation['id']} ({violation['impact']}, {count} élément(s)) : {violation['help']}")
        for node in violation["nodes"][:20]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return lines


def viewport_screenshot(page, name):
    # The whole of Swagger UI is thousands of pixels high: the window is enough to look at the colours.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def settle(page):
    """Wait for the DSFR's script to have started (it marks <html data-fr-js>) and two frames more: its
    components and the portal's scripts (tables that scroll) have then set their attributes."""
    page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
    page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def check_pages(page, urls):
    failures = []
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, f"{url} : statut {response.status}"
        settle(page)
        failures += describe(url, axe_violations(page))
    return failures


@pytest.mark.parametrize("role", SIGNED_IN_ROLES)
def test_main_pages_of_each_role_pass_axe(page, live_server, login, role):
    world = build_world()
    login(page, live_server, world.users[role].email, PASSWORD)
    failures = check_pages(page, urls_of(world, role))
    assert not failures, "Violations axe graves ou critiques :\n" + "\n".join(failures)


def test_public_pages_pass_axe(page, live_server):
    # The check itself finds what it must: a page without lang, an image without text alternative.
    page.set_content('<html><body><main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>')
    assert {violation["id"] for violation in axe_violations(page)} >= {"html-has-lang", "image-alt"}

    failures = check_pages(page, [reverse(name) for name in ANONYMOUS_PAGES])
    assert not failures, "Violations axe graves ou critiques :\n" + "\n".join(failures)


def test_api_documentation_passes_axe(page, live_server):
    """Swagger UI and Redoc (charte/api/urls.py) are public and the same for every role: the schema is served
    without authentication (SPECTACULAR_SETTINGS), so one reading covers them all."""
    failures = []
    page.goto(reverse("api:docs"))
    operations = page.locator("#swagger-ui .opblock")
    operations.first.wait_for()
    failures += describe("/api/docs/", axe_violations(page))
    # An operation opened: its parameters, its responses and the "Try it out" button.
    operations.first.locator(".opblock-summary-control").click()
    operations.first.locator(".opblock-body .responses-wrapper").wait_for()
    failures += describe("/api/docs/ (opération ouverte)", axe_violations(page))
    viewport_screenshot(page, "axe-swagger-ui")

    page.goto(reverse("api:redoc"))
    page.locator("redoc .api-content").wait_for()
    failures += describe("/api/redoc/", axe_violations(page))
    viewport_screenshot(page, "axe-redoc")
    assert not failures, "Violations axe graves ou critiques :\n" + "\n".join(failures)
