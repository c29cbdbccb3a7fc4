"""Exports of a report: XLSX (a summary sheet and a sheet per family), CSV, and the PDF annual report.

The three read the same `reports.Report` as the page: same scope, same run, same figures. Their columns are
generated from the registry (`evaluation.figures`): every figure of year N, then every N-1 twin, in the
registry's order, under the registry's labels; a new figure appears here without touching this module.

- XLSX: numbers stay numbers, rounded to what the screen shows, with a number format per kind (counts
  "#,##0", rates "0.0%", values "#,##0" or "#,##0.0#", euros and percent units written after them); each
  column header links to the figure's definition; the summary sheet says which compilation the figures come
  from and when it finished.
- CSV: pure data, one header line then one line per row, so that a spreadsheet or a script reads it without
  surprise. Numbers are written the French way a spreadsheet reads as numbers ("4436", "12,5"; a rate as
  "68,5" in a column whose header ends with "(%)"); no value is an empty cell. The compilation is carried by
  two columns on every line ("Compilation", "Compilation terminée le"), which survive a sort or a copy, and
  by the file name; no comment line to break the import.
"""

import base64
import functools
import io

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from charte.web import csv_response as _csv_response

from .. import figures
from .charts import report_charts

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROW_HEADERS = [("Indicateur", 42), ("Unité", 12)]
FAMILY_ROW_LABEL = "Toutes les actions de la famille"
RUN_HEADERS = ["Compilation", "Compilation terminée le"]


def indicator_columns():
    """The figure columns of a family sheet and of the CSV, from the registry."""
    return figures.export_columns()


def csv_header():
    return ["Famille", *(label for label, _ in ROW_HEADERS), *(c.csv_label for c in indicator_columns()), *RUN_HEADERS]


def filename(report):
    return slugify(f"rapport-{report.year}-{report.title}")


def _row_labels(row):
    return [
        row.indicator.label if row.indicator_id else FAMILY_ROW_LABEL,
        row.indicator.unit if row.indicator_id else "",
    ]


def _family_rows(report):
    for block in report.families:
        rows = ([block.total] if block.total is not None else []) + list(block.indicators) + list(block.surveys)
        for row in rows:
            yield block, row


def _run_cells(report):
    run = report.run
    if run is None:
        return ["", ""]
    finished = figures.french_datetime(run.finished_at, "d/m/Y H:i") if run.finished_at else ""
    return [run.pk, finished]


def csv_rows(report):
    columns = indicator_columns()
    run = _run_cells(report)
    for block, row in _family_rows(report):
        yield [block.family.label, *_row_labels(row), *(column.csv(row) for column in columns), *run]


def csv_response(report):
    name = filename(report) + (f"-compilation-{report.run.pk}" if report.run else "")
    return _csv_response(name, csv_header(), csv_rows(report))


def _sheet_title(text, used):
    title = "".join(c for c in text if c not in "[]:*?/\\")[:28] or "Famille"
    candidate, n = title, 2
    while candidate in used:
        candidate, n = f"{title[:25]} {n}", n + 1
    used.add(candidate)
    return candidate


def _put(sheet, row, column, figure_column, source):
    value, number_format = figure_column.xlsx(source)
    cell = sheet.cell(row=row, column=column, value=value)
    cell.number_format = number_format
    return cell


def _link(cell, url):
    from openpyxl.styles import Font

    if url:
        cell.hyperlink = url
        cell.font = Font(bold=True, color="000091", underline="single")


