"""The evaluation engine: compiles a year into `AnnualResult` rows, in SQL, one unit of work at a time.

What each figure means, which declarations and targets enter it and how it adds up is the methodology,
docs/methodologie.md (the specification; the oracle test `tests/evaluation/test_oracle.py` restates it in plain
Python). This module keeps only what is particular to the engine:

- Rows: per scope (national, région, département, club, convention, company, QPV) x family x indicator, family
  and indicator each optionally empty (all families / not about one indicator), with the same figures for N-1
  computed in the same statement. Conventions, companies and QPV have no "all families x indicator" rows (their
  family rows add up). A row exists when the scope has, in N or N-1, an action, a counted declared value, a
  target or an expected company for it; a convention or a company has indicator rows (ratio rows included) only
  for what it committed to (a counted declared value or a target, N or N-1): its other actions count on its
  family rows, and a national run writes about 0.5 million rows instead of 2.
- Expected conventions are `Campaign.objects.expected_conventions(year)`, used as a subquery (§3: campaign
  coverage included); only their transmitted or validated declarations are read. A scope no campaign of the
  year covers gets NULL companies (shown "—"): a territory when a campaign covers it (the national scope when
  the year has a campaign, a région when one of its départements is), a club, convention or company when a
  campaign covers one of its conventions. Declared and target values need no such test: without an expected
  convention there are none.
- Empty sums stay NULL: nothing validated gives no attainment rate, even with a target.
- Survey indicator rows (methodology §15) come from the answers to the surveys of the scope's actions (the
  action's scopes and year, like the actions' figures), in the same statement. A unit whose years have no survey
  at all leaves the whole branch (and its facts columns) out of its statement: it costs nothing without answers.
- Ratio rows (PART_BENEFICIAIRES_QPV) are written by the same statement, in the indicator's unit (%), from the
  terms paired on each declaration line (declared, validated) and from the family's actions (computed); they
  carry no sums, targets nor companies.

Units of work: `dep:<code>` (the département, its conventions, its QPV and the companies whose commune is in
it), `autres` (national conventions, companies without commune, clubs), then the roll-ups `regions` and
`national`, which run in parallel once every other unit is done. Each unit deletes then writes its own rows of
the run in one transaction, so that running it twice gives the same rows. Every run compiles the whole year
(§10, `runs.start_run`).

Roll-ups: each unit reads the source tables itself (the roll-ups do not add up the départements' rows), so a
région's additive figures equal the sum of its départements' and the national ones the sum of the régions' plus
the national conventions' exactly when the data does not change while the run computes (a declaration validated
between the `dep:34` unit and the `regions` unit shows in the région, not in the département, until the next
run). The nightly compile runs when nobody declares; tests check the equality within one run.
"""

import dataclasses
import datetime
from dataclasses import dataclass

from django.db import connection, transaction

from charte.catalogue.models import ActionType, Indicator
from charte.territoires.models import QPV, Commune, Departement, Region
from conventions import realised
from conventions.models import Action, Commitment, Convention, Target
from entreprises.models import Company

from ..models import AnnualResult, Campaign, Declaration, DeclarationValue, EvaluationRun, ScopeType
from ..surveys.models import Answer, Moderation, Question, QuestionKind, Response, Survey, SurveyToken

# What each measure of `conventions.realised` sums, as a column of the per-action-type aggregate below.
MEASURE_COLUMNS = {
    realised.BENEFICIARIES: "ben",
    realised.BENEFICIARIES_QPV: "bqpv",
    realised.HOURS: "hrs",
    realised.EMPLOYEES: "emp",
    realised.ACTIONS: "n",
}
# The measures a ratio's terms can have, as columns of the per-family facts (`actf`).
RATIO_TERM_COLUMNS = {realised.BENEFICIARIES: "ben", realised.BENEFICIARIES_QPV: "bqpv", realised.ACTIONS: "n"}
# Indicators measured on every action of the family, whatever its type (methodology §6).
GENERIC_INDICATORS = ("BENEFICIAIRES", "BENEFICIAIRES_QPV")

NUM, INT = "CAST(NULL AS NUMERIC)", "CAST(NULL AS BIGINT)"
# The columns of the facts every source contributes to (empty where a source has nothing to say): comp
# (computed), n, ben, bqpv (actions), dval, dvalid (declared, validated), dvr (validated, the attainment's
# numerator), tg (target), pn, pd, pnv, pdv (a ratio's paired terms, declared and validated), ne, nr
# (companies expected, reporting), mk (1: a declared value or a target, what makes an indicator row of a
# convention or a company).
FACTS = (
    ("comp", NUM), ("n", INT), ("ben", INT), ("bqpv", INT), ("dval", NUM), ("dvalid", NUM), ("dvr", NUM),
    ("tg", NUM), ("pn", NUM), ("pd", NUM), ("pnv", NUM), ("pdv", NUM), ("ne", INT), ("nr", INT), ("mk", INT),
)  # fmt: skip
# The facts of the survey indicators, only in the statements of units that have surveys: respondents, positive
# answers, people reached (methodology §15).
SURVEY_FACTS = (("rsp", INT), ("pos", INT), ("rch", INT))
SURVEY_COLUMNS = ("respondents", "positive_answers", "people_reached", "positive_share", "response_rate")

ENTITY_SCOPES = (ScopeType.CONVENTION, ScopeType.COMPANY, ScopeType.QPV)
# Scopes whose indicator rows are the indicators they committed to (a target or a declared value, N or N-1).
COMMITTED_SCOPES = (ScopeType.CONVENTION, ScopeType.COMPANY)

REGIONS = "regions"
NATIONAL = "national"
# The roll-ups: sent once every other unit of the run is done, side by side.
ROLLUPS = (REGIONS, NATIONAL)
OTHERS = "autres"


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


