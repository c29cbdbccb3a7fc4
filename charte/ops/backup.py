"""Backup and restore of the portal: one tar.gz archive holding the database and the uploaded files.

Archive layout (format 1):
    manifest.json       date, versions, database vendor, applied migrations, rows per table, files with sizes
    database.dump       PostgreSQL: `pg_dump --format=custom` (restored by pg_restore)
    database.sqlite3    SQLite: a copy made with SQLite's online backup API (consistent while the portal runs)
    media/...           MEDIA_ROOT as it was (signed conventions, evidence)

A restore goes into an EMPTY database (no table at all, e.g. just created) and an empty media folder, unless forced:
replacing a live portal by mistake must take a deliberate --force. Everything is checked before anything is
written (archive members, vendor, emptiness), and the row counts are compared with the manifest at the end.
"""

import datetime
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import django
from django.db import connection as default_connection

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media"
DUMP_NAMES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is French, for the operator."""


# --- helpers -------------------------------------------------------------------------------------------------


def _pg_env(settings_dict):
    env = os.environ.copy()
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def _pg_args(settings_dict):
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    return args


def _run(command, settings_dict, what):
    try:
        result = subprocess.run(command, env=_pg_env(settings_dict), capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} est introuvable : installez le client PostgreSQL (paquet postgresql-client).") from error
    if result.returncode != 0:
        raise BackupError(f"{what} a échoué : {result.stderr.strip()[:2000]}")
    return result


def table_names(connection):
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor, include_views=False))


def row_counts(connection):
    counts = {}
    with connection.cursor() as cursor:
        for table in table_names(connection):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _applied_migrations(connection):
    if "django_migrations" not in table_names(connection):
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        latest = {}
        for app, name in cursor.fetchall():
            latest[app] = name
    return latest


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def media_files(media_root):
    """{relative posix path: (size, sha256)} of every file under media_root."""
    root = Path(media_root)
    files = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files[path.relative_to(root).as_posix()] = (path.stat().st_size, _sha256(path))
    return files


# --- backup --------------------------------------------------------------------------------------------------


def _dump_database(connection, folder):
    vendor = connection.vendor
    if vendor not in DUMP_NAMES:
        raise BackupError(f"Sauvegarde impossible : base {vendor} non prise en charge (PostgreSQL ou SQLite).")
    target = Path(folder) / DUMP_NAMES[vendor]
    if vendor == "postgresql":
        settings_dict = connection.settings_dict
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--file",
                str(target),
                *_pg_args(settings_dict),
                settings_dict["NAME"],
            ],
            settings_dict,
            "pg_dump",
        )
    else:
        connection.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            connection.connection.backup(destination)
        finally:
            destination.close()
    return target


def _client_version(vendor):
    if vendor != "postgresql":
        return sqlite3.sqlite_version
    try:
        return subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except FileNotFoundError:
        return None


def create_backup(output=None, *, media_root, backup_dir, connection=default_connection, now=None):
    """Writes the archive and returns (its path, its manifest). The file appears only once complete."""
    now = now or datetime.datetime.now(datetime.UTC)
    if output is None:
        output = Path(backup_dir) / f"charte-{now:%Y%m%d-%H%M%S}.tar.gz"
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="charte-backup-") as folder:
        # Counted before the dump: on a live portal a few rows may arrive in between, the dump is the reference.
        counts = row_counts(connection)
        dump = _dump_database(connection, folder)
        files = media_files(media_root)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "versions": {
                "python": platform.python_version(),
                "django": django.get_version(),
                "database": connection.vendor,
                "database_server": ".".join(map(str, connection.get_database_version())),
                "dump_client": _client_version(connection.vendor),
            },
            "database": {"vendor": connection.vendor, "file": dump.name, "bytes": dump.stat().st_size},
            "migrations": _applied_migrations(connection),
            "row_counts": counts,
            "media": {
                "files": len(files),
                "bytes": sum(size for size, _ in files.values()),
                "sha256": {name: digest for name, (_, digest) in files.items()},
            },
        }
        manifest_path = Path(folder) / MANIFEST
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        partial = output.with_name(output.name + ".partiel")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(manifest_path, MANIFEST)
            archive.add(dump, dump.name)
            if Path(media_root).is_dir():
                for name in files:
                    archive.add(Path(media_root) / name, f"{MEDIA_PREFIX}/{name}")
        partial.replace(output)
    return output, manifest


# --- restore -------------------------------------------------------------------------------------------------


def read_manifest(archive_path):
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            member = archive.getmember(MANIFEST)
            return json.loads(archive.extractfile(member).read().decode("utf-8"))
    except FileNotFoundError as error:
        raise BackupError(f"Archive introuvable : {archive_path}") from error
    except (tarfile.TarError, KeyError, OSError, ValueError) as error:
        raise BackupError(f"{archive_path} n'est pas une archive de sauvegarde du portail lisible ({error}).") from error


def _check_members(archive, manifest):
    """Only the expected names, no absolute path, no '..', no link: an archive cannot write outside its folders."""
    expected_dump = manifest["database"]["file"]
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise BackupError(f"Archive refusée : chemin interdit « {member.name} ».")
        if not (member.isfile() or member.isdir()):
            raise BackupError(f"Archive refusée : « {member.name} » n'est pas un fichier ordinaire.")
        if member.name not in (MANIFEST, expected_dump) and path.parts[0] != MEDIA_PREFIX:
            raise BackupError(f"Archive refusée : élément inattendu « {member.name} ».")


def restore_backup(archive_path, *, media_root, force=False, connection=default_connection):
    """Restores the database and the files; returns the manifest. Raises BackupError before writing anything
    when the archive, the vendor or the emptiness of the targets does not allow it."""
    manifest = read_manifest(archive_path)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Format d'archive {manifest.get('format')} inconnu (attendu : {FORMAT}).")
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"L'archive contient une base {vendor} et la base cible est {connection.vendor} : restaurez dans le même "
            "type de base."
        )
    existing = table_names(connection)
    if existing and not force:
        raise BackupError(
            f"La base de données cible n'est pas vide ({len(existing)} tables) : la restauration se fait dans une base "
            "vide (créez-la, sans lancer migrate). Pour remplacer son contenu, relancez avec --force."
        )
    media_root = Path(media_root)
    # Files only: empty folders (the health probe leaves one) do not make it occupied.
    if media_root.is_dir() and any(path.is_file() for path in media_root.rglob("*")) and not force:
        raise BackupError(f"Le dossier des fichiers déposés ({media_root}) n'est pas vide : videz-le ou relancez avec --force.")

    with tempfile.TemporaryDirectory(prefix="charte-restore-") as folder, tarfile.open(archive_path, "r:gz") as archive:
        _check_members(archive, manifest)
        archive.extractall(folder, filter="data")
        dump = Path(folder) / manifest["database"]["file"]
        if vendor == "postgresql":
            settings_dict = connection.settings_dict
            connection.close()
            command = [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                *_pg_args(settings_dict),
                "--dbname",
                settings_dict["NAME"],
            ]
            if existing:
                command += ["--clean", "--if-exists"]
            _run([*command, str(dump)], settings_dict, "pg_restore")
        else:
            connection.ensure_connection()
            source = sqlite3.connect(dump)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
        restored_media = Path(folder) / MEDIA_PREFIX
        if restored_media.is_dir():
            media_root.mkdir(parents=True, exist_ok=True)
            shutil.copytree(restored_media, media_root, dirs_exist_ok=True)

    counts = row_counts(connection)
    differences = {
        table: (expected, counts.get(table))
        for table, expected in manifest["row_counts"].items()
        if counts.get(table) != expected
    }
    if differences:
        listed = ", ".join(
            f"{table} ({expected} attendues, {found} trouvées)" for table, (expected, found) in differences.items()
        )
        raise BackupError(f"Restauration incomplète : {listed}.")
    return manifest
