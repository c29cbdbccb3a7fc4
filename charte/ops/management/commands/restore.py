from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from charte.ops.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restaure une archive de `backup` dans une base de données VIDE et le dossier des fichiers déposés "
        "(MEDIA_ROOT). --force remplace le contenu d'une base ou d'un dossier qui ne sont pas vides."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="Archive tar.gz écrite par `manage.py backup`.")
        parser.add_argument("--force", action="store_true", help="Remplacer une base ou un dossier de fichiers non vides.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Alias de la base (défaut : default).")

    def handle(self, *args, archive, force=False, database=DEFAULT_DB_ALIAS, **options):
        try:
            manifest = restore_backup(archive, media_root=settings.MEDIA_ROOT, force=force, connection=connections[database])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restauration terminée depuis {archive} (sauvegarde du {manifest['created_at']}) : "
            f"{len(manifest['row_counts'])} tables, {sum(manifest['row_counts'].values())} lignes, "
            f"{manifest['media']['files']} fichiers déposés ; les nombres de lignes correspondent au manifeste."
        )
