"""Each département beside the others (issue 15 item 5, methodology §14 "Comparaison entre départements").

A département's figures, per 10,000 QPV residents and per signatory company, beside the median and quartiles of
the départements of its région and of all France, from the published set of the year only.

The département's own values come from its report (rows read through `AnnualResult.visible_to`). The group
statistics read every département's published row, like the open data does: they are anonymous aggregates
built only from values the open data could publish (methodology §14 "Secret statistique"), so they tell a
préfecture nothing about another département that the public file does not already tell. Two queries, whatever
the number of départements, families or indicators: the départements' rows of the report's published run, and
the départements with their région and the population of their QPV. The quantiles are a Python step over at most 101
values per group and figure.
"""

import statistics
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Q, Sum

from charte.catalogue.models import Indicator
from charte.territoires.models import QPV, Departement

from ..figures import METHODOLOGY_URL, format_number
from ..models import AnnualResult, ScopeType
from . import secrecy

# Below this many départements a group shows no quartile: with 3 values the interpolated quartiles give the
# three values back, with 4 a reader who knows his own value finds the three others.
MIN_GROUP = 5
PER_QPV = "qpv"
PER_COMPANY = "entreprise"
PER_QPV_RESIDENTS = 10_000
DENOMINATOR_LABELS = {
    PER_QPV: "pour 10 000 habitants des QPV",
    PER_COMPANY: "par entreprise signataire",
}
METHOD_URL = f"{METHODOLOGY_URL}#comparaison-entre-departements"
CACHE_SECONDS = 24 * 3600
FIRST_2024_YEAR = 2024  # the year the 2024 list of QPV came into force


@dataclass(frozen=True)
class Measure:
    """A count of a family (or all families) row compared between départements."""

    code: str  # the figure's code (registry and open data)
    field: str  # AnnualResult column
    label: str
    denominators: tuple


COUNT_MEASURES = (
    Measure(secrecy.ACTIONS, "actions_count", "Actions", (PER_QPV, PER_COMPANY)),
    Measure(secrecy.BENEFICIARIES, "beneficiaries", "Bénéficiaires", (PER_QPV, PER_COMPANY)),
    Measure(secrecy.QPV_RESIDENTS, "beneficiaries_qpv", "Bénéficiaires résidant en QPV", (PER_QPV, PER_COMPANY)),
    Measure(secrecy.REPORTING, "companies_reporting", "Entreprises ayant déclaré", (PER_COMPANY,)),
)
INDICATOR_FIELD = "declared_validated_value"
FIELDS = (
    ("scope_key", "family_id", "family__code", "indicator_id", "companies_expected")
    + tuple(measure.field for measure in COUNT_MEASURES)
    + (INDICATOR_FIELD,)
)

POSITIONS = (
    "dans le quart supérieur",
    "au-dessus de la médiane",
    "à la médiane",
    "au-dessous de la médiane",
    "dans le quart inférieur",
)


def qpv_generation(year):
    """The list of QPV in force in the year evaluated: 2015's until 2023, 2024's from 2024."""
    return QPV.Generation.G2024 if year >= FIRST_2024_YEAR else QPV.Generation.G2015


def quartiles(values):
    """(first quartile, median, third quartile) by linear interpolation between the sorted values (the
    "inclusive" method: rank 1 + q (n - 1) / 4); None under MIN_GROUP values."""
    if len(values) < MIN_GROUP:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def position(value, stats):
    """Where a value stands among a group's quartiles, in words (methodology §14)."""
    if value is None or stats is None:
        return None
    q1, median, q3 = stats
    if value > q3:
        return POSITIONS[0]
    if value > median:
        return POSITIONS[1]
    if value == median:
        return POSITIONS[2]
    if value >= q1:
        return POSITIONS[3]
    return POSITIONS[4]


