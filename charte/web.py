"""Small helpers shared by the portal's views: forms styled with the DSFR, CSV exports, role checks."""

import csv
from functools import wraps

from django import forms
from django.http import Http404, HttpResponse
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from charte.exports import neutralise


class DsfrModelForm(forms.ModelForm):
    """A ModelForm rendered with the DSFR field groups (labels, hints, errors at the field)."""

    template_name = DsfrBaseForm.template_name
    bound_field_class = DsfrBaseForm.bound_field_class
    default_renderer = DsfrBaseForm.default_renderer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from dsfr.utils import dsfr_input_class_attr

        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)


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
