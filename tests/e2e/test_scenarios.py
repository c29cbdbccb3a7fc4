"""In the browser, end to end in the real UI: the three daily jobs of issue 3.

- a club animator logs an action for two companies and two QPV, and finds it in the actions list;
- a préfecture agent takes a draft convention through negotiation and signature (signatory and signed PDF)
  to "en vigueur";
- a company user sees its convention (read only: the French 403 page refuses to edit it) and cannot reach
  another company's page (French 404 page).

Each scenario saves screenshots under test-artifacts/ (scenario-*.png).
"""

import datetime
import re

import pytest
from django.utils import timezone

from charte.comptes.models import OrganisationKind
from conventions.models import Convention, ConventionDocument
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import (
    ClubMembershipFactory,
    CommitmentFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    TargetFactory,
    UserFactory,
    departement,
)

pytestmark = pytest.mark.browser


def running_dates():
    """Dates around today: activation is refused once a convention's end date is past."""
    year = timezone.localdate().year
    return datetime.date(year, 1, 1), datetime.date(year + 2, 12, 31)


def tick(form, label_start):
    """Tick a DSFR checkbox as a person does, by its label (the DSFR draws the box over the input)."""
    form.locator("label.fr-label", has_text=label_start).click()
    assert form.get_by_label(re.compile("^" + re.escape(label_start))).is_checked()


