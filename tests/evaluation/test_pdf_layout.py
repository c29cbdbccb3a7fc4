"""The PDF annual report, checked on the laid-out document (WeasyPrint's own pages and boxes, the ones it
writes to the file): no table row is cut across two pages, the header row is repeated on each page a table
runs over, the figures are written as on the page, the run and the link to the definitions are there."""

from collections import defaultdict

import pytest
from django.test import RequestFactory
from weasyprint import HTML

from charte.catalogue.models import Family, Indicator
from charte.comptes.scoping import Scope
from evaluation.models import AnnualResult, EvaluationRun
from evaluation.reports import exports, reports
from tests.evaluation.test_reports_exports import FINISHED, NBSP, THIN, YEAR, built_rows
from tests.factories import MembershipFactory, OrganisationFactory, departement


def _boxes(box, parent=None):
    yield box, parent
    for child in getattr(box, "children", None) or []:
        yield from _boxes(child, box)


def row_pages(document):
    """{row element: (pages it is drawn on, whether it is a header row)} for every table row of the document."""
    rows = defaultdict(lambda: [set(), False])
    for number, page in enumerate(document.pages):
        for box, parent in _boxes(page._page_box):
            if getattr(box, "element_tag", None) == "tr":
                rows[id(box.element)][0].add(number)
                rows[id(box.element)][1] = bool(getattr(parent, "is_header", False))
    return rows


def chart_drawings(document):
    """(page number, bottom of the drawing, bottom of the page's content area) for every chart SVG."""
    found = []
    for number, page in enumerate(document.pages):
        page_box = page._page_box
        page_bottom = page_box.content_box_y() + page_box.height
        for box, _ in _boxes(page_box):
            if str(getattr(box, "element_tag", "")).endswith("svg"):  # "{http://www.w3.org/2000/svg}svg"
                found.append((number, box.position_y + box.margin_height(), page_bottom))
    return found


def split_rows(document):
    return [pages for pages, header in row_pages(document).values() if len(pages) > 1 and not header]


def document_text(document):
    return " ".join(box.text for page in document.pages for box, _ in _boxes(page._page_box) if hasattr(box, "text") and box.text)


def document_links(document):
    return [target for page in document.pages for kind, target, *_ in page.links if kind == "external"]


def test_the_row_walk_sees_a_row_cut_across_two_pages():
    """The check can fail: tall rows without `break-inside: avoid` are cut, and the walk says so."""
    rows = "".join(f"<tr><td>{n}</td><td>{'ligne<br>' * 12}</td></tr>" for n in range(30))
    html = f"<table><thead><tr><th>n</th><th>texte</th></tr></thead><tbody>{rows}</tbody></table>"
    assert split_rows(HTML(string=html).render())
    assert not split_rows(HTML(string="<style>tr { break-inside: avoid }</style>" + html).render())


@pytest.fixture
def prefecture_scope(db):
    prefecture = OrganisationFactory(name="Préfecture des Bouches-du-Rhône", departements=[departement("13")])
    return Scope.for_membership(MembershipFactory(organisation=prefecture))


def _request():
    return RequestFactory().get("/rapports/departement/13/rapport.pdf")


def test_no_row_of_a_long_report_is_cut_across_two_pages(prefecture_scope):
    run = EvaluationRun.objects.create(year=YEAR, status=EvaluationRun.Status.SUCCEEDED, finished_at=FINISHED)
    common = {"run": run, "unit": "dep:13", "year": YEAR, "scope_type": "departement", "scope_key": "13"}
    AnnualResult.objects.create(**common, actions_count=4436)
    indicators = list(Indicator.objects.order_by("code"))
    for family in Family.objects.order_by("position"):
        AnnualResult.objects.create(**common, family=family, actions_count=12)
        AnnualResult.objects.bulk_create(
            AnnualResult(
                **common, family=family, indicator=item, declared_value=n * 101, target_value=1000, attainment_rate=n / 10
            )
            for n, item in enumerate(indicators)
        )
    report = reports.build(prefecture_scope, "departement", "13", YEAR, "Bouches-du-Rhône (13)")
    assert len(report.indicator_rows) >= 100

    document = exports.pdf_document(report, _request())
    rows = row_pages(document)
    assert len(document.pages) >= 4
    assert split_rows(document) == []
    # A family table runs over two pages at least, and its header row is drawn on each of them.
    repeated = [pages for pages, header in rows.values() if header and len(pages) > 1]
    assert repeated
    body_rows = [pages for pages, header in rows.values() if not header]
    assert len(body_rows) >= len(report.indicator_rows)
    # The attainment chart has a bar per indicator (100+): drawn in parts, each whole on its page.
    drawings = chart_drawings(document)
    assert sum(1 for page, _, _ in drawings if page > 0) >= 5
    for page, bottom, page_bottom in drawings:
        assert bottom <= page_bottom + 0.5, (page, bottom, page_bottom)
    text = document_text(document).replace(THIN, " ").replace(NBSP, " ")
    assert "4 436" in text and "2 525" in text  # counts and values as integers, grouped, never "2525.00"
    assert "2525.0" not in text and "2525,00" not in text


def test_pdf_carries_the_run_the_formats_and_the_link_to_the_definitions(prefecture_scope, settings):
    # The PDF is read away from the request that made it: its links use the public address, SITE_URL.
    settings.SITE_URL = "https://charte.example.gouv.fr/"
    run = EvaluationRun.objects.create(year=YEAR, status=EvaluationRun.Status.SUCCEEDED, finished_at=FINISHED)
    built_rows(run)
    report = reports.build(prefecture_scope, "departement", "13", YEAR, "Bouches-du-Rhône (13)")
    document = exports.pdf_document(report, _request())
    text = document_text(document).replace(THIN, " ").replace(NBSP, " ")
    assert f"Chiffres calculés le 2 avril 2018 à 10:15 par la compilation n° {run.pk}" in text
    assert "https://charte.example.gouv.fr/methodologie/" in text  # written out, for a printed copy
    assert "testserver" not in text
    assert "4 436" in text and "67,4 %" in text and "273,5" in text and "1 200 €" in text
    assert "En attente de validation" in text and "Taux d'atteinte (validé / objectif)" in text
    links = document_links(document)
    assert "https://charte.example.gouv.fr/methodologie/" in links
    assert "https://charte.example.gouv.fr/methodologie/#taux_atteinte" in links  # each column header
    assert "https://charte.example.gouv.fr/methodologie/#actions" in links  # each key figure