def xlsx_bytes(report, base_url=""):
    """`base_url` ("https://portail.example") makes the links to the definitions absolute."""
    from openpyxl.styles import Alignment, Font

    from charte.exports import Workbook

    workbook = Workbook()
    summary = workbook.active
    summary.title = "Synthèse"
    bold = Font(bold=True)
    summary.append([f"Charte Entreprises et Quartiers — rapport {report.year}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Périmètre", report.title])
    summary.append(["Compilation", figures.describe_run(report.run)])
    summary.append(["Définitions des chiffres", base_url + figures.METHODOLOGY_URL])
    _link(summary.cell(row=summary.max_row, column=2), base_url + figures.METHODOLOGY_URL)
    summary.append([])

    key = [figures.Column(figure) for figure in figures.KEY_FIGURES]
    summary.append(["Chiffre clé", str(report.year), str(report.year - 1)])
    for cell in summary[summary.max_row]:
        cell.font = bold
    total = report.total
    for column in key:
        summary.append([column.label])
        line = summary.max_row
        _link(summary.cell(row=line, column=1), base_url + column.url)
        _put(summary, line, 2, column, total)
        _put(summary, line, 3, figures.Column(column.figure, previous=True), total)

    summary.append([])
    summary.append(["Famille", *(column.label for column in key)])
    for index, column in enumerate(key, start=2):
        _link(summary.cell(row=summary.max_row, column=index), base_url + column.url)
    summary.cell(row=summary.max_row, column=1).font = bold
    for block in report.families:
        summary.append([block.family.label])
        for index, column in enumerate(key, start=2):
            _put(summary, summary.max_row, index, column, block.total)
    summary.column_dimensions["A"].width = 44
    for index in range(2, len(key) + 2):
        summary.column_dimensions[summary.cell(row=1, column=index).column_letter].width = 20

    columns = indicator_columns()
    used = {"Synthèse"}
    wrap = Alignment(wrap_text=True, vertical="top")
    for block in report.families:
        sheet = workbook.create_sheet(_sheet_title(block.family.short_label or block.family.label, used))
        sheet.append([label for label, _ in ROW_HEADERS] + [column.label for column in columns])
        for cell in sheet[1]:
            cell.font = bold
            cell.alignment = wrap
        for index, column in enumerate(columns, start=len(ROW_HEADERS) + 1):
            _link(sheet.cell(row=1, column=index), base_url + column.url)
        for row in ([block.total] if block.total is not None else []) + list(block.indicators) + list(block.surveys):
            sheet.append(_row_labels(row))
            for index, column in enumerate(columns, start=len(ROW_HEADERS) + 1):
                _put(sheet, sheet.max_row, index, column, row)
        for index, (_, width) in enumerate(ROW_HEADERS, start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
        for index, column in enumerate(columns, start=len(ROW_HEADERS) + 1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = min(max(len(column.label) * 0.6, 12), 22)
        sheet.freeze_panes = "C2"
    if report.comparison is not None:
        _comparison_sheet(workbook.create_sheet(_sheet_title("Comparaison", used)), report, base_url)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


COMPARISON_HEADERS = [
    ("Famille", 30),
    ("Chiffre", 60),
    ("Département", 14),
    ("Position dans la région", 24),
    ("Position en France", 24),
    ("Région : départements comptés", 14),
    ("Région : 1er quartile", 14),
    ("Région : médiane", 14),
    ("Région : 3e quartile", 14),
    ("France : départements comptés", 14),
    ("France : 1er quartile", 14),
    ("France : médiane", 14),
    ("France : 3e quartile", 14),
    ("Secret statistique", 30),
]


def _ratio_cell(sheet, row, column, value):
    cell = sheet.cell(row=row, column=column, value=None if value is None else round(value, 2))
    cell.number_format = "#,##0.0#"


def _comparison_sheet(sheet, report, base_url):
    """The département beside the others (methodology §14), the rows of the page, numbers kept as numbers."""
    from openpyxl.styles import Alignment, Font

    comparison = report.comparison
    sheet.append([f"{report.title} comparé aux départements de la région {comparison.region_name} et de France, {report.year}"])
    sheet["A1"].font = Font(bold=True)
    sheet.append(["Définitions", base_url + comparison.url])
    _link(sheet.cell(row=2, column=2), base_url + comparison.url)
    sheet.append(
        [
            f"Moins de {comparison.min_group} départements comptés : ni médiane ni quartiles (cellules vides). "
            "Seules les valeurs publiables entrent dans les statistiques."
        ]
    )
    sheet.append([label for label, _ in COMPARISON_HEADERS])
    header = sheet.max_row
    for cell in sheet[header]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for block in comparison.blocks:
        for row in block.rows:
            sheet.append([block.title, row.label])
            line = sheet.max_row
            _ratio_cell(sheet, line, 3, row.value)
            sheet.cell(row=line, column=4, value=row.region_position or "")
            sheet.cell(row=line, column=5, value=row.france_position or "")
            for start, group in ((6, row.region), (10, row.france)):
                sheet.cell(row=line, column=start, value=group.count)
                for offset, value in enumerate((group.q1, group.median, group.q3), start=1):
                    _ratio_cell(sheet, line, start + offset, value)
            sheet.cell(row=line, column=14, value="valeur hors statistiques" if row.hidden else "")
    for index, (_, width) in enumerate(COMPARISON_HEADERS, start=1):
        sheet.column_dimensions[sheet.cell(row=header, column=index).column_letter].width = width
    sheet.freeze_panes = sheet.cell(row=header + 1, column=3)


def _base_url(request):
    """The site's address, for links that must work outside the portal (PDF, XLSX)."""
    return request.build_absolute_uri("/").rstrip("/") if request is not None else ""


def xlsx_response(report, request=None):
    response = HttpResponse(xlsx_bytes(report, _base_url(request)), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename(report)}.xlsx"'
    return response


# Tagged PDF/UA-1: the structure tree (headings, tables, lists, links), the title shown instead of the file
# name and the document's language, so that a screen reader reads the report as it reads the page.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}


def site_url():
    """The portal's public address (settings.SITE_URL): a PDF is read away from the request that made it."""
    return settings.SITE_URL.rstrip("/")


@functools.cache
def marianne_data_uri():
    """The Marianne of the DSFR's own files (django-dsfr's static), inlined: the PDF fetches nothing."""
    path = finders.find("dsfr/dist/favicon/favicon.svg")
    if not path:
        return ""
    with open(path, "rb") as svg:
        return "data:image/svg+xml;base64," + base64.b64encode(svg.read()).decode("ascii")


def pdf_html(report, request=None):
    from conventions.demo import INVENTED_NOTICE, is_seeded

    is_demo = is_seeded()
    return render_to_string(
        "rapports/report_pdf.html",
        {
            "report": report,
            "charts": report_charts(report, medium="print") if report.has_figures else [],
            "invented_notice": INVENTED_NOTICE if is_demo else "",
            "printed_at": timezone.localtime(),
            "link_base": site_url(),
            "marianne": marianne_data_uri(),
        },
        request=request,
    )


def pdf_document(report, request=None):
    """The laid-out document (pages and boxes), which the tests walk to check that no row is cut."""
    from weasyprint import HTML

    # No base_url: the PDF loads nothing from outside, its styles and its identity block are inline.
    return HTML(string=pdf_html(report, request)).render(**PDF_OPTIONS)


def pdf_bytes(report, request=None):
    return pdf_document(report, request).write_pdf(**PDF_OPTIONS)


def pdf_response(report, request):
    response = HttpResponse(pdf_bytes(report, request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename(report)}.pdf"'
    return response