def test_an_animator_logs_an_action_for_two_companies_and_two_qpv(page, live_server, login, screenshot):
    herault = departement("34")
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    montpellier = CommuneFactory(code="34172", name="Montpellier")
    garrigue = CompanyFactory(name="Garrigue Numérique", commune=montpellier)
    lez = CompanyFactory(name="Vignes du Lez", commune=montpellier)
    for company in (garrigue, lez):
        ClubMembershipFactory(company=company, club=club)
    # Outside the club: never offered in the form.
    CompanyFactory(name="Cers Bâtiment", commune=CommuneFactory(code="11069", name="Carcassonne", departement=departement("11")))
    QPVFactory(code="QP034005", name="Mosson")
    QPVFactory(code="QP034006", name="Petit Bard Pergola")
    QPVFactory(code="QP011002", name="La Conte", departement=departement("11"))
    animator = UserFactory(email="animatrice@face-herault.example.org", first_name="Inès", last_name="Benali")
    MembershipFactory(user=animator, organisation=club)

    login(page, live_server, animator.email, PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Actions").click()
    page.get_by_role("link", name="Saisir une action").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Saisir une action")

    form = page.locator("#action-form")
    # The type search (progressive enhancement) narrows the list; the select keeps the choice.
    form.get_by_label("Rechercher un type d'action").fill("stagiaires")
    form.get_by_label("Type d'action", exact=True).select_option(label="Accueil de stagiaires de 3e")
    today = timezone.localdate()
    form.get_by_label("Date de début").fill(today.replace(day=1).isoformat())
    form.get_by_label("Intitulé").fill("Stages de 3e au collège Las Cazes")
    assert form.get_by_label(re.compile("Cers Bâtiment")).count() == 0
    assert form.get_by_label(re.compile("La Conte")).count() == 0
    for choice in ("Garrigue Numérique (SIREN", "Vignes du Lez (SIREN", "Mosson (QP034005)", "Petit Bard Pergola (QP034006)"):
        tick(form, choice)
    form.get_by_label(re.compile(r"^\s*Bénéficiaires")).fill("12")
    form.get_by_label("dont femmes").fill("7")
    form.get_by_label("dont moins de 26 ans").fill("12")
    form.get_by_label("dont résidents des QPV").fill("9")
    screenshot(page, "scenario-action-formulaire")
    form.get_by_role("button", name="Enregistrer", exact=True).click()

    page.wait_for_url(re.compile(r"/actions/\d+/$"))
    assert page.locator(".fr-alert--success").inner_text() == "L'action « Stages de 3e au collège Las Cazes » a été enregistrée."
    screenshot(page, "scenario-action-fiche")

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Actions").click()
    page.wait_for_url(re.compile(r"/actions/$"))
    row = page.locator("#liste-actions tbody tr", has_text="Stages de 3e au collège Las Cazes")
    expect(row).to_have_count(1)
    text = row.inner_text()
    assert "Garrigue Numérique" in text and "Vignes du Lez" in text
    assert "QP034005" in text and "QP034006" in text
    screenshot(page, "scenario-action-liste")


def test_a_prefecture_agent_takes_a_draft_convention_to_active(page, live_server, login, screenshot, tmp_path):
    herault = departement("34")
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    agent = UserFactory(email="agent@herault.gouv.fr", first_name="Julien", last_name="Roux")
    MembershipFactory(user=agent, organisation=prefecture)
    company = CompanyFactory(name="Garrigue Numérique", commune=CommuneFactory(code="34172", name="Montpellier"))
    start, end = running_dates()
    convention = ConventionFactory(
        reference="034-2026-0042", title="Engagements de Garrigue Numérique", start_date=start, end_date=end
    )
    convention.companies.add(company)
    TargetFactory(commitment=CommitmentFactory(convention=convention), year=start.year, value=10)
    pdf = tmp_path / "convention-signee.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

    login(page, live_server, agent.email, PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Conventions").click()
    page.get_by_role("link", name="034-2026-0042").click()
    page.wait_for_url(re.compile(rf"/conventions/{convention.pk}/$"))
    badge = page.locator("main .fr-badge").first

    def status():
        # text_content, not inner_text: the DSFR shows badges in capitals through CSS.
        return badge.text_content().strip()

    assert status() == "Brouillon"
    screenshot(page, "scenario-convention-brouillon")

    # Negotiation, confirmed on its own page.
    page.locator("#convention-actions").get_by_role("link", name="Soumettre à la négociation").click()
    page.locator("#step-form").get_by_role("button", name="Soumettre à la négociation").click()
    expect(page.locator(".fr-alert--success")).to_have_text("La convention est en négociation.")
    assert status() == "En négociation"

    # Signature: one signatory and the signed PDF.
    page.locator("#convention-actions").get_by_role("link", name="Enregistrer la signature").click()
    signatory = page.locator(".signatory-row").first
    signatory.get_by_label("Qualité").select_option(label="Préfet")
    signatory.get_by_label("Nom", exact=True).fill("Pierre Pouëssel")
    signatory.get_by_label("Organisation", exact=True).fill("Préfecture de l'Hérault")
    signatory.get_by_label("Date de signature").fill(timezone.localdate().isoformat())
    page.get_by_label("Convention signée (PDF)").set_input_files(str(pdf))
    screenshot(page, "scenario-convention-signature")
    page.locator("#sign-form").get_by_role("button", name="Enregistrer la signature").click()
    page.wait_for_url(re.compile(rf"/conventions/{convention.pk}/$"))
    assert page.locator(".fr-alert--success").inner_text() == "La signature de la convention a été enregistrée."
    assert "Pierre Pouëssel" in page.locator("main").inner_text()
    assert status() == "Signée"
    document = ConventionDocument.objects.get(convention=convention)
    assert document.file.read().startswith(b"%PDF-1.4")

    # In force.
    page.locator("#convention-actions").get_by_role("link", name="Mettre en vigueur").click()
    page.locator("#step-form").get_by_role("button", name="Mettre en vigueur").click()
    expect(page.locator(".fr-alert--success")).to_have_text("La convention est en vigueur.")
    assert status() == "En vigueur"
    convention.refresh_from_db()
    assert convention.status == Convention.Status.ACTIVE
    screenshot(page, "scenario-convention-en-vigueur")


def test_a_company_sees_its_convention_and_not_another_company(page, live_server, login, screenshot):
    montpellier = CommuneFactory(code="34172", name="Montpellier")
    own = CompanyFactory(name="Garrigue Numérique", commune=montpellier)
    other = CompanyFactory(name="Vignes du Lez", commune=montpellier)
    account = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Garrigue Numérique (compte)")
    own.organisation = account
    own.save(update_fields=["organisation"])
    start, end = running_dates()
    mine = ConventionFactory(reference="034-2026-0007", title="Engagements de Garrigue Numérique", start_date=start, end_date=end)
    mine.companies.add(own)
    theirs = ConventionFactory(reference="034-2026-0008", title="Engagements des Vignes du Lez", start_date=start, end_date=end)
    theirs.companies.add(other)
    user = UserFactory(email="rse@garrigue.example.org", first_name="Claire", last_name="Fabre")
    MembershipFactory(user=user, organisation=account)

    login(page, live_server, user.email, PASSWORD)
    assert "034-2026-0007" in page.locator("#company-conventions").inner_text()
    screenshot(page, "scenario-entreprise-tableau-de-bord")

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Conventions").click()
    page.wait_for_url(re.compile(r"/conventions/$"))
    listing = page.locator("main").inner_text()
    assert "034-2026-0007" in listing and "034-2026-0008" not in listing
    page.get_by_role("link", name="034-2026-0007").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Engagements de Garrigue Numérique")
    # Reading is all a company does with its convention: no button to change it, and the address refuses in French.
    assert page.get_by_role("link", name="Modifier la convention").count() == 0
    screenshot(page, "scenario-entreprise-convention")
    response = page.goto(f"/conventions/{mine.pk}/modifier/")
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Action non autorisée"
    assert page.locator("#forbidden-message").inner_text() == "Vous pouvez consulter cette convention, mais pas la modifier."
    screenshot(page, "scenario-entreprise-modification-refusee")

    response = page.goto(f"/entreprises/{other.pk}/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
    assert "Vignes du Lez" not in page.content()
    screenshot(page, "scenario-entreprise-page-introuvable")
    # The page's way out leads back to the person's dashboard.
    page.get_by_role("link", name="Page d'accueil").click()
    page.wait_for_url(re.compile(r"/tableau-de-bord/$"))
