"""The standard catalogue (families, indicators, action types) from the committed CSV files, loaded by a
data migration and by `manage.py load_catalogue`. Idempotent; an existing family keeps the label a
territory gave it (only missing rows are created), since families are editable."""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

TYPE_BY_CSV = {"moyens": "moyens", "résultats": "resultats", "resultats": "resultats", "impact": "impact"}
NATURE_BY_CSV = {"offert": "offered", "réalisé": "realised", "realise": "realised"}
AXIS_BY_CSV = {"Sensibiliser": "sensibiliser", "Former": "former", "Recruter": "recruter", "Acheter": "acheter", "": ""}


def read_rows(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_catalogue(Family, Indicator, ActionType):
    created = 0
    for position, row in enumerate(read_rows("families.csv"), start=1):
        _, was_created = Family.objects.get_or_create(
            code=row["code"],
            defaults={"label": row["label"], "short_label": row["short_label"], "position": position},
        )
        created += was_created

    ratios = []
    # The first data migration runs before survey indicators exist (catalogue 0003 loads them).
    surveys = any(f.name == "survey_indicator" for f in Indicator._meta.get_fields())
    for row in read_rows("indicators.csv"):
        aggregation = row["aggregation"]
        fields = {
            "label": row["label"],
            "unit": row["unit"],
            "type": TYPE_BY_CSV[row["type"]],
            "nature": NATURE_BY_CSV[row["nature"]],
        }
        if aggregation.startswith("survey:"):
            if not surveys:
                continue
            # "survey:satisfaction": compiled from the answers to the questions carrying that indicator.
            _, was_created = Indicator.objects.get_or_create(
                code=row["code"], defaults={**fields, "aggregation": "survey", "survey_indicator": aggregation[7:]}
            )
            created += was_created
            continue
        if aggregation.startswith("ratio:"):
            numerator, denominator = aggregation.split(":", 1)[1].split("/")
            ratios.append((row["code"], fields, numerator, denominator))
            continue
        _, was_created = Indicator.objects.get_or_create(code=row["code"], defaults={**fields, "aggregation": "sum"})
        created += was_created
    for code, fields, numerator, denominator in ratios:
        _, was_created = Indicator.objects.get_or_create(
            code=code,
            defaults={
                **fields,
                "aggregation": "ratio",
                "numerator": Indicator.objects.get(code=numerator),
                "denominator": Indicator.objects.get(code=denominator),
            },
        )
        created += was_created

    families = {f.code: f for f in Family.objects.all()}
    indicators = {i.code: i for i in Indicator.objects.all()}
    for row in read_rows("action_types.csv"):
        action_type, was_created = ActionType.objects.get_or_create(
            code=row["code"],
            defaults={
                "label": row["label"],
                "family": families[row["family"]],
                "paqte_axis": AXIS_BY_CSV[row["paqte_axis"]],
            },
        )
        created += was_created
        if was_created:
            action_type.indicators.set([indicators[code] for code in row["indicators"].split(";") if code])
    return created
