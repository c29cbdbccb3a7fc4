"""Readable history of a declaration (its status and its values) or of a convention, for the pages.

simple-history's `diff_against` cannot compare non-editable fields (it goes through `model_to_dict`), and a
declaration's status is not editable (it changes through the services only): the diff is done here.
Who acted is the record's `history_user`, so the `*_by` columns are not repeated as changes.
"""

from dataclasses import dataclass, field

from django.utils import formats, timezone

from ..models import DeclarationValue

HIDDEN = {
    "id",
    "version",
    "updated_at",
    "created_at",
    "updated_by",
    "submitted_by",
    "validated_by",
    "returned_by",
    "reopened_by",
    "status_changed_at",
}
KINDS = {"+": "Création", "~": "Modification", "-": "Suppression"}


@dataclass
class FieldChange:
    name: str
    label: str
    old: object
    new: object
    old_display: str
    new_display: str


@dataclass
class Entry:
    when: object
    who: object
    kind: str
    subject: str
    changes: list = field(default_factory=list)


def _display(model_field, value):
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return formats.date_format(timezone.localtime(value), "d/m/Y H:i")
    if hasattr(value, "year"):
        return formats.date_format(value, "d/m/Y")
    return formats.localize(value) if not isinstance(value, str) else value


def field_changes(record, previous):
    """[FieldChange] between two history records of the same object (previous may be None: creation)."""
    tracked = [f for f in record.tracked_fields if f.name not in HIDDEN and not f.is_relation]
    if previous is None:
        return [
            FieldChange(f.name, str(f.verbose_name), None, value, "—", _display(f, value))
            for f in tracked
            if (value := getattr(record, f.attname)) not in (None, "")
        ]
    changes = []
    for model_field in tracked:
        old, new = getattr(previous, model_field.attname), getattr(record, model_field.attname)
        if old != new:
            changes.append(
                FieldChange(
                    model_field.name,
                    str(model_field.verbose_name),
                    old,
                    new,
                    _display(model_field, old),
                    _display(model_field, new),
                )
            )
    return changes


def entries(records, subject):
    """Entries newest first from history records of one or several objects; `subject(record)` names the
    object changed. The previous record of each object is found in the list itself (no query per row)."""
    records = sorted(records, key=lambda r: (r.history_date, r.history_id))
    last = {}
    result = []
    for record in records:
        previous = last.get(record.id)
        result.append(
            Entry(
                when=record.history_date,
                who=record.history_user,
                kind=KINDS.get(record.history_type, record.history_type),
                subject=subject(record),
                changes=field_changes(record, previous) if record.history_type != "-" else [],
            )
        )
        last[record.id] = record
    result.reverse()
    return result


def declaration_history(declaration):
    """The declaration's steps and every change of its values, newest first, in two queries."""
    steps = declaration.history.select_related("history_user")
    values = DeclarationValue.history.filter(declaration_id=declaration.pk).select_related("history_user", "indicator")
    entries_ = entries(steps, lambda r: "Déclaration") + entries(values, lambda r: f"Valeur « {r.indicator.label} »")
    return sorted(entries_, key=lambda e: e.when, reverse=True)


def convention_history(convention):
    return entries(convention.history.select_related("history_user"), lambda r: "Convention")
