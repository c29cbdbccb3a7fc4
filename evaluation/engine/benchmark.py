"""A national-scale synthetic dataset for the benchmark of the evaluation engine, and the hand-written SQL floor.

Generated in PostgreSQL only, with `INSERT ... SELECT generate_series` (a few statements, no Python loop over
rows): 101 départements, ~15 synthetic QPV each, 10 communes each, a club in three départements out of four,
20,000 companies, 30,000 conventions (1 % national) with 2-3 commitments and a target per commitment and year,
2,000,000 actions over 2015-2018 with their companies and QPV, a national campaign per year, declarations of
2017 and 2018 in every status and ~500,000 declared values. `scale` shrinks everything (tests use a tiny one).
Every row is invented; `setseed` makes two generations identical.
"""

import time
from dataclasses import dataclass

from django.db import connection

from charte.catalogue.models import ActionType, Indicator
from charte.comptes.models import Organisation
from charte.territoires.models import QPV, Commune, Departement
from conventions import realised
from conventions.models import Action, Commitment, Convention, Target
from entreprises.models import Company

from ..models import Campaign, Declaration, DeclarationValue
from .compile import GENERIC_INDICATORS, MEASURE_COLUMNS, _ids, _table

YEARS = (2015, 2016, 2017, 2018)
COMPILED_YEAR = 2018
PREFIX = "BENCH"


@dataclass
class Sizes:
    companies: int
    conventions: int
    actions: int
    values_per_line: int
    qpv_per_departement: int
    communes_per_departement: int

    @classmethod
    def for_scale(cls, scale):
        return cls(
            companies=max(202, round(20_000 * scale)),
            conventions=max(303, round(30_000 * scale)),
            actions=max(2_000, round(2_000_000 * scale)),
            values_per_line=4,
            qpv_per_departement=max(1, round(15 * min(scale, 1) ** 0.5)) if scale < 1 else 15,
            communes_per_departement=10 if scale >= 0.1 else 2,
        )


def is_generated():
    return Convention.objects.filter(reference__startswith=f"{PREFIX}-").exists()


def _run(cursor, label, sql, log=None):
    started = time.monotonic()
    cursor.execute(sql)
    if log:
        log(f"  {label} : {cursor.rowcount if cursor.rowcount >= 0 else '—'} lignes en {time.monotonic() - started:.1f} s")


def _min_id(cursor, table, where):
    cursor.execute(f"SELECT min(id), count(*) FROM {table} WHERE {where}")
    return cursor.fetchone()


