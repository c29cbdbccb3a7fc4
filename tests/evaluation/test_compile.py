"""Compile runs: idempotent units, published results, failures kept invisible, département runs, the command,
the nightly task, the scoping of results, and a number of queries that does not grow with the data."""

import datetime
import re
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import OperationalError

from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from conventions.models import Action
from evaluation.engine import compile as engine
from evaluation.engine import runs, tasks
from evaluation.models import AnnualResult, EvaluationRun, ScopeType
from tests.evaluation.test_oracle import FIELDS, YEAR, build_territory, compiled
from tests.factories import MembershipFactory, OrganisationFactory, action_type, departement

Status = EvaluationRun.Status


def unit_rows(run, unit):
    return sorted(
        (r.scope_type, r.scope_key, r.family_id or 0, r.indicator_id or 0, tuple(getattr(r, f) for f in FIELDS))
        for r in AnnualResult.objects.filter(run=run, unit=unit)
    )


def add_action(code="34", year=YEAR, beneficiaries=40):
    return Action.objects.create(
        action_type=action_type("STAGE_3E"),
        title="Stage de 3e supplémentaire",
        start_date=datetime.date(year, 6, 2),
        departement=departement(code),
        beneficiaries_total=beneficiaries,
        beneficiaries_qpv=beneficiaries // 2,
    )


def national(run):
    return AnnualResult.objects.get(run=run, scope_type="national", family=None, indicator=None)


def test_a_unit_run_twice_writes_its_rows_once_and_counts_once(db):
    build_territory(2)
    run = EvaluationRun.objects.create(year=YEAR, units=engine.units_for(ScopeType.NATIONAL), units_total=104)
    unit = "dep:13"  # always in the territory (second région)
    runs.run_unit(run.pk, unit)
    first = unit_rows(run, unit)
    runs.run_unit(run.pk, unit)

    assert first and unit_rows(run, unit) == first
    run.refresh_from_db()
    assert run.status == Status.RUNNING and run.done_units == [unit] and run.units_done == 1 and run.percent == 1


def test_published_results_come_from_the_latest_succeeded_national_run_never_a_failed_one(db):
    build_territory(3)
    first = runs.start_run(YEAR, sync=True)
    before = national(first).actions_count

    add_action("13")
    original = engine._insert_scope

    def failing(run, unit, *args):
        if unit == "autres":
            raise OperationalError("connexion perdue")
        return original(run, unit, *args)

    with mock.patch.object(engine, "_insert_scope", failing):
        with pytest.raises(OperationalError):
            runs.start_run(YEAR, sync=True)
    failed = EvaluationRun.objects.get(status=Status.FAILED)
    assert failed.error.startswith("La compilation a échoué pendant l'unité « autres »")
    assert "connexion perdue" in failed.error and failed.finished_at is not None

    published = AnnualResult.objects.published()
    assert not published.filter(run=failed).exists()
    assert published.get(scope_type="national", family=None, indicator=None).actions_count == before
    assert list(EvaluationRun.objects.published()) == [first]

    # The préfecture recompiles the Bouches-du-Rhône: the whole year is compiled again, its département, région
    # and national rows come from that one run (methodology §10).
    again = runs.start_run(YEAR, ScopeType.DEPARTEMENT, "13", sync=True)
    assert (again.scope_type, again.scope_key, len(again.units)) == ("national", "", 104)
    for scope_type, key in (("departement", "13"), ("region", "93"), ("national", "")):
        total = AnnualResult.objects.for_scope(YEAR, scope_type, key).get(family=None, indicator=None)
        previous = AnnualResult.objects.get(run=first, scope_type=scope_type, scope_key=key, family=None, indicator=None)
        assert total.run == again and total.actions_count == previous.actions_count + 1, scope_type
    assert list(EvaluationRun.objects.published()) == [again]


def test_a_territorial_run_of_an_older_version_is_never_published(db):
    """Runs of one département, started before every run covered the year, stay for audit but are never shown:
    a later département run would otherwise make its région and national rows stale."""
    build_territory(3)
    whole = runs.start_run(YEAR, sync=True)
    alone = EvaluationRun.objects.create(
        year=YEAR, scope_type=ScopeType.DEPARTEMENT, scope_key="13", units=["dep:13"], units_total=1
    )
    runs.execute_sync(alone.pk)
    alone.refresh_from_db()
    assert alone.status == Status.SUCCEEDED and AnnualResult.objects.filter(run=alone).exists()
    assert list(EvaluationRun.objects.published()) == [whole]
    assert set(AnnualResult.objects.published().values_list("run_id", flat=True)) == {whole.pk}
    assert AnnualResult.objects.for_scope(YEAR, "departement", "13").get(family=None, indicator=None).run == whole
    # Another year has its own published run.
    other = runs.start_run(YEAR - 1, sync=True)
    assert set(EvaluationRun.objects.published()) == {whole, other}


