"""Pages of the spreadsheet imports (actions, companies, and the declared values that evaluation registers):
upload (with the templates), the batch page (progress, preview row by row, errors, confirmation) and the file of
rejected rows. The same views serve every kind, told apart by the `kind` their URLs pass (`PAGES` says what
differs; a higher app adds its kind with `register` from its AppConfig.ready(), as for `batches.register`).
Batches come from `ImportBatch.objects.visible_to(scope)` and the kind of the URL: another organisation's batch
answers 404."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from dsfr.forms import DsfrBaseForm

from charte.exports import Workbook
from charte.web import csv_response
from entreprises import permissions
from entreprises import table as company_table

from ..action_permissions import ACTION_WRITERS
from ..models import ImportBatch
from . import batches
from .actions import ActionImporter
from .companies import CompanyImporter

ACTION_NOTES = {
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
COMPANY_NOTES = {
    "SIREN": "Neuf chiffres ; 8 chiffres : le zéro initial perdu par le tableur est rétabli si la clé le confirme.",
    "Raison sociale": "Répétée à l'identique sur chaque ligne de l'entreprise.",
    "Taille": "TPE, PME, ETI ou Grande entreprise (ou le libellé de l'export).",
    "Code NAF": "Par exemple 62.01Z (6201Z est accepté).",
    "Code commune": "Code INSEE de la commune du siège (34172 pour Montpellier).",
    "Clubs": "Clubs dont l'entreprise est membre, séparés par des virgules ; les adhésions manquantes sont ajoutées.",
    "SIRET": "Quatorze chiffres commençant par le SIREN ; vide pour une entreprise sans établissement.",
    "Code commune de l'établissement": "Code INSEE de la commune de l'établissement.",
    "Siège": "« oui » pour le siège (un seul par entreprise), « non » sinon.",
}

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


INTRO = (
    "Déposez un tableau (.xlsx ou .csv) aux colonnes de l'export. Vous verrez d'abord, ligne par ligne, ce qui sera "
    "créé, modifié ou laissé tel quel et chaque erreur ; rien n'est écrit avant votre confirmation, et le fichier "
    "entier est importé ou rien ne l'est."
)
DONE = (
    "Import terminé : {created} ligne(s) créée(s), {updated} mise(s) à jour, {unchanged} inchangée(s)."
)


@dataclass(frozen=True)
class KindPages:
    """What differs between the imports of each kind: who may import, the URL names, the words and the help.
    The import's URL names are `<namespace>:<prefix>import`, `:<prefix>import_batch`, `:<prefix>import_confirm`,
    `:<prefix>import_rejects` and, with `template_downloads`, `:<prefix>import_template_csv` and
    `:<prefix>import_template_xlsx`; `list_url_name` names the kind's list, `exports` the (label, URL name) of the
    exports the start page offers."""

    namespace: str
    list_url_name: str
    exports: tuple  # ((label, URL name), ...)
    allowed: Callable  # scope -> bool
    title: str  # "Importer des actions"
    list_title: str
    sheet: str
    importer: type
    notes: dict
    informative: frozenset
    rules: tuple  # sentences of the "Règles de lecture" callout
    object_header: str  # the preview's column naming the row
    url_prefix: str = ""  # "declared_": evaluation:declared_import, …
    # What a person outside `allowed` sees: None, a 404 (`role_required`); else `refusal(request)` -> a response.
    refusal: Callable | None = None
    template_downloads: bool = True  # the empty model (CSV, XLSX) to fill
    intro: str = INTRO
    done_message: str = DONE  # formatted with created, updated, unchanged
    crumb: str = "Importer"
    batch_title: str = "Import"
    created_column: str = "Créées"
    to_create: str = "à créer"
    to_update: str = "à mettre à jour"
    confirm_counts: str = "{created} création(s), {updated} mise(s) à jour"
    back_label: str = "Retour aux imports"
    export_buttons: str = "fr-btn--tertiary"  # DSFR class of the export buttons

    def url(self, name, *args):
        return reverse(f"{self.namespace}:{self.url_prefix}{name}", args=args)

    # For the templates, which cannot pass arguments.
    def start_url(self):
        return self.url("import")

    def export_links(self):
        return [(label, reverse(name)) for label, name in self.exports]

    def list_url(self):
        return reverse(self.list_url_name)

    def template_csv_url(self):
        return self.url("import_template_csv")

    def template_xlsx_url(self):
        return self.url("import_template_xlsx")


PAGES = {
    ImportBatch.Kind.ACTIONS: KindPages(
        namespace="actions",
        list_url_name="actions:list",
        exports=(("Exporter les données de votre périmètre pour les modifier", "actions:export"),),
        allowed=lambda scope: scope.kind in ACTION_WRITERS,
        title="Importer des actions",
        list_title="Actions",
        sheet="Actions",
        importer=ActionImporter,
        notes=ACTION_NOTES,
        informative=frozenset({"Famille", "Entreprises", "Saisie par", "Saisie le"}),
        rules=(
            "« Identifiant » vide : nouvelle action ; rempli (depuis l'export) : modification de cette action.",
            "Dates jj/mm/aaaa ou dates Excel ; nombres décimaux avec virgule (10,5) ; département « 1 » lu « 01 » ; "
            "SIREN de 8 chiffres complété par le zéro initial perdu.",
            "Les QPV doivent être de la génération de la date de l'action (QP… avant 2024, QN… ensuite) et dans son département.",
        ),
        object_header="Action",
    ),
    ImportBatch.Kind.COMPANIES: KindPages(
        namespace="company_import",
        list_url_name="entreprises:list",
        exports=(("Exporter les données de votre périmètre pour les modifier", "entreprises:export"),),
        allowed=permissions.can_create_company,
        title="Importer des entreprises",
        list_title="Entreprises",
        sheet="Entreprises",
        importer=CompanyImporter,
        notes=COMPANY_NOTES,
        informative=frozenset(company_table.INFORMATIVE),
        rules=(
            "Une ligne par établissement, les colonnes de l'entreprise répétées à l'identique ; une entreprise sans "
            "établissement tient sur une ligne sans SIRET.",
            "SIREN connu : l'entreprise est mise à jour ; inconnu : elle est créée. De même pour le SIRET et "
            "l'établissement. Les établissements absents du fichier ne sont pas modifiés.",
            "« Clubs » : les adhésions nommées qui n'existent pas encore sont ajoutées à la date du jour, aux clubs que "
            "vous gérez ; l'import ne met fin à aucune adhésion.",
            "SIREN de 8 chiffres et SIRET de 13 chiffres complétés par le zéro initial perdu si la clé de contrôle le "
            "confirme ; code commune ou code postal de 4 chiffres lu avec son zéro initial.",
        ),
        object_header="Entreprise et établissement",
    ),
}


def register(kind, pages):
    """Give `kind` its import pages; its importer is registered with `batches.register`."""
    PAGES[kind] = pages


def importers_only(view):
    """Resolves the kind's pages for a person who may import it; others get the kind's `refusal`, or a 404."""

    @wraps(view)
    def wrapper(request, *args, kind=ImportBatch.Kind.ACTIONS, **kwargs):
        pages = PAGES[kind]
        if not pages.allowed(request.scope):
            if pages.refusal is None:
                raise Http404("Page introuvable.")
            return pages.refusal(request)
        return view(request, pages, kind, *args, **kwargs)

    return wrapper


def _crumbs(pages, current, batch=None):
    links = [
        {"url": pages.list_url(), "title": pages.list_title},
    ]
    if batch is not None:
        links.append({"url": pages.url("import"), "title": pages.crumb})
    return {"links": links, "current": current}


@require_http_methods(["GET", "POST"])
@importers_only
def import_start(request, pages, kind):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        batch = batches.create_batch(user=request.user, scope=request.scope, kind=kind, upload=form.cleaned_data["file"])
        return redirect(pages.url("import_batch", batch.pk))
    history = ImportBatch.objects.visible_to(request.scope).filter(kind=kind).select_related("created_by", "organisation")
    page_obj = Paginator(history, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "imports/start.html",
        {
            "pages": pages,
            "form": form,
            "page_obj": page_obj,
            "history": [(batch, pages.url("import_batch", batch.pk)) for batch in page_obj.object_list],
            "required": pages.importer.required,
            "background_rows": settings.IMPORT_BACKGROUND_ROWS,
            "breadcrumb_data": _crumbs(pages, pages.crumb),
        },
    )


@importers_only
def import_template(request, pages, kind, fmt):
    columns, required = pages.importer.columns, pages.importer.required
    filename = f"modele-import-{pages.sheet.lower()}"
    if fmt == "csv":
        return csv_response(filename, columns, [])
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = pages.sheet
    sheet.append(columns)
    help_sheet = workbook.create_sheet("Aide")
    help_sheet.append(["Colonne", "Obligatoire", "Contenu"])
    for column in columns:
        note = "Colonne de l'export, non lue à l'import." if column in pages.informative else pages.notes.get(column, "")
        help_sheet.append([column, "oui" if column in required else "non", note])
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{timezone.localdate().isoformat()}.xlsx"'
    workbook.save(response)
    return response


def _batch(request, pk, kind):
    return get_object_or_404(
        ImportBatch.objects.visible_to(request.scope).filter(kind=kind).select_related("created_by", "organisation"), pk=pk
    )


@importers_only
def import_batch(request, pages, kind, pk):
    batch = _batch(request, pk, kind)
    errors = Paginator(batch.errors, 100).get_page(request.GET.get("page"))
    preview = [
        {**row, "operation_label": OPERATIONS[row["operation"]], "url": pages.importer.detail_url(row)} for row in batch.preview
    ]
    return render(
        request,
        "imports/batch.html",
        {
            "pages": pages,
            "batch": batch,
            "batch_url": pages.url("import_batch", batch.pk),
            "confirm_url": pages.url("import_confirm", batch.pk),
            "rejects_url": pages.url("import_rejects", batch.pk),
            "errors_page": errors,
            "preview": preview,
            "preview_truncated": batch.rows_total > len(preview),
            "can_confirm": batch.status == ImportBatch.Status.READY and batch.created_by_id == request.user.pk,
            "confirm_counts": pages.confirm_counts.format(created=batch.created_count, updated=batch.updated_count),
            "breadcrumb_data": _crumbs(pages, batch.original_name, batch),
        },
    )


@require_POST
@importers_only
def import_confirm(request, pages, kind, pk):
    batch = _batch(request, pk, kind)
    if batch.created_by_id != request.user.pk:
        raise PermissionDenied("Seule la personne qui a déposé le fichier peut en confirmer l'import.")
    if batches.confirm(batch):
        batch.refresh_from_db()
        if batch.status == ImportBatch.Status.DONE:
            messages.success(
                request,
                pages.done_message.format(
                    created=batch.created_count, updated=batch.updated_count, unchanged=batch.unchanged_count
                ),
            )
        elif batch.status == ImportBatch.Status.FAILED:
            messages.error(request, batch.message)
    else:
        messages.warning(request, "Ce fichier n'est pas (ou plus) prêt à être importé.")
    return redirect(pages.url("import_batch", batch.pk))


@importers_only
def import_rejects(request, pages, kind, pk):
    batch = _batch(request, pk, kind)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lignes-refusees-import-{batch.pk}.csv"'
    response.write("\ufeff")
    response.write(batches.rejected_rows_csv(batch))
    return response
