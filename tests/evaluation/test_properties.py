"""Property test of the compiled figures: random small datasets, compiled for 2017 by a national run, against an
oracle written from docs/methodologie.md (tests/evaluation/oracle.py), plus the properties that hold whatever
the definitions (reporting <= expected, shares within 0..1, ratios <= 100 %, région = sum of its départements,
national = sum of the régions, plus the national conventions for declared values and targets).

Which rows exist is the engine's choice (its module docstring), not the methodology's: values are compared on
the rows both sides have, and the engine must have a row wherever the oracle has a non-empty figure, except
where its row rule says otherwise (conventions and companies: indicator rows only for what they committed to,
no "all families x indicator" rows for conventions, companies and QPV).

Each example runs in its own transaction, rolled back at the end (pytest-django's `db` fixture wraps the whole
test, not each hypothesis example). The run compiles only the units of the dataset's départements: the other
départements of the referential have nothing, and compiling their 98 empty units would cost 3 s per example
(`test_a_run_of_the_dataset_units_equals_the_full_national_run` checks that nothing is lost).
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings

from charte.catalogue.models import Family, Indicator
from evaluation import figures as registry
from evaluation.engine import compile as engine
from evaluation.engine import runs
from evaluation.models import AnnualResult, EvaluationRun, ScopeType
from tests.evaluation import oracle
from tests.evaluation.datasets import CASES, YEAR, build, datasets

FIELDS = [
    f.name
    for f in AnnualResult._meta.get_fields()
    if f.concrete and f.name not in ("id", "run", "unit", "year", "scope_type", "scope_key", "family", "indicator")
]
# Additive figures (evaluation/figures.py): those measured on actions add up from départements to régions to
# national; declared values and targets also add the national conventions at national level (methodology §9).
ADDITIVE = [f.field for f in registry.FIGURES if f.additive and f.field]
COUNTS = {"actions_count", "beneficiaries", "beneficiaries_qpv"}
# Survey figures come from the answers about actions (methodology §14): national = Σ régions, like actions.
SURVEYED = {"respondents", "positive_answers", "people_reached"}
FROM_ACTIONS = COUNTS | {"computed_value"} | SURVEYED
ADDITIVE = ADDITIVE + ["prev_" + name for name in ADDITIVE if hasattr(AnnualResult, "prev_" + name)]
ENTITY_SCOPES = ("convention", "company", "qpv")
SHOWN = 25  # mismatches listed in a failure message

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Rollback(Exception):
    """Raised to leave the example's transaction without committing it."""


def compile_year(world, all_units=False):
    """A national run of YEAR, computed here (units one after the other), restricted to the dataset's units."""
    if all_units:
        return runs.start_run(YEAR, sync=True)
    departements = {f"dep:{d.code}" for d in world.departements}
    units = [u for u in engine.units_for(ScopeType.NATIONAL) if not u.startswith("dep:") or u in departements]
    run = EvaluationRun.objects.create(year=YEAR, scope_type=ScopeType.NATIONAL, units=units, units_total=len(units))
    runs.execute_sync(run.pk)
    run.refresh_from_db()
    return run


def engine_rows(run):
    rows = {}
    for values in AnnualResult.objects.filter(run=run).values("scope_type", "scope_key", "family_id", "indicator_id", *FIELDS):
        key = (values.pop("scope_type"), values.pop("scope_key"), values.pop("family_id"), values.pop("indicator_id"))
        assert key not in rows, f"ligne en double : {key}"
        rows[key] = values
    return rows


class Labels:
    """Readable keys for failure messages, and the few catalogue facts the properties need."""

    def __init__(self, world):
        self.families = dict(Family.objects.values_list("pk", "code"))
        self.indicators = dict(Indicator.objects.values_list("pk", "code"))
        self.indicators_by_code = {code: pk for pk, code in self.indicators.items()}
        self.departements = world.departements

    def __call__(self, key):
        scope_type, scope_key, family, indicator = key
        return (
            f"{scope_type}:{scope_key or '-'} famille={self.families.get(family, 'toutes')} "
            f"indicateur={self.indicators.get(indicator, 'aucun')}"
        )


def same(expected, actual):
    if expected is oracle.ZERO_OR_EMPTY:
        return actual in (None, 0)
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float):
        return abs(expected - float(actual)) <= 1e-6
    if isinstance(expected, Decimal):
        # Stored with two decimals: a ratio in % is rounded there.
        return abs(expected - Decimal(str(actual))) <= Decimal("0.0051")
    return expected == actual


