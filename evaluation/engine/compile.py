"""The evaluation engine: compiles a year into `AnnualResult` rows, in SQL, one unit of work at a time.

What a figure means (the oracle test `tests/evaluation/test_oracle.py` recomputes each one in plain Python):

- Rows: per scope (national, région, département, club, convention, company, QPV) x family x indicator, with
  family and indicator each optionally empty (all families / not about one indicator); conventions, companies
  and QPV have no "all families x indicator" rows (their family rows add up). A row exists when the scope has,
  in year N or N-1, an action, a declared value, a target or an expected company for it; except that a
  convention or a company has indicator rows (ratios included) only for the indicators it committed to: a
  declared value or a target, N or N-1. Its actions of other indicators count on its family rows: a report
  of a convention shows its commitments, and a national run writes about 0.5 million rows instead of 2.
- Declared value: sum of the non-empty `DeclarationValue` of the year's declarations, whatever their status
  (draft included); declared validated: the same over validated declarations. The scope of a declaration is
  its convention's (département, région, club) or its company. Summed on indicator rows only: never across
  units, so empty on rows without indicator (and on QPV rows: a declaration has no QPV).
- Target: sum of the targets of year N of conventions expected to report that year (the campaigns' rule,
  `Convention.objects.expected_to_report`). For a company, the targets of every convention it is party to.
- Attainment rate: declared / target, when the target is positive.
- Offered / realised: the declared value split by the indicator's nature (offered places are not hires).
- Computed from actions (`conventions.realised` gives what an indicator sums: beneficiaries, QPV
  beneficiaries, hours, employees or the number of actions): over the actions of the year in the scope whose
  action type belongs to the family and suggests the indicator (a stage de 3e counts for pupils hosted, not for
  business creation). Indicators no action measures (places offered, euros...) are never computed.
- Actions, beneficiaries, of whom QPV residents, and their share: the actions of the year started in the scope
  (département and région: where the action took place; club: the action's club; convention: the actions
  implementing it; company and QPV: every action it took part in or that concerned it, fully for each).
  On an indicator row: the actions counted in the computed value.
- Companies expected: distinct companies of the expected conventions of the scope; on a family row those with
  a commitment in the family; on an indicator row those with a target of the year for it. Companies reporting:
  distinct companies whose declaration of the year is transmitted (submitted or validated) with a non-empty
  value (of the family, of the indicator).
- Ratio indicators (PART_BENEFICIAIRES_QPV), in the indicator's unit (%): declared = 100 x sum(declared
  numerator) / sum(declared denominator); computed = 100 x the same ratio of the terms' measures over all the
  scope's actions of the family (a ratio's two terms must be measured on the same actions). Never an average
  of ratios.
- N-1: the same figures for the previous year, computed in the same run from the same data, so that a row
  present in only one of the two years still shows both sides and a late correction of N-1 shows up.

Units of work: `dep:<code>` (the département, its conventions, its QPV and the companies whose commune is in
it), `autres` (national conventions, companies without commune, clubs), `club:<id>` (one club), then the
roll-ups `regions` (national and région runs) and `national` (national runs), which run in parallel once every
other unit is done. Each unit deletes then writes its own rows of the run in one transaction, so that running
it twice gives the same rows.
"""

import datetime
from dataclasses import dataclass

from django.db import connection, transaction

from charte.catalogue.models import ActionType, Indicator
from charte.territoires.models import QPV, Commune, Departement, Region
from conventions import realised
from conventions.models import Action, Commitment, Convention, Target
from entreprises.models import Company

from ..models import AnnualResult, Declaration, DeclarationValue, EvaluationRun, ScopeType

# What each measure of `conventions.realised` sums, as a column of the per-action-type aggregate below.
MEASURE_COLUMNS = {
    realised.BENEFICIARIES: "ben",
    realised.BENEFICIARIES_QPV: "bqpv",
    realised.HOURS: "hrs",
    realised.EMPLOYEES: "emp",
    realised.ACTIONS: "n",
}
# The same measures as stored on the rows without indicator (used for ratios).
MEASURE_RESULT_COLUMNS = {
    realised.BENEFICIARIES: "beneficiaries",
    realised.BENEFICIARIES_QPV: "beneficiaries_qpv",
    realised.ACTIONS: "actions_count",
}

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


def _text(expression):
    return f"CAST({expression} AS VARCHAR(20))"


