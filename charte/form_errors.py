"""The error summary of a form page (the DSFR / RGAA pattern): every field in error listed once, each a link
to the field, so that a keyboard or screen-reader user lands on the list and reaches the field in one step.

Registered as a template builtin (settings.TEMPLATES), so any template can write
`{% error_summary_items form formset … as items %}` without loading a library."""

from django import forms as django_forms
from django import template

register = template.Library()


def _field_anchor(bound_field):
    """The id the link points to: the input itself, or the first choice of a group of radios / checkboxes
    (their group has no single input, and `id_for_label` is empty for radios)."""
    if bound_field.is_hidden:
        return ""
    if getattr(bound_field.field.widget, "checklist", False):
        # A charte.web.Checklist: its checkboxes are named by object id; the link goes to its fieldset, whose
        # first checkbox static/js/form-errors.js focuses.
        return f"fieldset-{bound_field.name}"
    anchor = bound_field.id_for_label
    if not anchor and bound_field.auto_id:
        anchor = f"{bound_field.auto_id}_0"
    return anchor


def _field_label(bound_field):
    # A form may name a field more precisely for the summary than its visible label (the declaration's
    # "Valeur réalisée" is one of many: the summary says which indicator).
    return getattr(bound_field.field, "summary_label", None) or bound_field.label or bound_field.name


def _form_items(form, prefix=""):
    items = []
    if not getattr(form, "is_bound", False) or not form.errors:
        return items
    for error in form.non_field_errors():
        items.append({"label": prefix.rstrip(" —") if prefix else "", "message": error, "anchor": ""})
    for name in form.errors:
        if name == django_forms.forms.NON_FIELD_ERRORS or name not in form.fields:
            continue
        bound_field = form[name]
        for error in bound_field.errors:
            items.append(
                {"label": f"{prefix}{_field_label(bound_field)}", "message": error, "anchor": _field_anchor(bound_field)}
            )
    return items


def error_items(*forms_or_formsets):
    """[{label, message, anchor}] for the given forms and formsets, in page order (None is skipped)."""
    items = []
    for obj in forms_or_formsets:
        if obj is None or obj == "":
            continue
        if isinstance(obj, django_forms.BaseFormSet):
            if not obj.is_bound:
                continue
            for error in obj.non_form_errors():
                items.append({"label": "", "message": error, "anchor": ""})
            item_label = getattr(obj, "summary_item_label", "Ligne")
            for index, form in enumerate(obj.forms, start=1):
                items.extend(_form_items(form, prefix=f"{item_label} {index} — "))
        else:
            items.extend(_form_items(obj))
    return items


@register.simple_tag
def error_summary_items(*forms_or_formsets):
    return error_items(*forms_or_formsets)
