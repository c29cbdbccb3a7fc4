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
DERIVED (published only when the terms it is computed from are), NONE (never published without sign-in);
RESPONDENTS (methodology §15): withheld on EVERY output, signed-in ones included, when fewer than 5 people
answered, since the share of a handful of respondents tells what each one said (`Figure.value` returns None
there, so the page, the PDF, the exports and the API cannot show it).

Every output reads this module: the report page and the PDF (through the `figures` template filters), the
XLSX and CSV exports (their columns are generated from FIGURES), the API result serializers (field names are
the codes, help texts the labels). Adding a figure: an entry here, its SQL in the engine, its definition in the
methodology, its tests; nothing else.

Formats (methodology §12): the screen and the PDF write French numbers ("4 436", "12,5", "68,5 %", "—");
the XLSX keeps numbers with a number format; the CSV writes numbers a French spreadsheet reads as numbers
(no thousands separator, decimal comma, rates as a percentage with one decimal in a column headed "(%)", an
empty cell for no value), never more decimals than the screen shows.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

COUNT = "count"
RATE = "rate"
VALUE = "value"

THRESHOLD = "threshold"
DERIVED = "derived"
NONE = "none"
RESPONDENTS = "respondents"

# Below this many respondents an answer-based figure is withheld (methodology §15; the survey results page and
# the open data use the same 5).
MIN_RESPONDENTS = 5
WITHHELD = "masqué (moins de 5 réponses)"

METHODOLOGY_URL = "/methodologie/"

# Narrow no-break space (the French thousands separator) and the no-break space before "%" or a unit.
THIN = "\u202f"
NBSP = "\u00a0"
EMPTY = "—"

# Indicator units written after the value rather than only in the "Unité" column: the euro (methodology §12)
# and the percent of ratio indicators (already stored in percent, written with one decimal like a rate).
EURO_UNITS = {"euros", "euro", "€"}
PERCENT_UNITS = {"%"}


def _is_percent_unit(unit):
    return (unit or "").strip() in PERCENT_UNITS


def _is_euro_unit(unit):
    return (unit or "").strip().lower() in EURO_UNITS


def decimals(kind, unit=None):
    """How many decimals a figure shows at most (screen, PDF, CSV alike)."""
    if kind == COUNT:
        return 0
    if kind == RATE or _is_percent_unit(unit):
        return 1
    return 2


@dataclass(frozen=True)
class Figure:
    code: str
    field: str | None  # AnnualResult column; None: derived from other figures (see `value`)
    label: str
    kind: str
    additive: bool
    secret: str = NONE
    # Which rows carry the figure: "all" (rows without indicator, and indicator rows for the counts of
    # actions), "indicator" (declared indicators), "survey" (survey indicators, methodology §15).
    rows: str = "all"
    help: str = ""
    # Whether the figure has its N-1 twin (the `prev_` column, or derived from `prev_` columns).
    previous: bool = True

    @property
    def anchor(self):
        return self.code

    @property
    def url(self):
        return f"{METHODOLOGY_URL}#{self.anchor}"

    @property
    def previous_label(self):
        return f"{self.label} N-1"

    def value(self, row, previous=False):
        """The figure's value on an `AnnualResult` (N, or N-1 with `previous`); None for an N-1 the figure
        does not have."""
        if row is None or (previous and not self.previous) or self.withheld(row, previous):
            return None
        prefix = "prev_" if previous else ""
        if self.code == "en_attente_validation":
            declared = getattr(row, prefix + "declared_value")
            validated = getattr(row, prefix + "declared_validated_value")
            if declared is None:
                return None
            return declared - (validated or 0)
        return getattr(row, prefix + self.field)

    def withheld(self, row, previous=False):
        """Whether secrecy withholds the figure on this row: fewer than 5 respondents (methodology §15)."""
        if self.secret != RESPONDENTS or row is None:
            return False
        respondents = getattr(row, ("prev_" if previous else "") + "respondents", None)
        # No respondent at all: there is nothing to hide, the share is empty ("—"), not "masqué".
        return respondents is not None and 0 < respondents < MIN_RESPONDENTS

    def format(self, value, unit=None):
        return format_value(value, self.kind, unit)

    def display(self, row, previous=False):
        """The French writing of the figure on a row, with the unit of the row's indicator when it is written
        after the value (euros, percent)."""
        if self.withheld(row, previous):
            return WITHHELD
        return self.format(self.value(row, previous), unit=row_unit(row))

    def csv(self, value, unit=None):
        return csv_value(value, self.kind, unit)

    def xlsx(self, value, unit=None):
        """(cell value, number format): numbers stay numbers, rounded to what the screen shows."""
        return xlsx_value(value, self.kind, unit)

    @property
    def api_help(self):
        text = self.label
        if self.kind == RATE:
            text += ", en fraction (0,685 = 68,5 %)"
        elif self.kind == VALUE and self.rows == "indicator":
            text += ", dans l'unité de l'indicateur"
        if self.secret == RESPONDENTS:
            text += f" ; null quand moins de {MIN_RESPONDENTS} personnes ont répondu (secret)"
        return f"{text}. Définition : {self.url}"