def generate(scale=1.0, log=None):
    """Insert the synthetic dataset into the current (PostgreSQL) database. Returns the sizes used."""
    if connection.vendor != "postgresql":
        raise RuntimeError("Le jeu de données du banc d'essai s'écrit avec generate_series : PostgreSQL uniquement.")
    s = Sizes.for_scale(scale)
    t = {
        "dep": _table(Departement),
        "commune": _table(Commune),
        "qpv": _table(QPV),
        "org": _table(Organisation),
        "company": _table(Company),
        "conv": _table(Convention),
        "conv_companies": _table(Convention.companies.through),
        "commitment": _table(Commitment),
        "target": _table(Target),
        "action": _table(Action),
        "action_companies": _table(Action.companies.through),
        "action_qpvs": _table(Action.qpvs.through),
        "type": _table(ActionType),
        "indicator": _table(Indicator),
        "campaign": _table(Campaign),
        "declaration": _table(Declaration),
        "value": _table(DeclarationValue),
    }
    ndep, nq, nc = Departement.objects.count(), s.qpv_per_departement, s.communes_per_departement
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute("DROP TABLE IF EXISTS bench_dep, bench_type, bench_ind")
        cursor.execute(
            "CREATE TEMP TABLE bench_dep AS SELECT (row_number() OVER (ORDER BY code))::int - 1 AS idx, id AS dep_id "
            f"FROM {t['dep']}"
        )
        cursor.execute(
            f"CREATE TEMP TABLE bench_type AS SELECT (row_number() OVER (ORDER BY code))::int - 1 AS idx, id AS type_id, "
            f"family_id FROM {t['type']}"
        )
        cursor.execute(
            f"CREATE TEMP TABLE bench_ind AS SELECT (row_number() OVER (ORDER BY code))::int - 1 AS idx, id AS ind_id "
            f"FROM {t['indicator']} WHERE aggregation = 'sum'"
        )
        cursor.execute("SELECT count(*) FROM bench_type")
        ntypes = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM bench_ind")
        ninds = cursor.fetchone()[0]

        _run(
            cursor,
            "communes",
            f"""INSERT INTO {t["commune"]} (code, name, departement_id)
                SELECT 'Z' || lpad((d.idx * {nc} + k)::text, 4, '0'), 'Commune fictive ' || (d.idx * {nc} + k), d.dep_id
                FROM bench_dep d CROSS JOIN generate_series(0, {nc - 1}) k ORDER BY d.idx, k""",
            log=log,
        )
        commune_min, _ = _min_id(cursor, t["commune"], "code LIKE 'Z%'")
        _run(
            cursor,
            "QPV",
            f"""INSERT INTO {t["qpv"]} (code, name, generation, departement_id, population, updated_at)
                SELECT 'QP9' || lpad((d.idx * {nq} + k)::text, 5, '0'), 'Quartier fictif ' || (d.idx * {nq} + k), 2015,
                       d.dep_id, 1000 + (random() * 9000)::int, now()
                FROM bench_dep d CROSS JOIN generate_series(0, {nq - 1}) k ORDER BY d.idx, k""",
            log=log,
        )
        qpv_min, _ = _min_id(cursor, t["qpv"], "code LIKE 'QP%' AND name LIKE 'Quartier fictif%'")
        _run(
            cursor,
            "organisations",
            f"""INSERT INTO {t["org"]} (kind, name, network, partner_category, email, is_active, created_at, updated_at)
                SELECT 'national', 'ANCT (banc d''essai)', '', '', '', true, now(), now()
                UNION ALL
                SELECT 'club', 'Club fictif ' || d.idx, 'face', '', '', true, now(), now()
                FROM bench_dep d WHERE d.idx % 4 <> 3""",
            log=log,
        )
        cursor.execute("DROP TABLE IF EXISTS bench_club")
        cursor.execute(
            f"""CREATE TEMP TABLE bench_club AS SELECT substring(name from 13)::int AS dep_idx, id AS club_id
                FROM {t["org"]} WHERE kind = 'club' AND name LIKE 'Club fictif %'"""
        )
        cursor.execute(f"SELECT id FROM {t['org']} WHERE name = 'ANCT (banc d''essai)'")
        national_org = cursor.fetchone()[0]

        # Company i lives in département i % ndep; so do conventions and actions: a unit's data is local.
        _run(
            cursor,
            "entreprises",
            f"""INSERT INTO {t["company"]} (siren, name, legal_form, size, naf_code, address, postcode, commune_id,
                    is_national_signatory, version, created_at, updated_at)
                SELECT '8' || lpad(i::text, 8, '0'), 'Entreprise fictive ' || i, '', 'pme', '', '', '',
                       CASE WHEN i % 50 = 0 THEN NULL ELSE {commune_min} + (i % {ndep}) * {nc} + (i / {ndep}) % {nc} END,
                       false, 1, now(), now()
                FROM generate_series(0, {s.companies - 1}) i ORDER BY i""",
            log=log,
        )
        company_min, _ = _min_id(cursor, t["company"], "name LIKE 'Entreprise fictive %'")
        per_dep_companies = s.companies // ndep

        _run(
            cursor,
            "conventions",
            f"""INSERT INTO {t["conv"]} (reference, title, kind, status, generation, start_date, end_date, departement_id,
                    club_id, termination_reason, status_changed_at, version, created_at, updated_at)
                SELECT '{PREFIX}-' || i, 'Convention fictive ' || i,
                       CASE WHEN i % 100 = 0 THEN 'national' WHEN i % 10 = 1 THEN 'collective' ELSE 'local' END,
                       CASE WHEN r < 0.80 THEN 'active' WHEN r < 0.90 THEN 'expired' WHEN r < 0.95 THEN 'draft'
                            ELSE 'terminated' END,
                       2, DATE '2016-01-01' + (i % 366), DATE '2018-12-31' + (i % 365),
                       CASE WHEN i % 100 = 0 THEN NULL ELSE d.dep_id END,
                       CASE WHEN i % 5 < 3 THEN c.club_id END,
                       CASE WHEN r >= 0.95 THEN 'Cessation d''activité' ELSE '' END,
                       CASE WHEN r >= 0.95 THEN TIMESTAMPTZ '2018-06-01 00:00+00' END, 1, now(), now()
                FROM (SELECT i, random() AS r FROM generate_series(0, {s.conventions - 1}) i) g
                JOIN bench_dep d ON d.idx = g.i % {ndep} LEFT JOIN bench_club c ON c.dep_idx = d.idx
                ORDER BY i""",
            log=log,
        )
        conv_min, _ = _min_id(cursor, t["conv"], f"reference LIKE '{PREFIX}-%'")
        _run(
            cursor,
            "entreprises des conventions",
            f"""INSERT INTO {t["conv_companies"]} (convention_id, company_id)
                SELECT {conv_min} + i, {company_min} + (i % {ndep}) + {ndep} * ((i / {ndep} + k) % {per_dep_companies})
                FROM generate_series(0, {s.conventions - 1}) i CROSS JOIN generate_series(0, 1) k
                WHERE k = 0 OR i % 10 = 1""",
            log=log,
        )
        _run(
            cursor,
            "engagements",
            f"""INSERT INTO {t["commitment"]} (convention_id, family_id, action_type_id, description)
                SELECT {conv_min} + i, bt.family_id, CASE WHEN (i + k) % 5 = 0 THEN NULL ELSE bt.type_id END, ''
                FROM generate_series(0, {s.conventions - 1}) i CROSS JOIN generate_series(0, 2) k
                JOIN bench_type bt ON bt.idx = (i * 3 + k * 7) % {ntypes}
                WHERE k < 2 OR i % 2 = 0""",
            log=log,
        )
        _run(
            cursor,
            "objectifs",
            f"""INSERT INTO {t["target"]} (commitment_id, indicator_id, year, value)
                SELECT cm.id, bi.ind_id, y, round((random() * 100)::numeric, 0)
                FROM {t["commitment"]} cm CROSS JOIN (VALUES (2017), (2018)) years(y)
                JOIN bench_ind bi ON bi.idx = (cm.id * 7 + y) % {ninds}
                WHERE cm.convention_id >= {conv_min}""",
            log=log,
        )

        # Actions: over 2015-2018; 60 % implement a convention of their département.
        per_dep_conventions = s.conventions // ndep
        _run(
            cursor,
            "actions",
            f"""INSERT INTO {t["action"]} (action_type_id, title, description, start_date, departement_id, club_id,
                    convention_id, beneficiaries_total, beneficiaries_women, beneficiaries_under_26, beneficiaries_qpv,
                    employees_involved, hours, version, created_at, updated_at)
                SELECT bt.type_id, 'Action fictive ' || g.i, '', make_date({YEARS[0]} + g.i % {len(YEARS)}, 1, 1) + g.day,
                       d.dep_id, CASE WHEN g.r < 0.5 THEN c.club_id END,
                       CASE WHEN g.r < 0.6 THEN {conv_min} + d.idx + {ndep} * g.conv_rank END,
                       g.ben, g.ben / 2, g.ben / 3, (g.ben * g.r2)::int, g.i % 5, (g.i % 40) / 2.0, 1, now(), now()
                FROM (SELECT i, random() AS r, random() AS r2, (random() * 364)::int AS day, (random() * 30)::int AS ben,
                             (random() * {ntypes - 1})::int AS type_idx, (random() * {per_dep_conventions - 1})::int AS conv_rank
                      FROM generate_series(0, {s.actions - 1}) i) g
                JOIN bench_dep d ON d.idx = g.i % {ndep}
                JOIN bench_type bt ON bt.idx = g.type_idx
                LEFT JOIN bench_club c ON c.dep_idx = d.idx
                ORDER BY g.i""",
            log=log,
        )
        action_min, _ = _min_id(cursor, t["action"], "title LIKE 'Action fictive %'")
        _run(
            cursor,
            "entreprises des actions",
            f"""INSERT INTO {t["action_companies"]} (action_id, company_id)
                SELECT {action_min} + i,
                       {company_min} + (i % {ndep}) + {ndep} * ((i / {ndep} + k) % {per_dep_companies})
                FROM generate_series(0, {s.actions - 1}) i CROSS JOIN generate_series(0, 1) k
                WHERE k = 0 OR i % 5 = 0""",
            log=log,
        )
        _run(
            cursor,
            "QPV des actions",
            f"""INSERT INTO {t["action_qpvs"]} (action_id, qpv_id)
                SELECT {action_min} + i, {qpv_min} + (i % {ndep}) * {nq} + (i / {ndep}) % {nq}
                FROM generate_series(0, {s.actions - 1}) i WHERE i % 10 < 7""",
            log=log,
        )

        _run(
            cursor,
            "campagnes",
            f"""INSERT INTO {t["campaign"]} (year, title, organisation_id, opens_on, reminder_on, closes_on, created_at)
                SELECT y, 'Campagne nationale fictive ' || y, {national_org}, make_date(y + 1, 1, 15), make_date(y + 1, 3, 1),
                       make_date(y + 1, 3, 31), now()
                FROM (VALUES (2017), (2018)) years(y)""",
            log=log,
        )
        _run(
            cursor,
            "déclarations",
            f"""INSERT INTO {t["declaration"]} (campaign_id, convention_id, company_id, year, status, return_comment,
                    reopen_reason, version, created_at, updated_at)
                SELECT ca.id, vc.convention_id, vc.company_id, ca.year,
                       CASE WHEN r < 0.40 THEN 'validated' WHEN r < 0.70 THEN 'submitted' WHEN r < 0.80 THEN 'returned'
                            ELSE 'draft' END,
                       CASE WHEN r >= 0.70 AND r < 0.80 THEN 'À compléter' ELSE '' END, '', 1, now(), now()
                FROM (SELECT vc.*, random() AS r, random() AS keep FROM {t["conv_companies"]} vc
                      WHERE vc.convention_id >= {conv_min}) vc
                JOIN {t["conv"]} v ON v.id = vc.convention_id
                JOIN {t["campaign"]} ca ON ca.organisation_id = {national_org}
                WHERE v.status IN ('active', 'expired', 'terminated') AND vc.keep < 0.9""",
            log=log,
        )
        _run(
            cursor,
            "valeurs déclarées",
            f"""INSERT INTO {t["value"]} (declaration_id, commitment_id, indicator_id, value, comment, updated_at)
                SELECT d.id, cm.id, bi.ind_id,
                       CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 50)::numeric, 0) END, '', now()
                FROM {t["declaration"]} d
                JOIN {t["commitment"]} cm ON cm.convention_id = d.convention_id
                CROSS JOIN generate_series(1, {s.values_per_line}) k
                JOIN bench_ind bi ON bi.idx = (cm.id + k * 6) % {ninds}
                WHERE d.convention_id >= {conv_min}""",
            log=log,
        )
        # Statistics for the planner, and the visibility map that lets the engine's covering indexes answer
        # without reading the table (index-only scans); autovacuum does the same in production.
        # (VACUUM cannot run inside a transaction, as in the tests: ANALYZE only there.)
        analyze = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        _run(cursor, f"statistiques et carte de visibilité ({analyze})", analyze, log=log)
    return s