def _ids(ids):
    """An SQL list of integer ids (ints read from the database, never user input)."""
    ids = sorted(int(i) for i in ids)
    return "(" + ", ".join(str(i) for i in ids) + ")" if ids else "(NULL)"


def _literal(text):
    """An SQL string literal of a catalogue code (quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def _text(expression):
    return f"CAST({expression} AS VARCHAR(20))"


@dataclass(frozen=True)
class Ratio:
    id: int
    numerator: int
    denominator: int
    measured: tuple | None  # the facts columns of its two terms' measures on actions, or None


@dataclass(frozen=True)
class Catalogue:
    measurable: dict  # indicator id -> measure name
    generic: tuple  # measurable indicators measured on every action of the family (methodology §6)
    specific: tuple  # the other measurable indicators: measured on the action types suggesting them
    offered: tuple
    realised: tuple
    ratios: tuple  # Ratio
    codes: dict  # indicator id -> code
    # Survey indicators: question indicator ("satisfaction"...) -> indicator id; emptied for a unit whose years
    # have no survey (`compile_unit`), which then compiles no survey branch at all.
    surveyed: dict

    @classmethod
    def load(cls):
        rows = list(Indicator.objects.values_list("pk", "code", "nature", "aggregation", "numerator_id", "denominator_id"))
        surveyed = dict(Indicator.objects.filter(aggregation=Indicator.Aggregation.SURVEY).values_list("survey_indicator", "pk"))
        measurable = {pk: realised.measure_for(code) for pk, code, *_ in rows if realised.measure_for(code)}
        codes = {r[0]: r[1] for r in rows}
        generic = tuple(pk for pk in measurable if codes[pk] in GENERIC_INDICATORS)
        summed = [r for r in rows if r[3] == Indicator.Aggregation.SUM]

        def measured(numerator, denominator):
            columns = [RATIO_TERM_COLUMNS.get(realised.measure_for(codes[pk])) for pk in (numerator, denominator)]
            return tuple(columns) if all(columns) else None

        return cls(
            measurable=measurable,
            generic=generic,
            specific=tuple(pk for pk in measurable if pk not in generic),
            offered=tuple(r[0] for r in summed if r[2] == Indicator.Nature.OFFERED),
            realised=tuple(r[0] for r in summed if r[2] != Indicator.Nature.OFFERED),
            ratios=tuple(Ratio(r[0], r[4], r[5], measured(r[4], r[5])) for r in rows if r[3] == Indicator.Aggregation.RATIO),
            codes=codes,
            surveyed=surveyed,
        )


class Sql:
    """Raw SQL and its parameters, assembled in the order they appear in the text."""

    def __init__(self):
        self.params = []

    def sub(self, sql, params):
        self.params.extend(params)
        return sql


def _expected_sql(year):
    """Conventions expected to report for `year`: the campaigns' own rule, as an SQL subquery."""
    return Campaign.objects.expected_conventions(year).order_by().values("id").query.sql_with_params()


# --- scopes: which key each source of facts is grouped by ---------------------------------------------------

T = {}


def _tables():
    if not T:
        T.update(
            action=_table(Action),
            action_companies=_table(Action.companies.through),
            action_qpvs=_table(Action.qpvs.through),
            action_type=_table(ActionType),
            type_indicators=_table(ActionType.indicators.through),
            convention=_table(Convention),
            convention_companies=_table(Convention.companies.through),
            commitment=_table(Commitment),
            target=_table(Target),
            declaration=_table(Declaration),
            value=_table(DeclarationValue),
            departement=_table(Departement),
            region=_table(Region),
            qpv=_table(QPV),
            company=_table(Company),
            commune=_table(Commune),
            result=_table(AnnualResult),
            campaign=_table(Campaign),
            campaign_departements=_table(Campaign.departements.through),
            survey=_table(Survey),
            survey_token=_table(SurveyToken),
            survey_response=_table(Response),
            survey_answer=_table(Answer),
            survey_question=_table(Question),
        )
    return T


@dataclass(frozen=True)
class Source:
    joins: str
    key: str  # the scope key (text)
    id: str | None  # the scope's entity id, what a unit filters on (None: national)


def _sources(scope_type):
    """{source: Source} for the facts a scope type has: conv (declarations, targets, expected companies: through
    the convention `v`), act (actions `a`). Company scope: declarations are the company's (`d`), targets and
    expected companies those of the conventions it is party to (`vc`)."""
    t = _tables()
    if scope_type == ScopeType.NATIONAL:
        return {"conv": Source("", "''", None), "act": Source("", "''", None)}
    if scope_type == ScopeType.DEPARTEMENT:
        return {
            "conv": Source(f"JOIN {t['departement']} sdep ON sdep.id = v.departement_id", "sdep.code", "v.departement_id"),
            "act": Source(f"JOIN {t['departement']} sdep ON sdep.id = a.departement_id", "sdep.code", "a.departement_id"),
        }
    if scope_type == ScopeType.REGION:

        def region(column):
            return f"JOIN {t['departement']} sdep ON sdep.id = {column} JOIN {t['region']} sreg ON sreg.id = sdep.region_id"

        return {
            "conv": Source(region("v.departement_id"), "sreg.code", "sdep.region_id"),
            "act": Source(region("a.departement_id"), "sreg.code", "sdep.region_id"),
        }
    if scope_type == ScopeType.CLUB:
        return {"conv": Source("", _text("v.club_id"), "v.club_id"), "act": Source("", _text("a.club_id"), "a.club_id")}
    if scope_type == ScopeType.CONVENTION:
        return {
            "conv": Source("", _text("v.id"), "v.id"),
            # The same convention, filtered on the declaration's column: an index scan of the unit's declarations.
            "decl": Source("", _text("d.convention_id"), "d.convention_id"),
            "act": Source("", _text("a.convention_id"), "a.convention_id"),
        }
    if scope_type == ScopeType.COMPANY:
        return {
            "decl": Source("", _text("d.company_id"), "d.company_id"),
            "tgt": Source(
                f"JOIN {t['convention_companies']} svc ON svc.convention_id = v.id", _text("svc.company_id"), "svc.company_id"
            ),
            "exp": Source("", _text("vc.company_id"), "vc.company_id"),
            "act": Source(f"JOIN {t['action_companies']} sac ON sac.action_id = a.id", _text("sac.company_id"), "sac.company_id"),
        }
    if scope_type == ScopeType.QPV:
        return {
            "act": Source(
                f"JOIN {t['action_qpvs']} saq ON saq.action_id = a.id JOIN {t['qpv']} sq ON sq.id = saq.qpv_id",
                "sq.code",
                "saq.qpv_id",
            )
        }
    raise ValueError(scope_type)


