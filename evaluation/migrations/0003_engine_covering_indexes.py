"""Covering indexes for the evaluation engine (PostgreSQL only).

A compile unit reads one département's actions, the actions of its conventions, of its companies and of its
QPV. Actions of a département are spread over the whole table (they are logged day by day across the country),
so reading them from the table touches most of its pages, for every unit. These indexes carry the columns the
engine sums: the unit reads a contiguous slice of an index instead (index-only scan), which is what makes a
per-département unit cheap. They belong to the engine, hence this migration, though they index other apps'
tables; SQLite (development, tests) keeps the plain indexes, its data being small.
"""

from django.db import migrations

INDEXES = {
    "eval_action_dep_cover": "conventions_action (departement_id, start_date) INCLUDE "
    "(action_type_id, club_id, convention_id, beneficiaries_total, beneficiaries_qpv, hours, employees_involved)",
    "eval_action_conv_cover": "conventions_action (convention_id, start_date) INCLUDE "
    "(action_type_id, beneficiaries_total, beneficiaries_qpv, hours, employees_involved) WHERE convention_id IS NOT NULL",
    "eval_action_club_cover": "conventions_action (club_id, start_date) INCLUDE "
    "(action_type_id, beneficiaries_total, beneficiaries_qpv, hours, employees_involved) WHERE club_id IS NOT NULL",
    "eval_action_id_cover": "conventions_action (id) INCLUDE "
    "(start_date, action_type_id, beneficiaries_total, beneficiaries_qpv, hours, employees_involved)",
    "eval_action_companies_cover": "conventions_action_companies (company_id, action_id)",
    "eval_action_qpvs_cover": "conventions_action_qpvs (qpv_id, action_id)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0002_evaluation_engine"),
        ("conventions", "0003_alter_actionpartner_action_and_more"),
    ]

    operations = [migrations.RunPython(create, drop)]
