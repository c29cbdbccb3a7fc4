from django.db import migrations

from charte.catalogue.referential import load_catalogue


def load(apps, schema_editor):
    load_catalogue(
        apps.get_model("catalogue", "Family"),
        apps.get_model("catalogue", "Indicator"),
        apps.get_model("catalogue", "ActionType"),
    )


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
