"""Each département beside the others (issue 15 item 5, methodology §14).

The figures are checked against an oracle written from the methodology, not from `evaluation.reports.compare`:
it reads the published run's rows one by one, the open data's published cells for the secrecy of a family row,
sums the QPV populations in Python and interpolates the quartiles itself. Then: a hidden cell changes nothing
the comparison shows, a group under five départements shows no quartile, the queries do not grow with the
number of départements, and the readers are those of the report.
"""

import datetime
import math
import random
import re
from collections import defaultdict

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from charte.catalogue.models import Family, Indicator
from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from charte.territoires.models import QPV, Departement
from evaluation.engine import runs
from evaluation.models import AnnualResult, EvaluationRun
from evaluation.reports import compare, opendata, reports, secrecy
from tests.factories import MembershipFactory, OrganisationFactory, QPVFactory, departement

YEAR = 2017
OCCITANIE = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
ELSEWHERE = ["13", "06", "69", "75", "59"]
FIELDS = {
    "actions": "actions_count",
    "beneficiaires": "beneficiaries",
    "beneficiaires_qpv": "beneficiaries_qpv",
    "entreprises_ayant_declare": "companies_reporting",
}
PER_QPV_ONLY_NOT = {"entreprises_ayant_declare"}  # compared per signatory company only


# --- the oracle, from the methodology ---------------------------------------------------------------------


def quartile(values, q):
    """Linear interpolation at rank 1 + q (n - 1) / 4 of the sorted values (methodology §14)."""
    xs = sorted(values)
    h = q * (len(xs) - 1) / 4
    low = math.floor(h)
    if low + 1 >= len(xs):
        return xs[low]
    return xs[low] + (h - low) * (xs[low + 1] - xs[low])


def small(value):
    return value is not None and 1 <= value <= 4


def oracle(year, code):
    """{key: (own value, {group: (count, (q1, median, q3) or None)})} for the département `code`."""
    run = EvaluationRun.objects.filter(year=year, scope_type="national", status="succeeded").order_by("-pk").first()
    rows = list(AnnualResult.objects.filter(run=run, scope_type="departement").select_related("family", "indicator"))
    published = {(r["departement_code"], r["famille_code"]): r for r in opendata.open_data_rows(year)}
    population = defaultdict(int)
    for qpv in QPV.objects.filter(generation=2015).select_related("departement"):
        population[qpv.departement.code] += qpv.population or 0
    region_of = {d.code: d.region_id for d in Departement.objects.all()}
    totals = {r.scope_key: r for r in rows if r.family_id is None and r.indicator_id is None}
    companies = {key: row.companies_expected for key, row in totals.items()}

    values = defaultdict(dict)  # key -> {département: (value, public)}

    def put(key, dep, number, denominator, public):
        if number is None or not denominator:
            values[key][dep] = (None, False)
            return
        ratio = float(number) * 10000 / denominator if key[3] == "qpv" else float(number) / denominator
        values[key][dep] = (ratio, public)

    for row in rows:
        dep = row.scope_key
        denominators = {"qpv": population[dep], "entreprise": companies.get(dep)}
        if row.indicator_id is not None:
            # An indicator across all families is not compared (methodology §14: the indicators of a family).
            if row.indicator.aggregation == Indicator.Aggregation.RATIO or row.family_id is None:
                continue
            for kind in ("qpv", "entreprise"):
                public = not small(row.companies_reporting) and not (kind == "entreprise" and small(companies.get(dep)))
                put(
                    (row.family.code, row.indicator_id, "declared_validated_value", kind),
                    dep,
                    row.declared_validated_value,
                    denominators[kind],
                    public,
                )
            continue
        for measure, field in FIELDS.items():
            number = getattr(row, field)
            if row.family_id is None:
                hidden = small(number)
                if measure == "entreprises_ayant_declare" and number is not None and row.companies_expected is not None:
                    hidden = hidden or small(row.companies_expected - number)
            else:
                hidden = published[(dep, row.family.code)][measure] is None
            for kind in ("entreprise",) if measure in PER_QPV_ONLY_NOT else ("qpv", "entreprise"):
                public = not hidden and not (kind == "entreprise" and small(companies.get(dep)))
                put((row.family.code if row.family_id else "", None, measure, kind), dep, number, denominators[kind], public)

    expected = {}
    for key, by_dep in values.items():
        groups = {}
        for name, members in (("region", {d for d in region_of if region_of[d] == region_of[code]}), ("france", set(region_of))):
            counted = [v for d, (v, public) in by_dep.items() if d in members and public and v is not None]
            stats = tuple(quartile(counted, q) for q in (1, 2, 3)) if len(counted) >= 5 else None
            groups[name] = (len(counted), stats)
        expected[key] = (by_dep.get(code, (None, False))[0], groups)
    return expected