def _source(sources, name):
    if name in sources:
        return sources[name]
    if name in ("decl", "tgt", "exp") and "conv" in sources:
        return sources["conv"]
    return None


def _where(source, entity_filter):
    """Conditions restricting a source to the unit: its entity id is set and, for a unit, among the unit's."""
    if source.id is None:
        return "1 = 1"
    condition = f"{source.id} IS NOT NULL"
    if entity_filter:
        condition += f" AND {source.id} {entity_filter}"
    return condition


# --- the compile of one scope type for one unit --------------------------------------------------------------


def _insert_scope(run, unit, scope_type, entity_filter, catalogue):
    """One INSERT ... SELECT: every row of `scope_type` restricted by `entity_filter` (an SQL condition on the
    scope's entity id, such as "= 12" or "IN (SELECT ...)"), for years N and N-1, ratio rows included.
    Returns the rows written."""
    t = _tables()
    year, prev = run.year, run.year - 1
    sql = Sql()
    sources = _sources(scope_type)
    first_day, last_day = f"'{prev:04d}-01-01'", f"'{year:04d}-12-31'"
    ctes, branches = [], []
    # Levels of rows: family x indicator, family, all; territories and clubs also get all families x indicator
    # (a company or a convention rarely spans families for one indicator: its family rows add up).
    indicator_levels = 1 if scope_type in ENTITY_SCOPES else 2
    indicator_families = ("fam", INT)[:indicator_levels]
    facts_columns = FACTS + (SURVEY_FACTS if catalogue.surveyed else ())

    def branch(table, fam, ind, where="", **columns):
        """One source of facts: the columns it carries (the others are empty), at one level (fam, ind)."""
        values = ", ".join(f"{columns.get(name, empty)} AS {name}" for name, empty in facts_columns)
        branches.append(f"SELECT sk, {fam} AS fam, {ind} AS ind, yr, {values} FROM {table}{' WHERE ' + where if where else ''}")

    def only_committed(table, ind):
        """On a convention or a company, the indicator rows of its actions only where it committed to the
        indicator (`committed`, below): the others would be dropped by the final HAVING anyway, after being
        aggregated (about nine fact rows of actions for one row written)."""
        if scope_type not in COMMITTED_SCOPES:
            return ""
        return f"EXISTS (SELECT 1 FROM committed c WHERE c.sk = {table}.sk AND c.fam = {table}.fam AND c.ind = {ind})"

    act = _source(sources, "act")
    if act:
        measure_case = " ".join(
            f"WHEN {pk} THEN act.{MEASURE_COLUMNS[measure]}" for pk, measure in sorted(catalogue.measurable.items())
        )
        ctes.append(
            f"""act AS (
                SELECT {act.key} AS sk, a.action_type_id AS tid,
                       CASE WHEN a.start_date >= '{year:04d}-01-01' THEN {year} ELSE {prev} END AS yr,
                       COUNT(*) AS n, SUM(a.beneficiaries_total) AS ben, SUM(a.beneficiaries_qpv) AS bqpv,
                       SUM(a.hours) AS hrs, SUM(a.employees_involved) AS emp
                FROM {t["action"]} a {act.joins}
                WHERE a.start_date >= {first_day} AND a.start_date <= {last_day} AND {_where(act, entity_filter)}
                GROUP BY 1, 2, 3)"""
        )
        ctes.append(
            f"""actf AS (
                SELECT act.sk, aty.family_id AS fam, act.yr, act.n, act.ben, act.bqpv
                FROM act JOIN {t["action_type"]} aty ON aty.id = act.tid)"""
        )
        # Which action types measure which indicator: the generic ones (beneficiaries, QPV residents) every type
        # of the family (methodology §6: they are the family row's figures), the others the types suggesting them.
        measured_by = [
            f"""SELECT ti.actiontype_id AS tid, ti.indicator_id AS ind FROM {t["type_indicators"]} ti
                WHERE ti.indicator_id IN {_ids(catalogue.specific)}"""
        ]
        measured_by += [f"SELECT aty.id AS tid, {int(pk)} AS ind FROM {t['action_type']} aty" for pk in catalogue.generic]
        ctes.append(f"tind AS ({' UNION ALL '.join(measured_by)})")
        ctes.append(
            f"""acti AS (
                SELECT act.sk, aty.family_id AS fam, tind.ind, act.yr,
                       CASE tind.ind {measure_case} END AS comp, act.n, act.ben, act.bqpv
                FROM act JOIN {t["action_type"]} aty ON aty.id = act.tid JOIN tind ON tind.tid = act.tid)"""
        )
        for fam in indicator_families:
            branch("acti", fam, "ind", where=only_committed("acti", "acti.ind"), comp="comp", n="n", ben="ben", bqpv="bqpv")
        for fam in ("fam", INT):
            branch("actf", fam, INT, n="n", ben="ben", bqpv="bqpv")
        # A ratio's computed value: its two terms measured on the same actions, every action of the family.
        for ratio in catalogue.ratios:
            if ratio.measured:
                for fam in indicator_families:
                    where = only_committed("actf", str(int(ratio.id)))
                    branch("actf", fam, str(ratio.id), where=where, ben="ben", bqpv="bqpv", n="n")

    if act and catalogue.surveyed:
        ctes += _survey_ctes(act, entity_filter, catalogue, year, prev)
        for fam in indicator_families:
            # mk: a convention or a company has the row of a survey indicator its surveyed actions ask.
            branch("svy", fam, "ind", rsp="rsp", pos="pos", rch="rch", mk="1")

    decl, tgt, exp = _source(sources, "decl"), _source(sources, "tgt"), _source(sources, "exp")
    if decl:
        # The conventions expected to report each year (the campaigns' rule, campaign coverage included),
        # listed once for the statement, among the unit's.
        units_conventions = f"""SELECT v.id FROM {t["convention"]} v
            LEFT JOIN {t["convention_companies"]} vc ON vc.convention_id = v.id {exp.joins}
            WHERE {_where(exp, entity_filter)}"""
        expected = []
        for y in (prev, year):
            query, params = _expected_sql(y)
            expected.append(sql.sub(f"SELECT e.id, {y} AS yr FROM ({query}) e WHERE e.id IN ({units_conventions})", params))
        ctes.append(f"expected AS ({' UNION ALL '.join(expected)})")

        # The declared lines that count (methodology §2-§4): transmitted or validated declarations of a convention
        # expected that year. Drafts, returned declarations and those of conventions not expected count nowhere.
        transmitted = f"'{Declaration.Status.SUBMITTED}', '{Declaration.Status.VALIDATED}'"
        validated = f"'{Declaration.Status.VALIDATED}'"
        ctes.append(
            f"""dvs AS (
                SELECT {decl.key} AS sk, cm.family_id AS fam, dv.indicator_id AS ind, d.year AS yr, dv.value AS val,
                       d.status AS st, d.company_id AS co, d.convention_id AS cv, d.id AS did, dv.commitment_id AS cmi,
                       v.kind AS kd
                FROM {t["value"]} dv JOIN {t["declaration"]} d ON d.id = dv.declaration_id
                JOIN {t["commitment"]} cm ON cm.id = dv.commitment_id JOIN {t["convention"]} v ON v.id = d.convention_id
                JOIN expected ON expected.id = d.convention_id AND expected.yr = d.year
                {decl.joins}
                WHERE d.year IN ({prev}, {year}) AND d.status IN ({transmitted}) AND {_where(decl, entity_filter)})"""
        )
        # A company's attainment leaves out what it declared under a collective convention: the collective target
        # is not its own (methodology §4); on every other scope the validated value is the rate's numerator.
        rated = f" AND kd <> '{Convention.Kind.COLLECTIVE}'" if scope_type == ScopeType.COMPANY else ""
        ctes.append(
            f"""decl AS (
                SELECT sk, fam, ind, yr, SUM(val) AS dval,
                       SUM(CASE WHEN st = {validated} THEN val END) AS dvalid,
                       SUM(CASE WHEN st = {validated}{rated} THEN val END) AS dvr
                FROM dvs GROUP BY 1, 2, 3, 4)"""
        )
        # Declared shares: numerator and denominator summed over the same lines (declaration x commitment) where
        # both are filled in, never two totals taken apart (methodology §7). A line holds at most one value per
        # indicator (unique_declared_value), so its two terms are one grouped pass over the lines, not a self-join
        # of `dvs` (which the planner, blind to a CTE's size, ran as a nested loop: 6,700² rows, 206 s for the
        # clubs of the national benchmark).
        pairs = [
            f"""SELECT sk, fam, {int(ratio.id)} AS ind, yr, SUM(nv) AS pn, SUM(dv) AS pd,
                       SUM(CASE WHEN st = {validated} THEN nv END) AS pnv,
                       SUM(CASE WHEN st = {validated} THEN dv END) AS pdv
                FROM (SELECT sk, fam, yr, st, SUM(CASE WHEN ind = {int(ratio.numerator)} THEN val END) AS nv,
                             SUM(CASE WHEN ind = {int(ratio.denominator)} THEN val END) AS dv
                      FROM dvs WHERE ind IN ({int(ratio.numerator)}, {int(ratio.denominator)}) AND val IS NOT NULL
                      GROUP BY sk, fam, yr, st, did, cmi) line
                WHERE nv IS NOT NULL AND dv IS NOT NULL
                GROUP BY sk, fam, yr"""
            for ratio in catalogue.ratios
        ]
        if pairs:
            ctes.append(f"pairs AS ({' UNION ALL '.join(pairs)})")
        # Companies reporting, among the expected companies of the same row (methodology §3): the company is party
        # to the convention of its declaration; on an indicator row, that convention has a target for it.
        ctes.append(
            f"""repl AS (
                SELECT dvs.sk, dvs.fam, dvs.ind, dvs.yr, dvs.co, dvs.cv FROM dvs
                JOIN {t["convention_companies"]} rvc ON rvc.convention_id = dvs.cv AND rvc.company_id = dvs.co
                WHERE dvs.val IS NOT NULL)"""
        )
        ctes.append("repf AS (SELECT DISTINCT sk, fam, yr, co FROM repl)")
        ctes.append(
            f"""repi AS (
                SELECT DISTINCT sk, fam, ind, yr, co FROM repl
                WHERE EXISTS (SELECT 1 FROM {t["target"]} rt JOIN {t["commitment"]} rcm ON rcm.id = rt.commitment_id
                              WHERE rcm.convention_id = repl.cv AND rcm.family_id = repl.fam
                                AND rt.indicator_id = repl.ind AND rt.year = repl.yr))"""
        )
        # A company's own targets: those of its individual conventions, not a collective one's (methodology §4).
        individual = f" AND v.kind <> '{Convention.Kind.COLLECTIVE}'" if scope_type == ScopeType.COMPANY else ""
        ctes.append(
            f"""tgt AS (
                SELECT {tgt.key} AS sk, cm.family_id AS fam, t.indicator_id AS ind, t.year AS yr, SUM(t.value) AS tg
                FROM {t["target"]} t JOIN {t["commitment"]} cm ON cm.id = t.commitment_id
                JOIN {t["convention"]} v ON v.id = cm.convention_id
                JOIN expected ON expected.id = v.id AND expected.yr = t.year {tgt.joins}
                WHERE t.year IN ({prev}, {year}) AND {_where(tgt, entity_filter)}{individual}
                GROUP BY 1, 2, 3, 4)"""
        )
        # Expected companies, per year: of the convention (all), of a commitment (family), of a target (indicator).
        levels = {
            "expv": ("", f"{INT} AS fam, {INT} AS ind"),
            "expc": (f"JOIN {t['commitment']} cm ON cm.convention_id = v.id", f"cm.family_id AS fam, {INT} AS ind"),
            "expt": (
                f"""JOIN {t["commitment"]} cm ON cm.convention_id = v.id
                    JOIN {t["target"]} t ON t.commitment_id = cm.id AND t.year = expected.yr""",
                "cm.family_id AS fam, t.indicator_id AS ind",
            ),
        }
        for name, (joins, columns) in levels.items():
            ctes.append(
                f"""{name} AS (
                    SELECT DISTINCT {exp.key} AS sk, {columns}, expected.yr AS yr, vc.company_id AS co
                    FROM {t["convention"]} v JOIN expected ON expected.id = v.id
                    JOIN {t["convention_companies"]} vc ON vc.convention_id = v.id {joins}
                    {exp.joins}
                    WHERE {_where(exp, entity_filter)})"""
            )
        ctes.append(_coverage_cte(scope_type, entity_filter, exp, units_conventions, year, prev))
        if scope_type in COMMITTED_SCOPES:
            # What makes an indicator row of a convention or a company (`mk` below): a declared value or a target
            # for the indicator, or for one of a ratio's terms (then the ratio's row).
            committed = ["SELECT sk, fam, ind FROM decl", "SELECT sk, fam, ind FROM tgt"]
            for ratio in catalogue.ratios:
                terms = f"ind IN ({int(ratio.numerator)}, {int(ratio.denominator)})"
                committed += [f"SELECT sk, fam, {int(ratio.id)} FROM {table} WHERE {terms}" for table in ("decl", "tgt")]
            ctes.append(f"committed AS ({' UNION '.join(committed)})")

        # Declared values and targets are figures of indicator rows only; on a family row or the all-families row
        # they only make the row exist (see "Rows" above). Those rows get one empty fact per (scope, family)
        # instead of every declared and target line again: about a third fewer facts in the final aggregate.
        ctes.append("held AS (SELECT sk, fam, CAST(NULL AS INTEGER) AS yr FROM decl UNION SELECT sk, fam, NULL FROM tgt)")
        for fam, ind in (("fam", "ind"), ("fam", INT), (INT, INT), (INT, "ind"))[: 2 + indicator_levels]:
            if ind == INT:
                branch("held", fam, ind)
                continue
            branch("decl", fam, ind, dval="dval", dvalid="dvalid", dvr="dvr", mk="1")
            branch("tgt", fam, ind, tg="tg", mk="1")
        for ratio in catalogue.ratios:
            terms = f"ind IN ({int(ratio.numerator)}, {int(ratio.denominator)})"
            for fam in indicator_families:
                if pairs:
                    branch("pairs", fam, "ind", where=f"ind = {int(ratio.id)}", pn="pn", pd="pd", pnv="pnv", pdv="pdv")
                # A convention or a company committed to one of the terms has the ratio row too.
                branch("decl", fam, str(ratio.id), where=terms, mk="1")
                branch("tgt", fam, str(ratio.id), where=terms, mk="1")
        # A company counts once per row, counted here per row so that the final aggregate adds a few counts
        # instead of carrying every (company, row) pair (a million at national level). Each table is distinct at
        # its own level: counted as it is there, with COUNT(DISTINCT) on coarser levels.
        levels = (("fam", "ind"), ("fam",), (), ("ind",))[: 2 + indicator_levels]
        expected_tables = ("expt", "expc", "expv", "expt")  # the expected companies of each level
        reporting_tables = ("repi", "repf", "repf", "repi")  # the reporting companies of each level
        own_level = {"expt": ("fam", "ind"), "expc": ("fam",), "expv": (), "repi": ("fam", "ind"), "repf": ("fam",)}
        counted = [(expected_tables[i], level, "ne") for i, level in enumerate(levels)]
        counted += [(reporting_tables[i], level, "nr") for i, level in enumerate(levels)]
        counts = []
        for table, level, column in counted:
            count = "COUNT(*)" if level == own_level[table] else "COUNT(DISTINCT co)"
            ne, nr = (count, INT) if column == "ne" else (INT, count)
            fam, ind = ("fam" if "fam" in level else INT), ("ind" if "ind" in level else INT)
            counts.append(
                f"SELECT sk, {fam} AS fam, {ind} AS ind, yr, {ne} AS ne, {nr} AS nr FROM {table} "
                f"GROUP BY {', '.join(('sk', *level, 'yr'))}"
            )
        ctes.append("ncompanies AS (" + "\nUNION ALL ".join(counts) + ")")
        branch("ncompanies", "fam", "ind", ne="ne", nr="nr")

    if not branches:
        return 0
    ctes.append("facts AS (" + "\nUNION ALL ".join(branches) + ")")

    measurable = _ids(catalogue.measurable)
    # Ratio rows carry their own figures (shares): none of the sums, targets or companies of the other rows.
    not_ratio = f"ind NOT IN {_ids(ratio.id for ratio in catalogue.ratios)}" if catalogue.ratios else "1 = 1"
    surveyed = _ids(catalogue.surveyed.values())
    # Nobody is expected to report a survey indicator: its rows carry no companies.
    not_surveyed = f"ind NOT IN {surveyed}" if catalogue.surveyed else "1 = 1"

    def figures(y):
        def s(column):
            return f"SUM(CASE WHEN yr = {y} THEN {column} END)"

        def share(numerator, denominator):
            return f"100.0 * {s(numerator)} / NULLIF({s(denominator)}, 0)"

        on_indicator = f"ind IS NOT NULL AND {not_ratio}"
        action_row = f"(ind IS NULL OR ind IN {measurable})"
        target = s("tg")
        declared = " ".join(f"WHEN ind = {int(r.id)} THEN {share('pn', 'pd')}" for r in catalogue.ratios)
        validated = " ".join(f"WHEN ind = {int(r.id)} THEN {share('pnv', 'pdv')}" for r in catalogue.ratios)
        computed = " ".join(
            f"WHEN ind = {int(r.id)} THEN {share(r.measured[0], r.measured[1])}" for r in catalogue.ratios if r.measured
        )
        if decl:
            # No campaign covering the scope that year: nobody was expected; "—", not 0 (methodology §3).
            covered = f"MAX({'cvn' if y == year else 'cvp'}) = 1 AND (ind IS NULL OR ({not_ratio} AND {not_surveyed}))"
            companies = (
                f"CASE WHEN {covered} THEN COALESCE({s('ne')}, 0) END",
                f"CASE WHEN {covered} THEN COALESCE({s('nr')}, 0) END",
            )
        else:
            companies = ("NULL", "NULL")
        if catalogue.surveyed:
            on_survey = f"ind IN {surveyed}"
            answers = {
                "respondents": f"CASE WHEN {on_survey} THEN COALESCE({s('rsp')}, 0) END",
                "positive_answers": f"CASE WHEN {on_survey} THEN COALESCE({s('pos')}, 0) END",
                "people_reached": f"CASE WHEN {on_survey} THEN COALESCE({s('rch')}, 0) END",
                "positive_share": f"CASE WHEN {on_survey} AND {s('rsp')} > 0 THEN 1.0 * {s('pos')} / {s('rsp')} END",
                "response_rate": f"CASE WHEN {on_survey} AND {s('rch')} > 0 THEN 1.0 * {s('rsp')} / {s('rch')} END",
            }
        else:
            answers = dict.fromkeys(SURVEY_COLUMNS, "NULL")
        return {
            **answers,
            "declared_value": f"CASE {declared} WHEN {on_indicator} THEN {s('dval')} END",
            "declared_validated_value": f"CASE {validated} WHEN {on_indicator} THEN {s('dvalid')} END",
            "computed_value": f"CASE {computed} WHEN ind IN {measurable} THEN COALESCE({s('comp')}, 0) END",
            "target_value": f"CASE WHEN {on_indicator} THEN {target} END",
            "attainment_rate": f"CASE WHEN {on_indicator} AND {target} > 0 THEN 1.0 * COALESCE({s('dvr')}, 0) / {target} END",
            "companies_expected": companies[0],
            "companies_reporting": companies[1],
            "actions_count": f"CASE WHEN {action_row} THEN COALESCE({s('n')}, 0) END",
            "beneficiaries": f"CASE WHEN {action_row} THEN COALESCE({s('ben')}, 0) END",
            "beneficiaries_qpv": f"CASE WHEN {action_row} THEN COALESCE({s('bqpv')}, 0) END",
            "qpv_share": f"CASE WHEN {action_row} AND {s('ben')} > 0 THEN 1.0 * {s('bqpv')} / {s('ben')} END",
        }

    current, previous = figures(year), figures(prev)
    columns = {
        **current,
        "offered_value": f"CASE WHEN ind IN {_ids(catalogue.offered)} THEN {current['declared_value']} END",
        "realised_value": f"CASE WHEN ind IN {_ids(catalogue.realised)} THEN {current['declared_value']} END",
        **{f"prev_{name}": expression for name, expression in previous.items()},
    }
    # A convention or a company gets indicator rows for what it committed to, not for every indicator its
    # actions happen to measure: its family rows already carry those actions (and a national run stays small).
    committed_only = " HAVING ind IS NULL OR MAX(mk) IS NOT NULL" if scope_type in COMMITTED_SCOPES else ""
    coverage = " LEFT JOIN cov ON cov.sk = f.sk" if decl else ""
    insert = f"""INSERT INTO {t["result"]} (run_id, unit, year, scope_type, scope_key, family_id, indicator_id,
            {", ".join(columns)})
        SELECT {int(run.pk)}, %s, {year}, '{scope_type}', f.sk, fam, ind, {", ".join(columns.values())}
        FROM facts f{coverage} GROUP BY f.sk, fam, ind{committed_only}"""
    text = "WITH " + ",\n".join(ctes) + "\n" + sql.sub(insert, [unit])
    with connection.cursor() as cursor:
        cursor.execute(text, sql.params)
        return cursor.rowcount


