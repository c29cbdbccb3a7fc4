"""A covering index of the declared values for the evaluation engine (PostgreSQL only), like 0003's of actions.

Each unit reads the values of its declarations (a few hundred declarations, ten values each). Values are written
declaration by declaration but land on pages shared with others, so reading them from the table touches one page
per value: 150 ms of a département's 1.1 s on the national benchmark. With the columns the engine reads carried
by the index, a declaration's values are one contiguous slice of it (index-only scan: 25-60 ms).
"""

from django.db import migrations

NAME = "eval_value_decl_cover"
DEFINITION = "evaluation_declarationvalue (declaration_id) INCLUDE (commitment_id, indicator_id, value)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON {DEFINITION}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0009_catalogue_history_baseline")]

    operations = [migrations.RunPython(create, drop)]
