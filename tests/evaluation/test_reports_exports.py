"""Exports of a report (XLSX, CSV, PDF) and the public open data with its statistical secrecy."""

import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from charte.catalogue.models import Family
from charte.comptes.models import OrganisationKind
from evaluation.engine import runs
from evaluation.models import AnnualResult, EvaluationRun
from tests.evaluation.test_oracle import YEAR, build_territory
from tests.factories import MembershipFactory, OrganisationFactory, departement


@pytest.fixture
def prefecture_client(client, db):
    build_territory(3)
    runs.start_run(YEAR, sync=True)
    prefecture = OrganisationFactory(name="Préfecture des Bouches-du-Rhône", departements=[departement("13")])
    client.force_login(MembershipFactory(organisation=prefecture).user)
    return client


def published(family=None):
    return AnnualResult.objects.for_scope(YEAR, "departement", "13")


def test_xlsx_has_a_summary_and_one_sheet_per_family_with_numbers(prefecture_client):
    response = prefecture_client.get("/rapports/departement/13/rapport.xlsx", {"annee": YEAR})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    families = list(published().filter(family__isnull=False, indicator__isnull=True).select_related("family"))
    assert workbook.sheetnames[0] == "Synthèse" and len(workbook.sheetnames) == 1 + len(families)

    summary = workbook["Synthèse"]
    total = published().get(family=None, indicator=None)
    assert summary["A6"].value == "Actions" and summary["B6"].value == total.actions_count
    assert isinstance(summary["B6"].value, int)
    assert summary.column_dimensions["A"].width == 44

    sheet = workbook.worksheets[1]
    assert sheet["A1"].value == "Indicateur" and sheet["C1"].value == "Valeur déclarée"
    numbers = [cell.value for row in sheet.iter_rows(min_row=2, min_col=3) for cell in row if cell.value is not None]
    assert numbers and all(isinstance(value, int | float) for value in numbers)


def test_csv_export_semicolon_and_bom(prefecture_client):
    response = prefecture_client.get("/rapports/departement/13/rapport.csv", {"annee": YEAR})
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeffFamille;Indicateur;Unité;Valeur déclarée")
    lines = content.strip().splitlines()
    rows = published().filter(family__isnull=False).exclude(indicator__isnull=True, family__isnull=True)
    assert len(lines) - 1 == rows.count()


def test_exports_follow_the_scope(prefecture_client):
    for suffix in ("rapport.xlsx", "rapport.csv", "rapport.pdf"):
        assert prefecture_client.get(f"/rapports/departement/34/{suffix}", {"annee": YEAR}).status_code == 404


def test_pdf_annual_report(prefecture_client):
    response = prefecture_client.get("/rapports/departement/13/rapport.pdf", {"annee": YEAR})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext absent")
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True).stdout.decode()
    assert "Rapport d'évaluation 2017" in text and "Bouches-du-Rhône" in text
    assert "Chiffres calculés le" in text and "Note méthodologique" in text
    assert "rapports de sommes" in text
    assert "Actions par famille en 2017" in text  # the SVG charts are drawn in the PDF
    assert "Données de démonstration" not in text  # real data: no invented-data warning


# --- open data -------------------------------------------------------------------------------------------


def _national_run_with(counts):
    run = EvaluationRun.objects.create(year=YEAR, status=EvaluationRun.Status.SUCCEEDED)
    family = Family.objects.order_by("position").first()
    for code, (actions, beneficiaries, qpv) in counts.items():
        AnnualResult.objects.create(
            run=run,
            unit=f"dep:{code}",
            year=YEAR,
            scope_type="departement",
            scope_key=code,
            family=family,
            actions_count=actions,
            beneficiaries=beneficiaries,
            beneficiaries_qpv=qpv,
            qpv_share=qpv / beneficiaries if beneficiaries else None,
            companies_expected=12,
            companies_reporting=4,
        )
    return run, family


def test_open_data_hides_counts_below_five(client, db):
    _, family = _national_run_with({"13": (4, 60, 30), "34": (7, 9, 3)})
    data = client.get("/rapports/donnees-ouvertes/departements-familles.json").json()  # public: not signed in
    assert data["annee"] == YEAR and data["seuil_secret_statistique"] == 5
    rows = {row["departement_code"]: row for row in data["lignes"]}
    assert rows["13"]["actions"] is None and rows["13"]["beneficiaires"] == 60 and rows["13"]["part_beneficiaires_qpv"] == 0.5
    assert rows["13"]["entreprises_attendues"] == 12 and rows["13"]["entreprises_ayant_declare"] is None
    assert rows["34"]["actions"] == 7 and rows["34"]["beneficiaires_qpv"] is None
    assert rows["34"]["part_beneficiaires_qpv"] is None  # it would give the hidden 3 back
    assert rows["34"]["famille_code"] == family.code and rows["34"]["departement_nom"] == departement("34").name

    csv_text = client.get("/rapports/donnees-ouvertes/departements-familles.csv").content.decode()
    assert csv_text.startswith("\ufeffannee;departement_code;")
    line_13 = next(line for line in csv_text.splitlines() if line.startswith(f"{YEAR};13;"))
    assert line_13.split(";")[5] == "" and line_13.split(";")[6] == "60"


def test_open_data_uses_only_succeeded_national_runs_and_is_documented(client, db):
    _national_run_with({"13": (40, 60, 30)})
    failed = EvaluationRun.objects.create(year=YEAR + 1, status=EvaluationRun.Status.FAILED)
    assert failed and client.get("/rapports/donnees-ouvertes/departements-familles.json").json()["annee"] == YEAR
    page = client.get("/rapports/donnees-ouvertes/")
    html = page.content.decode()
    assert page.status_code == 200 and "inférieur à 5" in html and "beneficiaires_qpv" in html


def test_open_data_without_any_run_is_empty(client, db):
    assert client.get("/rapports/donnees-ouvertes/departements-familles.json").json()["lignes"] == []


def test_a_partner_cannot_start_anything_but_reads_open_data(client, db):
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, departements=[departement("13")])
    client.force_login(MembershipFactory(organisation=partner).user)
    assert client.get("/rapports/donnees-ouvertes/").status_code == 200
    response = client.post("/rapports/departement/13/lancer/", {"annee": YEAR})
    assert response.status_code == 403 and not EvaluationRun.objects.exists()
