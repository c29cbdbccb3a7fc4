"""In the browser: the State footer, its display-settings dialog (which nothing opened before), the accessibility
statement, and the account menu that reaches the API keys."""

import pytest

from charte.comptes.models import OrganisationKind
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.browser


def test_the_footer_opens_the_display_settings_and_the_dark_theme_sticks(page, live_server, screenshot):
    page.goto(f"{live_server.url}/")
    footer = page.locator("#footer")
    for name in ("Plan du site", "Accessibilité : non conforme", "Mentions légales", "Données personnelles"):
        expect(footer.get_by_role("link", name=name)).to_be_visible()
    footer.scroll_into_view_if_needed()
    footer.screenshot(path=str(screenshot(page, "accueil-public").with_name("pied-de-page.png")))

    # Keyboard only: the button is reached and opened like any other.
    button = footer.get_by_role("button", name="Paramètres d'affichage")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#fr-theme-modal")
    expect(dialog).to_be_visible()
    dialog.get_by_text("Thème sombre").click()
    expect(page.locator("html")).to_have_attribute("data-fr-theme", "dark")
    dialog.get_by_role("button", name="Fermer").click()
    expect(dialog).to_be_hidden()

    footer.get_by_role("link", name="Accessibilité : non conforme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclaration d'accessibilité")
    # The choice is kept by the browser from page to page.
    expect(page.locator("html")).to_have_attribute("data-fr-theme", "dark")
    screenshot(page, "accessibilite-sombre")


def test_the_accessibility_statement_at_390_pixels(page, live_server, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accessibilite/")
    expect(page.locator("#niveau-conformite")).to_contain_text("non conforme")
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "accessibilite-390")
    page.locator("#footer").screenshot(path=str(screenshot(page, "accessibilite-390").with_name("pied-de-page-390.png")))


def test_an_administrator_finds_the_api_keys_in_the_account_menu(page, live_server, login, screenshot):
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault")
    MembershipFactory(user=UserFactory(email="animatrice@face.example.org"), organisation=club, role="admin")
    login(page, live_server, "animatrice@face.example.org", PASSWORD)
    menu = page.locator("#main-menu")
    menu.get_by_role("button", name="Compte").click()
    expect(menu.get_by_role("link", name="Documentation de l'API")).to_be_visible()
    page.locator("header").screenshot(path=str(screenshot(page, "menu-compte").with_name("en-tete-menu-compte.png")))
    menu.get_by_role("link", name="Clés d'API").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Clés d'API")
