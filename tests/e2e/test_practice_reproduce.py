"""In the browser, the "Done when" of issue 15: an animator turns an action into a practice sheet, the préfecture
returns it with a comment, the animator fixes it, the préfecture publishes it; an animator of another
département finds it by another form of a word, with an accent ("insérés" finds "insertion"), and clicks
"je veux reproduire"; the authors find the notification in their inbox. Screenshots: test-artifacts/pratique-*.png.
"""

import datetime
import re

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from tests.e2e.conftest import PASSWORD, TIMEOUT_MS, expect, sign_in
from tests.factories import ActionFactory, MembershipFactory, OrganisationFactory, UserFactory, departement

pytestmark = pytest.mark.browser


def as_person(browser, live_server, email):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    return sign_in(context.new_page(), live_server, email, PASSWORD)


def test_a_sheet_goes_from_an_action_to_another_departement_that_wants_to_reproduce_it(
    page, browser, live_server, login, screenshot
):
    herault, aude = departement("34"), departement("11")
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    animator = MembershipFactory(
        organisation=club, user=UserFactory(email="ines@face-herault.example.org", first_name="Inès", last_name="Benali")
    ).user
    prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture de l'Hérault", departements=[herault])
    agent = MembershipFactory(organisation=prefecture, user=UserFactory(email="agent@herault.gouv.fr")).user
    other_club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Aude", departements=[aude])
    other = MembershipFactory(organisation=other_club, user=UserFactory(email="paul@face-aude.example.org")).user
    action = ActionFactory(
        title="Tous en stage à la Mosson",
        description="Un parcours d'insertion professionnelle : stages de 3e dans les entreprises du club.",
        club=club,
        departement=herault,
        start_date=datetime.date(2025, 1, 15),
    )

    # The animator turns the action into a sheet, prefilled, and sends it for review.
    login(page, live_server, animator.email, PASSWORD)
    page.goto(reverse("actions:detail", args=[action.pk]))
    page.get_by_role("link", name="Faire de cette action une bonne pratique").click()
    expect(page.get_by_label("Titre", exact=True)).to_have_value("Tous en stage à la Mosson")
    page.locator("#id_problem").fill("Les élèves de 3e des quartiers ne trouvent pas de stage.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator("#sheet-status")).to_have_text("Brouillon")
    sheet_url = page.url
    page.get_by_role("button", name="Transmettre pour relecture").click()
    expect(page.locator("#sheet-status")).to_have_text("En relecture")

    # The préfecture returns it with a comment.
    reviewer = as_person(browser, live_server, agent.email)
    reviewer.goto(sheet_url)
    reviewer.get_by_role("link", name="Relire").click()
    reviewer.get_by_label("Commentaire aux auteurs").fill("Ajoutez les résultats obtenus.")
    reviewer.get_by_role("button", name="Renvoyer aux auteurs").click()
    expect(reviewer.locator("#sheet-status")).to_have_text("Renvoyée")

    # The animator reads the comment, fixes the sheet and sends it again.
    page.goto(sheet_url)
    expect(page.locator("#review-comment")).to_contain_text("Ajoutez les résultats obtenus.")
    page.get_by_role("link", name="Modifier").click()
    page.locator("#id_results_text").fill("42 élèves accueillis en stage, 30 entreprises mobilisées.")
    page.get_by_role("button", name=re.compile("^Enregistrer")).click()
    page.get_by_role("button", name="Transmettre pour relecture").click()
    expect(page.locator("#sheet-status")).to_have_text("En relecture")

    # The préfecture publishes it.
    reviewer.goto(sheet_url)
    reviewer.get_by_role("link", name="Relire").click()
    reviewer.get_by_role("button", name="Publier").click()
    expect(reviewer.locator("#sheet-status")).to_have_text("Publiée")
    reviewer.context.close()

    # An animator of the Aude finds it by "insérés" (the sheet says "insertion") and wants to reproduce it.
    seeker = as_person(browser, live_server, other.email)
    seeker.goto(reverse("practices:catalogue"))
    seeker.locator("#id_q").fill("insérés")
    seeker.get_by_role("button", name="Chercher").click()
    expect(seeker.locator("#resultats")).to_contain_text("1 fiche")
    screenshot(seeker, "pratique-catalogue-recherche")
    seeker.locator("#catalogue").get_by_role("link", name="Tous en stage à la Mosson").click()
    seeker.locator("#id_message").fill("Nous voulons lancer la même chose à Narbonne.")
    seeker.get_by_role("button", name="Je veux reproduire").click()
    expect(seeker.locator("#sheet-spread")).to_contain_text("Votre organisation a dit vouloir la reproduire")
    screenshot(seeker, "pratique-je-veux-reproduire")
    seeker.context.close()

    # The authors are told, in their inbox, and see who on the sheet.
    page.goto(reverse("notifications:list"))
    expect(page.locator("main")).to_contain_text("FACE Aude veut reproduire votre fiche « Tous en stage à la Mosson »")
    page.goto(sheet_url)
    expect(page.locator("#interests")).to_contain_text("FACE Aude")
    expect(page.locator("#interests")).to_contain_text("Narbonne")
    screenshot(page, "pratique-auteurs-prevenus")
