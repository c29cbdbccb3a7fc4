"""In the browser (issue 12): a company exports its declaration lines, fills two values in the file, imports it,
reads the preview row by row, confirms, and finds the values in its draft declaration; a file with mistakes shows
every error and imports nothing. Screenshots: test-artifacts/import-valeurs-*.png."""

import csv
import io
from decimal import Decimal

import pytest

from evaluation.models import DeclarationValue
from tests.e2e.conftest import PASSWORD, expect
from tests.evaluation.test_pages_support import S, fresh, make_world

pytestmark = pytest.mark.browser


def _edit(data, changes):
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    for row in rows[1:]:
        for (code, column), value in changes.items():
            if row[header.index("Code indicateur")] == code:
                row[header.index(column)] = value
    output = io.StringIO()
    csv.writer(output, delimiter=";").writerows(rows)
    return output.getvalue().encode("utf-8-sig")


def test_a_company_imports_its_declared_values_through_the_preview(page, live_server, login, screenshot, tmp_path):
    w = make_world()
    login(page, live_server, w.company_user.email, PASSWORD)
    page.goto("/campagnes/declarations/")
    page.get_by_role("link", name="Importer des valeurs déclarées").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer des valeurs déclarées")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exporter vos déclarations (CSV)").click()
    exported = download_info.value.path().read_bytes()
    filled = tmp_path / "valeurs-brl.csv"
    filled.write_bytes(
        _edit(
            exported,
            {
                ("STAGE3_ACCUEILLIS", "Valeur"): "11",
                ("STAGE3_ACCUEILLIS", "Commentaire"): "Collège Las Cazes",
                ("STAGE3_OFFERTS", "Valeur"): "12,5",
            },
        )
    )

    page.get_by_label("Fichier à importer").set_input_files(str(filled))
    page.get_by_role("button", name="Analyser le fichier").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("valeurs-brl.csv")
    preview = page.locator("table", has=page.locator("caption", has_text="Ce que l'import fera de chaque ligne"))
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview.locator("tbody tr", has_text="STAGE3_OFFERTS : 12,5")).to_contain_text("Création")
    expect(preview.locator("tbody tr", has_text="BENEFICIAIRES_QPV")).to_contain_text("Inchangée")
    screenshot(page, "import-valeurs-apercu")

    page.get_by_role("button", name="Confirmer l'import").click()
    expect(page.locator(".fr-alert--success")).to_contain_text("2 valeur(s) ajoutée(s)")
    screenshot(page, "import-valeurs-termine")
    values = {v.indicator.code: v.value for v in DeclarationValue.objects.filter(declaration=w.declaration)}
    assert values == {"STAGE3_ACCUEILLIS": Decimal("11"), "STAGE3_OFFERTS": Decimal("12.5")}
    assert fresh(w.declaration).status == S.DRAFT

    wrong = tmp_path / "valeurs-erreurs.csv"
    wrong.write_bytes(
        _edit(exported, {("STAGE3_ACCUEILLIS", "Valeur"): "-4", ("STAGE3_OFFERTS", "Code indicateur"): "STAGES_INVENTES"})
    )
    page.goto("/campagnes/declarations/importer/")
    page.get_by_label("Fichier à importer").set_input_files(str(wrong))
    page.get_by_role("button", name="Analyser le fichier").click()
    expect(page.get_by_role("heading", name="Erreurs (2)")).to_be_visible()
    expect(page.get_by_text("La valeur ne peut pas être négative.")).to_be_visible()
    expect(page.get_by_role("button", name="Confirmer l'import")).to_have_count(0)
    screenshot(page, "import-valeurs-erreurs")
    assert DeclarationValue.objects.get(declaration=w.declaration, indicator__code="STAGE3_ACCUEILLIS").value == 11
