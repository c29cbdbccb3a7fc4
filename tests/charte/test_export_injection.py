"""Formula injection (CSV injection) in every export: a name typed as a spreadsheet formula comes out as
text, with OWASP's leading quote, in every CSV and in the XLSX report; numbers stay numbers."""

import csv
import io

import pytest
from openpyxl import load_workbook

from charte.exports import Workbook, neutralise
from conventions.models import ActionPartner
from tests.evaluation.conftest import world  # noqa: F401 (the fixture)
from tests.factories import ActionFactory, UserFactory

PAYLOAD = '=HYPERLINK("http://evil.example","x")'
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    "value, expected",
    [
        (PAYLOAD, "'" + PAYLOAD),
        ("+33 cmd|' /C calc'!A0", "'+33 cmd|' /C calc'!A0"),
        ("-2+3+cmd", "'-2+3+cmd"),
        ("@SUM(1+1)*cmd", "'@SUM(1+1)*cmd"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Engie", "Engie"),
        ("", ""),
        (None, None),
        (12, 12),
        (-1.5, -1.5),
        ("-1,5", "-1,5"),  # a plain number written the French way is a number, not a formula
        ("-12", "-12"),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_workbook_writes_text_as_text_whatever_the_way_the_cell_is_set():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Périmètre", PAYLOAD, 3, 2.5])
    sheet["A2"] = "=1+1"
    sheet.cell(row=3, column=1, value="#N/A")
    workbook.create_sheet("Autre").append(["@cmd"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    saved = load_workbook(io.BytesIO(buffer.getvalue()))
    first = saved.worksheets[0]
    assert (first["B1"].value, first["B1"].data_type) == ("'" + PAYLOAD, "s")
    assert (first["C1"].value, first["C1"].data_type) == (3, "n")
    assert (first["D1"].value, first["D1"].data_type) == (2.5, "n")
    assert (first["A2"].value, first["A2"].data_type) == ("'=1+1", "s")
    assert (first["A3"].value, first["A3"].data_type) == ("#N/A", "s")
    assert (saved["Autre"]["A1"].value, saved["Autre"]["A1"].data_type) == ("'@cmd", "s")


def csv_cells(response):
    assert response.status_code == 200, response.status_code
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig")), delimiter=";"))
    return rows, [cell for row in rows for cell in row]


def assert_no_live_formula(cells):
    live = [cell for cell in cells if cell.startswith(TRIGGERS) and neutralise(cell) != cell]
    assert not live, live


@pytest.fixture
def poisoned(world):  # noqa: F811 (the fixture imported above)
    """Every free text an export shows, typed as a formula by someone who may write it."""
    w = world
    w.company.name = PAYLOAD
    w.company.save()
    w.convention.title = "+" + PAYLOAD
    w.convention.save()
    logger = UserFactory(first_name="@Camille", last_name="-" + PAYLOAD)
    action = ActionFactory(title="@" + PAYLOAD, club=w.club, logged_by=logger)
    action.companies.add(w.company)
    ActionPartner.objects.create(action=action, kind=ActionPartner.Kind.COLLEGE, name="\t" + PAYLOAD)
    w.club.name = "\r" + PAYLOAD
    w.club.save()
    return w


def test_companies_export(client, poisoned):
    client.force_login(poisoned.national_user)
    rows, cells = csv_cells(client.get("/entreprises/export.csv"))
    assert_no_live_formula(cells)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Raison sociale"] == "'" + PAYLOAD
    assert row["Clubs"] == "'\r" + PAYLOAD
    assert row["Nombre de conventions"] == "1"


def test_actions_export(client, poisoned):
    client.force_login(poisoned.national_user)
    rows, cells = csv_cells(client.get("/actions/export.csv"))
    assert_no_live_formula(cells)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Intitulé"] == "'@" + PAYLOAD
    assert row["Entreprises"] == "'" + PAYLOAD
    assert row["Structures partenaires"].startswith("'\t" + PAYLOAD)
    assert row["Saisie par"].startswith("'@Camille")
    assert row["Bénéficiaires"] == "10"


def test_conventions_export(client, poisoned):
    client.force_login(poisoned.national_user)
    rows, cells = csv_cells(client.get("/conventions/export.csv"))
    assert_no_live_formula(cells)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Intitulé"] == "'+" + PAYLOAD
    assert row["Entreprises"] == "'" + PAYLOAD


def test_completeness_export(client, poisoned):
    client.force_login(poisoned.prefecture_user)
    rows, cells = csv_cells(client.get(f"/campagnes/{poisoned.campaign.pk}/completude.csv"))
    assert_no_live_formula(cells)
    names = {row[1] for row in rows[1:]}
    assert "'" + PAYLOAD in names and "'\r" + PAYLOAD in names
    assert rows[1][2] == "1"  # the total expected stays a number


def test_company_report_xlsx_and_csv(client, poisoned):
    client.force_login(poisoned.national_user)
    response = client.get(f"/rapports/entreprise/{poisoned.company.pk}/rapport.xlsx", {"annee": 2017})
    assert response.status_code == 200
    summary = load_workbook(io.BytesIO(response.content))["Synthèse"]
    assert summary["B2"].value == "'" + PAYLOAD
    assert summary["B2"].data_type == "s"
    assert not any(cell.data_type == "f" for row in summary.iter_rows() for cell in row)

    _, cells = csv_cells(client.get(f"/rapports/entreprise/{poisoned.company.pk}/rapport.csv", {"annee": 2017}))
    assert_no_live_formula(cells)


@pytest.mark.parametrize("value", ["=SUM(A1)", "+33 1 02", "-x", "@cmd", "Cité", "'ordinary quote", "-1,5", 12])
def test_unneutralise_undoes_neutralise(value):
    from charte.exports import neutralise, unneutralise

    assert unneutralise(neutralise(value)) == value