def _survey_ctes(act, entity_filter, catalogue, year, prev):
    """`svy (sk, fam, ind, yr, rsp, pos, rch)`: the survey indicators of the scope's actions (methodology §15).

    Per survey x survey indicator its questionnaire asks (national closed questions only): the responses that
    answered a question of the indicator (rsp), those with a positive answer (pos: 3 or 4 on the scale, yes), and
    the people reached: the people the club said it asked, else the personal links issued, else the action's
    beneficiaries, and never fewer than the survey's responses. The year and the scopes are the action's."""
    t = _tables()
    codes = ", ".join(_literal(code) for code in sorted(catalogue.surveyed))
    to_indicator = " ".join(f"WHEN {_literal(code)} THEN {int(pk)}" for code, pk in sorted(catalogue.surveyed.items()))
    positive = f"(q.kind = '{QuestionKind.SCALE}' AND an.choice >= 3) OR (q.kind = '{QuestionKind.YES_NO}' AND an.choice = 1)"
    return [
        f"""svq AS (
            SELECT s.id AS sid, {act.key} AS sk, aty.family_id AS fam, CASE sqi.code {to_indicator} END AS ind,
                   CASE WHEN a.start_date >= '{year:04d}-01-01' THEN {year} ELSE {prev} END AS yr,
                   COALESCE(s.expected_respondents,
                            NULLIF((SELECT COUNT(*) FROM {t["survey_token"]} tk WHERE tk.survey_id = s.id), 0),
                            a.beneficiaries_total) AS asked,
                   (SELECT COUNT(*) FROM {t["survey_response"]} rr WHERE rr.survey_id = s.id) AS nresp
            FROM {t["survey"]} s JOIN {t["action"]} a ON a.id = s.action_id {act.joins}
            JOIN {t["action_type"]} aty ON aty.id = a.action_type_id
            JOIN (SELECT DISTINCT questionnaire_id AS qid, indicator AS code FROM {t["survey_question"]}
                  WHERE club_id IS NULL AND indicator IN ({codes})) sqi ON sqi.qid = s.questionnaire_id
            WHERE a.start_date >= '{prev:04d}-01-01' AND a.start_date <= '{year:04d}-12-31'
              AND {_where(act, entity_filter)})""",
        f"""sva AS (
            SELECT r.survey_id AS sid, CASE q.indicator {to_indicator} END AS ind, COUNT(DISTINCT r.id) AS rsp,
                   COUNT(DISTINCT CASE WHEN {positive} THEN r.id END) AS pos
            FROM {t["survey_answer"]} an JOIN {t["survey_response"]} r ON r.id = an.response_id
            JOIN {t["survey_question"]} q ON q.id = an.question_id
            WHERE r.survey_id IN (SELECT sid FROM svq) AND q.club_id IS NULL AND q.indicator IN ({codes})
              AND an.choice IS NOT NULL AND an.moderation = '{Moderation.APPROVED}'
            GROUP BY 1, 2)""",
        """svy AS (
            SELECT svq.sk, svq.fam, svq.ind, svq.yr, SUM(COALESCE(sva.rsp, 0)) AS rsp, SUM(COALESCE(sva.pos, 0)) AS pos,
                   SUM(CASE WHEN svq.nresp > svq.asked THEN svq.nresp ELSE svq.asked END) AS rch
            FROM svq LEFT JOIN sva ON sva.sid = svq.sid AND sva.ind = svq.ind
            GROUP BY 1, 2, 3, 4)""",
    ]