def test_published_rows_are_read_by_run_id_without_an_anti_join_over_the_results(db):
    build_territory(2)
    run = runs.start_run(YEAR, sync=True)
    sql = str(AnnualResult.objects.for_scope(YEAR, "departement", "13").order_by().query)
    # The published runs are read first and given as values: no join, no subquery, no anti-join over the results.
    assert sql.count("evaluation_annualresult") == sql.count('"evaluation_annualresult".') + 1  # only its own FROM
    assert not re.search(r"\bNOT\b(?! NULL)", sql.upper()) and "evaluation_evaluationrun" not in sql
    assert "JOIN" not in sql.upper() and "SELECT" not in sql.upper().split("FROM", 1)[1]
    assert f"IN ({run.pk})" in sql


def test_asking_for_a_departement_or_a_club_joins_the_year_s_national_run(db, django_capture_on_commit_callbacks):
    build_territory(4)
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="Club rejoint")
    with django_capture_on_commit_callbacks(execute=False):
        going = runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
        assert runs.start_run(YEAR, ScopeType.DEPARTEMENT, "13", trigger=EvaluationRun.Trigger.PORTAL) == going
        assert runs.start_run(YEAR, ScopeType.CLUB, str(club.pk), trigger=EvaluationRun.Trigger.PORTAL) == going
        assert runs.start_run(YEAR, ScopeType.REGION, "93") == going
        other_year = runs.start_run(YEAR - 1, ScopeType.DEPARTEMENT, "13")
    assert other_year != going and (other_year.scope_type, other_year.year) == ("national", YEAR - 1)
    assert EvaluationRun.objects.filter(scope_type="national").count() == 2 == EvaluationRun.objects.count()


def additive_rollups_agree(run):
    """Within one run: région = Σ of its départements, national = Σ régions + national conventions (§9)."""
    from collections import defaultdict

    from charte.territoires.models import Departement
    from conventions.models import Convention

    region_of = dict(Departement.objects.values_list("code", "region__code"))
    national_conventions = {str(pk) for pk in Convention.objects.filter(departement__isnull=True).values_list("pk", flat=True)}
    rows = compiled(run)
    sums = defaultdict(lambda: defaultdict(int))
    additive = ("actions_count", "beneficiaries", "beneficiaries_qpv", "declared_value", "declared_validated_value",
                "target_value", "computed_value")  # fmt: skip
    ratio = set(AnnualResult.objects.filter(indicator__aggregation="ratio").values_list("indicator_id", flat=True))
    for (scope_type, key, family, ind), values in rows.items():
        if ind in ratio:
            continue
        if scope_type == "departement":
            for name in additive:
                sums[("region", region_of[key], family, ind)][name] += values[name] or 0
        if scope_type == "region" or (scope_type == "convention" and key in national_conventions and family is not None):
            for name in additive:
                if scope_type == "convention" and name not in ("declared_value", "declared_validated_value", "target_value"):
                    continue
                sums[("national", "", family, ind)][name] += values[name] or 0
    checked = 0
    for (scope_type, key, family, ind), expected in sums.items():
        if scope_type == "national" and family is None:
            continue  # national conventions have no "all families" rows: checked on the family rows
        actual = rows.get((scope_type, key, family, ind))
        for name, value in expected.items():
            assert ((actual or {}).get(name) or 0) == value, (scope_type, key, family, ind, name, actual and actual[name], value)
            checked += 1
    return checked


def test_rollups_agree_with_their_parts_within_one_run(db):
    build_territory(7)
    assert additive_rollups_agree(runs.start_run(YEAR, sync=True)) > 100


def test_unknown_scopes_are_refused_in_french(db):
    with pytest.raises(ValidationError, match="Département inconnu : « 99 »"):
        runs.start_run(YEAR, ScopeType.DEPARTEMENT, "99")
    with pytest.raises(ValidationError, match="Club inconnu"):
        runs.start_run(YEAR, ScopeType.CLUB, "abc")
    with pytest.raises(ValidationError, match="national, une région, un département ou un club"):
        runs.start_run(YEAR, ScopeType.COMPANY, "1")
    assert not EvaluationRun.objects.exists()