def expected_position(value, stats):
    if value is None or stats is None:
        return None
    q1, median, q3 = stats
    if value > q3:
        return "dans le quart supérieur"
    if value > median:
        return "au-dessus de la médiane"
    if value == median:
        return "à la médiane"
    if value >= q1:
        return "au-dessous de la médiane"
    return "dans le quart inférieur"


# --- published sets -----------------------------------------------------------------------------------------


def publish(rng, codes, year=YEAR, small_share=0.25, qpv_min=0):
    """A published national run whose département rows are drawn at random: family rows whose totals are the
    all-families row (additive counts), companies and indicator rows, some of them small (1 to 4)."""
    run = EvaluationRun.objects.create(
        year=year, scope_type="national", status="succeeded", finished_at=timezone.make_aware(datetime.datetime(2018, 3, 1))
    )
    families = list(Family.objects.order_by("position")[:3])
    indicators = {
        f.pk: list(Indicator.objects.filter(aggregation="sum", action_types__family=f).distinct()[:2]) for f in families
    }

    def count(low=5, high=60):
        return rng.randint(1, 4) if rng.random() < small_share else rng.randint(low, high)

    rows = []

    def row(code, **values):
        rows.append(AnnualResult(run=run, unit=code, year=year, scope_type="departement", scope_key=code, **values))

    for code in codes:
        for q in range(rng.randint(qpv_min, 3)):
            QPVFactory(code=f"QP0{code}{q:03d}", departement=departement(code), population=rng.randint(800, 9000))
        expected = rng.choice([0, rng.randint(1, 4), rng.randint(5, 20), rng.randint(5, 20)])
        total = {"actions_count": 0, "beneficiaries": 0, "beneficiaries_qpv": 0}
        for family in families:
            actions, beneficiaries = count(), count(5, 400)
            qpv = rng.randint(0, beneficiaries)
            row(
                code,
                family=family,
                actions_count=actions,
                beneficiaries=beneficiaries,
                beneficiaries_qpv=qpv,
                companies_expected=expected,
                companies_reporting=rng.randint(0, expected),
            )
            total["actions_count"] += actions
            total["beneficiaries"] += beneficiaries
            total["beneficiaries_qpv"] += qpv
            for indicator in indicators[family.pk]:
                row(
                    code,
                    family=family,
                    indicator=indicator,
                    declared_validated_value=rng.randint(0, 300),
                    companies_reporting=rng.choice([0, 2, 5, 6, 9]),
                )
        row(code, companies_expected=expected, companies_reporting=rng.randint(0, expected), **total)
    AnnualResult.objects.bulk_create(rows)
    cache.clear()
    return run


def report_of(code, year=YEAR):
    scope = Scope(kind="national")
    return reports.build(scope, "departement", code, year, code)


def assert_matches_oracle(code, year=YEAR):
    comparison = compare.build(report_of(code, year))
    expected = oracle(year, code)
    assert comparison.blocks
    seen = 0
    for block in comparison.blocks:
        for row in block.rows:
            own, groups = expected[row.key]
            assert row.value == pytest.approx(own), row.label
            for group, name in ((row.region, "region"), (row.france, "france")):
                count, stats = groups[name]
                assert group.count == count, (row.label, name)
                if stats is None:
                    assert group.stats is None
                else:
                    assert group.stats == pytest.approx(stats), (row.label, name)
            assert row.region_position == expected_position(own, groups["region"][1])
            assert row.france_position == expected_position(own, groups["france"][1])
            seen += 1
    # Every count of every family (and all families) of the département is there, with both denominators.
    families = {key[0] for key in expected if key[1] is None and expected[key][0] is not None}
    count_keys = {key for key in expected if key[1] is None and key[0] in families}
    assert count_keys <= {row.key for block in comparison.blocks for row in block.rows}
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_the_comparison_equals_an_independent_computation(db, seed):
    rng = random.Random(seed)
    codes = OCCITANIE[: rng.randint(3, 13)] + ELSEWHERE[: rng.randint(0, 5)]
    publish(rng, codes)
    for code in rng.sample(codes, 3):
        assert assert_matches_oracle(code) > 10