def _coverage_cte(scope_type, entity_filter, exp, units_conventions, year, prev):
    """`cov (sk, cvn, cvp)`: whether a campaign of year N (cvn), of N-1 (cvp) covers the scope (methodology §3).

    A national campaign covers everything; a préfecture's campaign its départements. A territory is covered when
    a campaign covers it (the national scope: when the year has any campaign; a région: one of its départements);
    a club, a convention or a company when a campaign covers one of its conventions (a national convention: a
    national campaign only)."""
    t = _tables()

    def national_campaign(y):
        return f"""EXISTS (SELECT 1 FROM {t["campaign"]} c WHERE c.year = {y}
                   AND NOT EXISTS (SELECT 1 FROM {t["campaign_departements"]} cd WHERE cd.campaign_id = c.id))"""

    def covered_departements(y):
        return f"""SELECT cd.departement_id FROM {t["campaign_departements"]} cd
                   JOIN {t["campaign"]} c ON c.id = cd.campaign_id WHERE c.year = {y}"""

    def flags(column):
        return f"MAX(CASE WHEN {column} = {year} THEN 1 END) AS cvn, MAX(CASE WHEN {column} = {prev} THEN 1 END) AS cvp"

    if scope_type == ScopeType.NATIONAL:
        return f"""cov AS (SELECT '' AS sk, {flags("c.year")} FROM {t["campaign"]} c WHERE c.year IN ({prev}, {year}))"""
    if scope_type in (ScopeType.DEPARTEMENT, ScopeType.REGION):
        covered = " UNION ALL ".join(
            f"""SELECT d.id AS dep, {y} AS yr FROM {t["departement"]} d
                WHERE {national_campaign(y)} OR d.id IN ({covered_departements(y)})"""
            for y in (prev, year)
        )
        if scope_type == ScopeType.DEPARTEMENT:
            key, joins, entity = "sdep.code", "", "sdep.id"
        else:
            key, joins, entity = "sreg.code", f"JOIN {t['region']} sreg ON sreg.id = sdep.region_id", "sdep.region_id"
        where = f"{entity} {entity_filter}" if entity_filter else "1 = 1"
        return f"""cov AS (
            SELECT {key} AS sk, {flags("covdep.yr")}
            FROM ({covered}) covdep JOIN {t["departement"]} sdep ON sdep.id = covdep.dep {joins}
            WHERE {where} GROUP BY 1)"""
    covered = " UNION ALL ".join(
        f"""SELECT cv.id, {y} AS yr FROM {t["convention"]} cv
            WHERE cv.id IN ({units_conventions})
              AND ({national_campaign(y)} OR cv.departement_id IN ({covered_departements(y)}))"""
        for y in (prev, year)
    )
    return f"""cov AS (
        SELECT {exp.key} AS sk, {flags("covconv.yr")}
        FROM ({covered}) covconv JOIN {t["convention"]} v ON v.id = covconv.id
        LEFT JOIN {t["convention_companies"]} vc ON vc.convention_id = v.id {exp.joins}
        WHERE {_where(exp, entity_filter)} GROUP BY 1)"""