def test_a_run_is_enqueued_after_commit_and_asking_again_returns_it(db, django_capture_on_commit_callbacks):
    build_territory(1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
        again = runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
    assert again == run and run.status == Status.PENDING and len(callbacks) == 1

    # No broker in tests: the chord runs in place once the transaction commits.
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.percent == 100 and run.task_id
    reference = runs.start_run(YEAR, sync=True)
    assert compiled(run) == compiled(reference)


def test_the_nightly_task_compiles_the_current_year_nationally(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = tasks.nightly_compile.apply(kwargs={"year": YEAR}).get()
    run = EvaluationRun.objects.get(pk=outcome["run"])
    assert (run.year, run.scope_type, run.trigger, run.status) == (YEAR, "national", "beat", Status.SUCCEEDED)
    assert run.units[0] == "autres" and run.units[-2:] == ["regions", "national"] and len(run.units) == 104


def test_a_unit_that_fails_for_good_marks_the_run_failed(db):
    build_territory(1)
    run = EvaluationRun.objects.create(year=YEAR, units=["dep:13", "national"], units_total=2)
    with mock.patch.object(engine, "compile_unit", side_effect=ValueError("valeur inattendue")):
        with pytest.raises(ValueError):
            tasks.compile_evaluation_unit.apply(args=[run.pk, "dep:13"]).get()
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error == "La compilation a échoué pendant l'unité « dep:13 » : ValueError — valeur inattendue"


def test_compile_command(db, capsys):
    build_territory(2)
    call_command("compile_evaluation", "--year", str(YEAR), "--departement", "13", "--sync")
    out = capsys.readouterr().out
    assert "La compilation porte sur toute l'année, pour tous les territoires" in out
    assert "Compilation 2017 — National (terminée)" in out and "lignes de résultats, 104 unités" in out
    with pytest.raises(CommandError, match="Département inconnu"):
        call_command("compile_evaluation", "--year", str(YEAR), "--departement", "99", "--sync")


def test_the_queries_of_a_unit_do_not_grow_with_the_data(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    build_territory(3)

    def queries():
        run = EvaluationRun.objects.create(year=YEAR, units=["dep:13", "national"], units_total=2)
        with CaptureQueriesContext(connection) as captured:
            runs.run_unit(run.pk, "dep:13")
        return len(captured)

    small = queries()
    for _ in range(30):
        add_action("13")
    assert queries() == small < 30


def test_results_and_runs_follow_the_scoping_policy(db):
    build_territory(2)
    run = runs.start_run(YEAR, sync=True)
    herault = departement("13")
    prefecture = OrganisationFactory(name="Préfecture testée", departements=[herault])
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Partenaire", departements=[herault])
    national_org = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")

    def scope(organisation):
        return Scope.for_membership(MembershipFactory(organisation=organisation))

    everything = AnnualResult.objects.filter(run=run)
    assert AnnualResult.objects.visible_to(scope(national_org)).filter(run=run).count() == everything.count()

    seen = AnnualResult.objects.visible_to(scope(prefecture)).filter(run=run)
    assert set(seen.values_list("scope_type", flat=True)) <= {
        "national",
        "region",
        "departement",
        "qpv",
        "club",
        "convention",
        "company",
    }
    assert set(seen.filter(scope_type="departement").values_list("scope_key", flat=True)) == {herault.code}
    assert seen.filter(scope_type="national").exists()

    partner_rows = AnnualResult.objects.visible_to(scope(partner)).filter(run=run)
    assert not partner_rows.filter(scope_type__in=["company", "convention", "club"]).exists()
    assert partner_rows.filter(scope_type="departement", scope_key=herault.code).exists()
    assert AnnualResult.objects.visible_to(Scope.none()).count() == 0

    assert list(EvaluationRun.objects.visible_to(scope(prefecture))) == [run]
    assert EvaluationRun.objects.visible_to(Scope.none()).count() == 0


def test_a_broker_out_of_reach_fails_the_run_instead_of_blocking_the_next(db, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError as BrokerDown

    with mock.patch("celery.chord", side_effect=BrokerDown("connexion refusée")):
        with pytest.raises(BrokerDown):
            with django_capture_on_commit_callbacks(execute=True):
                runs.start_run(YEAR, trigger=EvaluationRun.Trigger.PORTAL)
    lost = EvaluationRun.objects.get()
    assert lost.status == Status.FAILED
    assert lost.error == "La compilation n'a pas pu être confiée aux workers (courtier injoignable) : connexion refusée"
    assert runs.start_run(YEAR, sync=True) != lost