# --- the floor: hand-written SQL for the département x family x indicator totals ---------------------------


def sql_floor(year, with_previous=False):
    """Département x family x indicator: declared (transmitted, validated), target, computed from the actions and their
    counts, in one hand-written query; with `with_previous`, the same for N-1 (as the engine computes both).
    Returns the rows: (département id, family id, indicator id, year, computed, actions, beneficiaries,
    QPV beneficiaries, declared, declared validated, target, attainment)."""
    t = {
        "action": _table(Action),
        "type": _table(ActionType),
        "type_ind": _table(ActionType.indicators.through),
        "value": _table(DeclarationValue),
        "declaration": _table(Declaration),
        "commitment": _table(Commitment),
        "conv": _table(Convention),
        "target": _table(Target),
    }
    measurable = {i.pk: realised.measure_for(i.code) for i in Indicator.objects.all() if realised.measure_for(i.code) is not None}
    case = " ".join(f"WHEN {pk} THEN {MEASURE_COLUMNS[m]}" for pk, m in sorted(measurable.items()))
    generic = list(Indicator.objects.filter(code__in=GENERIC_INDICATORS, pk__in=measurable).values_list("pk", flat=True))
    specific = [pk for pk in measurable if pk not in generic]
    # Generic indicators on every action type of the family, the others on the types suggesting them (§6).
    measured_by = " UNION ALL ".join(
        [f"SELECT actiontype_id AS tid, indicator_id AS ind FROM {t['type_ind']} WHERE indicator_id IN {_ids(specific)}"]
        + [f"SELECT id AS tid, {int(pk)} AS ind FROM {t['type']}" for pk in generic]
    )
    first = year - 1 if with_previous else year
    sql = f"""
        WITH act AS (
            SELECT a.departement_id AS dep, a.action_type_id AS tid, extract(year FROM a.start_date)::int AS yr,
                   count(*) AS n, sum(a.beneficiaries_total) AS ben, sum(a.beneficiaries_qpv) AS bqpv,
                   sum(a.hours) AS hrs, sum(a.employees_involved) AS emp
            FROM {t["action"]} a
            WHERE a.start_date >= DATE '{first}-01-01' AND a.start_date <= DATE '{year}-12-31'
            GROUP BY 1, 2, 3),
        comp AS (
            SELECT act.dep, ty.family_id AS fam, ti.ind, act.yr,
                   sum(CASE ti.ind {case} END) AS computed, sum(act.n) AS n, sum(act.ben) AS ben,
                   sum(act.bqpv) AS bqpv
            FROM act JOIN {t["type"]} ty ON ty.id = act.tid JOIN ({measured_by}) ti ON ti.tid = act.tid
            GROUP BY 1, 2, 3, 4),
        decl AS (
            SELECT v.departement_id AS dep, cm.family_id AS fam, dv.indicator_id AS ind, d.year AS yr,
                   sum(dv.value) AS declared, sum(dv.value) FILTER (WHERE d.status = 'validated') AS validated
            FROM {t["value"]} dv JOIN {t["declaration"]} d ON d.id = dv.declaration_id
            JOIN {t["commitment"]} cm ON cm.id = dv.commitment_id JOIN {t["conv"]} v ON v.id = d.convention_id
            WHERE d.year BETWEEN {first} AND {year} AND v.departement_id IS NOT NULL AND v.kind <> 'framework'
              AND d.status IN ('submitted', 'validated') AND v.status IN ('active', 'expired', 'terminated')
            GROUP BY 1, 2, 3, 4),
        tgt AS (
            SELECT v.departement_id AS dep, cm.family_id AS fam, tg.indicator_id AS ind, tg.year AS yr, sum(tg.value) AS target
            FROM {t["target"]} tg JOIN {t["commitment"]} cm ON cm.id = tg.commitment_id
            JOIN {t["conv"]} v ON v.id = cm.convention_id
            WHERE tg.year BETWEEN {first} AND {year} AND v.departement_id IS NOT NULL AND v.kind <> 'framework'
              AND v.status IN ('active', 'expired', 'terminated')
            GROUP BY 1, 2, 3, 4)
        SELECT coalesce(comp.dep, decl.dep, tgt.dep), coalesce(comp.fam, decl.fam, tgt.fam),
               coalesce(comp.ind, decl.ind, tgt.ind), coalesce(comp.yr, decl.yr, tgt.yr),
               comp.computed, comp.n, comp.ben, comp.bqpv, decl.declared, decl.validated, tgt.target,
               decl.validated / nullif(tgt.target, 0)
        FROM comp
        FULL JOIN decl ON decl.dep = comp.dep AND decl.fam = comp.fam AND decl.ind = comp.ind AND decl.yr = comp.yr
        FULL JOIN tgt ON tgt.dep = coalesce(comp.dep, decl.dep) AND tgt.fam = coalesce(comp.fam, decl.fam)
                     AND tgt.ind = coalesce(comp.ind, decl.ind) AND tgt.yr = coalesce(comp.yr, decl.yr)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


# --- the checksum of a run's rows: two compiles compared without keeping both -----------------------------------


def results_checksum(run_id):
    """{scope type: (rows, checksum)} of the rows a run wrote, every column but the row's id, its run and its unit
    (which worker-side bookkeeping may move): two runs of the same data that agree here wrote the same figures for
    the same scopes. Order-free (a sum of each row's hash), so no sort of a million rows."""
    from ..models import AnnualResult

    columns = [field.column for field in AnnualResult._meta.concrete_fields if field.name not in ("id", "run", "unit")]
    row = "ROW(" + ", ".join(connection.ops.quote_name(c) for c in columns) + ")::text"
    sql = f"""SELECT scope_type, COUNT(*),
                     SUM(('x' || substr(md5({row}), 1, 15))::bit(60)::bigint)
              FROM {_table(AnnualResult)} WHERE run_id = %s GROUP BY scope_type ORDER BY scope_type"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [int(run_id)])
        return {scope: (count, f"{int(total):x}") for scope, count, total in cursor.fetchall()}