@dataclass
class Group:
    label: str
    count: int  # départements that count
    stats: tuple | None  # (q1, median, q3), None for a group too small

    @property
    def q1(self):
        return self.stats[0] if self.stats else None

    @property
    def median(self):
        return self.stats[1] if self.stats else None

    @property
    def q3(self):
        return self.stats[2] if self.stats else None


@dataclass
class Row:
    label: str  # "Actions pour 10 000 habitants des QPV"
    key: tuple  # (family code or "", indicator id or None, measure, denominator): see Values
    code: str  # figure code, for the link to its definition
    denominator: str
    value: float | None  # the département's own value
    counted: bool  # whether the own value enters the statistics (False: secret, or no value)
    region: Group
    france: Group

    @property
    def region_position(self):
        return position(self.value, self.region.stats)

    @property
    def france_position(self):
        return position(self.value, self.france.stats)

    @property
    def groups(self):
        return (self.region, self.france)

    @property
    def hidden(self):
        """The own value is shown to its reader but covered by secrecy, hence out of the statistics."""
        return self.value is not None and not self.counted


@dataclass
class Block:
    title: str
    family_code: str  # "" for all families
    rows: list = field(default_factory=list)


@dataclass
class Comparison:
    departement: str  # code
    region_name: str
    qpv_residents: int
    signatory_companies: int | None
    blocks: list = field(default_factory=list)
    url: str = METHOD_URL
    min_group: int = MIN_GROUP


def fmt(value):
    """The French writing of a compared value (the page, the PDF and the XLSX round alike)."""
    return format_number(value, decimals=2)


# --- the published values of every département ----------------------------------------------------------


def _ratio(value, denominator, kind):
    if value is None or not denominator:
        return None
    value = float(value)
    return value * PER_QPV_RESIDENTS / denominator if kind == PER_QPV else value / denominator


def _hidden_total(measure, row):
    """The all-families row: its additive totals are the open data's known margins, hidden when 1 to 4; the
    companies reporting (distinct, not a margin) follow the primary rule and its complement."""
    value = row[measure.field]
    if secrecy.is_small(value):
        return True
    if measure.code == secrecy.REPORTING and row["companies_expected"] is not None and value is not None:
        return secrecy.is_small(row["companies_expected"] - value)
    return False


class Values:
    """Every département's comparable values of one year: {key: {departement code: (value, publishable)}}, where
    a key is (family code or "", indicator id or None, measure code, denominator)."""

    def __init__(self, run):
        """`run`: the published run of the year (the report's), whose département rows are read."""
        self.year = run.year
        rows = list(
            AnnualResult.objects.filter(run=run, year=run.year, scope_type=ScopeType.DEPARTEMENT)
            .exclude(indicator__aggregation=Indicator.Aggregation.RATIO)
            .values(*FIELDS)
        )
        generation = qpv_generation(run.year)
        departements = (
            Departement.objects.order_by()
            .values_list("code", "region__code", "region__name")
            .annotate(population=Sum("qpvs__population", filter=Q(qpvs__generation=generation), default=0))
        )
        self.regions = {}
        self.populations = {}
        for code, region, name, population in departements:
            self.regions[code] = (region, name)
            self.populations[code] = population
        totals = {row["scope_key"]: row for row in rows if row["family_id"] is None and row["indicator_id"] is None}
        self.companies = {code: row["companies_expected"] for code, row in totals.items()}
        # The open data's secrecy, computed the same way on the same published rows (département x family).
        cells = {
            (row["scope_key"], row["family__code"]): {measure.code: row[measure.field] for measure in COUNT_MEASURES}
            | {secrecy.EXPECTED: row["companies_expected"]}
            for row in rows
            if row["family_id"] is not None and row["indicator_id"] is None
        }
        suppression = secrecy.suppress(cells)
        self.values = {}
        for row in rows:
            code = row["scope_key"]
            family = row["family__code"] or ""
            denominators = {PER_QPV: self.populations.get(code) or 0, PER_COMPANY: self.companies.get(code) or 0}
            company_secret = secrecy.is_small(self.companies.get(code))
            if row["indicator_id"] is None:
                for measure in COUNT_MEASURES:
                    if row["family_id"] is None:
                        hidden = _hidden_total(measure, row)
                    else:
                        hidden = suppression.is_hidden((code, family), measure.code)
                    for kind in measure.denominators:
                        value = _ratio(row[measure.field], denominators[kind], kind)
                        secret = hidden or (kind == PER_COMPANY and company_secret)
                        self.values.setdefault((family, None, measure.code, kind), {})[code] = (value, not secret)
            else:
                hidden = secrecy.is_small(row["companies_reporting"])
                for kind in (PER_QPV, PER_COMPANY):
                    value = _ratio(row[INDICATOR_FIELD], denominators[kind], kind)
                    secret = hidden or (kind == PER_COMPANY and company_secret)
                    self.values.setdefault((family, row["indicator_id"], INDICATOR_FIELD, kind), {})[code] = (value, not secret)

    def group(self, key, departements):
        """The values that count in a group: a value, publishable, of a département of the group."""
        by_departement = self.values.get(key, {})
        return [
            value
            for code, (value, publishable) in by_departement.items()
            if code in departements and publishable and value is not None
        ]

    def own(self, key, code):
        return self.values.get(key, {}).get(code, (None, False))


