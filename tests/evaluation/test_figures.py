"""The registry of figures (`evaluation.figures`): complete against the model and the methodology, the French
formats of methodology §12, the template filters, the API serializers built from it, and the methodology page."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import models
from django.template import Context, Template

from evaluation import figures
from evaluation.api import CurrentYearSerializer, PreviousYearSerializer
from evaluation.models import AnnualResult
from evaluation.reports import methodology

THIN, NBSP = "\u202f", "\u00a0"
METHODOLOGY = Path(__file__).resolve().parents[2] / "docs" / "methodologie.md"
NUMERIC = (models.DecimalField, models.FloatField, models.IntegerField)  # BigInteger, PositiveInteger... included


def test_every_figure_has_its_definition_in_the_methodology():
    text = METHODOLOGY.read_text(encoding="utf-8")
    missing = [figure.code for figure in figures.FIGURES if f"[`{figure.code}`]" not in text]
    assert missing == []


def test_every_figure_column_of_annual_result_is_in_the_registry():
    columns = {
        field.name
        for field in AnnualResult._meta.get_fields()
        if isinstance(field, NUMERIC) and not field.primary_key and field.name != "year"
    }
    current = {name for name in columns if not name.startswith("prev_")}
    previous = {name.removeprefix("prev_") for name in columns if name.startswith("prev_")}
    assert current - set(figures.BY_FIELD) == set()
    assert set(figures.BY_FIELD) - current == set()  # no registry entry reads a column that does not exist
    # N-1: a figure says it has a twin exactly when the model has its `prev_` column.
    with_twin = {figure.field for figure in figures.FIGURES if figure.field and figure.previous}
    assert previous == with_twin


def test_codes_are_unique_and_usable_as_anchors_and_field_names():
    codes = [figure.code for figure in figures.FIGURES]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)
    assert figures.get("taux_atteinte").url == "/methodologie/#taux_atteinte"


# --- formats (methodology §12) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "unit", "expected"),
    [
        (4436, figures.COUNT, None, f"4{THIN}436"),
        (1234567, figures.COUNT, None, f"1{THIN}234{THIN}567"),
        (0, figures.COUNT, None, "0"),
        (Decimal("774.00"), figures.VALUE, "élèves", "774"),
        (Decimal("12.50"), figures.VALUE, "heures", "12,5"),
        (Decimal("12.25"), figures.VALUE, "heures", "12,25"),
        (Decimal("4436.10"), figures.VALUE, "places", f"4{THIN}436,1"),
        (Decimal("1200.00"), figures.VALUE, "euros", f"1{THIN}200{NBSP}€"),
        (Decimal("45.55"), figures.VALUE, "%", f"45,6{NBSP}%"),  # a ratio indicator: one decimal, like a rate
        (0.685, figures.RATE, None, f"68,5{NBSP}%"),
        (0.6735566642908054, figures.RATE, None, f"67,4{NBSP}%"),
        (0.6845, figures.RATE, None, f"68,5{NBSP}%"),  # rounded half up, as people round
        (1, figures.RATE, None, f"100,0{NBSP}%"),
        (None, figures.COUNT, None, "—"),
        (None, figures.RATE, None, "—"),
        (None, figures.VALUE, "euros", "—"),
    ],
)
def test_screen_format(value, kind, unit, expected):
    assert figures.format_value(value, kind, unit) == expected


@pytest.mark.parametrize(
    ("value", "kind", "unit", "expected"),
    [
        (4436, figures.COUNT, None, "4436"),  # no separator: a spreadsheet reads it as a number
        (Decimal("774.00"), figures.VALUE, None, "774"),
        (Decimal("12.50"), figures.VALUE, None, "12,5"),
        (Decimal("1200.00"), figures.VALUE, "euros", "1200"),
        (0.6735566642908054, figures.RATE, None, "67,4"),
        (0.5, figures.RATE, None, "50,0"),
        (None, figures.RATE, None, ""),
    ],
)
def test_csv_format(value, kind, unit, expected):
    assert figures.csv_value(value, kind, unit) == expected


def test_xlsx_values_stay_numbers_with_a_format_per_kind():
    assert figures.xlsx_value(4436, figures.COUNT) == (4436, "#,##0")
    assert figures.xlsx_value(0.6735566642908054, figures.RATE) == (0.674, "0.0%")
    assert figures.xlsx_value(Decimal("774.00"), figures.VALUE) == (774, "#,##0")
    assert figures.xlsx_value(Decimal("12.50"), figures.VALUE) == (12.5, "#,##0.0#")
    assert figures.xlsx_value(Decimal("1200.00"), figures.VALUE, "euros") == (1200, '#,##0 "€"')
    assert figures.xlsx_value(None, figures.COUNT) == (None, "General")


def test_pending_validation_is_declared_minus_validated():
    pending = figures.get("en_attente_validation")
    row = AnnualResult(
        declared_value=Decimal("10"),
        declared_validated_value=Decimal("6.5"),
        prev_declared_value=Decimal("4"),
        prev_declared_validated_value=None,
    )
    assert pending.value(row) == Decimal("3.5") and pending.value(row, previous=True) == Decimal("4")
    assert pending.value(AnnualResult()) is None  # nothing declared (no campaign): "—", not 0
    assert figures.get("valeur_offerte").value(AnnualResult(offered_value=Decimal(3)), previous=True) is None


def test_template_filters_write_the_registry_format():
    row = AnnualResult(actions_count=4436, prev_actions_count=12, qpv_share=0.6735566642908054, companies_expected=None)
    html = Template(
        '{% load figures %}{{ row|figure:"actions" }}|{{ row|figure_n1:"actions" }}|{{ row|figure:"part_beneficiaires_qpv" }}'
        '|{{ row|figure:"entreprises_attendues" }}|{% figure_link "taux_atteinte" %}'
    ).render(Context({"row": row}))
    assert html == (
        f'4{THIN}436|12|67,4{NBSP}%|—|<a href="/methodologie/#taux_atteinte">Taux d&#x27;atteinte (validé / objectif)</a>'
    )


def test_export_columns_are_every_figure_then_every_n1_twin():
    columns = figures.export_columns()
    assert [c.code for c in columns[: len(figures.FIGURES)]] == [f.code for f in figures.FIGURES]
    assert [c.label for c in columns[len(figures.FIGURES) :]] == [f"{f.label} N-1" for f in figures.FIGURES if f.previous]
    shown = {c.code for c in figures.report_table_columns()}
    assert shown >= {"en_attente_validation", "valeur_declaree_validee", "taux_atteinte"}


# --- the API reads the registry --------------------------------------------------------------------------


def test_api_result_fields_are_the_registry_codes_with_labels_and_links():
    current, previous = CurrentYearSerializer().fields, PreviousYearSerializer().fields
    assert list(current) == [figure.code for figure in figures.FIGURES]
    assert list(previous) == [figure.code for figure in figures.FIGURES if figure.previous]
    for code, field in current.items():
        figure = figures.get(code)
        assert figure.label in field.help_text and f"/methodologie/#{code}" in field.help_text


def test_api_result_values_include_pending_validation():
    row = AnnualResult(
        declared_value=Decimal("10.00"), declared_validated_value=Decimal("6.00"), attainment_rate=0.6, actions_count=3
    )
    data = CurrentYearSerializer(row).data
    assert data["en_attente_validation"] == Decimal("4.00") and data["taux_atteinte"] == 0.6 and data["actions"] == 3
    assert data["entreprises_attendues"] is None
    assert "valeur_offerte" not in PreviousYearSerializer(row).data


# --- the methodology page --------------------------------------------------------------------------------


def test_heading_anchor_drops_the_number_and_the_precision():
    assert methodology.heading_slug("13. Secret statistique (données ouvertes et pages publiques)") == "secret-statistique"
    assert methodology.heading_slug("4. Déclaré, validé, objectif, taux d'atteinte") == "declare-valide-objectif-taux-datteinte"
    assert methodology.heading_slug("Conventions collectives") == "conventions-collectives"


def test_code_anchor_on_the_first_mention_links_on_the_next():
    html = methodology._anchor_codes("<p>[<code>actions</code>] puis [<code>actions</code>] et <code>autre</code></p>")
    assert html == (
        '<p><code id="actions" class="definition-chiffre">actions</code> puis '
        '<a href="#actions"><code>actions</code></a> et <code>autre</code></p>'
    )


def test_methodology_page_is_public_with_an_anchor_per_figure_and_heading(client, db):
    response = client.get("/methodologie/")  # not signed in
    assert response.status_code == 200
    html = response.content.decode()
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # every anchor unique on the page
    for figure in figures.FIGURES:
        assert f'<code id="{figure.code}" class="definition-chiffre">' in html
    assert 'id="secret-statistique"' in html and 'href="#secret-statistique"' in html  # the summary links to it
    assert 'id="formats"' in html and '<div class="fr-table"><table>' in html
    assert "Méthodologie des chiffres" in html and "<h1" in html
    # Offline: nothing loaded from another site.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)
