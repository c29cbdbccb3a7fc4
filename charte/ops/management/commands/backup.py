from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from charte.ops.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Sauvegarde la base de données et les fichiers déposés (MEDIA_ROOT) dans une archive tar.gz, avec un "
        "manifeste (date, versions, nombre de lignes par table). Par défaut dans BACKUP_DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="Chemin de l'archive à écrire (défaut : BACKUP_DIR/charte-AAAAMMJJ-HHMMSS.tar.gz).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Alias de la base (défaut : default).")

    def handle(self, *args, output=None, database=DEFAULT_DB_ALIAS, **options):
        try:
            path, manifest = create_backup(
                output, media_root=settings.MEDIA_ROOT, backup_dir=settings.BACKUP_DIR, connection=connections[database]
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["row_counts"].values())
        self.stdout.write(
            f"Sauvegarde écrite : {path} ({path.stat().st_size} octets ; {len(manifest['row_counts'])} tables, {rows} lignes ; "
            f"{manifest['media']['files']} fichiers déposés)."
        )
