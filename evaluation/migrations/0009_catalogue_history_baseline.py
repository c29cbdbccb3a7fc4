"""The catalogue's history lives here, beside the conventions' (`HistoricalRecords(app="evaluation")`).

A first history record for every catalogue row that exists before the history did, so that the first change
made in the portal shows what it changed (its "before")."""

from django.db import migrations
from django.utils import timezone

REASON = "État du catalogue à la mise en place de l'historique"


def baseline(apps, schema_editor):
    now = timezone.now()
    for name, fields in (
        ("Family", ("code", "label", "short_label", "position", "is_active")),
        ("Indicator", ("code", "label", "unit", "type", "nature", "aggregation", "numerator_id", "denominator_id", "is_active")),
        ("ActionType", ("code", "label", "family_id", "paqte_axis", "is_active")),
    ):
        model, historical = apps.get_model("catalogue", name), apps.get_model("evaluation", f"Historical{name}")
        tracked = set(historical.objects.values_list("id", flat=True))
        for row in model.objects.exclude(pk__in=tracked):
            record = historical.objects.create(
                id=row.pk,
                history_date=now,
                history_type="+",
                history_change_reason=REASON,
                **{field: getattr(row, field) for field in fields},
            )
            if name == "ActionType":
                through = apps.get_model("evaluation", "HistoricalActionType_indicators")
                links = model.indicators.through.objects.filter(actiontype_id=row.pk)
                through.objects.bulk_create(
                    through(id=link.pk, history=record, actiontype_id=row.pk, indicator_id=link.indicator_id) for link in links
                )


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0008_catalogue_history")]

    operations = [migrations.RunPython(baseline, migrations.RunPython.noop)]
