"""Pages of declared values in spreadsheets: the export (CSV streamed, XLSX) for whoever sees declarations, and
the import (upload, preview, confirmation, rejected rows) for the companies, who alone fill their declarations
(`permissions.can_edit_declaration`; clubs and préfectures validate, they do not type on a company's behalf).
The import runs through the shared batches of conventions.imports; rows come from `visible_to(scope)`."""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from openpyxl import Workbook as WriteOnlyWorkbook
from openpyxl.cell import WriteOnlyCell

from charte.exports import neutralise
from charte.web import parse_pk, streaming_csv_response
from conventions.imports import batches
from conventions.imports.views import OPERATIONS, UploadForm
from conventions.models import ImportBatch

from ..models import Campaign, Declaration
from .declared_values import COLUMNS, REQUIRED, export_rows
from .views import _forbidden, _refuse_unless_campaign_pages

KIND = ImportBatch.Kind.DECLARED_VALUES
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_REFUSED = (
    "Seule une entreprise importe ses valeurs déclarées : les clubs et les préfectures valident les déclarations, "
    "ils ne les remplissent pas à la place des entreprises."
)


def _declarations(request):
    """The declarations exported: those the person sees, of one campaign when `?campagne=` names a visible one."""
    queryset = Declaration.objects.visible_to(request.scope)
    campaign_id = parse_pk(request.GET.get("campagne"))
    campaign = None
    if campaign_id:
        campaign = get_object_or_404(Campaign.objects.visible_to(request.scope), pk=campaign_id)
        queryset = queryset.filter(campaign=campaign)
    return queryset, campaign


def declared_export(request, fmt):
    _refuse_unless_campaign_pages(request)
    queryset, campaign = _declarations(request)
    name = f"valeurs-declarees-{campaign.year}" if campaign else "valeurs-declarees"
    if fmt == "csv":
        return streaming_csv_response(name, COLUMNS, export_rows(queryset))
    # openpyxl's write-only mode keeps one row in memory and spools the sheet to a temporary file: the XLSX
    # (a zip, written at the end) is then streamed from disk, as the CSV is streamed from the database.
    workbook = WriteOnlyWorkbook(write_only=True)
    sheet = workbook.create_sheet("Valeurs déclarées")
    sheet.append(COLUMNS)
    for row in export_rows(queryset, for_xlsx=True):
        sheet.append([_text_cell(sheet, value) for value in row])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    stamp = timezone.localdate().isoformat()
    return FileResponse(spool, as_attachment=True, filename=f"{name}-{stamp}.xlsx", content_type=XLSX_TYPE)


def _text_cell(sheet, value):
    """Text stays text (a company name « =1+1 » is neither a formula nor a number); numbers stay numbers."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=neutralise(value))
        cell.data_type = "s"
        return cell
    return value


def _crumbs(current, batch=None):
    links = [
        {"url": reverse("evaluation:declaration_list"), "title": "Déclarations"},
    ]
    if batch is not None:
        links.append({"url": reverse("evaluation:declared_import"), "title": "Importer des valeurs"})
    return {"links": links, "current": current}


def _importer_only(request):
    _refuse_unless_campaign_pages(request)
    if not request.scope.is_company:
        return _forbidden(request, IMPORT_REFUSED)
    return None


@require_http_methods(["GET", "POST"])
def declared_import(request):
    refusal = _importer_only(request)
    if refusal:
        return refusal
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        batch = batches.create_batch(user=request.user, scope=request.scope, kind=KIND, upload=form.cleaned_data["file"])
        return redirect("evaluation:declared_import_batch", pk=batch.pk)
    history = ImportBatch.objects.visible_to(request.scope).filter(kind=KIND).select_related("created_by", "organisation")
    page_obj = Paginator(history, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluation/declared_import_start.html",
        {
            "form": form,
            "page_obj": page_obj,
            "required": REQUIRED,
            "background_rows": settings.IMPORT_BACKGROUND_ROWS,
            "breadcrumb_data": _crumbs("Importer des valeurs"),
        },
    )


def _batch(request, pk):
    return get_object_or_404(
        ImportBatch.objects.visible_to(request.scope).filter(kind=KIND).select_related("created_by", "organisation"), pk=pk
    )


def declared_import_batch(request, pk):
    refusal = _importer_only(request)
    if refusal:
        return refusal
    batch = _batch(request, pk)
    errors = Paginator(batch.errors, 100).get_page(request.GET.get("page"))
    preview = [{**row, "operation_label": OPERATIONS[row["operation"]]} for row in batch.preview]
    return render(
        request,
        "evaluation/declared_import_batch.html",
        {
            "batch": batch,
            "errors_page": errors,
            "preview": preview,
            "preview_truncated": batch.rows_total > len(preview),
            "can_confirm": batch.status == ImportBatch.Status.READY and batch.created_by_id == request.user.pk,
            "breadcrumb_data": _crumbs(batch.original_name, batch),
        },
    )


@require_POST
def declared_import_confirm(request, pk):
    refusal = _importer_only(request)
    if refusal:
        return refusal
    batch = _batch(request, pk)
    if batch.created_by_id != request.user.pk:
        raise PermissionDenied("Seule la personne qui a déposé le fichier peut en confirmer l'import.")
    if batches.confirm(batch):
        batch.refresh_from_db()
        if batch.status == ImportBatch.Status.DONE:
            messages.success(
                request,
                f"Import terminé : {batch.created_count} valeur(s) ajoutée(s), {batch.updated_count} modifiée(s), "
                f"{batch.unchanged_count} inchangée(s). Vos déclarations restent en brouillon : transmettez-les depuis "
                "leur page.",
            )
        elif batch.status == ImportBatch.Status.FAILED:
            messages.error(request, batch.message)
    else:
        messages.warning(request, "Ce fichier n'est pas (ou plus) prêt à être importé.")
    return redirect("evaluation:declared_import_batch", pk=batch.pk)


def declared_import_rejects(request, pk):
    refusal = _importer_only(request)
    if refusal:
        return refusal
    batch = _batch(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lignes-refusees-import-{batch.pk}.csv"'
    response.write("\ufeff")
    response.write(batches.rejected_rows_csv(batch))
    return response
