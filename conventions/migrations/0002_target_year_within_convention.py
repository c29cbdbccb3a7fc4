"""Database triggers: a target's year must fall inside the years of its convention.

`Target.clean()` checks it for forms, but imports, the API, bulk operations or a later change of the
convention's dates bypass `clean()`. The database refuses:
- a target inserted or updated (year or commitment) with a year outside start_date.year..end_date.year;
- a commitment moved to a convention whose years do not cover its targets;
- a convention whose new dates leave one of its targets outside.

The error surfaces in Django as `IntegrityError` (SQLite: RAISE(ABORT) is a constraint error; PostgreSQL:
ERRCODE check_violation).

Warning for later migrations on SQLite: Django rebuilds a table (create new, copy, drop, rename) for an
AlterField and similar operations, and the rename fails while a trigger names the dropped table
("error in trigger ...: no such table"). A migration that rebuilds conventions_target,
conventions_commitment or conventions_convention must drop the triggers first and recreate them after:

    triggers = importlib.import_module("conventions.migrations.0002_target_year_within_convention")
    operations = [
        migrations.RunPython(triggers.drop_triggers, triggers.create_triggers),
        ...the schema changes...
        migrations.RunPython(triggers.create_triggers, triggers.drop_triggers),
    ]

tests/test_constraints.py fails if the triggers are missing after all migrations.
"""

from django.db import migrations

