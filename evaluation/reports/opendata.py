"""Open data: the département x family aggregates of the published national runs, for anyone (no login), in
CSV and JSON, with statistical secrecy applied (methodology §13, `evaluation.reports.secrecy`); and the counters
of the public home page, read from the same published set.
"""

from dataclasses import dataclass

from django.core.cache import cache

from charte.catalogue.models import Indicator
from charte.territoires.models import Departement

from ..figures import METHODOLOGY_URL
from ..models import AnnualResult, EvaluationRun, ScopeType
from ..surveys.models import ImpactIndicator
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
# The survey indicators (methodology §15), three columns each: respondents, share of positive answers, response
# rate; the share and the rate are published only with the respondents (and the share with the positive answers).
SURVEY_INDICATORS = [code for code, _ in ImpactIndicator.choices]


def survey_column(code, what):
    return f"enquete_{code}_{what}"


for _code, _label in ImpactIndicator.choices:
    OPEN_DATA_COLUMNS += [
        (survey_column(_code, "repondants"), f"Enquêtes, {_label} : répondants (une réponse = une personne)"),
        (survey_column(_code, "part"), f"Enquêtes, {_label} : part de réponses positives (fraction de 0 à 1)"),
        (survey_column(_code, "taux_reponse"), f"Enquêtes, {_label} : taux de réponse (fraction de 0 à 1)"),
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
    return f"evaluation:opendata:2:{run.pk}:{run.year}:{run.created_at.timestamp() if run.created_at else ''}"


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
        rows.append(row)
    hidden = {code: suppression.count(code) for code in SECRET_COUNTS}
    hidden.update(_survey_columns(run, rows))
    return [{name: row[name] for name, _ in OPEN_DATA_COLUMNS} for row in rows], hidden


def _survey_columns(run, rows):
    """Fill the survey columns of the rows, with the secrecy of the answers (methodology §15, secrecy rule 5);
    returns {column: number of hidden cells}. Without any survey, every row has 0 respondents and no share."""
    answers = {
        (key, family, code): (respondents, positive, rate)
        for key, family, code, respondents, positive, rate in AnnualResult.objects.filter(
            run=run,
            scope_type=ScopeType.DEPARTEMENT,
            family__isnull=False,
            indicator__aggregation=Indicator.Aggregation.SURVEY,
        ).values_list(
            "scope_key", "family__code", "indicator__survey_indicator", "respondents", "positive_answers", "response_rate"
        )
    }
    hidden = {}
    for code in SURVEY_INDICATORS:
        values = {
            (row["departement_code"], row["famille_code"]): answers.get((row["departement_code"], row["famille_code"], code))
            or (0, 0, None)
            for row in rows
        }
        suppression = secrecy.suppress_answers(
            {cell: {secrecy.RESPONDENTS: v[0] or 0, secrecy.POSITIVE: v[1] or 0} for cell, v in values.items()}
        )
        for row in rows:
            cell = (row["departement_code"], row["famille_code"])
            respondents, positive, rate = values[cell]
            shown = not suppression.is_hidden(cell, secrecy.RESPONDENTS)
            share = shown and respondents and not suppression.is_hidden(cell, secrecy.POSITIVE)
            row[survey_column(code, "repondants")] = respondents if shown else None
            row[survey_column(code, "part")] = round(positive / respondents, 4) if share else None
            row[survey_column(code, "taux_reponse")] = round(rate, 4) if shown and rate is not None else None
        hidden[survey_column(code, "repondants")] = suppression.count(secrecy.RESPONDENTS)
        hidden[survey_column(code, "part")] = sum(
            1 for cell, (respondents, _, _) in values.items() if respondents and suppression.is_hidden(cell, secrecy.POSITIVE)
        )
    return hidden


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
