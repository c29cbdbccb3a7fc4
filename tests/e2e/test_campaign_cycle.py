"""The annual cycle in the real UI: the company fills and submits its declaration, the club animator returns
it with a comment, the company corrects and resubmits, the préfecture validates. Screenshots of each step
go to test-artifacts/."""

import re

import pytest

from evaluation.models import Declaration, DeclarationValue
from tests.e2e.conftest import PASSWORD, expect
from tests.evaluation.test_pages_support import line_field, make_world

pytestmark = pytest.mark.browser


def sign_out(page):
    page.get_by_role("button", name="Se déconnecter").click()
    # The logout lands on the home page: waiting for it, not for the current page's load, makes sure the
    # session is gone before the next person signs in.
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))


def test_company_submits_club_returns_company_resubmits_prefecture_validates(page, live_server, login, screenshot):
    w = make_world()
    accueillis = "#id_" + line_field(w.commitment, "STAGE3_ACCUEILLIS")
    accueillis_comment = "#id_" + line_field(w.commitment, "STAGE3_ACCUEILLIS", "comment")
    offerts = "#id_" + line_field(w.commitment, "STAGE3_OFFERTS")
    # "Transmettre la déclaration" asks for a confirmation (optional JavaScript): accept it as a person would.
    page.on("dialog", lambda dialog: dialog.accept())

    # 1. The company finds its declaration on the dashboard, saves a draft, then submits.
    login(page, live_server, w.company_user.email, PASSWORD)
    page.get_by_role("link", name=re.compile("Déclaration 2017 — convention 034-2016-BRL")).click()
    page.locator(offerts).fill("15")
    page.locator(accueillis).fill("8")
    page.locator(accueillis_comment).fill("Collège Las Cazes, Montpellier")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Brouillon enregistré : 2 valeurs modifiées.")).to_be_visible()
    assert page.locator(accueillis).input_value() == "8"
    screenshot(page, "campagne-1-entreprise-brouillon")
    page.get_by_role("button", name="Transmettre la déclaration").click()
    expect(page.get_by_text("Déclaration transmise : le club animateur")).to_be_visible()
    assert page.locator("#declaration-form").count() == 0
    screenshot(page, "campagne-2-entreprise-transmise")
    sign_out(page)

    # 2. The animator sees it to validate and returns it with a comment.
    login(page, live_server, w.animator.email, PASSWORD)
    page.get_by_role("link", name="1 déclaration à valider").click()
    page.get_by_role("link", name="BRL").click()
    page.get_by_label("Commentaire pour l'entreprise").fill(
        "Le nombre d'élèves accueillis semble bas : vérifiez la feuille d'émargement."
    )
    screenshot(page, "campagne-3-animatrice-avant-renvoi")
    page.get_by_role("button", name="Renvoyer avec un commentaire").click()
    # The confirmation step shows the comment back before anything changes.
    expect(page.locator("#confirm-comment")).to_contain_text("Le nombre d'élèves accueillis semble bas")
    page.get_by_role("button", name="Confirmer le renvoi").click()
    expect(page.get_by_text("Déclaration renvoyée à l'entreprise avec votre commentaire")).to_be_visible()
    assert Declaration.objects.get(pk=w.declaration.pk).status == Declaration.Status.RETURNED
    sign_out(page)

    # 3. The company reads the comment, corrects and resubmits.
    login(page, live_server, w.colleague.email, PASSWORD)
    page.get_by_role("link", name=re.compile("Déclaration 2017 — convention 034-2016-BRL")).click()
    expect(page.locator("#return-comment").get_by_text("Le nombre d'élèves accueillis semble bas")).to_be_visible()
    page.locator(accueillis).fill("11")
    page.locator(accueillis_comment).fill("Trois élèves oubliés dans le premier décompte")
    screenshot(page, "campagne-4-entreprise-correction")
    page.get_by_role("button", name="Transmettre la déclaration").click()
    expect(page.get_by_text("Déclaration transmise : le club animateur")).to_be_visible()
    sign_out(page)

    # 4. The préfecture validates from the campaign page.
    login(page, live_server, w.prefecture_user.email, PASSWORD)
    page.locator("#main-menu").get_by_role("link", name="Campagnes").click()
    page.get_by_role("link", name="Campagne nationale 2017").click()
    page.get_by_role("link", name="BRL").click()
    page.get_by_role("button", name="Valider", exact=True).click()
    page.get_by_role("button", name="Confirmer la validation").click()
    expect(page.get_by_text("Déclaration validée. Un courriel part vers")).to_be_visible()
    assert page.locator("#declaration-status").text_content().strip() == "Validée"
    page.locator("#historique").scroll_into_view_if_needed()
    expect(page.locator("#historique").get_by_text("8,00 → 11,00")).to_be_visible()
    screenshot(page, "campagne-5-prefecture-validee")

    declaration = Declaration.objects.get(pk=w.declaration.pk)
    assert (declaration.status, declaration.validated_by) == (Declaration.Status.VALIDATED, w.prefecture_user)
    assert str(DeclarationValue.objects.get(declaration=declaration, indicator__code="STAGE3_ACCUEILLIS").value) == "11.00"
