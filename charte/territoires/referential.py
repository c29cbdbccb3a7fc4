"""The committed referential of régions and départements (INSEE COG), loaded by a data migration and by
`manage.py load_departements` (idempotent: it creates what is missing and renames what changed)."""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_rows(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_regions_and_departements(Region, Departement):
    """Upsert régions and départements; the model classes are passed so a migration can use its own."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}

    def upsert(model, code, **fields):
        obj, created = model.objects.get_or_create(code=code, defaults=fields)
        if created:
            counts["created"] += 1
        elif any(getattr(obj, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(obj, key, value)
            obj.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        return obj

    regions = {row["code"]: upsert(Region, row["code"], name=row["name"]) for row in read_rows("regions.csv")}
    for row in read_rows("departements.csv"):
        upsert(Departement, row["code"], name=row["name"], region=regions[row["region"]])
    return counts