def empty(value):
    return value is None or value is oracle.ZERO_OR_EMPTY or value == 0


def disagreements(expected, actual, committed, label):
    """Values that differ on the rows both sides have, and rows the engine lacks although the oracle has a figure."""
    problems = []
    for key in actual:
        if key not in expected:
            # A row where the oracle counts nothing: its figures are those of an empty row.
            problems += [
                f"{label(key)} champ={name} moteur={actual[key][name]!r} oracle={value!r}"
                for name, value in expected[key].items()
                if not same(value, actual[key][name])
            ]
    for key, row in list(expected.items()):
        if key in actual:
            problems += [
                f"{label(key)} champ={name} moteur={actual[key][name]!r} oracle={value!r}"
                for name, value in row.items()
                if not same(value, actual[key][name])
            ]
            continue
        scope_type, _, family, indicator = key
        if scope_type in ENTITY_SCOPES and family is None and indicator is not None:
            continue  # no "all families x indicator" rows for conventions, companies and QPV
        if scope_type in ("convention", "company") and indicator is not None and key not in committed:
            continue  # indicator rows of conventions and companies: only what they committed to
        filled = {name: value for name, value in row.items() if not empty(value)}
        if filled:
            problems.append(f"{label(key)} ligne absente du moteur ; l'oracle y a {filled}")
    return problems


def properties(rows, national_conventions, label):
    """What holds whatever the definitions, on a set of rows (the engine's, or the oracle's as a self-check)."""
    problems = []
    for key, row in rows.items():
        for prefix in ("", "prev_"):
            expected, reporting = row.get(prefix + "companies_expected"), row.get(prefix + "companies_reporting")
            if isinstance(reporting, int) and reporting > (expected if isinstance(expected, int) else 0):
                problems.append(f"{label(key)} {prefix}entreprises ayant déclaré {reporting} > attendues {expected}")
            share = row.get(prefix + "qpv_share")
            if share is not None and not 0 <= share <= 1:
                problems.append(f"{label(key)} {prefix}part QPV {share} hors de 0..1")
            ben, qpv = row.get(prefix + "beneficiaries"), row.get(prefix + "beneficiaries_qpv")
            if ben is not None and qpv is not None and qpv > ben:
                problems.append(f"{label(key)} {prefix}bénéficiaires QPV {qpv} > bénéficiaires {ben}")
            respondents, positive = row.get(prefix + "respondents"), row.get(prefix + "positive_answers")
            reached = row.get(prefix + "people_reached")
            if respondents is not None and not positive <= respondents <= reached:
                problems.append(
                    f"{label(key)} {prefix}réponses positives {positive}, répondants {respondents}, sollicités {reached}"
                )
            for name in ("positive_share", "response_rate"):
                rate = row.get(prefix + name)
                if rate is not None and not 0 <= rate <= 1:
                    problems.append(f"{label(key)} {prefix}{name} {rate} hors de 0..1")
            if label.indicators.get(key[3]) == "PART_BENEFICIAIRES_QPV":
                for name in ("declared_value", "declared_validated_value", "computed_value"):
                    value = row.get(prefix + name)
                    if value is not None and not 0 <= value <= 100:
                        problems.append(f"{label(key)} {prefix}{name} = {value} hors de 0..100 %")

    # Additive figures: région = sum of its départements, national = sum of the régions (+ national conventions).
    by_scope = {}
    for key, row in rows.items():
        by_scope.setdefault(key[:2], {})[key[2:]] = row
    regions = {sk for st, sk in by_scope if st == "region"}
    region_of = {d.code: d.region.code for d in label.departements}
    part = label.indicators_by_code["PART_BENEFICIAIRES_QPV"]
    lines = {key[2:] for key in rows if key[3] != part}

    def total(scopes, line, name):
        return sum((by_scope.get(scope, {}).get(line, {}).get(name) or 0) for scope in scopes)

    def national_convention_total(line, name):
        family, indicator = line
        keys = [(f, indicator) for f in label.families] if family is None else [line]
        return sum(
            (by_scope.get(("convention", str(pk)), {}).get(k, {}).get(name) or 0) for pk in national_conventions for k in keys
        )

    for line in lines:
        for name in ADDITIVE:
            base = name.removeprefix("prev_")
            if (line[1] is None) != (base in COUNTS):
                continue  # counts of actions on rows without indicator, values on indicator rows
            for region in regions:
                parts = [("departement", code) for code, r in region_of.items() if r == region]
                if abs(total([("region", region)], line, name) - total(parts, line, name)) > Decimal("0.011"):
                    problems.append(
                        f"{label(('region', region, *line))} {name} : région {total([('region', region)], line, name)} "
                        f"≠ Σ départements {total(parts, line, name)}"
                    )
            national = total([("national", "")], line, name)
            summed = total([("region", r) for r in regions], line, name)
            if base not in FROM_ACTIONS:
                summed += national_convention_total(line, name)
            if abs(national - summed) > Decimal("0.011"):
                problems.append(
                    f"{label(('national', '', *line))} {name} : national {national} ≠ Σ régions (+ nationales) {summed}"
                )
    return problems