# --- units of work ---------------------------------------------------------------------------------------


def units_for(scope_type=ScopeType.NATIONAL, scope_key=""):
    """The units of work of a run, the roll-ups last. A run always compiles the whole year (methodology §10):
    `autres` first (holding every club, it is the longest unit, and the workers take units in this order), one
    unit per département, then the roll-ups. A département or a club alone is a unit of its own, compiled only
    to measure it (`benchmark_evaluation`): such a run is never published."""
    if scope_type == ScopeType.NATIONAL:
        codes = Departement.objects.order_by("code").values_list("code", flat=True)
        return [OTHERS] + [f"dep:{code}" for code in codes] + [REGIONS, NATIONAL]
    if scope_type == ScopeType.DEPARTEMENT:
        return [f"dep:{scope_key}"]
    if scope_type == ScopeType.CLUB:
        return [f"club:{int(scope_key)}"]
    raise ValueError(f"Périmètre de compilation inconnu : {scope_type}")


def _in(ids):
    """An entity filter from ids read first: the planner then knows how few rows a unit has (an index scan
    of declarations or targets) instead of guessing from a subquery (a scan of the whole table, per unit)."""
    return f"IN {_ids(ids)}"


def _unit_plan(run, unit):
    """[(scope type, entity filter)] that a unit writes."""
    if unit.startswith("dep:"):
        dep_id = Departement.objects.values_list("pk", flat=True).get(code=unit[4:])
        return [
            (ScopeType.DEPARTEMENT, f"= {int(dep_id)}"),
            (ScopeType.CONVENTION, _in(Convention.objects.filter(departement_id=dep_id).values_list("pk", flat=True))),
            (ScopeType.QPV, _in(QPV.objects.filter(departement_id=dep_id).values_list("pk", flat=True))),
            (ScopeType.COMPANY, _in(Company.objects.filter(commune__departement_id=dep_id).values_list("pk", flat=True))),
        ]
    if unit == OTHERS:
        return [
            (ScopeType.CONVENTION, _in(Convention.objects.filter(departement__isnull=True).values_list("pk", flat=True))),
            (ScopeType.COMPANY, _in(Company.objects.filter(commune__isnull=True).values_list("pk", flat=True))),
            (ScopeType.CLUB, ""),
        ]
    if unit.startswith("club:"):
        return [(ScopeType.CLUB, f"= {int(unit[5:])}")]
    if unit == REGIONS:
        return [(ScopeType.REGION, "")]
    if unit == NATIONAL:
        return [(ScopeType.NATIONAL, "")]
    raise ValueError(f"Unité de calcul inconnue : {unit}")


