"""A report: the published compiled figures of one scope and year, assembled for the pages and the exports.

Everything is read through the models' `visible_to(scope)` (`AnnualResult`, `Declaration`,
`EvaluationRun`): a report never shows a row its reader could not see elsewhere. A fixed number of
queries whatever the number of rows: the rows of the scope in one query, the first companies that have not
reported in one (their count in another), the run in progress in one.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from charte.catalogue.models import Indicator
from charte.territoires.models import Departement
from evaluation.models import AnnualResult, EvaluationRun

from ..models import Campaign, Declaration, ScopeType

REPORTED = (Declaration.Status.SUBMITTED, Declaration.Status.VALIDATED)


@dataclass
class FamilyBlock:
    family: object
    total: object = None  # the family row (no indicator)
    indicators: list = field(default_factory=list)
    surveys: list = field(default_factory=list)  # the survey indicator rows (methodology §15)


@dataclass
class Report:
    scope_type: str
    scope_key: str
    year: int
    title: str
    total: object = None  # the row of all families, not about one indicator
    families: list = field(default_factory=list)
    surveys: list = field(default_factory=list)  # survey indicator rows of all families (territories, clubs)
    run: object = None  # the run the figures come from
    active_run: object = None  # a run still computing this scope
    failed_run: object = None  # the year's latest run, when it failed (stalled or in error) after the published one
    missing_companies: list = field(default_factory=list)  # the first REPORT_MISSING_SHOWN of them
    missing_count: int = 0  # all of them (the full list is the "non-declarants.csv" download)
    can_start_run: bool = False
    comparison: object = None  # a département beside the others (compare.build), on the page, PDF and XLSX

    @property
    def has_figures(self):
        return self.run is not None

    @property
    def has_surveys(self):
        return bool(self.surveys) or any(block.surveys for block in self.families)

    @property
    def indicator_rows(self):
        return [row for block in self.families for row in block.indicators]

    @property
    def attainment_counts(self):
        """(indicators whose target is reached, indicators with a target)."""
        rates = [row.attainment_rate for row in self.indicator_rows if row.attainment_rate is not None]
        return sum(1 for rate in rates if rate >= 1), len(rates)

    @property
    def computed_at(self):
        return self.run.finished_at if self.run else None


def default_year():
    """The latest campaign year, the year before the current one without campaign."""
    latest = Campaign.objects.aggregate(year=Max("year"))["year"]
    return latest or timezone.localdate().year - 1


def can_start_run(scope, scope_type, scope_key):
    """National: every run. Préfecture: its départements. Club: itself. Nobody else starts a compile."""
    if scope_type not in (ScopeType.NATIONAL, ScopeType.DEPARTEMENT, ScopeType.CLUB):
        return False
    if scope.is_national:
        return True
    if scope.is_prefecture and scope_type == ScopeType.DEPARTEMENT:
        return Departement.objects.visible_to(scope).filter(code=scope_key).exists()
    if scope.is_club and scope_type == ScopeType.CLUB:
        return str(scope.organisation_id) == str(scope_key)
    return False


def run_progress(scope, year, run_id=None):
    """The progress of the year's compile as the report page polls it (one query): the run it watches
    (`run_id`, once the page knows it) or else the year's latest national run the reader may see; None when
    there is none. Every run compiles the whole year, whatever report starts it (methodology §10)."""
    runs = EvaluationRun.objects.visible_to(scope).filter(year=year, scope_type=ScopeType.NATIONAL)
    if run_id is not None:
        runs = runs.filter(pk=run_id)
    return runs.order_by("-pk").first()


def run_state_label(run):
    """The state of a run in a sentence part: « en attente de démarrage », « en cours », « terminée », « échouée »."""
    if run.status == EvaluationRun.Status.PENDING:
        return "en attente de démarrage"
    return run.get_status_display().lower()


def _declarations_filter(scope_type, scope_key):
    if scope_type == ScopeType.NATIONAL:
        return Q()
    if scope_type == ScopeType.REGION:
        return Q(convention__departement__region__code=scope_key)
    if scope_type == ScopeType.DEPARTEMENT:
        return Q(convention__departement__code=scope_key)
    if scope_type == ScopeType.CLUB:
        return Q(convention__club_id=scope_key)
    if scope_type == ScopeType.CONVENTION:
        return Q(convention_id=scope_key)
    if scope_type == ScopeType.COMPANY:
        return Q(company_id=scope_key)
    return Q(pk__in=[])


def missing_declarations(scope, scope_type, scope_key, year):
    """Declarations of the year in this scope not yet transmitted (draft or returned), companies in name order."""
    return (
        Declaration.objects.visible_to(scope)
        .filter(_declarations_filter(scope_type, scope_key), year=year)
        .exclude(status__in=REPORTED)
        .select_related("company", "convention")
        .order_by("company__name", "convention__reference", "pk")
    )


def missing_companies(scope, scope_type, scope_key, year):
    """The first companies that have not declared, and how many there are: the national list (8,460 rows) made
    a 1.4 MB page and a 28 s PDF (issue 17); the full list is downloaded as CSV."""
    declarations = missing_declarations(scope, scope_type, scope_key, year)
    shown = list(declarations[: settings.REPORT_MISSING_SHOWN])
    count = len(shown) if len(shown) < settings.REPORT_MISSING_SHOWN else declarations.count()
    return shown, count


def build(scope, scope_type, scope_key, year, title):
    scope_key = str(scope_key or "")
    rows = list(
        AnnualResult.objects.visible_to(scope)
        .for_scope(year, scope_type, scope_key)
        .select_related("family", "indicator", "run")
        .order_by("family__position", "family__code", "indicator__code")
    )
    report = Report(scope_type=scope_type, scope_key=scope_key, year=year, title=title)
    blocks = {}
    by_family = defaultdict(list)
    for row in rows:
        report.run = row.run  # one published run per year: every row comes from it
        survey = row.indicator_id is not None and row.indicator.aggregation == Indicator.Aggregation.SURVEY
        if row.family_id is None:
            if row.indicator_id is None:
                report.total = row
            elif survey:
                report.surveys.append(row)
            continue
        block = blocks.setdefault(row.family_id, FamilyBlock(family=row.family))
        if row.indicator_id is None:
            block.total = row
        elif survey:
            block.surveys.append(row)
        else:
            by_family[row.family_id].append(row)
    for family_id, block in blocks.items():
        block.indicators = by_family[family_id]
    report.families = list(blocks.values())

    # Every run compiles the whole year (methodology §10): the one computing is the year's national run, and the
    # figures shown come from the year's published run, also when this scope has no row in it.
    runs = EvaluationRun.objects.visible_to(scope).filter(year=year, scope_type=ScopeType.NATIONAL)
    latest = runs.order_by("-pk").first()
    report.active_run = latest if latest is not None and latest.status in EvaluationRun.ACTIVE_STATUSES else None
    if report.run is None:
        report.run = runs.published().first()
    if latest is not None and latest.status == EvaluationRun.Status.FAILED:
        report.failed_run = latest
    report.missing_companies, report.missing_count = missing_companies(scope, scope_type, scope_key, year)
    report.can_start_run = can_start_run(scope, scope_type, scope_key)
    return report
