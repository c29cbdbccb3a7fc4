"""Pages of the spreadsheet import of actions: upload (with the templates), the batch page (progress, preview
row by row, errors, confirmation) and the file of rejected rows. Batches come from
`ImportBatch.objects.visible_to(scope)`: another organisation's batch answers 404."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from dsfr.forms import DsfrBaseForm

from charte.exports import Workbook
from charte.web import csv_response, role_required

from ..action_permissions import ACTION_WRITERS
from ..models import ImportBatch
from . import batches
from .actions import COLUMNS, REQUIRED

OPERATIONS = {"create": "Création", "update": "Mise à jour", "unchanged": "Inchangée", "error": "Refusée"}


class UploadForm(DsfrBaseForm):
    file = forms.FileField(
        label="Fichier à importer",
        help_text="Format .xlsx ou .csv (séparateur « ; » ou « , », UTF-8 ou Windows-1252), avec les colonnes du modèle.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"Le fichier dépasse {settings.IMPORT_MAX_BYTES // (1024 * 1024)} Mo : découpez-le en plusieurs fichiers."
            )
        if not upload.name.lower().endswith((".xlsx", ".xlsm", ".csv", ".txt")):
            raise forms.ValidationError("Déposez un fichier .xlsx ou .csv.")
        return upload


def _crumbs(current, batch=None):
    links = [
        {"url": reverse("actions:list"), "title": "Actions"},
    ]
    if batch is not None:
        links.append({"url": reverse("actions:import"), "title": "Importer"})
    return {"links": links, "current": current}


@role_required(*ACTION_WRITERS)
@require_http_methods(["GET", "POST"])
def import_start(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        batch = batches.create_batch(
            user=request.user, scope=request.scope, kind=ImportBatch.Kind.ACTIONS, upload=form.cleaned_data["file"]
        )
        return redirect("actions:import_batch", pk=batch.pk)
    history = ImportBatch.objects.visible_to(request.scope).select_related("created_by", "organisation")
    page_obj = Paginator(history, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "actions/import_start.html",
        {
            "form": form,
            "page_obj": page_obj,
            "columns": COLUMNS,
            "required": REQUIRED,
            "background_rows": settings.IMPORT_BACKGROUND_ROWS,
            "breadcrumb_data": _crumbs("Importer"),
        },
    )


@role_required(*ACTION_WRITERS)
def import_template(request, fmt):
    if fmt == "csv":
        return csv_response("modele-import-actions", COLUMNS, [])
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Actions"
    sheet.append(COLUMNS)
    help_sheet = workbook.create_sheet("Aide")
    help_sheet.append(["Colonne", "Obligatoire", "Contenu"])
    notes = {
        "Identifiant": "Vide pour une nouvelle action ; celui de l'export pour modifier une action existante.",
        "Date de début": "jj/mm/aaaa ou date Excel.",
        "Type d'action": "Libellé du catalogue (par exemple « Stage de 3e »).",
        "SIREN": "Un ou plusieurs SIREN séparés par des virgules ; 8 chiffres : le zéro initial est rétabli.",
        "QPV": "Codes séparés par des virgules : QP… avant 2024, QN… à partir de 2024.",
        "Département": "Code INSEE (01, 2A, 34, 971) ; « 1 » devient « 01 ».",
        "Convention": "Référence de la convention mise en œuvre, facultative.",
        "Heures": "Un chiffre après la virgule au plus (10,5).",
        "Structures partenaires": "« Nom (Type) » séparés par des virgules, par exemple « Collège Las Cazes (Collège) ».",
        "Club": "Nom du club (préfecture et niveau national) ; ignoré pour un club, qui importe ses propres actions.",
    }
    informative = {"Famille", "Entreprises", "Saisie par", "Saisie le"}
    for column in COLUMNS:
        note = "Colonne de l'export, non lue à l'import." if column in informative else notes.get(column, "")
        help_sheet.append([column, "oui" if column in REQUIRED else "non", note])
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="modele-import-actions-{timezone.localdate().isoformat()}.xlsx"'
    workbook.save(response)
    return response


def _batch(request, pk):
    return get_object_or_404(ImportBatch.objects.visible_to(request.scope).select_related("created_by", "organisation"), pk=pk)


@role_required(*ACTION_WRITERS)
def import_batch(request, pk):
    batch = _batch(request, pk)
    errors = Paginator(batch.errors, 100).get_page(request.GET.get("page"))
    preview = [{**row, "operation_label": OPERATIONS[row["operation"]]} for row in batch.preview]
    return render(
        request,
        "actions/import_batch.html",
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
@role_required(*ACTION_WRITERS)
def import_confirm(request, pk):
    batch = _batch(request, pk)
    if batch.created_by_id != request.user.pk:
        raise PermissionDenied("Seule la personne qui a déposé le fichier peut en confirmer l'import.")
    if batches.confirm(batch):
        batch.refresh_from_db()
        if batch.status == ImportBatch.Status.DONE:
            messages.success(
                request,
                f"Import terminé : {batch.created_count} action(s) créée(s), {batch.updated_count} mise(s) à jour, "
                f"{batch.unchanged_count} inchangée(s).",
            )
        elif batch.status == ImportBatch.Status.FAILED:
            messages.error(request, batch.message)
    else:
        messages.warning(request, "Ce fichier n'est pas (ou plus) prêt à être importé.")
    return redirect("actions:import_batch", pk=batch.pk)


@role_required(*ACTION_WRITERS)
def import_rejects(request, pk):
    batch = _batch(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lignes-refusees-import-{batch.pk}.csv"'
    response.write("\ufeff")
    response.write(batches.rejected_rows_csv(batch))
    return response