def compile_unit(run_id, unit):
    """Write the rows of one unit of the run and count the unit done, in one transaction, replacing what a
    previous attempt of the same unit wrote. Returns the number of rows written.

    Rows of a unit are committed only with the unit in `done_units`: a unit not done has no rows to delete. The
    delete runs only for a unit done before (a redelivered task), because its statement cannot be planned well
    while the run is being written: the run's id is newer than the table's statistics, the planner expects one
    row and scans every row of the run written so far through the (run, year, scope) index (1.7 s per unit at
    national scale, for nothing)."""
    run = EvaluationRun.objects.get(pk=run_id)
    catalogue = Catalogue.load()
    if catalogue.surveyed and not _has_surveys(run.year):
        catalogue = dataclasses.replace(catalogue, surveyed={})
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Compiling these large statements to machine code costs more than it saves at this size;
                # enough memory lets the final aggregates hash instead of sorting (the roll-up, one statement per
                # run, dedups about a million (company, indicator) pairs: it would spill to disk with less).
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(f"SET LOCAL work_mem = '{256 if unit in ROLLUPS else 64}MB'")
                # A unit reads a few thousand rows of large tables through their indexes; with the default cost
                # of a random read (spinning disks), the planner prefers scanning the whole table, per unit.
                cursor.execute("SET LOCAL random_page_cost = 1.1")
                # Two copies of the same unit (a task redelivered while the first copy still runs) would each
                # delete rows the other has not committed yet, then both insert: one waits for the other here,
                # then replaces its rows. SQLite runs one writing transaction at a time anyway.
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [int(run.pk), f"evaluation-unit:{unit}"])
        # Read after the lock: a copy that committed meanwhile is seen.
        if unit in EvaluationRun.objects.values_list("done_units", flat=True).get(pk=run.pk):
            AnnualResult.objects.filter(run_id=run.pk, unit=unit).delete()
        written = [
            _insert_scope(run, unit, scope_type, entity_filter, catalogue) for scope_type, entity_filter in _unit_plan(run, unit)
        ]
        if any(count < 0 for count in written):
            # SQLite reports no row count for WITH ... INSERT: counted (its plan has no such trap).
            written = [AnnualResult.objects.filter(run_id=run.pk, unit=unit).count()]
        # FOR NO KEY UPDATE: every row a unit inserts checks its run_id foreign key with FOR KEY SHARE on this
        # row, held until the unit commits; a plain FOR UPDATE would wait for the other worker's whole unit, and
        # two workers then compiled one unit at a time. Locked only now, for the few statements before commit.
        run = EvaluationRun.objects.select_for_update(no_key=True).get(pk=run.pk)
        if unit not in run.done_units:
            run.done_units = [*run.done_units, unit]
            run.units_done = len(run.done_units)
            run.save(update_fields=["done_units", "units_done"])
        return sum(written)


def _has_surveys(year):
    """Whether an action of N or N-1 has a survey: without any, the survey branch is left out of the statements."""
    return Survey.objects.filter(
        action__start_date__gte=datetime.date(year - 1, 1, 1), action__start_date__lte=datetime.date(year, 12, 31)
    ).exists()


def compile_run_sync(run_id):
    """Every unit of the run, one after the other in this process (tests, `--sync`)."""
    run = EvaluationRun.objects.get(pk=run_id)
    return sum(compile_unit(run.pk, unit) for unit in run.units)


def current_year():
    return datetime.date.today().year
