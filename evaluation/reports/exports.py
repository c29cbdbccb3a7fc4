"""Exports of a report: XLSX (a summary sheet and a sheet per family), CSV, and the PDF annual report.

The three read the same `reports.Report` as the page: same scope, same run, same figures.
"""

import io

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from .charts import report_charts

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

INDICATOR_COLUMNS = [
    ("Indicateur", None, 42),
    ("Unité", None, 12),
    ("Valeur déclarée", "declared_value", 16),
    ("Dont validée", "declared_validated_value", 14),
    ("Calculée depuis les actions", "computed_value", 18),
    ("Objectif", "target_value", 14),
    ("Taux d'atteinte", "attainment_rate", 14),
    ("Offert", "offered_value", 12),
    ("Réalisé", "realised_value", 12),
    ("Entreprises attendues", "companies_expected", 14),
    ("Entreprises ayant déclaré", "companies_reporting", 14),
    ("Actions", "actions_count", 10),
    ("Bénéficiaires", "beneficiaries", 14),
    ("Part résidant en QPV", "qpv_share", 14),
    ("Valeur déclarée N-1", "prev_declared_value", 16),
    ("Calculée N-1", "prev_computed_value", 14),
    ("Objectif N-1", "prev_target_value", 14),
    ("Taux d'atteinte N-1", "prev_attainment_rate", 14),
]
PERCENT_FIELDS = {"attainment_rate", "qpv_share", "prev_attainment_rate"}
SUMMARY = [
    ("Actions", "actions_count", "prev_actions_count"),
    ("Bénéficiaires", "beneficiaries", "prev_beneficiaries"),
    ("Dont résidant en QPV", "beneficiaries_qpv", "prev_beneficiaries_qpv"),
    ("Part des bénéficiaires résidant en QPV", "qpv_share", "prev_qpv_share"),
    ("Entreprises attendues", "companies_expected", "prev_companies_expected"),
    ("Entreprises ayant déclaré", "companies_reporting", "prev_companies_reporting"),
]
CSV_HEADER = ["Famille", *(label for label, _, _ in INDICATOR_COLUMNS)]


def filename(report):
    return slugify(f"rapport-{report.year}-{report.title}")


def _number(value):
    """Numbers stay numbers in the spreadsheet (Decimal -> float, ints kept)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return float(value)


def _cells(row):
    values = [
        row.indicator.label if row.indicator_id else "Toutes les actions de la famille",
        row.indicator.unit if row.indicator_id else "",
    ]
    values += [_number(getattr(row, attr)) for _, attr, _ in INDICATOR_COLUMNS[2:]]
    return values


def csv_rows(report):
    for block in report.families:
        label = block.family.label
        if block.total is not None:
            yield [label, *_csv_values(_cells(block.total))]
        for row in block.indicators:
            yield [label, *_csv_values(_cells(row))]


def _csv_values(values):
    # French spreadsheets read a decimal comma.
    return [str(v).replace(".", ",") if isinstance(v, float) else v for v in values]


def _sheet_title(text, used):
    title = "".join(c for c in text if c not in "[]:*?/\\")[:28] or "Famille"
    candidate, n = title, 2
    while candidate in used:
        candidate, n = f"{title[:25]} {n}", n + 1
    used.add(candidate)
    return candidate


def xlsx_bytes(report):
    from openpyxl.styles import Font

    from charte.exports import Workbook

    workbook = Workbook()
    summary = workbook.active
    summary.title = "Synthèse"
    bold = Font(bold=True)
    summary.append([f"Charte Entreprises et Quartiers — rapport {report.year}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Périmètre", report.title])
    computed = (
        timezone.localtime(report.computed_at).strftime("%d/%m/%Y %H:%M") if report.computed_at else "aucune compilation publiée"
    )
    summary.append(["Chiffres calculés le", computed])
    summary.append([])
    summary.append(["Chiffre clé", str(report.year), str(report.year - 1)])
    for cell in summary[5]:
        cell.font = bold
    total = report.total
    for label, attr, prev in SUMMARY:
        summary.append([label, _number(getattr(total, attr, None)), _number(getattr(total, prev, None))])
        if attr == "qpv_share":
            for cell in summary[summary.max_row][1:]:
                cell.number_format = "0.0%"
    summary.append([])
    summary.append(
        ["Famille", "Actions", "Bénéficiaires", "Part résidant en QPV", "Entreprises attendues", "Entreprises ayant déclaré"]
    )
    for cell in summary[summary.max_row]:
        cell.font = bold
    for block in report.families:
        row = block.total
        summary.append(
            [block.family.label]
            + [
                _number(getattr(row, a, None))
                for a in ("actions_count", "beneficiaries", "qpv_share", "companies_expected", "companies_reporting")
            ]
        )
        summary.cell(row=summary.max_row, column=4).number_format = "0.0%"
    for column, width in zip("ABCDEF", (44, 14, 14, 18, 18, 20), strict=True):
        summary.column_dimensions[column].width = width

    used = {"Synthèse"}
    for block in report.families:
        sheet = workbook.create_sheet(_sheet_title(block.family.short_label or block.family.label, used))
        sheet.append([label for label, _, _ in INDICATOR_COLUMNS])
        for cell in sheet[1]:
            cell.font = bold
        for row in ([block.total] if block.total is not None else []) + block.indicators:
            sheet.append(_cells(row))
            for index, (_, attr, _) in enumerate(INDICATOR_COLUMNS, start=1):
                if attr in PERCENT_FIELDS:
                    sheet.cell(row=sheet.max_row, column=index).number_format = "0.0%"
        for index, (_, _, width) in enumerate(INDICATOR_COLUMNS, start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
        sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(report):
    response = HttpResponse(xlsx_bytes(report), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename(report)}.xlsx"'
    return response


def pdf_bytes(report, request=None):
    from weasyprint import HTML

    from conventions.demo import INVENTED_NOTICE, is_seeded

    is_demo = is_seeded()
    html = render_to_string(
        "rapports/report_pdf.html",
        {
            "report": report,
            "charts": report_charts(report) if report.has_figures else [],
            "invented_notice": INVENTED_NOTICE if is_demo else "",
            "printed_at": timezone.localtime(),
        },
        request=request,
    )
    # No base_url: the PDF loads nothing from outside, its styles are inline.
    return HTML(string=html).write_pdf()


def pdf_response(report, request):
    response = HttpResponse(pdf_bytes(report, request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename(report)}.pdf"'
    return response
