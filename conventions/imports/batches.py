"""The life of an uploaded file: kept server-side (`ImportBatch.file`), analysed (preview), then applied at
once on confirmation. Small files are handled while the page waits; beyond `IMPORT_BACKGROUND_ROWS` rows the
analysis and the import run as Celery tasks (in-process without a broker), the batch page showing progress."""

import csv
import datetime
import io

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from charte.comptes.scoping import Scope
from charte.exports import neutralise

from ..models import ImportBatch
from .actions import ActionImporter, ImportRefused
from .companies import CompanyImporter
from .reading import UnreadableFile, count_rows, read_table

# Importers by kind, each with `columns`, `required`, `analyse(records, progress)`, `apply(records)`,
# `preview_row(plan)` and `detail_url(row)`. A higher app registers its own from its AppConfig.ready()
# (`register`), so this module never imports an app above conventions (DESIGN.md: imports go one way).
IMPORTERS = {ImportBatch.Kind.ACTIONS: ActionImporter, ImportBatch.Kind.COMPANIES: CompanyImporter}
MAX_PREVIEW_ROWS = 500


def register(kind, importer_class):
    """Make `kind` importable: `importer_class(user=, scope=)` with `columns`, `required`, `analyse(records,
    progress=)` returning plans (row, operation, label, errors) and `apply(records)` raising ImportRefused."""
    IMPORTERS[kind] = importer_class


def importer_for(batch):
    scope = Scope.for_membership(batch.membership)
    return IMPORTERS[batch.kind](user=batch.created_by, scope=scope)


def _records(batch, importer):
    with batch.file.open("rb") as handle:
        data = handle.read()
    return read_table(data, batch.original_name, importer.columns)


def missing_columns(header, importer):
    present = set(header)
    return [column for column in importer.required if column not in present]


def create_batch(*, user, scope, kind, upload):
    """Keep the uploaded file and start its analysis (now, or in the background for a large file)."""
    from ..tasks import analyse_import

    data = upload.read()
    batch = ImportBatch.objects.create(
        kind=kind,
        created_by=user,
        membership_id=scope.membership_id,
        organisation_id=scope.organisation_id,
        file=upload,
        original_name=upload.name[:255],
        rows_total=count_rows(data, upload.name),
    )
    if batch.rows_total > settings.IMPORT_BACKGROUND_ROWS:
        transaction.on_commit(lambda: analyse_import.delay(batch.pk))
    else:
        analyse(batch.pk)
        batch.refresh_from_db()
    return batch


def _refuse(batch, message, errors=()):
    batch.status = ImportBatch.Status.REJECTED
    batch.message = message
    batch.errors = list(errors)
    batch.rejected_count = len({error["row"] for error in errors})
    batch.analysed_at = timezone.now()
    batch.save()


def analyse(batch_id):
    batch = ImportBatch.objects.select_related("membership__organisation", "created_by").get(pk=batch_id)
    importer = importer_for(batch)
    batch.status = ImportBatch.Status.ANALYSING
    batch.save(update_fields=["status"])
    try:
        header, records = _records(batch, importer)
    except UnreadableFile as error:
        return _refuse(batch, str(error))
    missing = missing_columns(header, importer)
    if missing:
        return _refuse(
            batch,
            "Colonnes manquantes : " + ", ".join(f"« {c} »" for c in missing) + ". Reprenez les en-têtes du modèle.",
            [{"row": 1, "column": c, "value": "", "message": "Colonne absente de l'en-tête."} for c in missing],
        )
    ImportBatch.objects.filter(pk=batch.pk).update(rows_total=len(records))

    def progress(done):
        ImportBatch.objects.filter(pk=batch.pk).update(rows_done=done)

    plans = importer.analyse(records, progress=progress)
    batch.refresh_from_db()
    batch.errors = [error for plan in plans for error in plan.errors]
    batch.preview = [importer.preview_row(p) for p in plans[:MAX_PREVIEW_ROWS]]
    counts = {op: sum(1 for p in plans if p.operation == op) for op in ("create", "update", "unchanged", "error")}
    batch.created_count, batch.updated_count = counts["create"], counts["update"]
    batch.unchanged_count, batch.rejected_count = counts["unchanged"], counts["error"]
    batch.rows_total = batch.rows_done = len(plans)
    batch.analysed_at = timezone.now()
    if batch.errors:
        batch.status = ImportBatch.Status.REJECTED
        batch.message = "Le fichier contient des erreurs : corrigez-les puis déposez-le à nouveau. Rien n'a été importé."
    elif not plans:
        batch.status = ImportBatch.Status.REJECTED
        batch.message = "Le fichier ne contient aucune ligne à importer."
    else:
        batch.status = ImportBatch.Status.READY
        batch.message = ""
    batch.save()


def confirm(batch):
    """Apply a batch ready to import: now, or in the background for a large file."""
    from ..tasks import apply_import

    updated = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.READY).update(status=ImportBatch.Status.IMPORTING)
    if not updated:
        return False
    if batch.rows_total > settings.IMPORT_BACKGROUND_ROWS:
        transaction.on_commit(lambda: apply_import.delay(batch.pk))
    else:
        apply(batch.pk)
    return True


def apply(batch_id):
    batch = ImportBatch.objects.select_related("membership__organisation", "created_by").get(pk=batch_id)
    if batch.status != ImportBatch.Status.IMPORTING:
        return  # already applied (a task delivered twice) or never confirmed
    importer = importer_for(batch)
    try:
        _, records = _records(batch, importer)
        plans = importer.apply(records)
    except (ImportRefused, UnreadableFile) as error:
        batch.status = ImportBatch.Status.FAILED
        batch.errors = getattr(error, "errors", [])
        batch.rejected_count = len({e["row"] for e in batch.errors})
        batch.message = (
            "Les données ont changé depuis l'aperçu et le fichier n'est plus valable : rien n'a été importé."
            if isinstance(error, ImportRefused)
            else str(error)
        )
        batch.save()
        return
    batch.created_count = sum(1 for p in plans if p.operation == "create")
    batch.updated_count = sum(1 for p in plans if p.operation == "update")
    batch.unchanged_count = sum(1 for p in plans if p.operation == "unchanged")
    batch.rejected_count = 0
    batch.status = ImportBatch.Status.DONE
    batch.imported_at = timezone.now()
    batch.message = ""
    batch.save()


def rejected_rows_csv(batch):
    """The rows with errors, as read from the kept file, with an `Erreurs` column: fix them and import again."""
    importer = importer_for(batch)
    by_row = {}
    for error in batch.errors:
        by_row.setdefault(error["row"], []).append(f"{error['column']} : {error['message']}")
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";")
    writer.writerow([*importer.columns, "Erreurs"])
    try:
        _, records = _records(batch, importer)
    except UnreadableFile:
        records = []
    for number, record in records:
        if number in by_row:
            writer.writerow([_cell(record.get(c)) for c in importer.columns] + [neutralise(" ; ".join(by_row[number]))])
    return output.getvalue()


def _cell(value):
    """A cell as the person typed it: dates of an XLSX file (read as datetimes) written back « 15/03/2017 »."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        value = value.date()
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return neutralise(value)
