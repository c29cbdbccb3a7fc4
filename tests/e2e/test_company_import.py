"""In the browser (issue 12): a préfecture imports a companies file from the companies list, reads the preview
row by row with its errors, then imports a corrected file. Screenshots: test-artifacts/import-entreprises-*.png."""

import re

import pytest

from charte.comptes.models import OrganisationKind
from entreprises.models import Company
from entreprises.table import COLUMNS
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import (
    CommuneFactory,
    CompanyFactory,
    EstablishmentFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
    with_luhn_key,
)

pytestmark = pytest.mark.browser


def csv_file(rows):
    lines = [";".join(COLUMNS)]
    for cells in rows:
        lines.append(";".join(cells.get(column, "") for column in COLUMNS))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def test_a_prefecture_previews_then_imports_a_companies_file(page, live_server, login, screenshot):
    herault = departement("34")
    prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture de l'Hérault", departements=[herault])
    montpellier = CommuneFactory(code="34172", name="Montpellier")
    garrigue = CompanyFactory(name="Garrigue Numérique", commune=montpellier)
    head = EstablishmentFactory(company=garrigue, siret=with_luhn_key(garrigue.siren + "0001"), commune=montpellier)
    person = UserFactory(email="agent@herault.gouv.example.org")
    MembershipFactory(user=person, organisation=prefecture)
    new_siren = with_luhn_key("73282932")
    good = [
        {
            "SIREN": garrigue.siren,
            "Raison sociale": "Garrigue Numérique SAS",
            "Taille": "PME",
            "Code commune": "34172",
            "SIRET": head.siret,
            "Code commune de l'établissement": "34172",
            "Siège": "oui",
        },
        {
            "SIREN": new_siren,
            "Raison sociale": "Vignes du Lez",
            "Taille": "TPE",
            "Code commune": "34172",
            "SIRET": with_luhn_key(new_siren + "0001"),
            "Établissement": "Caveau",
            "Code commune de l'établissement": "34172",
        },
    ]
    bad = [
        *good,
        {"SIREN": "123456789", "Raison sociale": "Clé fausse"},
        {"SIREN": with_luhn_key("55210055"), "Raison sociale": "Epsilon", "Code commune": "99999"},
    ]

    login(page, live_server, person.email, PASSWORD)
    page.goto(f"{live_server.url}/entreprises/")
    page.get_by_role("link", name="Importer un fichier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer des entreprises")
    page.get_by_label(re.compile("Fichier à importer")).set_input_files(
        {"name": "entreprises.csv", "mimeType": "text/csv", "buffer": csv_file(bad)}
    )
    page.get_by_role("button", name="Analyser le fichier").click()
    expect(page.locator(".fr-alert--error")).to_contain_text("Rien n'a été importé")
    errors = page.locator("table", has=page.locator("caption", has_text="Erreurs du fichier"))
    expect(errors.locator("tbody tr")).to_have_count(2)
    expect(errors).to_contain_text("SIREN invalide « 123456789 »")
    expect(errors).to_contain_text("Commune inconnue")
    expect(page.get_by_role("button", name=re.compile("Confirmer"))).to_have_count(0)
    screenshot(page, "import-entreprises-apercu-erreurs")

    page.get_by_role("link", name="Retour aux imports").click()
    page.get_by_label(re.compile("Fichier à importer")).set_input_files(
        {"name": "entreprises-corrige.csv", "mimeType": "text/csv", "buffer": csv_file(good)}
    )
    page.get_by_role("button", name="Analyser le fichier").click()
    preview = page.locator("table", has=page.locator("caption", has_text="Ce que l'import fera"))
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview.locator("tbody tr").nth(0)).to_contain_text("Mise à jour")
    expect(preview.locator("tbody tr").nth(1)).to_contain_text("Création")
    screenshot(page, "import-entreprises-apercu")
    assert not Company.objects.filter(siren=new_siren).exists()  # nothing written before the confirmation

    page.get_by_role("button", name=re.compile("Confirmer l'import")).click()
    expect(page.locator(".fr-alert--success")).to_contain_text("Import terminé")
    screenshot(page, "import-entreprises-termine")
    assert Company.objects.get(siren=new_siren).establishments.get().name == "Caveau"
    garrigue.refresh_from_db()
    assert garrigue.name == "Garrigue Numérique SAS"
