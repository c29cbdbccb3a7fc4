from django.db import migrations

from evaluation.surveys.catalogue import load_questionnaires


def load(apps, schema_editor):
    load_questionnaires(
        apps.get_model("surveys", "QuestionnaireModel"), apps.get_model("surveys", "Question"), apps.get_model("catalogue", "ActionType")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0001_initial"),
        ("catalogue", "0002_load_standard_catalogue"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