@dataclass(frozen=True)
class Catalogue:
    measurable: dict  # indicator id -> measure name
    offered: tuple
    realised: tuple
    ratios: tuple  # (indicator id, numerator id, denominator id)
    codes: dict  # indicator id -> code

    @classmethod
    def load(cls):
        rows = list(Indicator.objects.values_list("pk", "code", "nature", "aggregation", "numerator_id", "denominator_id"))
        measurable = {pk: realised.measure_for(code) for pk, code, *_ in rows if realised.measure_for(code)}
        summed = [r for r in rows if r[3] == Indicator.Aggregation.SUM]
        return cls(
            measurable=measurable,
            offered=tuple(r[0] for r in summed if r[2] == Indicator.Nature.OFFERED),
            realised=tuple(r[0] for r in summed if r[2] != Indicator.Nature.OFFERED),
            ratios=tuple((r[0], r[4], r[5]) for r in rows if r[3] == Indicator.Aggregation.RATIO),
            codes={r[0]: r[1] for r in rows},
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
    return Convention.objects.expected_to_report(year).order_by().values("id").query.sql_with_params()


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
    scope's entity id, such as "= 12" or "IN (SELECT ...)"), for years N and N-1. Returns the rows written."""
    t = _tables()
    year, prev = run.year, run.year - 1
    sql = Sql()
    sources = _sources(scope_type)
    first_day, last_day = f"'{prev:04d}-01-01'", f"'{year:04d}-12-31'"
    ctes, branches = [], []
    # Levels of rows: family x indicator, family, all; territories and clubs also get all families x indicator
    # (a company or a convention rarely spans families for one indicator: its family rows add up).
    indicator_levels = 1 if scope_type in ENTITY_SCOPES else 2
    NUM, INT = "CAST(NULL AS NUMERIC)", "CAST(NULL AS BIGINT)"

    def branch(select, table, committed=False):
        # facts columns: sk, fam, ind, yr, comp, n, ben, bqpv, dval, dvalid, tg, ne (expected), nr (reporting),
        # mk (1: a declared value or a target, what makes an indicator row of a convention or a company)
        branches.append(f"SELECT sk, {select}, {INT} AS ne, {INT} AS nr, {'1' if committed else INT} AS mk FROM {table}")

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
        ctes.append(
            f"""acti AS (
                SELECT act.sk, aty.family_id AS fam, ti.indicator_id AS ind, act.yr,
                       CASE ti.indicator_id {measure_case} END AS comp, act.n, act.ben, act.bqpv
                FROM act JOIN {t["action_type"]} aty ON aty.id = act.tid
                JOIN {t["type_indicators"]} ti ON ti.actiontype_id = act.tid
                WHERE ti.indicator_id IN {_ids(catalogue.measurable)})"""
        )
        for fam, ind in (("fam", "ind"), (INT, "ind"))[:indicator_levels]:
            branch(f"{fam} AS fam, {ind} AS ind, yr, comp, n, ben, bqpv, {NUM} AS dval, {NUM} AS dvalid, {NUM} AS tg", "acti")
        for fam in ("fam", INT):
            branch(f"{fam}, {INT}, yr, {NUM}, n, ben, bqpv, {NUM}, {NUM}, {NUM}", "actf")

    decl, tgt, exp = _source(sources, "decl"), _source(sources, "tgt"), _source(sources, "exp")
    if decl:
        values_from = f"""FROM {t["value"]} dv JOIN {t["declaration"]} d ON d.id = dv.declaration_id
                JOIN {t["commitment"]} cm ON cm.id = dv.commitment_id JOIN {t["convention"]} v ON v.id = d.convention_id
                {decl.joins}"""
        # The unit's declared values, read once for the sums and for the companies reporting.
        ctes.append(
            f"""dvs AS (
                SELECT {decl.key} AS sk, cm.family_id AS fam, dv.indicator_id AS ind, d.year AS yr, dv.value AS val,
                       d.status AS st, d.company_id AS co
                {values_from}
                WHERE d.year IN ({prev}, {year}) AND {_where(decl, entity_filter)})"""
        )
        ctes.append(
            f"""decl AS (
                SELECT sk, fam, ind, yr, SUM(val) AS dval,
                       SUM(CASE WHEN st = '{Declaration.Status.VALIDATED}' THEN val END) AS dvalid
                FROM dvs GROUP BY 1, 2, 3, 4)"""
        )
        transmitted = f"'{Declaration.Status.SUBMITTED}', '{Declaration.Status.VALIDATED}'"
        ctes.append(
            f"""rep AS (
                SELECT DISTINCT sk, fam, ind, yr, co FROM dvs WHERE st IN ({transmitted}) AND val IS NOT NULL)"""
        )
        # The conventions expected to report each year, listed once for the statement, among the unit's.
        units_conventions = f"""SELECT v.id FROM {t["convention"]} v
            LEFT JOIN {t["convention_companies"]} vc ON vc.convention_id = v.id {exp.joins}
            WHERE {_where(exp, entity_filter)}"""
        expected = []
        for y in (prev, year):
            query, params = _expected_sql(y)
            expected.append(sql.sub(f"SELECT e.id, {y} AS yr FROM ({query}) e WHERE e.id IN ({units_conventions})", params))
        ctes.append(f"expected AS ({' UNION ALL '.join(expected)})")
        ctes.append(
            f"""tgt AS (
                SELECT {tgt.key} AS sk, cm.family_id AS fam, t.indicator_id AS ind, t.year AS yr, SUM(t.value) AS tg
                FROM {t["target"]} t JOIN {t["commitment"]} cm ON cm.id = t.commitment_id
                JOIN {t["convention"]} v ON v.id = cm.convention_id
                JOIN expected ON expected.id = v.id AND expected.yr = t.year {tgt.joins}
                WHERE t.year IN ({prev}, {year}) AND {_where(tgt, entity_filter)}
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

        for fam, ind in (("fam", "ind"), ("fam", INT), (INT, INT), (INT, "ind"))[: 2 + indicator_levels]:
            branch(f"{fam}, {ind}, yr, {NUM}, {INT}, {INT}, {INT}, dval, dvalid, {NUM}", "decl", committed=True)
            branch(f"{fam}, {ind}, yr, {NUM}, {INT}, {INT}, {INT}, {NUM}, {NUM}, tg", "tgt", committed=True)
        # A company counts once per row, counted here per row so that the final aggregate adds a few counts
        # instead of carrying every (company, row) pair (a million at national level). rep, expt, expc and expv
        # are distinct at their own level: counted as they are there, with COUNT(DISTINCT) on coarser levels.
        levels = (("fam", "ind"), ("fam",), (), ("ind",))[: 2 + indicator_levels]
        expected_tables = ("expt", "expc", "expv", "expt")  # the expected companies of each level
        own_level = {"expt": ("fam", "ind"), "expc": ("fam",), "expv": (), "rep": ("fam", "ind")}
        counted = [(expected_tables[i], level, "ne") for i, level in enumerate(levels)]
        counted += [("rep", level, "nr") for level in levels]
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
        branches.append(
            f"""SELECT sk, fam, ind, yr, {NUM}, {INT}, {INT}, {INT}, {NUM}, {NUM}, {NUM}, ne, nr, {INT} FROM ncompanies"""
        )

    if not branches:
        return 0
    ctes.append("facts AS (" + "\nUNION ALL ".join(branches) + ")")

    measurable = _ids(catalogue.measurable)

    def figures(y):
        def s(column):
            return f"SUM(CASE WHEN yr = {y} THEN {column} END)"

        on_indicator = "ind IS NOT NULL"
        action_row = f"(ind IS NULL OR ind IN {measurable})"
        declared, target = s("dval"), s("tg")
        companies = (
            f"COALESCE({s('ne')}, 0)",
            f"COALESCE({s('nr')}, 0)",
        )
        if not decl:
            companies = ("NULL", "NULL")
        return {
            "declared_value": f"CASE WHEN {on_indicator} THEN {declared} END",
            "declared_validated_value": f"CASE WHEN {on_indicator} THEN {s('dvalid')} END",
            "computed_value": f"CASE WHEN ind IN {measurable} THEN COALESCE({s('comp')}, 0) END",
            "target_value": f"CASE WHEN {on_indicator} THEN {target} END",
            "attainment_rate": f"CASE WHEN {on_indicator} AND {target} > 0 THEN 1.0 * {declared} / {target} END",
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
    insert = f"""INSERT INTO {t["result"]} (run_id, unit, year, scope_type, scope_key, family_id, indicator_id,
            {", ".join(columns)})
        SELECT {int(run.pk)}, %s, {year}, '{scope_type}', sk, fam, ind, {", ".join(columns.values())}
        FROM facts GROUP BY sk, fam, ind{committed_only}"""
    text = "WITH " + ",\n".join(ctes) + "\n" + sql.sub(insert, [unit])
    with connection.cursor() as cursor:
        cursor.execute(text, sql.params)
        return cursor.rowcount


def _ratio(numerator, denominator):
    return f"100.0 * {numerator} / NULLIF({denominator}, 0)"


def _ratio_columns(catalogue, numerator_id, denominator_id):
    """The figures of a ratio row from the unit's rows of one scope x family: declared ones from the two terms'
    indicator rows, computed ones from the terms' measures on the row without indicator (same actions)."""
    num_measure = realised.measure_for(catalogue.codes[numerator_id])
    den_measure = realised.measure_for(catalogue.codes[denominator_id])
    measured = num_measure in MEASURE_RESULT_COLUMNS and den_measure in MEASURE_RESULT_COLUMNS

    def declared(column):
        return _ratio(
            f"SUM(CASE WHEN indicator_id = {int(numerator_id)} THEN {column} END)",
            f"SUM(CASE WHEN indicator_id = {int(denominator_id)} THEN {column} END)",
        )

    def computed(prefix):
        if not measured:
            return "NULL"
        return _ratio(
            f"SUM(CASE WHEN indicator_id IS NULL THEN {prefix}{MEASURE_RESULT_COLUMNS[num_measure]} END)",
            f"SUM(CASE WHEN indicator_id IS NULL THEN {prefix}{MEASURE_RESULT_COLUMNS[den_measure]} END)",
        )

    return {
        "declared_value": declared("declared_value"),
        "declared_validated_value": declared("declared_validated_value"),
        "computed_value": computed(""),
        "prev_declared_value": declared("prev_declared_value"),
        "prev_declared_validated_value": declared("prev_declared_validated_value"),
        "prev_computed_value": computed("prev_"),
    }


def _insert_ratios(run, unit, catalogue):
    """Ratio indicators of the unit's rows: sum(numerator) / sum(denominator), in %, for every scope x family
    (all families included) that has rows."""
    t = _tables()
    written = 0
    entity_scopes = ", ".join(f"'{scope}'" for scope in ENTITY_SCOPES)
    committed_scopes = ", ".join(f"'{scope}'" for scope in COMMITTED_SCOPES)
    for ratio_id, numerator_id, denominator_id in catalogue.ratios:
        columns = _ratio_columns(catalogue, numerator_id, denominator_id)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {t["result"]} (run_id, unit, year, scope_type, scope_key, family_id, indicator_id,
                        {", ".join(columns)})
                    SELECT run_id, unit, year, scope_type, scope_key, family_id, {int(ratio_id)}, {", ".join(columns.values())}
                    FROM {t["result"]}
                    WHERE run_id = %s AND unit = %s
                      AND (indicator_id IS NULL OR indicator_id IN ({int(numerator_id)}, {int(denominator_id)}))
                      AND (family_id IS NOT NULL OR scope_type NOT IN ({entity_scopes}))
                    GROUP BY run_id, unit, year, scope_type, scope_key, family_id
                    HAVING scope_type NOT IN ({committed_scopes}) OR COUNT(indicator_id) > 0""",
                [run.pk, unit],
            )
            written += cursor.rowcount
    return written


# --- units of work ---------------------------------------------------------------------------------------


def units_for(scope_type, scope_key=""):
    """The units of work of a run, the roll-ups last. `autres` comes first: holding every club, it is the longest
    unit of a national run, and the workers take units in this order."""
    if scope_type == ScopeType.NATIONAL:
        codes = Departement.objects.order_by("code").values_list("code", flat=True)
        return [OTHERS] + [f"dep:{code}" for code in codes] + [REGIONS, NATIONAL]
    if scope_type == ScopeType.REGION:
        codes = Departement.objects.filter(region__code=scope_key).order_by("code").values_list("code", flat=True)
        return [f"dep:{code}" for code in codes] + [REGIONS]
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
        if run.scope_type == ScopeType.REGION:
            region_id = Region.objects.values_list("pk", flat=True).get(code=run.scope_key)
            return [(ScopeType.REGION, f"= {int(region_id)}")]
        return [(ScopeType.REGION, "")]
    if unit == NATIONAL:
        return [(ScopeType.NATIONAL, "")]
    raise ValueError(f"Unité de calcul inconnue : {unit}")


def compile_unit(run_id, unit):
    """Write the rows of one unit of the run, replacing what a previous attempt of the same unit wrote.
    Returns the number of rows written."""
    run = EvaluationRun.objects.get(pk=run_id)
    catalogue = Catalogue.load()
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
        AnnualResult.objects.filter(run_id=run.pk, unit=unit).delete()
        for scope_type, entity_filter in _unit_plan(run, unit):
            _insert_scope(run, unit, scope_type, entity_filter, catalogue)
        _insert_ratios(run, unit, catalogue)
        # Counted rather than added up from the cursors: SQLite reports no row count for WITH ... INSERT.
        return AnnualResult.objects.filter(run_id=run.pk, unit=unit).count()


def compile_run_sync(run_id):
    """Every unit of the run, one after the other in this process (tests, `--sync`)."""
    run = EvaluationRun.objects.get(pk=run_id)
    return sum(compile_unit(run.pk, unit) for unit in run.units)


def current_year():
    return datetime.date.today().year
