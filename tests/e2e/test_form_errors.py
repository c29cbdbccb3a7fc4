"""In the browser: a form refused by the server shows the DSFR error summary, which takes the focus, and each
of its links moves the focus to the field in error (issue 13, point 6). The compile's progress box updates in
place without reloading the page (point 5). Screenshots: test-artifacts/erreurs-formulaire-*.png."""

import pytest

from charte.comptes.models import OrganisationKind
from evaluation.models import EvaluationRun
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import (
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)

pytestmark = pytest.mark.browser


def _animator():
    herault = departement("34")
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    company = CompanyFactory(name="Garrigue Numérique", commune=CommuneFactory(code="34172", name="Montpellier"))
    ClubMembershipFactory(company=company, club=club)
    animator = UserFactory(email="animatrice@face-herault.example.org", first_name="Inès", last_name="Benali")
    MembershipFactory(user=animator, organisation=club)
    return animator


def test_a_refused_form_focuses_its_summary_whose_links_reach_the_fields(page, live_server, login, screenshot):
    animator = _animator()
    login(page, live_server, animator.email, PASSWORD)
    page.goto("/actions/nouvelle/")
    form = page.locator("#action-form")
    # Nothing typed but the number of women above the total: the browser does not stop it (novalidate), the
    # server refuses it.
    form.locator("#id_beneficiaries_women").fill("40")
    form.locator("#id_beneficiaries_total").fill("10")
    form.get_by_role("button", name="Enregistrer", exact=True).click()

    summary = page.locator("#form-errors")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "form-errors"
    links = summary.get_by_role("link")
    assert links.count() >= 3  # type, dates, title, women… each listed
    expect(summary.get_by_role("link", name="Intitulé : Ce champ est obligatoire.")).to_be_visible()
    screenshot(page, "erreurs-formulaire-1-resume")

    summary.get_by_role("link", name="Intitulé : Ce champ est obligatoire.").click()
    expect(page.locator("#id_title")).to_be_focused()
    assert page.locator("#id_title").get_attribute("aria-invalid") == "true"
    women = summary.get_by_role("link", name="Dont femmes", exact=False)
    women.click()
    expect(page.locator("#id_beneficiaries_women")).to_be_focused()
    expect(page.locator("#id_beneficiaries_women")).to_be_in_viewport()
    # A group of checkboxes in error: its link focuses its first checkbox.
    summary.get_by_role("link", name="Entreprises", exact=False).click()
    expect(page.locator("#fieldset-companies input[type=checkbox]").first).to_be_focused()
    screenshot(page, "erreurs-formulaire-2-champ")


def test_the_compile_progress_updates_in_place_and_says_when_it_is_done(page, live_server, login, screenshot):
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[departement("34")])
    user = MembershipFactory(organisation=prefecture).user
    run = EvaluationRun.objects.create(year=2017, status=EvaluationRun.Status.RUNNING, units_total=4, units_done=1)
    login(page, live_server, user.email, PASSWORD)
    page.goto("/rapports/departement/34/?annee=2017")
    expect(page.locator("#compilation-titre")).to_have_text("Compilation 2017 : en cours")
    expect(page.locator("#compilation-actualiser")).to_be_hidden()  # the script updates the box by itself
    page.evaluate("window.__same_page = true")

    EvaluationRun.objects.filter(pk=run.pk).update(units_done=3)
    expect(page.locator("#progression-compilation")).to_have_attribute("value", "75", timeout=10_000)
    expect(page.locator("#compilation-annonce")).to_have_text("Compilation 2017 : 75 %.")
    screenshot(page, "progression-compilation-1-en-cours")

    EvaluationRun.objects.filter(pk=run.pk).update(units_done=4, status=EvaluationRun.Status.SUCCEEDED)
    expect(page.locator("#compilation-titre")).to_have_text("Compilation 2017 terminée", timeout=10_000)
    expect(page.locator("#compilation-annonce")).to_contain_text("Compilation 2017 terminée")
    assert page.evaluate("window.__same_page") is True  # never reloaded
    link = page.locator("#compilation-resultat")
    expect(link).to_have_text("Afficher les chiffres à jour")
    screenshot(page, "progression-compilation-2-terminee")
    link.click()
    expect(page.locator("#compilation-en-cours")).to_have_count(0)


def test_the_export_progress_updates_in_place_and_offers_the_file_when_ready(page, live_server, login, screenshot):
    from django.core.files.base import ContentFile

    from evaluation.models import ExportJob

    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[departement("34")])
    membership = MembershipFactory(organisation=prefecture)
    job = ExportJob.objects.create(
        kind="actions", created_by=membership.user, membership=membership, organisation=prefecture,
        status=ExportJob.Status.RUNNING, rows_total=40_000, rows_done=0,
    )
    login(page, live_server, membership.user.email, PASSWORD)
    page.goto(f"/exports/{job.pk}/")
    expect(page.locator("#export-titre")).to_have_text("Export : en cours")
    expect(page.locator("#export-actualiser")).to_be_hidden()
    page.evaluate("window.__same_page = true")

    ExportJob.objects.filter(pk=job.pk).update(rows_done=30_000)
    expect(page.locator("#progression-export")).to_have_attribute("value", "75", timeout=10_000)
    expect(page.locator("#export-annonce")).to_have_text("Export : 75 %.")
    screenshot(page, "progression-export-1-en-cours")

    job.file.save("actions.csv", ContentFile("\ufeffIdentifiant\r\n1\r\n".encode()), save=False)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.DONE, rows_done=40_000, file=job.file.name)
    expect(page.locator("#export-titre")).to_have_text("Fichier prêt", timeout=10_000)
    expect(page.locator("#export-annonce")).to_contain_text("Export terminé")
    assert page.evaluate("window.__same_page") is True  # never reloaded
    link = page.locator("#telecharger-export")
    expect(link).to_have_attribute("href", f"/exports/{job.pk}/fichier/")
    screenshot(page, "progression-export-2-pret")
