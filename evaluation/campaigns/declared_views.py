"""Pages of declared values in spreadsheets: the export (CSV streamed, XLSX) for whoever sees declarations, and
the import for the companies, who alone fill their declarations (`permissions.can_edit_declaration`; clubs and
préfectures validate, they do not type on a company's behalf). The import's pages are the generic ones of
conventions.imports (upload, preview, confirmation, rejected rows), given `PAGES` below from this app's ready();
rows come from `visible_to(scope)`."""

import tempfile

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from openpyxl import Workbook as WriteOnlyWorkbook
from openpyxl.cell import WriteOnlyCell

from charte.exports import neutralise
from charte.web import parse_pk, streaming_csv_response
from conventions.imports.views import KindPages

from ..models import Campaign, Declaration
from .declared_values import COLUMNS, DeclaredValueImporter, export_rows
from .views import _forbidden, _refuse_unless_campaign_pages

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


def _refused(request):
    """Partners have no declaration page, not even a refusal (404); the other roles are told who imports (403)."""
    _refuse_unless_campaign_pages(request)
    return _forbidden(request, IMPORT_REFUSED)


PAGES = KindPages(
    namespace="evaluation",
    url_prefix="declared_",
    list_url_name="evaluation:declaration_list",
    exports=(
        ("Exporter vos déclarations (XLSX)", "evaluation:declared_export_xlsx"),
        ("Exporter vos déclarations (CSV)", "evaluation:declared_export_csv"),
    ),
    export_buttons="fr-btn--secondary",
    allowed=lambda scope: scope.is_company,
    refusal=_refused,
    template_downloads=False,  # the export of the company's own declarations is the file to fill
    title="Importer des valeurs déclarées",
    list_title="Déclarations",
    crumb="Importer des valeurs",
    sheet="Valeurs déclarées",
    importer=DeclaredValueImporter,
    notes={},
    informative=frozenset(),
    intro=(
        "Exportez vos déclarations, complétez la colonne « Valeur » (et « Commentaire » si besoin) dans votre tableur, "
        "puis déposez le fichier ici. Vous verrez d'abord, ligne par ligne, ce qui sera ajouté, modifié ou laissé tel "
        "quel et chaque erreur ; rien n'est écrit avant votre confirmation, et le fichier entier est importé ou rien ne "
        "l'est. Les valeurs importées sont enregistrées en brouillon, comme si vous les aviez saisies : transmettez "
        "ensuite chaque déclaration depuis sa page."
    ),
    rules=(
        "Les autres colonnes de l'export (entreprise, libellés, objectif, statut) ne sont pas lues. Sans colonne "
        "« Commentaire », les commentaires restent inchangés.",
        "Une ligne désigne une valeur par la convention, le SIREN, l'année, le numéro d'engagement et le code de "
        "l'indicateur : gardez ces colonnes telles que l'export les écrit.",
        "Valeurs positives, deux décimales au plus, virgule ou point (12,5) ; une cellule vide efface la valeur. Une "
        "déclaration transmise, validée ou close ne peut pas être modifiée : ses lignes sont refusées.",
    ),
    object_header="Valeur (convention · SIREN · année · engagement · indicateur)",
    done_message=(
        "Import terminé : {created} valeur(s) ajoutée(s), {updated} modifiée(s), {unchanged} inchangée(s). Vos "
        "déclarations restent en brouillon : transmettez-les depuis leur page."
    ),
    batch_title="Import de valeurs déclarées",
    created_column="Ajoutées",
    to_create="valeur(s) à ajouter",
    to_update="à modifier",
    confirm_counts="{created} ajout(s), {updated} modification(s), en brouillon",
    back_label="Retour aux imports de valeurs déclarées",
)