def row_unit(row):
    indicator = getattr(row, "indicator", None) if row is not None and getattr(row, "indicator_id", None) else None
    return indicator.unit if indicator is not None else None


def _decimal(value, places):
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


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


def _split(number):
    """A quantized Decimal -> (whole digits, fraction digits without trailing zeros)."""
    text = f"{number:f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if whole in ("-0", "") and not fraction:
        whole = "0"
    return whole, fraction


def format_number(value, decimals=2, grouped=True):
    """French writing of a number: thousands grouped, decimal comma, at most `decimals` decimals, no trailing
    zeros ("774", "12,5", "4 436")."""
    if value is None:
        return EMPTY
    whole, fraction = _split(_decimal(value, decimals))
    return (_group(whole) if grouped else whole) + ("," + fraction if fraction else "")


def format_percent(fraction, decimals=1):
    """A fraction written as a French percentage: 0.685 -> "68,5 %"."""
    if fraction is None:
        return EMPTY
    number = _decimal(Decimal(str(fraction)) * 100, decimals)
    whole, _, part = f"{number:f}".partition(".")
    return _group(whole) + ("," + part if part else "") + NBSP + "%"


def format_value(value, kind, unit=None):
    if value is None:
        return EMPTY
    if kind == COUNT:
        return format_number(value, decimals=0)
    if kind == RATE:
        return format_percent(value)
    text = format_number(value, decimals=decimals(kind, unit))
    if _is_percent_unit(unit):
        return text + NBSP + "%"
    if _is_euro_unit(unit):
        return text + NBSP + "€"
    return text


def csv_value(value, kind, unit=None):
    """A CSV cell a French spreadsheet reads as a number: "4436", "12,5", a rate as "68,5" (its column says
    "(%)"); empty when there is no value. Never more decimals than the screen (nor fewer for a rate)."""
    if value is None:
        return ""
    if kind == RATE:  # one decimal always, as on screen ("50,0")
        return f"{_decimal(Decimal(str(value)) * 100, 1):f}".replace(".", ",")
    return format_number(value, decimals=decimals(kind, unit), grouped=False)


def xlsx_value(value, kind, unit=None):
    if value is None:
        return None, "General"
    if kind == COUNT:
        return int(_decimal(value, 0)), "#,##0"
    if kind == RATE:
        # Stored as a fraction: three decimals of the fraction are the one decimal of the percentage shown.
        return float(_decimal(value, 3)), "0.0%"
    number = _decimal(value, decimals(kind, unit))
    suffix = ' "%"' if _is_percent_unit(unit) else ' "€"' if _is_euro_unit(unit) else ""
    if number == number.to_integral_value():
        return int(number), "#,##0" + suffix
    return float(number), ("#,##0.0" if decimals(kind, unit) == 1 else "#,##0.0#") + suffix


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
    # Offered and realised split the declared value of year N only (no N-1 column).
    Figure("valeur_offerte", "offered_value", "Offert", VALUE, True, NONE, rows="indicator", previous=False),
    Figure("valeur_realisee", "realised_value", "Réalisé", VALUE, True, NONE, rows="indicator", previous=False),
    # The survey indicators (methodology §15): one response is the unit; the share with its response rate.
    Figure("part_reponses_positives", "positive_share", "Part de réponses positives", RATE, False, RESPONDENTS, rows="survey"),
    Figure("reponses_positives", "positive_answers", "Réponses positives", COUNT, True, RESPONDENTS, rows="survey"),
    Figure("repondants", "respondents", "Répondants", COUNT, True, NONE, rows="survey"),
    Figure("personnes_sollicitees", "people_reached", "Personnes sollicitées", COUNT, True, NONE, rows="survey"),
    Figure("taux_reponse", "response_rate", "Taux de réponse", RATE, False, NONE, rows="survey"),
)
BY_CODE = {figure.code: figure for figure in FIGURES}
BY_FIELD = {figure.field: figure for figure in FIGURES if figure.field}


