"""Small helpers shared by the portal's views: forms styled with the DSFR, CSV exports, role checks."""

import csv
from dataclasses import dataclass
from functools import wraps

from django import forms
from django.conf import settings
from django.core import validators
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from charte.exports import neutralise
from charte.validators import LONG_TEXT_MAX_LENGTH, MAX_DATE, MIN_DATE, validate_plausible_date


class DsfrModelForm(forms.ModelForm):
    """A ModelForm rendered with the DSFR field groups (labels, hints, errors at the field). Its free texts
    (textareas) are capped at LONG_TEXT_MAX_LENGTH characters and its dates bounded to 2000-2100, with a
    French message at the field (see charte.validators)."""

    template_name = DsfrBaseForm.template_name
    bound_field_class = DsfrBaseForm.bound_field_class
    default_renderer = DsfrBaseForm.default_renderer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from dsfr.utils import dsfr_input_class_attr

        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)
        for field in self.fields.values():
            bound_inputs(field)
        french_empty_labels(self)


EMPTY_LABEL = "Choisir…"


def french_empty_labels(form):
    """The empty choice of a drop-down reads « Choisir… », not Django's "---------" (read aloud as dashes)."""
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField) and field.empty_label == "---------":
            field.empty_label = EMPTY_LABEL
        elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            choices = list(field.choices)
            if choices and choices[0] == ("", "---------"):
                field.choices = [("", EMPTY_LABEL), *choices[1:]]


class Checklist(forms.CheckboxSelectMultiple):
    """A long multiple choice drawn as DSFR checkboxes in a scrollable fieldset with a text filter
    (templates/actions/includes/checklist.html, static/js/actions-form.js), never a Ctrl-click multi-select.
    Its checkboxes are named by the object's id (`id_<field>_<pk>`); the error summary links its fieldset."""

    checklist = True


class NamedDeleteMixin:
    """Formsets whose "remove this row" checkbox says what it removes ("Retirer cet engagement"), not Django's
    bare "Supprimer"; templates draw it with includes/delete_checkbox.html (no "(Optionnel)" mark)."""

    delete_label = "Retirer cette ligne"

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = self.delete_label


def checklist_options(bound_field, queryset, label):
    """The checkboxes of a Checklist field: [{id, value, label, checked}] from the rows offered (the field's
    scoped queryset), ticked from what was posted, else from the initial value or the saved relation."""
    form, name = bound_field.form, bound_field.name
    if form.is_bound:
        values = form.data.getlist(form.add_prefix(name))
    else:
        values = form.initial.get(name) or []
        instance = getattr(form, "instance", None)
        if not values and instance is not None and instance.pk:
            values = [obj.pk for obj in getattr(instance, name).all()]
    selected = {str(getattr(v, "pk", v)) for v in values}
    return [
        {"id": f"{bound_field.auto_id}_{obj.pk}", "value": obj.pk, "label": label(obj), "checked": str(obj.pk) in selected}
        for obj in queryset
    ]


def bound_inputs(field):
    """Cap a textarea's length and bound a date field to the plausible range, in the form and in the browser."""
    if isinstance(field, forms.CharField) and isinstance(field.widget, forms.Textarea) and field.max_length is None:
        field.max_length = LONG_TEXT_MAX_LENGTH
        field.validators.append(validators.MaxLengthValidator(LONG_TEXT_MAX_LENGTH))
        field.widget.attrs.setdefault("maxlength", str(LONG_TEXT_MAX_LENGTH))
    elif isinstance(field, forms.DateField):
        if validate_plausible_date not in field.validators:
            field.validators.append(validate_plausible_date)
        field.widget.attrs.setdefault("min", MIN_DATE.isoformat())
        field.widget.attrs.setdefault("max", MAX_DATE.isoformat())