def test_the_demo_comparison_equals_an_independent_computation(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    run = runs.start_run(YEAR, sync=True)
    assert run.status == "succeeded", run.error
    shown = 0
    for code in ("11", "34", "66"):
        assert_matches_oracle(code)
        comparison = compare.build(report_of(code))
        shown += sum(1 for block in comparison.blocks for row in block.rows if row.region.stats)
    assert shown > 10  # the demo's five Occitan départements make a région group with quartiles


# --- secrecy ------------------------------------------------------------------------------------------------


def comparison_section(client, code):
    html = client.get(f"/rapports/departement/{code}/", {"annee": YEAR}).content.decode()
    return html.split('id="comparaison"')[1].split("</section>")[0]


def login_prefecture(client, codes):
    organisation = OrganisationFactory(name="Préfecture " + "-".join(codes), departements=[departement(c) for c in codes])
    client.force_login(MembershipFactory(organisation=organisation).user)


def cells_of(run):
    return {
        (r.scope_key, r.family.code): {code: getattr(r, field) for code, field in opendata.FIELDS.items()}
        for r in AnnualResult.objects.filter(run=run, scope_type="departement", indicator=None).exclude(family=None)
    }


def test_a_hidden_cell_changes_nothing_the_comparison_shows(client, db):
    """Another département's hidden family cells are moved (their row total kept, as the open data's known margin
    is): the page of a département of the same région is the same, to the byte. Neither their values nor anything
    derived from them shows."""
    rng = random.Random(3)
    run = publish(rng, OCCITANIE + ELSEWHERE, small_share=0.3)
    suppression = secrecy.suppress(cells_of(run))
    hidden_rows = defaultdict(list)
    for (dep, family), reasons in suppression.hidden.items():
        if secrecy.ACTIONS in reasons:
            hidden_rows[dep].append(family)
    target = next(dep for dep, families in sorted(hidden_rows.items()) if len(families) >= 2 and dep != "34")
    login_prefecture(client, ["34"])
    before = comparison_section(client, "34")
    assert "Actions pour 10 000 habitants des QPV" in before

    first, second = hidden_rows[target][:2]
    rows = {r.family.code: r for r in AnnualResult.objects.filter(run=run, scope_key=target, indicator=None).exclude(family=None)}
    rows[first].actions_count, rows[second].actions_count = rows[second].actions_count, rows[first].actions_count
    if rows[first].actions_count == rows[second].actions_count:
        rows[first].actions_count += 1
        rows[second].actions_count -= 1
    for row in (rows[first], rows[second]):
        row.save(update_fields=["actions_count"])
    # The open data hides the same cells after the change (what is public did not move).
    assert secrecy.suppress(cells_of(run)).hidden.keys() == suppression.hidden.keys()
    cache.clear()  # a published run never changes: the statistics are cached per run, recomputed here
    assert comparison_section(client, "34") == before

    # An indicator value resting on 1 to 4 companies counts nowhere either.
    few = (
        AnnualResult.objects.filter(run=run, scope_type="departement", companies_reporting__in=[2])
        .exclude(indicator=None)
        .exclude(scope_key="34")  # its own value, shown to its reader (marked out of the statistics)
    )
    assert few.exists()
    few.update(declared_validated_value=987654)
    cache.clear()
    assert comparison_section(client, "34") == before


def test_the_departement_sees_its_own_hidden_value_marked_out_of_the_statistics(db):
    rng = random.Random(5)
    publish(rng, OCCITANIE, small_share=0.5)
    found = False
    for code in OCCITANIE:
        for block in compare.build(report_of(code)).blocks:
            for row in block.rows:
                if row.hidden:
                    found = True
                    assert row.value is not None and not row.counted
    assert found


def test_groups_under_five_departements_show_no_quartile(client, db):
    publish(random.Random(1), ["11", "30", "34", "66"], small_share=0, qpv_min=1)
    comparison = compare.build(report_of("34"))
    rows = [row for block in comparison.blocks for row in block.rows]
    assert rows and all(row.region.stats is None and row.france.stats is None for row in rows)
    assert all(row.region_position is None for row in rows)
    login_prefecture(client, ["34"])
    section = re.sub(r"\s+", " ", comparison_section(client, "34"))
    assert "— (moins de 5 départements)" in section
    assert "quart supérieur" not in section and "médiane" not in section.split("</thead>")[1]

    # A fifth département with figures: the quartiles appear.
    EvaluationRun.objects.all().delete()
    publish(random.Random(1), ["11", "30", "34", "66", "31"], small_share=0, qpv_min=1)
    rows = [row for block in compare.build(report_of("34")).blocks for row in block.rows]
    assert any(row.region.stats for row in rows)


# --- readers and queries ------------------------------------------------------------------------------------


def test_prefecture_and_partner_read_it_on_their_departement_only(client, db):
    publish(random.Random(2), OCCITANIE, small_share=0)
    login_prefecture(client, ["11"])
    section = comparison_section(client, "11")
    assert 'href="/methodologie/#comparaison-entre-departements"' in section
    assert "<caption>" in section and 'scope="row"' in section and 'scope="colgroup"' in section
    assert client.get("/rapports/departement/34/", {"annee": YEAR}).status_code == 404
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Région partenaire", departements=[departement("66")])
    client.force_login(MembershipFactory(organisation=partner).user)
    assert "Région Occitanie" in comparison_section(client, "66")
    assert client.get("/rapports/departement/34/rapport.xlsx", {"annee": YEAR}).status_code == 404
    # Not on a région's report, which has no group to be compared with here.
    html = client.get("/rapports/region/76/", {"annee": YEAR}).content.decode()
    assert 'id="comparaison"' not in html


def test_the_xlsx_has_the_comparison_sheet(client, db):
    publish(random.Random(4), OCCITANIE, small_share=0, qpv_min=1)
    login_prefecture(client, ["34"])
    from io import BytesIO

    from openpyxl import load_workbook

    response = client.get("/rapports/departement/34/rapport.xlsx", {"annee": YEAR})
    sheet = load_workbook(BytesIO(response.content))["Comparaison"]
    comparison = compare.build(report_of("34"))
    rows = [row for block in comparison.blocks for row in block.rows]
    header = next(r for r in range(1, 10) if sheet.cell(row=r, column=1).value == "Famille")
    assert sheet.cell(row=header + 1, column=2).value == rows[0].label
    index, shown = next((n, row) for n, row in enumerate(rows) if row.region.stats and row.value is not None)
    line = header + 1 + index
    assert sheet.cell(row=line, column=2).value == shown.label
    assert sheet.cell(row=line, column=3).value == round(shown.value, 2)
    assert sheet.cell(row=line, column=8).value == round(shown.region.median, 2)
    assert sheet.cell(row=line, column=4).value == shown.region_position


def test_the_comparison_reads_a_fixed_number_of_queries(db):
    publish(random.Random(6), ["11", "30", "31", "34", "66"])
    report = report_of("34")
    with CaptureQueriesContext(connection) as few:
        compare.build(report)
    AnnualResult.objects.all().delete()
    EvaluationRun.objects.all().delete()
    publish(random.Random(6), OCCITANIE + ELSEWHERE)
    report = report_of("34")
    with CaptureQueriesContext(connection) as many:
        compare.build(report)
    assert len(few) == len(many) == 2
    # Once per run: the next report of the same run reads nothing more; another run is computed afresh.
    other = report_of("11")
    with CaptureQueriesContext(connection) as again:
        compare.build(other)
    assert len(again) == 0
    AnnualResult.objects.all().delete()
    EvaluationRun.objects.all().delete()
    publish(random.Random(7), OCCITANIE + ELSEWHERE)
    report = report_of("34")
    with CaptureQueriesContext(connection) as fresh:
        compare.build(report)
    assert len(fresh) == 2
