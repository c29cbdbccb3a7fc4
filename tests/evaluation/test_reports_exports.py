"""Exports of a report (XLSX, CSV, PDF) and the public open data with its statistical secrecy."""

import csv
import datetime
import io
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils.html import escape
from openpyxl import load_workbook

from charte.catalogue.models import Family
from charte.comptes.models import OrganisationKind
from evaluation import figures
from evaluation.engine import runs
from evaluation.models import AnnualResult, EvaluationRun
from evaluation.reports import exports
from tests.evaluation.test_oracle import YEAR, build_territory
from tests.factories import MembershipFactory, OrganisationFactory, departement, indicator


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
    # A département's workbook ends with its comparison with the others (methodology §14).
    assert workbook.sheetnames[0] == "Synthèse" and len(workbook.sheetnames) == 1 + len(families) + 1
    assert workbook.sheetnames[-1] == "Comparaison"

    summary = workbook["Synthèse"]
    total = published().get(family=None, indicator=None)
    actions = next(row for row in summary.iter_rows() if row[0].value == "Actions")
    assert actions[1].value == total.actions_count and isinstance(actions[1].value, int)
    assert summary.column_dimensions["A"].width == 44

    sheet = workbook.worksheets[1]
    assert sheet["A1"].value == "Indicateur" and sheet["C1"].value == figures.FIGURES[0].label
    numbers = [cell.value for row in sheet.iter_rows(min_row=2, min_col=3) for cell in row if cell.value is not None]
    assert numbers and all(isinstance(value, int | float) for value in numbers)


def test_csv_export_semicolon_and_bom(prefecture_client):
    response = prefecture_client.get("/rapports/departement/13/rapport.csv", {"annee": YEAR})
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeffFamille;Indicateur;Unité;Actions;")
    lines = content.strip().splitlines()
    rows = published().filter(family__isnull=False).exclude(indicator__isnull=True, family__isnull=True)
    assert len(lines) - 1 == rows.count()


def test_exports_follow_the_scope(prefecture_client):
    for suffix in ("rapport.xlsx", "rapport.csv", "rapport.pdf"):
        assert prefecture_client.get(f"/rapports/departement/34/{suffix}", {"annee": YEAR}).status_code == 404


def test_pdf_annual_report(prefecture_client):
    response = prefecture_client.get("/rapports/departement/13/rapport.pdf", {"annee": YEAR})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    # The text of the laid-out document the view wrote (WeasyPrint's pages), without an external PDF reader.
    from charte.comptes.models import Organisation
    from charte.comptes.scoping import Scope
    from evaluation.reports import reports
    from tests.evaluation.test_pdf_layout import document_text

    scope = Scope.for_organisation(Organisation.objects.get(name="Préfecture des Bouches-du-Rhône"))
    report = reports.build(scope, "departement", "13", YEAR, "Bouches-du-Rhône (13)")
    text = document_text(exports.pdf_document(report)).replace("\u00a0", " ")
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


# --- formats and links, on rows built here (the figures do not depend on the engine's rules) -------------

THIN, NBSP = "\u202f", "\u00a0"
FINISHED = datetime.datetime(2018, 4, 2, 8, 15, tzinfo=datetime.UTC)  # 10:15 in Paris


def built_rows(run, scope_key="13", indicators=("STAGE3_ACCUEILLIS", "ACHATS_INCLUSIFS_EUR", "PART_BENEFICIAIRES_QPV")):
    """A total row, one family row and its indicator rows, with values that need formatting: thousands,
    decimals, long fractions, euros, a ratio indicator, and the companies of a year without campaign (None)."""
    common = {"run": run, "unit": f"dep:{scope_key}", "year": YEAR, "scope_type": "departement", "scope_key": scope_key}
    family = Family.objects.order_by("position").first()
    counts = {
        "actions_count": 4436,
        "prev_actions_count": 3900,
        "beneficiaries": 6200,
        "beneficiaries_qpv": 4176,
        "qpv_share": 0.6735566642908054,
        "prev_qpv_share": 0.5,
        "companies_expected": None,
        "companies_reporting": None,
    }
    rows = [AnnualResult.objects.create(**common, **counts), AnnualResult.objects.create(**common, family=family, **counts)]
    values = {
        "STAGE3_ACCUEILLIS": ("774.00", "500.50", "1000.00", 0.5005),
        "ACHATS_INCLUSIFS_EUR": ("1200.00", "1200.00", "1000.00", 1.2),
        "PART_BENEFICIAIRES_QPV": ("45.55", "45.55", None, None),
    }
    for code in indicators:
        declared, validated, target, rate = values.get(code, ("12.50", "10.00", "20.00", 0.5))
        rows.append(
            AnnualResult.objects.create(
                **common,
                family=family,
                indicator=indicator(code),
                declared_value=Decimal(declared),
                declared_validated_value=Decimal(validated),
                target_value=Decimal(target) if target else None,
                attainment_rate=rate,
                computed_value=Decimal("12.50"),
                prev_declared_value=Decimal("600.00"),
                companies_expected=None,
            )
        )
    return rows