def csv_response(filename, header, rows):
    """A CSV download that opens correctly in a French spreadsheet: UTF-8 with BOM, `;` separator. Every cell
    goes through `neutralise`, so no text in it can run as a formula."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow([neutralise(value) for value in header])
    for row in rows:
        writer.writerow(["" if value is None else neutralise(value) for value in row])
    return response


# Rows read per query by the streamed exports: one chunk (and its prefetches) is all a worker holds.
EXPORT_CHUNK_SIZE = 1000
# Characters of CSV gathered before each write of a streamed export.
STREAM_BLOCK = 64 * 1024


class _Echo:
    """A file-like object whose `write` hands the line back: csv.writer then formats one row at a time."""

    def write(self, value):
        return value


def csv_blocks(header, rows):
    """The CSV of `csv_response` (BOM, `;`, every cell neutralised) as blocks of about STREAM_BLOCK characters:
    what the streamed response sends and what an export job writes to its file, so both are the same bytes."""
    writer = csv.writer(_Echo(), delimiter=";")
    # Lines leave by blocks, not one by one: one write to the socket per row (2 million for the national
    # actions) kept the worker busy sending 250-byte packets.
    block = ["\ufeff" + writer.writerow([neutralise(value) for value in header])]
    size = 0
    for row in rows:
        line = writer.writerow(["" if value is None else neutralise(value) for value in row])
        block.append(line)
        size += len(line)
        if size >= STREAM_BLOCK:
            yield "".join(block)
            block, size = [], 0
    if block:
        yield "".join(block)


def export_filename(name):
    return f"{name}-{timezone.localdate().isoformat()}.csv"


def streaming_csv_response(filename, header, rows):
    """The same CSV as `csv_response` (BOM, `;`, every cell neutralised), sent as it is produced: a large list
    keeps the worker's memory bounded by one chunk of rows, and the first bytes leave before the last row is
    read. `rows` must be a lazy iterable (a generator over `.iterator(chunk_size=...)`), else the list is built
    in memory before the first byte."""
    response = StreamingHttpResponse(csv_blocks(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(filename)}"'
    return response


@dataclass(frozen=True)
class CsvExport:
    """One list export: its file name, columns, the filtered rows (`queryset`, already limited to the reader's
    scope) and `rows()`, the lazy row builder over them. The view streams it; an export job writes it."""

    kind: str  # the export job's kind (evaluation.exports), and the file name
    header: list
    queryset: object
    build_rows: object  # callable(queryset) -> iterable of rows

    def rows(self):
        return self.build_rows(self.queryset)

    def is_large(self):
        """More rows than EXPORT_BACKGROUND_ROWS, counted at most that far (a LIMIT in the count: the national
        2 million actions are never counted to decide)."""
        limit = settings.EXPORT_BACKGROUND_ROWS
        return self.queryset.order_by().values("pk")[: limit + 1].count() > limit


def csv_export_response(request, export):
    """Stream a small export; for a large one, the page that offers to prepare it in the background (an export
    job, evaluation.exports), since gunicorn cuts any response that lasts past its timeout."""
    if not export.is_large():
        return streaming_csv_response(export.kind, export.header, export.rows())
    from django.shortcuts import render

    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "exports/offer.html",
        {
            "kind": export.kind,
            "query": query.urlencode(),
            "threshold": settings.EXPORT_BACKGROUND_ROWS,
            "back_url": request.path.rsplit("/", 1)[0] + "/" + (f"?{query.urlencode()}" if query else ""),
        },
    )


MAX_PK = 2**63 - 1


def parse_pk(value):
    """An id typed in a query string or a form (ASCII digits within the database's bigint), else None."""
    value = str(value or "")
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_PK:
        return int(value)
    return None


def pk_or_404(value):
    """The id sent by the browser, or 404 (never a 500) when it is not one."""
    pk = parse_pk(value)
    if pk is None:
        raise Http404("Page introuvable.")
    return pk


def role_required(*kinds):
    """Only people acting for one of these kinds of organisation; others get a 404 so nothing leaks."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.scope.kind not in kinds:
                raise Http404("Page introuvable.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def add_service_error(form, error):
    """Show a service's refusal (a ValidationError) at the field it names when the form has it, above the form
    otherwise: the form keeps what was typed."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def json_download(data, filename):
    """A JSON file to download (French text kept readable; dates in ISO 8601)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