MESSAGE = "L''année de l''objectif est hors de la période de la convention."

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER conventions_target_year_insert
    BEFORE INSERT ON conventions_target
    FOR EACH ROW
    WHEN EXISTS (
        SELECT 1 FROM conventions_commitment cm
        JOIN conventions_convention cv ON cv.id = cm.convention_id
        WHERE cm.id = NEW.commitment_id
          AND (NEW.year < CAST(strftime('%Y', cv.start_date) AS INTEGER)
               OR NEW.year > CAST(strftime('%Y', cv.end_date) AS INTEGER))
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER conventions_target_year_update
    BEFORE UPDATE OF year, commitment_id ON conventions_target
    FOR EACH ROW
    WHEN EXISTS (
        SELECT 1 FROM conventions_commitment cm
        JOIN conventions_convention cv ON cv.id = cm.convention_id
        WHERE cm.id = NEW.commitment_id
          AND (NEW.year < CAST(strftime('%Y', cv.start_date) AS INTEGER)
               OR NEW.year > CAST(strftime('%Y', cv.end_date) AS INTEGER))
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER conventions_commitment_targets_within_convention
    BEFORE UPDATE OF convention_id ON conventions_commitment
    FOR EACH ROW
    WHEN EXISTS (
        SELECT 1 FROM conventions_target t
        JOIN conventions_convention cv ON cv.id = NEW.convention_id
        WHERE t.commitment_id = NEW.id
          AND (t.year < CAST(strftime('%Y', cv.start_date) AS INTEGER)
               OR t.year > CAST(strftime('%Y', cv.end_date) AS INTEGER))
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    """
    CREATE TRIGGER conventions_convention_dates_cover_targets
    BEFORE UPDATE OF start_date, end_date ON conventions_convention
    FOR EACH ROW
    WHEN EXISTS (
        SELECT 1 FROM conventions_target t
        JOIN conventions_commitment cm ON cm.id = t.commitment_id
        WHERE cm.convention_id = NEW.id
          AND (t.year < CAST(strftime('%Y', NEW.start_date) AS INTEGER)
               OR t.year > CAST(strftime('%Y', NEW.end_date) AS INTEGER))
    )
    BEGIN SELECT RAISE(ABORT, 'Les nouvelles dates de la convention laisseraient des objectifs hors de sa période.'); END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS conventions_target_year_insert",
    "DROP TRIGGER IF EXISTS conventions_target_year_update",
    "DROP TRIGGER IF EXISTS conventions_commitment_targets_within_convention",
    "DROP TRIGGER IF EXISTS conventions_convention_dates_cover_targets",
]

# FOR SHARE on the convention row in the target-side checks: without it, under READ COMMITTED, a target
# inserted while another transaction moves the convention's dates would each pass against the other's old
# state. The convention UPDATE holds the row lock, so the target check waits and then reads the new dates.
POSTGRESQL_CREATE = [
    """
    CREATE FUNCTION conventions_target_year_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        first_year integer;
        last_year integer;
    BEGIN
        SELECT EXTRACT(YEAR FROM cv.start_date)::integer, EXTRACT(YEAR FROM cv.end_date)::integer
          INTO first_year, last_year
          FROM conventions_commitment cm
          JOIN conventions_convention cv ON cv.id = cm.convention_id
         WHERE cm.id = NEW.commitment_id
           FOR SHARE OF cv;
        IF NEW.year < first_year OR NEW.year > last_year THEN
            RAISE EXCEPTION 'L''année % de l''objectif est hors de la période de la convention (%-%).',
                NEW.year, first_year, last_year
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER conventions_target_year_within_convention
    BEFORE INSERT OR UPDATE OF year, commitment_id ON conventions_target
    FOR EACH ROW EXECUTE FUNCTION conventions_target_year_check()
    """,
    """
    CREATE FUNCTION conventions_commitment_targets_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        first_year integer;
        last_year integer;
    BEGIN
        SELECT EXTRACT(YEAR FROM cv.start_date)::integer, EXTRACT(YEAR FROM cv.end_date)::integer
          INTO first_year, last_year
          FROM conventions_convention cv
         WHERE cv.id = NEW.convention_id
           FOR SHARE;
        IF EXISTS (SELECT 1 FROM conventions_target t
                    WHERE t.commitment_id = NEW.id AND (t.year < first_year OR t.year > last_year)) THEN
            RAISE EXCEPTION 'Les objectifs de cet engagement sont hors de la période de la convention (%-%).',
                first_year, last_year
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER conventions_commitment_targets_within_convention
    BEFORE UPDATE OF convention_id ON conventions_commitment
    FOR EACH ROW EXECUTE FUNCTION conventions_commitment_targets_check()
    """,
    """
    CREATE FUNCTION conventions_convention_dates_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM conventions_target t
                     JOIN conventions_commitment cm ON cm.id = t.commitment_id
                    WHERE cm.convention_id = NEW.id
                      AND (t.year < EXTRACT(YEAR FROM NEW.start_date) OR t.year > EXTRACT(YEAR FROM NEW.end_date))) THEN
            RAISE EXCEPTION 'Les nouvelles dates de la convention (%-%) laisseraient des objectifs hors de sa période.',
                EXTRACT(YEAR FROM NEW.start_date), EXTRACT(YEAR FROM NEW.end_date)
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER conventions_convention_dates_cover_targets
    BEFORE UPDATE OF start_date, end_date ON conventions_convention
    FOR EACH ROW EXECUTE FUNCTION conventions_convention_dates_check()
    """,
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS conventions_target_year_within_convention ON conventions_target",
    "DROP TRIGGER IF EXISTS conventions_commitment_targets_within_convention ON conventions_commitment",
    "DROP TRIGGER IF EXISTS conventions_convention_dates_cover_targets ON conventions_convention",
    "DROP FUNCTION IF EXISTS conventions_target_year_check()",
    "DROP FUNCTION IF EXISTS conventions_commitment_targets_check()",
    "DROP FUNCTION IF EXISTS conventions_convention_dates_check()",
]

STATEMENTS = {
    "sqlite": (SQLITE_CREATE, SQLITE_DROP),
    "postgresql": (POSTGRESQL_CREATE, POSTGRESQL_DROP),
}


def _run(schema_editor, index):
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        # Failing loudly beats a database that silently accepts out-of-period targets.
        raise NotImplementedError(f"Base de données non prise en charge pour les déclencheurs d'objectifs : {vendor}.")
    for statement in STATEMENTS[vendor][index]:
        schema_editor.execute(statement, params=None)


def create_triggers(apps, schema_editor):
    _run(schema_editor, 0)


def drop_triggers(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("conventions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