@pytest.fixture
def built(client, db):
    run = EvaluationRun.objects.create(year=YEAR, status=EvaluationRun.Status.SUCCEEDED, finished_at=FINISHED)
    rows = built_rows(run)
    prefecture = OrganisationFactory(name="Préfecture des Bouches-du-Rhône", departements=[departement("13")])
    client.force_login(MembershipFactory(organisation=prefecture).user)
    return SimpleNamespace(client=client, run=run, rows=rows)


def test_report_page_writes_the_registry_formats_and_links_each_figure(built):
    html = built.client.get("/rapports/departement/13/", {"annee": YEAR}).content.decode()
    assert '<a class="fr-link fr-icon-book-2-line fr-link--icon-left" href="/methodologie/">' in html
    assert "Méthodologie : comment chaque chiffre est calculé" in html
    for column in figures.report_table_columns():
        assert f'<a href="/methodologie/#{column.figure.code}">{escape(column.heading(YEAR))}</a>' in html
    for figure in figures.KEY_FIGURES:
        assert f'<a href="/methodologie/#{figure.code}">{escape(figure.label)}</a>' in html
    assert f'id="chiffre-actions">4{THIN}436<' in html and f'id="chiffre-part_beneficiaires_qpv">67,4{NBSP}%<' in html
    assert 'id="chiffre-entreprises_attendues">—<' in html  # no campaign: "—", not 0
    assert f"Chiffres calculés le 2 avril 2018 à 10:15 par la compilation n° {built.run.pk}" in html
    assert f'data-code="valeur_declaree">45,6{NBSP}%<' in html  # the ratio indicator, stored in percent
    assert 'data-code="taux_atteinte">—<' in html  # no target: no rate
    assert 'data-code="valeur_declaree">774<' in html and 'data-code="valeur_declaree_validee">500,5<' in html
    assert 'data-code="en_attente_validation">273,5<' in html
    assert f'data-code="taux_atteinte">50,1{NBSP}%<' in html
    assert f'data-code="valeur_declaree">1{THIN}200{NBSP}€<' in html
    assert "774,00" not in html and "0,5005" not in html and "0.6735" not in html


def _header_columns(sheet):
    return {cell.value: cell.column for cell in sheet[1]}


def test_xlsx_keeps_numbers_with_a_format_per_kind_and_links_the_definitions(built):
    response = built.client.get("/rapports/departement/13/rapport.xlsx", {"annee": YEAR})
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[1]
    headers = _header_columns(sheet)
    checked = {figures.RATE: 0, figures.COUNT: 0, figures.VALUE: 0}
    for column in figures.export_columns():
        header = sheet.cell(row=1, column=headers[column.label])
        assert header.hyperlink.target == f"http://testserver/methodologie/#{column.figure.code}"
        for (cell,) in sheet.iter_rows(min_row=2, min_col=header.column, max_col=header.column):
            if cell.value is None:
                continue
            checked[column.kind] += 1
            if column.kind == figures.RATE:
                assert "%" in cell.number_format and isinstance(cell.value, float), column.label
                assert cell.value == round(cell.value, 3)  # what the screen shows, not 0.6735566642908054
            elif column.kind == figures.COUNT:
                assert type(cell.value) is int and cell.number_format == "#,##0", column.label
            else:
                assert isinstance(cell.value, int | float) and cell.number_format.startswith("#,##0"), column.label
    assert all(checked.values())  # every kind met at least once: the checks ran
    rate = sheet.cell(row=2, column=headers["Part des bénéficiaires résidant en QPV"])
    assert rate.value == 0.674 and rate.number_format == "0.0%"

    summary = [[cell.value for cell in row][:3] for row in workbook["Synthèse"].iter_rows()]
    run = f"Chiffres calculés le 2 avril 2018 à 10:15 par la compilation n° {built.run.pk}"
    assert ["Compilation", run, None] in summary
    assert ["Définitions des chiffres", "http://testserver/methodologie/", None] in summary
    assert ["Entreprises attendues", None, None] in summary  # a year without campaign: an empty cell, not 0


# Most decimals a CSV cell may carry per kind (a rate carries exactly one: "67,4").
CSV_NUMBER = {
    figures.COUNT: re.compile(r"-?\d+"),
    figures.RATE: re.compile(r"-?\d+,\d"),
    figures.VALUE: re.compile(r"-?\d+(,\d{1,2})?"),
}


def test_csv_writes_french_numbers_never_more_decimals_than_the_screen(built):
    response = built.client.get("/rapports/departement/13/rapport.csv", {"annee": YEAR})
    content = response.content.decode("utf-8")
    assert f"compilation-{built.run.pk}" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(content.lstrip("\ufeff")), delimiter=";"))
    assert lines[0] == exports.csv_header() and lines[0][-2:] == ["Compilation", "Compilation terminée le"]
    columns = figures.export_columns()
    seen = 0
    for line in lines[1:]:
        assert line[-2:] == [str(built.run.pk), "02/04/2018 10:15"]
        for column, text in zip(columns, line[3:-2], strict=True):
            if text:
                seen += 1
                assert CSV_NUMBER[column.kind].fullmatch(text), (column.label, text)
    assert seen > 20
    assert "0,6735566642908054" not in content and "0.67" not in content and "774,00" not in content
    family_line = dict(zip(lines[0], lines[1], strict=True))
    assert family_line["Actions"] == "4436" and family_line["Part des bénéficiaires résidant en QPV (%)"] == "67,4"
