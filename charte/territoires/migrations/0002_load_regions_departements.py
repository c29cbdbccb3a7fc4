from django.db import migrations

from charte.territoires.referential import load_regions_and_departements


def load(apps, schema_editor):
    load_regions_and_departements(apps.get_model("territoires", "Region"), apps.get_model("territoires", "Departement"))


class Migration(migrations.Migration):
    dependencies = [("territoires", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