def get(code):
    return BY_CODE[code]


# --- what each output shows ------------------------------------------------------------------------------
# The exports (XLSX, CSV) and the API carry every figure; the page and the PDF, narrower, show these by code.

# The key figures of a report: the figures of its row without family nor indicator.
KEY_FIGURES = tuple(figure for figure in FIGURES if figure.rows == "all")
# The table of each family on the page and in the PDF: its indicator rows, N, then these figures for N-1.
REPORT_TABLE = (
    "valeur_declaree",
    "valeur_declaree_validee",
    "en_attente_validation",
    "valeur_calculee",
    "objectif",
    "taux_atteinte",
)
REPORT_TABLE_PREVIOUS = ("valeur_declaree",)
# The table of the survey indicators of each family: the share beside its respondents and response rate.
SURVEY_TABLE = ("part_reponses_positives", "reponses_positives", "repondants", "personnes_sollicitees", "taux_reponse")
SURVEY_TABLE_PREVIOUS = ("part_reponses_positives",)


@dataclass(frozen=True)
class Column:
    """A figure of year N, or its N-1 twin, as the column of a table or an export."""

    figure: Figure
    previous: bool = False

    @property
    def code(self):
        return self.figure.code + ("_n1" if self.previous else "")

    @property
    def label(self):
        return self.figure.previous_label if self.previous else self.figure.label

    def heading(self, year):
        """The label with the years spelt out, for a page that knows its year."""
        return f"{self.figure.label} {year - 1}" if self.previous else self.figure.label

    @property
    def csv_label(self):
        return self.label + (" (%)" if self.figure.kind == RATE else "")

    @property
    def url(self):
        return self.figure.url

    @property
    def kind(self):
        return self.figure.kind

    def value(self, row):
        return self.figure.value(row, previous=self.previous)

    def display(self, row):
        return self.figure.display(row, previous=self.previous)

    def csv(self, row):
        return self.figure.csv(self.value(row), unit=row_unit(row))

    def xlsx(self, row):
        return self.figure.xlsx(self.value(row), unit=row_unit(row))


def export_columns():
    """Every figure of year N, then every N-1 twin: the columns of the XLSX family sheets and of the CSV."""
    return [Column(figure) for figure in FIGURES] + [Column(figure, previous=True) for figure in FIGURES if figure.previous]


def report_table_columns():
    return [Column(get(code)) for code in REPORT_TABLE] + [Column(get(code), previous=True) for code in REPORT_TABLE_PREVIOUS]


def survey_table_columns():
    return [Column(get(code)) for code in SURVEY_TABLE] + [Column(get(code), previous=True) for code in SURVEY_TABLE_PREVIOUS]


def describe_run(run):
    """ "Chiffres calculés le 2 avril 2018 à 10:15 par la compilation n° 12": which run a report's figures come
    from and when it finished, the same sentence on the page, in the PDF and in the XLSX."""
    if run is None:
        return "Aucune compilation publiée"
    if run.finished_at is None:
        return f"Chiffres calculés par la compilation n° {run.pk}"
    return f"Chiffres calculés le {french_datetime(run.finished_at)} par la compilation n° {run.pk}"


def french_datetime(moment, format="j F Y à H:i"):
    from charte.dates import french_date

    return french_date(moment, format)
