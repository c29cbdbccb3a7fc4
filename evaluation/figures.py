"""The registry of the figures the evaluation publishes: each one defined once.

A figure's `code` is its name everywhere outside Python: the API field, the open-data key, the anchor of its
definition in `docs/methodologie.md` (served at /methodologie/). Its `field` is the `AnnualResult` column
(N-1 is the same column with the `prev_` prefix). Its `kind` says how it is written:

- COUNT: a number of things (actions, people, companies), an integer: "4 436";
- RATE: a fraction stored as 0..1 (0.685), written as a percentage: "68,5 %";
- VALUE: a value in the unit of its row's indicator (pupils, euros, hours... or % for a ratio indicator,
  already stored in percent): at most two decimals, no trailing zeros: "774", "12,5".

`additive`: the figure of a région is the sum of its départements' (and national = régions + national
conventions); the others (distinct companies, shares, rates) are recomputed at each level. `secret`: the rule of
statistical secrecy on public outputs (methodology §13): THRESHOLD (1 to 4 hidden, plus secondary suppression),
DERIVED (published only when the terms it is computed from are), NONE (never published without sign-in).

Adding a figure: an entry here, its SQL in the engine, its definition in the methodology, its tests.
"""

from dataclasses import dataclass
from decimal import Decimal

COUNT = "count"
RATE = "rate"
VALUE = "value"

THRESHOLD = "threshold"
DERIVED = "derived"
NONE = "none"

METHODOLOGY_URL = "/methodologie/"

# Narrow no-break space (the French thousands separator) and the no-break space before "%" or a unit.
THIN = "\u202f"
NBSP = "\u00a0"
EMPTY = "—"


@dataclass(frozen=True)
class Figure:
    code: str
    field: str | None  # AnnualResult column; None: derived from other figures (see `value`)
    label: str
    kind: str
    additive: bool
    secret: str = NONE
    # Whether the figure exists on rows of an indicator only, on rows without indicator only, or both.
    rows: str = "all"
    help: str = ""

    @property
    def anchor(self):
        return self.code

    @property
    def url(self):
        return f"{METHODOLOGY_URL}#{self.anchor}"

    def value(self, row, previous=False):
        """The figure's value on an `AnnualResult` (N, or N-1 with `previous`)."""
        if row is None:
            return None
        prefix = "prev_" if previous else ""
        if self.code == "en_attente_validation":
            declared = getattr(row, prefix + "declared_value")
            validated = getattr(row, prefix + "declared_validated_value")
            if declared is None:
                return None
            return declared - (validated or 0)
        return getattr(row, prefix + self.field)

    def format(self, value):
        return format_value(value, self.kind)


def _group(digits):
    """'1234567' -> '1 234 567' with narrow no-break spaces."""
    sign = "-" if digits.startswith("-") else ""
    digits = digits.lstrip("-")
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return sign + THIN.join(groups)


def format_number(value, decimals=2):
    """French writing of a number: thousands grouped, decimal comma, at most `decimals` decimals, no trailing
    zeros ("774", "12,5", "4 436")."""
    if value is None:
        return EMPTY
    quantum = Decimal(1).scaleb(-decimals)
    number = Decimal(str(value)).quantize(quantum)
    text = f"{number:f}"
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0")
    else:
        whole, fraction = text, ""
    if whole in ("-0", "") and not fraction:
        whole = "0"
    return _group(whole) + ("," + fraction if fraction else "")


def format_percent(fraction, decimals=1):
    """A fraction written as a French percentage: 0.685 -> "68,5 %"."""
    if fraction is None:
        return EMPTY
    number = (Decimal(str(fraction)) * 100).quantize(Decimal(1).scaleb(-decimals))
    whole, _, part = f"{number:f}".partition(".")
    return _group(whole) + ("," + part if part else "") + NBSP + "%"


def format_value(value, kind):
    if value is None:
        return EMPTY
    if kind == COUNT:
        return format_number(value, decimals=0)
    if kind == RATE:
        return format_percent(value)
    return format_number(value)


FIGURES = (
    Figure("actions", "actions_count", "Actions", COUNT, True, THRESHOLD),
    Figure("beneficiaires", "beneficiaries", "Bénéficiaires", COUNT, True, THRESHOLD),
    Figure("beneficiaires_qpv", "beneficiaries_qpv", "Dont résidant en QPV", COUNT, True, THRESHOLD),
    Figure("part_beneficiaires_qpv", "qpv_share", "Part des bénéficiaires résidant en QPV", RATE, False, DERIVED),
    Figure("entreprises_attendues", "companies_expected", "Entreprises attendues", COUNT, False, THRESHOLD),
    Figure("entreprises_ayant_declare", "companies_reporting", "Entreprises ayant déclaré", COUNT, False, THRESHOLD),
    Figure("valeur_declaree", "declared_value", "Valeur déclarée", VALUE, True, NONE, rows="indicator"),
    Figure("valeur_declaree_validee", "declared_validated_value", "Dont validée", VALUE, True, NONE, rows="indicator"),
    Figure("en_attente_validation", None, "En attente de validation", VALUE, True, NONE, rows="indicator"),
    Figure("valeur_calculee", "computed_value", "Calculée depuis les actions", VALUE, True, NONE, rows="indicator"),
    Figure("objectif", "target_value", "Objectif", VALUE, True, NONE, rows="indicator"),
    Figure("taux_atteinte", "attainment_rate", "Taux d'atteinte (validé / objectif)", RATE, False, NONE, rows="indicator"),
    Figure("valeur_offerte", "offered_value", "Offert", VALUE, True, NONE, rows="indicator"),
    Figure("valeur_realisee", "realised_value", "Réalisé", VALUE, True, NONE, rows="indicator"),
)
BY_CODE = {figure.code: figure for figure in FIGURES}
BY_FIELD = {figure.field: figure for figure in FIGURES if figure.field}


def get(code):
    return BY_CODE[code]
