"""Open data: the département x family aggregates of the published national runs, for anyone (no login), in
CSV and JSON, with statistical secrecy applied (methodology §13, `evaluation.reports.secrecy`); and the counters
of the public home page, read from the same published set.
"""

from dataclasses import dataclass

from django.core.cache import cache

from charte.territoires.models import Departement

from ..figures import METHODOLOGY_URL
from ..models import AnnualResult, EvaluationRun, ScopeType
from . import secrecy

OPEN_DATA_THRESHOLD = secrecy.THRESHOLD
SECRECY_URL = f"{METHODOLOGY_URL}#secret-statistique"
OPEN_DATA_COLUMNS = [
    ("annee", "Année évaluée"),
    ("departement_code", "Code du département"),
    ("departement_nom", "Nom du département"),
    ("famille_code", "Code de la famille d'actions"),
    ("famille", "Libellé de la famille d'actions"),
    ("actions", "Nombre d'actions de l'année dans le département"),
    ("beneficiaires", "Nombre de bénéficiaires de ces actions"),
    ("beneficiaires_qpv", "Dont bénéficiaires résidant en quartier prioritaire (QPV)"),
    ("part_beneficiaires_qpv", "Part des bénéficiaires résidant en QPV (fraction de 0 à 1, rapport des sommes)"),
    ("entreprises_attendues", "Entreprises attendues à la campagne de déclaration"),
    ("entreprises_ayant_declare", "Entreprises ayant transmis leur déclaration"),
]
SECRET_COUNTS = secrecy.COUNTS
# AnnualResult column of each count of the file.
FIELDS = {
    secrecy.ACTIONS: "actions_count",
    secrecy.BENEFICIARIES: "beneficiaries",
    secrecy.QPV_RESIDENTS: "beneficiaries_qpv",
    secrecy.EXPECTED: "companies_expected",
    secrecy.REPORTING: "companies_reporting",
}
LABELS = dict(OPEN_DATA_COLUMNS)
# A run is immutable once succeeded: its open data can be kept as long as the run is the published one; the
# delay only bounds what a renamed département would cost.
CACHE_SECONDS = 24 * 3600


@dataclass
class OpenData:
    year: int
    run: EvaluationRun
    rows: list
    # {count code: number of hidden cells}, in the order of the file's columns.
    hidden: dict

    @property
    def hidden_total(self):
        return sum(self.hidden.values())

    @property
    def hidden_by_label(self):
        return [(LABELS[code], count) for code, count in self.hidden.items()]


def _national_runs():
    return EvaluationRun.objects.published().filter(scope_type=ScopeType.NATIONAL)


def open_data_years():
    return list(_national_runs().order_by("-year").values_list("year", flat=True).distinct())


def open_data_year(value):
    years = open_data_years()
    if value and str(value).isdigit() and int(value) in years:
        return int(value)
    return years[0] if years else None


def _cache_key(run):
    # The id alone could be reused by another run after a rollback (tests, SQLite): its creation instant too.
    return f"evaluation:opendata:1:{run.pk}:{run.year}:{run.created_at.timestamp() if run.created_at else ''}"


def open_data(year):
    """The open data of the published national run of the year (None without one), computed once per run."""
    run = _national_runs().filter(year=year).first() if year else None
    if run is None:
        return None
    key = _cache_key(run)
    cached = cache.get(key)
    if cached is None:
        cached = _compute(run)
        cache.set(key, cached, CACHE_SECONDS)
    rows, hidden = cached
    return OpenData(year=run.year, run=run, rows=rows, hidden=hidden)


def open_data_rows(year):
    data = open_data(year)
    return data.rows if data else []


def _compute(run):
    results = list(
        AnnualResult.objects.filter(run=run, scope_type=ScopeType.DEPARTEMENT, family__isnull=False, indicator__isnull=True)
        .select_related("family")
        .order_by("scope_key", "family__position", "family__code")
    )
    cells = {
        (result.scope_key, result.family.code): {code: getattr(result, field) for code, field in FIELDS.items()}
        for result in results
    }
    suppression = secrecy.suppress(cells)
    names = dict(Departement.objects.values_list("code", "name"))
    rows = []
    for result in results:
        cell = (result.scope_key, result.family.code)
        row = {
            "annee": run.year,
            "departement_code": result.scope_key,
            "departement_nom": names.get(result.scope_key, ""),
            "famille_code": result.family.code,
            "famille": result.family.label,
        }
        for code, value in cells[cell].items():
            row[code] = None if suppression.is_hidden(cell, code) else value
        # The share with one of its terms would give the other back: published only when both are.
        share = None
        if row[secrecy.BENEFICIARIES] is not None and row[secrecy.QPV_RESIDENTS] is not None and result.qpv_share is not None:
            share = round(result.qpv_share, 4)
        row["part_beneficiaires_qpv"] = share
        rows.append({name: row[name] for name, _ in OPEN_DATA_COLUMNS})
    hidden = {code: suppression.count(code) for code in SECRET_COUNTS}
    return rows, hidden


def public_figures():
    """The counters of the public home page: the national row of the latest published national run, the very
    set the open data reads (its cells add up to these totals, never to a live count that could differ from
    them). None before the first published run. A national total of 1 to 4 is secret like any cell."""
    run = _national_runs().order_by("-year").first()
    if run is None:
        return None
    national = (
        AnnualResult.objects.filter(run=run, scope_type=ScopeType.NATIONAL, family__isnull=True, indicator__isnull=True)
        .values("actions_count", "beneficiaries")
        .first()
        or {}
    )

    def public(value):
        # No national row: the run found nothing to count.
        value = value or 0
        return None if secrecy.is_small(value) else value

    return {
        "year": run.year,
        "finished_at": run.finished_at,
        "actions": public(national.get("actions_count")),
        "beneficiaries": public(national.get("beneficiaries")),
    }
