"""In the browser: a préfecture agent signs in through the login page and lands on a dashboard of its
organisation; the page can be used with the keyboard alone."""

import datetime

import pytest

from charte.comptes.models import OrganisationKind
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import ActionFactory, MembershipFactory, OrganisationFactory, UserFactory, departement

pytestmark = pytest.mark.browser


@pytest.fixture
def agent():
    herault = departement("34")
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    ActionFactory(departement=herault, start_date=datetime.date(2016, 3, 14), beneficiaries_total=10, beneficiaries_qpv=6)
    ActionFactory(departement=departement("11"), start_date=datetime.date(2016, 3, 14), beneficiaries_total=90)
    user = UserFactory(email="agent@herault.gouv.fr", first_name="Julien", last_name="Roux")
    MembershipFactory(user=user, organisation=prefecture)
    return user


def test_prefecture_agent_signs_in_and_sees_its_dashboard(page, live_server, login, screenshot, agent):
    page.goto(f"{live_server.url}/tableau-de-bord/")
    # Not signed in: the portal sends to the login page, in French.
    assert "/compte/connexion/" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Se connecter"
    screenshot(page, "connexion")

    login(page, live_server, "agent@herault.gouv.fr", PASSWORD)

    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord"
    assert "Préfecture de l'Hérault" in page.locator("#dashboard-organisation").inner_text()
    assert page.locator("#current-user").inner_text().startswith("Julien Roux")
    # The Hérault's figures only: 1 action, 10 beneficiaries of whom 6 QPV residents (60 %).
    assert page.locator("#figure-actions").inner_text() == "1"
    assert page.locator("#figure-qpv-share").inner_text().replace("\u00a0", " ") == "60,0 %"
    expect(page.locator("#families-table table")).to_be_visible()
    screenshot(page, "tableau-de-bord-prefecture")


def test_keyboard_reaches_the_skip_link_first_and_it_leads_to_the_content(page, live_server, login, screenshot, agent):
    login(page, live_server, "agent@herault.gouv.fr", PASSWORD)
    page.wait_for_load_state("networkidle")

    page.keyboard.press("Tab")
    focused = page.evaluate("({text: document.activeElement.textContent.trim(), href: document.activeElement.hash})")
    assert focused == {"text": "Contenu", "href": "#content"}
    # The DSFR shows the skip links only when they have the focus.
    expect(page.get_by_role("link", name="Contenu")).to_be_visible()
    screenshot(page, "lien-evitement")

    page.keyboard.press("Enter")
    assert page.url.endswith("/tableau-de-bord/#content")
    # The next Tab lands inside the main content, past the header and its menu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#content') !== null")
    assert page.evaluate("document.activeElement.closest('header') === null")