def check_example(dataset):
    """Build, compile, compare; returns the list of problems (empty: the example passes)."""
    world = build(dataset)
    run = compile_year(world)
    assert run.status == EvaluationRun.Status.SUCCEEDED, run.error
    expected, committed = oracle.figures(YEAR)
    actual = engine_rows(run)
    label = Labels(world)
    national_conventions = [c.pk for c in world.conventions if c.kind == "national"]
    problems = [f"oracle incohérent : {p}" for p in properties(expected, national_conventions, label)]
    problems += [f"propriété : {p}" for p in properties(actual, national_conventions, label)]
    problems += disagreements(expected, actual, committed, label)
    return problems


def report(problems, dataset=None):
    shown = "\n".join(problems[:SHOWN])
    more = f"\n… et {len(problems) - SHOWN} autres" if len(problems) > SHOWN else ""
    # The whole dataset, pasteable as a case of tests/evaluation/datasets.py (pytest shortens the argument).
    given_data = f"\nJeu de données : {dataset!r}" if dataset is not None else ""
    return f"{len(problems)} écart(s) avec la méthodologie :\n{shown}{more}{given_data}"


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(dataset=datasets())
def test_compiled_figures_follow_the_methodology(db, dataset):
    problems = []
    try:
        with transaction.atomic():
            problems = check_example(dataset)
            raise Rollback
    except Rollback:
        pass
    assert not problems, report(problems, dataset)


def _key(world, scope, family, indicator):
    scope_type, key = scope
    if scope_type == "convention":
        key = str(world.conventions[key].pk)
    elif scope_type == "company":
        key = str(world.companies[key].pk)
    families = dict(Family.objects.values_list("code", "pk"))
    indicators = dict(Indicator.objects.values_list("code", "pk"))
    return (scope_type, key, families.get(family), indicators.get(indicator))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_oracle_reads_the_methodology(db, name):
    """The oracle on small cases worked out by hand from the methodology (the section is in `CASES`)."""
    _, dataset, checks = CASES[name]
    world = build(dataset)
    rows, _ = oracle.figures(YEAR)
    for scope, family, indicator, field, value in checks:
        key = _key(world, scope, family, indicator)
        assert same(value, rows[key][field]) or (rows[key][field] is oracle.ZERO_OR_EMPTY and value in (0, None)), (
            f"{name} : {scope} {family} {indicator} {field} = {rows[key][field]!r}, attendu {value!r}"
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_engine_on_the_methodology_cases(db, name):
    """The same cases through the engine: each names the rule (section) it checks."""
    section, dataset, _ = CASES[name]
    problems = check_example(dataset)
    assert not problems, f"{name} (méthodologie {section}) — " + report(problems)


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    dataset=datasets().filter(
        # Something to compile: actions of the two years compiled (a dataset of 2015 and 2018 actions writes no row).
        lambda d: len(d.actions) >= 3 and len(d.declarations) >= 2 and any(a.start.year in (YEAR, YEAR - 1) for a in d.actions)
    )
)
def test_a_run_of_the_dataset_units_equals_the_full_national_run(db, dataset):
    """The shortcut of `compile_year`: the units of the other départements write nothing."""
    with transaction.atomic():
        world = build(dataset)
        restricted_run = compile_year(world)
        assert restricted_run.status == EvaluationRun.Status.SUCCEEDED, restricted_run.error
        restricted = engine_rows(restricted_run)
        full_run = compile_year(world, all_units=True)
        assert full_run.status == EvaluationRun.Status.SUCCEEDED, full_run.error
        full = engine_rows(full_run)
        transaction.set_rollback(True)
    assert restricted == full
    assert restricted


def test_the_oracle_is_not_the_engine():
    """Kept honest: the oracle does not import the engine (its figures come from the methodology)."""
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path(oracle.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not any(name and name.startswith("evaluation.engine") for name in imported)
    assert "django.db.models" not in imported  # no SQL aggregate