def values_of(run):
    """The `Values` of a published run, computed once per run and kept in the cache: a run is never changed
    once written, and reading every département's rows costs about 100 ms on the national dataset (the
    département report went past 300 ms p95 with it)."""
    # The id alone could be reused by another run after a rollback (tests, SQLite): its creation instant too.
    key = f"evaluation:compare:1:{run.pk}:{run.year}:{run.created_at.timestamp() if run.created_at else ''}"
    values = cache.get(key)
    if values is None:
        values = Values(run)
        cache.set(key, values, CACHE_SECONDS)
    return values


# --- the comparison of one report -------------------------------------------------------------------------


def build(report):
    """The comparison shown on a département's report (`evaluation.reports.reports.build` for a département):
    None for another kind of report or a year without published figures."""
    if report.scope_type != ScopeType.DEPARTEMENT or not report.has_figures or report.total is None:
        return None
    values = values_of(report.run)
    code = report.scope_key
    region_code, region_name = values.regions.get(code, (None, ""))
    in_region = {dep for dep, (region, _name) in values.regions.items() if region == region_code}
    everywhere = set(values.regions)
    comparison = Comparison(
        departement=code,
        region_name=region_name,
        qpv_residents=values.populations.get(code) or 0,
        signatory_companies=values.companies.get(code),
    )

    def row(key, label, figure_code):
        value, counted = values.own(key, code)
        region = values.group(key, in_region)
        france = values.group(key, everywhere)
        return Row(
            label=f"{label} {DENOMINATOR_LABELS[key[3]]}",
            key=key,
            code=figure_code,
            denominator=key[3],
            value=value,
            counted=counted and value is not None,
            region=Group(f"Région {region_name}", len(region), quartiles(region)),
            france=Group("France entière", len(france), quartiles(france)),
        )

    def count_rows(family):
        return [row((family, None, m.code, kind), m.label, m.code) for m in COUNT_MEASURES for kind in m.denominators]

    comparison.blocks.append(Block("Toutes familles", "", count_rows("")))
    for family_block in report.families:
        family = family_block.family.code
        block = Block(family_block.family.label, family, count_rows(family))
        for result in family_block.indicators:
            if result.indicator.aggregation == Indicator.Aggregation.RATIO:
                continue
            label = f"{result.indicator.label}, valeur validée ({result.indicator.unit})"
            for kind in (PER_QPV, PER_COMPANY):
                compared = row((family, result.indicator_id, INDICATOR_FIELD, kind), label, "valeur_declaree_validee")
                # An indicator neither this département nor any other could put in the comparison: no row.
                if compared.value is not None or compared.france.count:
                    block.rows.append(compared)
        comparison.blocks.append(block)
    return comparison
