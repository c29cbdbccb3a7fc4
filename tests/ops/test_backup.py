"""Backup then restore, end to end: the database and the uploaded files of a seeded portal go into one archive, are
restored into ANOTHER, empty database and media folder, and come back with the same row counts and the same bytes.

On PostgreSQL (CI) the archive holds a pg_dump (custom format) restored by pg_restore into a database created for the
test; on SQLite (a developer's default) a copy made with SQLite's backup API, restored into a new file. Under CI the
PostgreSQL path must run: a CI on SQLite fails here."""

import json
import os
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.utils import ConnectionHandler

from charte.ops.backup import BackupError, media_files, read_manifest, restore_backup, row_counts
from entreprises.models import Company
from tests.factories import ActionFactory, CompanyFactory, ConventionFactory

pytestmark = pytest.mark.django_db(transaction=True)

FILES = {
    "conventions/signees/034-2026-0001.pdf": b"%PDF-1.4 convention signee\n" + bytes(range(256)) * 40,
    "justificatifs/2017/releve stages.xlsx": b"PK\x03\x04 tableur" + os.urandom(5000),
    "vide.txt": b"",
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    for name, content in FILES.items():
        path = settings.MEDIA_ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return settings.MEDIA_ROOT


@pytest.fixture
def seeded(media):
    conventions = [ConventionFactory() for _ in range(3)]
    for convention in conventions:
        ActionFactory.create_batch(4, convention=convention)
    CompanyFactory.create_batch(2)
    return conventions


def sqlite_file(path):
    return ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}})


@pytest.fixture
def empty_target(tmp_path, in_ci):
    """A connection to a new, empty database of the same kind as the tests' one, dropped at the end."""
    if in_ci and connection.vendor != "postgresql":
        pytest.fail("Sous CI, la sauvegarde et la restauration doivent être vérifiées sur PostgreSQL.")
    if connection.vendor == "sqlite":
        handler = ConnectionHandler(
            {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "restauree.sqlite3")}}
        )
        yield handler["default"]
        handler["default"].close()
        return
    name = f"{connection.settings_dict['NAME']}_restore"[:63]
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    handler = ConnectionHandler({"default": {**connection.settings_dict, "NAME": name}})
    try:
        yield handler["default"]
    finally:
        handler["default"].close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_round_trip_same_rows_and_same_files(seeded, media, empty_target, tmp_path, capsys):
    archive = tmp_path / "sauvegardes" / "charte.tar.gz"
    call_command("backup", output=str(archive))
    assert "Sauvegarde écrite" in capsys.readouterr().out
    before = row_counts(connection)
    assert before["conventions_convention"] >= 3 and before["conventions_action"] >= 12

    manifest = read_manifest(archive)
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["row_counts"] == before
    assert manifest["versions"]["django"] and manifest["created_at"]
    assert manifest["migrations"]["conventions"]
    assert manifest["media"]["files"] == len(FILES)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", manifest["database"]["file"], *(f"media/{name}" for name in FILES)} <= names

    restored_media = tmp_path / "media-restaure"
    # An empty folder (what the health probe's storage check leaves) does not count as occupied.
    (restored_media / "health_check_storage_test").mkdir(parents=True)
    restore_backup(archive, media_root=restored_media, connection=empty_target)

    assert row_counts(empty_target) == before
    with empty_target.cursor() as cursor:
        cursor.execute("SELECT reference FROM conventions_convention ORDER BY reference")
        restored_refs = [row[0] for row in cursor.fetchall()]
    assert {convention.reference for convention in seeded} <= set(restored_refs)
    for name, content in FILES.items():
        assert (restored_media / name).read_bytes() == content
    assert media_files(restored_media) == media_files(media)


def test_restore_refuses_a_database_that_is_not_empty(seeded, media, tmp_path):
    archive = tmp_path / "charte.tar.gz"
    call_command("backup", output=str(archive))
    companies = Company.objects.count()
    with pytest.raises(CommandError, match="La base de données cible n'est pas vide .* --force"):
        call_command("restore", str(archive))
    assert Company.objects.count() == companies


def test_restore_refuses_a_media_folder_that_is_not_empty(seeded, media, empty_target, tmp_path):
    archive = tmp_path / "charte.tar.gz"
    call_command("backup", output=str(archive))
    occupied = tmp_path / "occupe"
    occupied.mkdir()
    (occupied / "deja-la.txt").write_text("présent")
    with pytest.raises(BackupError, match="n'est pas vide"):
        restore_backup(archive, media_root=occupied, connection=empty_target)
    # Refused before anything was written: the database is still empty.
    assert row_counts(empty_target) == {}


def test_force_replaces_a_database_that_is_not_empty(seeded, media, empty_target, tmp_path):
    """Restored once, the target is no longer empty: refused, then replaced with --force (pg_restore --clean on
    PostgreSQL), with the same counts again."""
    archive = tmp_path / "charte.tar.gz"
    call_command("backup", output=str(archive))
    before = row_counts(connection)
    restore_backup(archive, media_root=tmp_path / "m1", connection=empty_target)
    with pytest.raises(BackupError, match="n'est pas vide"):
        restore_backup(archive, media_root=tmp_path / "m2", connection=empty_target)
    restore_backup(archive, media_root=tmp_path / "m1", connection=empty_target, force=True)
    assert row_counts(empty_target) == before


def test_a_foreign_or_unsafe_archive_is_refused(tmp_path, empty_target):
    not_an_archive = tmp_path / "texte.tar.gz"
    not_an_archive.write_text("pas une archive")
    with pytest.raises(CommandError, match="n'est pas une archive de sauvegarde"):
        call_command("restore", str(not_an_archive))
    with pytest.raises(CommandError, match="Archive introuvable"):
        call_command("restore", str(tmp_path / "absente.tar.gz"))

    # A manifest, then a member that would write outside the folders.
    manifest = {"format": 1, "database": {"vendor": empty_target.vendor, "file": "database.dump"}, "row_counts": {}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "evil").write_text("x")
    unsafe = tmp_path / "dangereuse.tar.gz"
    with tarfile.open(unsafe, "w:gz") as tar:
        tar.add(tmp_path / "manifest.json", "manifest.json")
        tar.add(tmp_path / "evil", "../../evil")
    with pytest.raises(BackupError, match="chemin interdit"):
        restore_backup(unsafe, media_root=tmp_path / "m", connection=empty_target)
    assert not Path(tmp_path.parent.parent / "evil").exists()
