"""In the browser (issue 12, point 4): an animator enters ten actions at once through the grid, then finds
them in the actions list. Screenshots: test-artifacts/grille-actions-*.png."""

import re

import pytest

from charte.comptes.models import OrganisationKind
from conventions.models import Action
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import (
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    UserFactory,
    departement,
)

pytestmark = pytest.mark.browser


def test_an_animator_enters_ten_actions_through_the_grid(page, live_server, login, screenshot):
    herault = departement("34")
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    montpellier = CommuneFactory(code="34172", name="Montpellier")
    garrigue = CompanyFactory(name="Garrigue Numérique", commune=montpellier)
    lez = CompanyFactory(name="Vignes du Lez", commune=montpellier)
    for company in (garrigue, lez):
        ClubMembershipFactory(company=company, club=club)
    CompanyFactory(name="Cers Bâtiment", commune=CommuneFactory(code="11069", name="Carcassonne", departement=departement("11")))
    QPVFactory(code="QP034005", name="Mosson")
    QPVFactory(code="QP034006", name="Petit Bard Pergola")
    animator = UserFactory(email="animatrice@face-herault.example.org", first_name="Inès", last_name="Benali")
    MembershipFactory(user=animator, organisation=club)

    login(page, live_server, animator.email, PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Actions").click()
    page.get_by_role("link", name="Saisir plusieurs actions en grille").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Saisir plusieurs actions en grille")

    # Step 1: what the ten actions share (the club's only département is already chosen).
    form = page.locator("#grid-form")
    form.get_by_label("Type d'action").select_option(label="Mécénat de compétences")
    form.get_by_label(re.compile("Date commune")).fill("2017-05-10")
    form.get_by_label(re.compile("Nombre de lignes")).fill("10")
    form.get_by_role("button", name="Afficher la grille").click()

    rows = page.locator("#grid-rows tr")
    expect(rows).to_have_count(10)
    assert page.get_by_label("Entreprises, ligne 1", exact=True).locator("option", has_text="Cers Bâtiment").count() == 0
    for number in range(1, 11):
        page.get_by_label(f"Intitulé, ligne {number}", exact=True).fill(f"Atelier CV n° {number}")
        companies = ["Garrigue Numérique (SIREN"] if number % 2 else ["Garrigue Numérique (SIREN", "Vignes du Lez (SIREN"]
        select = page.get_by_label(f"Entreprises, ligne {number}", exact=True)
        labels = [select.locator("option", has_text=text).inner_text().strip() for text in companies]
        select.select_option(label=labels)
        page.get_by_label(f"QPV concernés, ligne {number}", exact=True).select_option(label="Mosson (QP034005)")
        page.get_by_label(f"Bénéficiaires, ligne {number}", exact=True).fill(str(10 + number))
        page.get_by_label(f"Dont résidents des QPV, ligne {number}", exact=True).fill(str(number))
        page.get_by_label(f"Heures, ligne {number}", exact=True).fill("3")
    # The last one took place on another day than the common date.
    page.get_by_label("Date de début, ligne 10", exact=True).fill("2017-05-17")
    screenshot(page, "grille-actions-saisie")

    page.get_by_role("button", name="Enregistrer les actions").click()
    page.wait_for_url(re.compile(r"/actions/$"))
    expect(page.locator(".fr-alert--success")).to_have_text("10 actions ont été enregistrées.")
    listing = page.locator("#liste-actions tbody tr", has_text="Atelier CV n°")
    expect(listing).to_have_count(10)
    for number in range(1, 11):
        row = page.locator("#liste-actions tbody tr", has_text=re.compile(rf"Atelier CV n° {number}\b"))
        expect(row).to_have_count(1)
        assert "Garrigue Numérique" in row.inner_text()
    screenshot(page, "grille-actions-liste")

    assert Action.objects.filter(action_type__code="MECENAT_COMPETENCES", club=club, logged_by=animator).count() == 10
    assert Action.objects.get(title="Atelier CV n° 10").start_date.isoformat() == "2017-05-17"
    assert Action.objects.get(title="Atelier CV n° 2").companies.count() == 2


def test_the_grid_works_without_javascript_partners_and_added_rows_included(browser, live_server, screenshot):
    from tests.e2e.conftest import TIMEOUT_MS, sign_in

    herault = departement("34")
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    garrigue = CompanyFactory(name="Garrigue Numérique", commune=CommuneFactory(code="34172", name="Montpellier"))
    ClubMembershipFactory(company=garrigue, club=club)
    animator = UserFactory(email="animateur@face-herault.example.org")
    MembershipFactory(user=animator, organisation=club)
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, live_server, animator.email, PASSWORD)
        page.goto("/actions/grille/")
        form = page.locator("#grid-form")
        form.get_by_label("Type d'action").select_option(label="Mécénat de compétences")
        form.get_by_label(re.compile("Date commune")).fill("2017-05-10")
        form.get_by_label(re.compile("Nombre de lignes")).fill("2")
        form.get_by_role("button", name="Afficher la grille").click()
        expect(page.locator("#grid-rows tr")).to_have_count(2)
        expect(page.locator("#grid-add-row")).to_be_hidden()  # the script's button: not without JavaScript

        for number in (1, 2):
            page.get_by_label(f"Intitulé, ligne {number}", exact=True).fill(f"Tutorat n° {number}")
            page.get_by_label(f"Entreprises, ligne {number}", exact=True).select_option(index=0)
        page.get_by_label("Structures partenaires, ligne 1", exact=True).fill("Collège Las Cazes (Collège)")
        page.get_by_label(re.compile("Lignes à ajouter")).fill("3")
        page.get_by_role("button", name="Ajouter des lignes vides").click()

        expect(page.locator("#grid-rows tr")).to_have_count(5)
        expect(page.get_by_label("Intitulé, ligne 1", exact=True)).to_have_value("Tutorat n° 1")
        expect(page.get_by_label("Structures partenaires, ligne 1", exact=True)).to_have_value("Collège Las Cazes (Collège)")
        page.get_by_label("Intitulé, ligne 3", exact=True).fill("Tutorat n° 3")
        page.get_by_label("Entreprises, ligne 3", exact=True).select_option(index=0)
        page.get_by_label("Structures partenaires, ligne 3", exact=True).fill("Mission locale de Montpellier (Mission locale)")
        screenshot(page, "grille-actions-sans-javascript")
        page.get_by_role("button", name="Enregistrer les actions").click()
        page.wait_for_url(re.compile(r"/actions/$"))
        expect(page.locator(".fr-alert--success")).to_have_text("3 actions ont été enregistrées.")
    except Exception:
        screenshot(page, "echec-grille-sans-javascript")
        raise
    finally:
        context.close()

    assert Action.objects.filter(club=club).count() == 3
    assert Action.objects.get(title="Tutorat n° 1").partners.get().name == "Collège Las Cazes"
    assert Action.objects.get(title="Tutorat n° 3").partners.get().kind == "mission_locale"
    assert not Action.objects.get(title="Tutorat n° 2").partners.exists()
