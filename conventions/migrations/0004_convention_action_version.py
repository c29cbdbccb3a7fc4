"""Optimistic locking of conventions and actions (issue 10): a `version` bumped by every save, and who
saved an action last. Adding a column with a default rebuilds the table on SQLite, so the target-year
triggers (migration 0002) are dropped first and recreated after, as that migration asks."""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


triggers = importlib.import_module("conventions.migrations.0002_target_year_within_convention")


class Migration(migrations.Migration):
    dependencies = [
        ("conventions", "0003_alter_actionpartner_action_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(triggers.drop_triggers, triggers.create_triggers),
        migrations.AddField(
            model_name="action",
            name="updated_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="mise à jour par",
            ),
        ),
        migrations.AddField(
            model_name="action",
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
        ),
        migrations.AddField(
            model_name="convention",
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
        ),
        migrations.RunPython(triggers.create_triggers, triggers.drop_triggers),
    ]
