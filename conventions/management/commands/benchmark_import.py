"""Benchmark of the spreadsheet import of actions: generates a file of N new actions (XLSX by default), then times
the preview (reading + checking every row), the confirmed import, and the preview of the same file again (every
row found unchanged). Run it on a database of its own (DATABASE_URL=…/charte_import): it creates a national
organisation, companies and QPV of the Hérault for the purpose (named « Banc d'essai import … »)."""

import io
import random
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import override_settings

from charte.catalogue.models import ActionType
from charte.comptes.models import Membership, Organisation, OrganisationKind, User
from charte.comptes.scoping import Scope
from charte.exports import Workbook
from charte.territoires.models import QPV, Departement
from entreprises.models import Company

from ...imports import batches
from ...imports.actions import COLUMNS
from ...models import Action, ImportBatch


def _luhn_key(prefix):
    for key in range(10):
        number = f"{prefix}{key}"
        total = 0
        for index, char in enumerate(reversed(number)):
            digit = int(char) * (2 if index % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return number
    raise AssertionError(prefix)


class Command(BaseCommand):
    help = "Mesure l'aperçu et l'import d'un fichier de N actions (par défaut 10 000)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10000)
        parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
        parser.add_argument("--seed", type=int, default=12)

    def handle(self, *args, rows, format, seed, **options):
        rng = random.Random(seed)
        user, membership = self._people()
        scope = Scope.for_membership(membership)
        companies = self._companies()
        qpvs = self._qpvs()
        types = list(ActionType.objects.filter(is_active=True).values_list("label", flat=True))
        run = rng.randrange(10**6)
        lines = []
        for number in range(rows):
            chosen = rng.sample(companies, rng.choice((1, 1, 2)))
            total = rng.randrange(1, 40)
            lines.append(
                [
                    "",
                    f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.choice((2016, 2017, 2018))}",
                    "",
                    rng.choice(types),
                    "",
                    f"Action de banc d'essai {run}-{number}",
                    "",
                    ", ".join(chosen),
                    ", ".join(rng.sample(qpvs, rng.choice((0, 1, 2)))),
                    "34",
                    "",
                    total,
                    rng.randrange(0, total + 1),
                    rng.randrange(0, total + 1),
                    rng.randrange(0, total + 1),
                    rng.randrange(0, 10),
                    f"{rng.randrange(0, 400)},5",
                    "Collège Las Cazes (Collège), Mission locale (Mission locale)",
                    "",
                    "",
                    "",
                ]
            )
        data = self._file(lines, format)
        name = f"benchmark-{rows}.{format}"
        self.stdout.write(f"Base : {connection.vendor} ; fichier {name} de {len(data) / 1e6:.1f} Mo, {rows} lignes")

        with override_settings(IMPORT_BACKGROUND_ROWS=10**9):
            before = Action.objects.count()
            started = time.perf_counter()
            batch = batches.create_batch(
                user=user, scope=scope, kind=ImportBatch.Kind.ACTIONS, upload=SimpleUploadedFile(name, data)
            )
            preview = time.perf_counter() - started
            self.stdout.write(
                f"Aperçu : {preview:.2f} s — {batch.created_count} à créer, {batch.rejected_count} refusées ({batch.status})"
            )
            if batch.status != ImportBatch.Status.READY:
                self.stdout.write(str(batch.errors[:5]))
                return
            started = time.perf_counter()
            batches.confirm(batch)
            applied = time.perf_counter() - started
            batch.refresh_from_db()
            self.stdout.write(
                f"Import : {applied:.2f} s — {batch.created_count} créées ({batch.status}), "
                f"{Action.objects.count() - before} actions de plus en base"
            )
            started = time.perf_counter()
            again = batches.create_batch(
                user=user, scope=scope, kind=ImportBatch.Kind.ACTIONS, upload=SimpleUploadedFile(name, data)
            )
            self.stdout.write(
                f"Aperçu du même fichier réimporté : {time.perf_counter() - started:.2f} s — "
                f"{again.unchanged_count} inchangées, {again.created_count} à créer"
            )

    def _people(self):
        organisation, _ = Organisation.objects.get_or_create(
            name="Banc d'essai import (national)", defaults={"kind": OrganisationKind.NATIONAL}
        )
        user, _ = User.objects.get_or_create(email="banc-import@example.org")
        membership, _ = Membership.objects.get_or_create(user=user, organisation=organisation)
        return user, membership

    def _companies(self):
        sirens = [_luhn_key(f"{71000000 + n:08d}") for n in range(200)]
        existing = set(Company.objects.filter(siren__in=sirens).values_list("siren", flat=True))
        Company.objects.bulk_create(
            Company(siren=siren, name=f"Banc d'essai import {siren}") for siren in sirens if siren not in existing
        )
        return sirens

    def _qpvs(self):
        herault = Departement.objects.get(code="34")
        codes = [f"QP034{900 + n:03d}" for n in range(30)]
        existing = set(QPV.objects.filter(code__in=codes).values_list("code", flat=True))
        QPV.objects.bulk_create(
            QPV(code=code, name=f"Banc d'essai import {code}", generation=2015, departement=herault)
            for code in codes
            if code not in existing
        )
        return codes

    def _file(self, lines, format):
        if format == "csv":
            out = io.StringIO()
            import csv

            writer = csv.writer(out, delimiter=";")
            writer.writerow(COLUMNS)
            writer.writerows(lines)
            return ("\ufeff" + out.getvalue()).encode()
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(COLUMNS)
        for line in lines:
            sheet.append(line)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
