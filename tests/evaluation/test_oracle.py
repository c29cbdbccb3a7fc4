"""The compiled figures against an independent, straightforward computation.

For several seeds, a random small territory (2-3 départements over two régions, clubs, companies with and
without commune, conventions of every kind and status over 2015-2018 with commitments and targets, actions
with their companies, QPV and counts, declarations of 2016 and 2017 in every status) is compiled for 2017 by
a national run; every row of every scope is then recomputed here in plain Python, with loops, from the rows
of the database, following the definitions of `evaluation.engine.compile`, N-1 and ratios included.
"""

import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import OrganisationKind
from charte.territoires.models import Departement
from conventions import realised
from conventions.models import Action, Commitment, Convention, Target
from evaluation.engine import runs
from evaluation.models import AnnualResult, Campaign, Declaration, DeclarationValue, EvaluationRun
from tests.factories import CommuneFactory, CompanyFactory, ConventionFactory, OrganisationFactory, QPVFactory, departement

YEAR, PREV = 2017, 2016
ENTITY_SCOPES = ("convention", "company", "qpv")
# A convention or a company has indicator rows only for what it committed to: a declared value or a target.
COMMITTED_SCOPES = ("convention", "company")
# Seeds whose random territory exercises every rule checked at the end of the test (seed 5: no 2016 campaign).
SEEDS = [1, 4, 5, 7, 9, 10]


# --- a random territory ----------------------------------------------------------------------------------


def build_territory(seed):
    rng = random.Random(seed)
    codes = rng.sample(["34", "30", "11", "13"], k=rng.choice([2, 3]))
    if "13" not in codes:
        codes[-1] = "13"  # two régions: Occitanie and Provence-Alpes-Côte d'Azur
    deps = [departement(code) for code in codes]
    communes = {d.code: [CommuneFactory(code=f"{d.code}{n:03d}", departement=d) for n in (1, 2)] for d in deps}
    qpvs = [QPVFactory(code=f"QP0{d.code}{n:03d}", departement=d) for d in deps for n in (1, 2, 3)]
    clubs = [
        OrganisationFactory(kind=OrganisationKind.CLUB, name=f"Club {seed}-{n}", departements=deps[: n + 1]) for n in range(2)
    ]
    prefecture = OrganisationFactory(name=f"Préfecture {seed}", departements=deps)
    companies = [
        CompanyFactory(commune=rng.choice([None, *[c for cs in communes.values() for c in cs]])) for _ in range(rng.randint(6, 8))
    ]
    families = list(Family.objects.all())
    types_by_family = defaultdict(list)
    for action_type in ActionType.objects.all():
        types_by_family[action_type.family_id].append(action_type)
    declarable = list(Indicator.objects.filter(aggregation=Indicator.Aggregation.SUM))

    conventions = []
    for n in range(rng.randint(9, 11)):
        kind = rng.choice(["local", "local", "local", "collective", "national", "framework"])
        status = rng.choice(["active", "active", "active", "expired", "draft", "signed", "terminated"])
        start_year = rng.choice([2015, 2016, 2016, 2017])
        end_year = rng.choice([y for y in (2016, 2017, 2018, 2018) if y >= start_year])
        extra = {}
        if status == "terminated":
            extra = {
                "termination_reason": "Cessation d'activité",
                "status_changed_at": rng.choice(
                    [None, timezone.make_aware(datetime.datetime(2016, 6, 1)), timezone.make_aware(datetime.datetime(2017, 3, 1))]
                ),
            }
        convention = ConventionFactory(
            reference=f"ORA-{seed}-{n}",
            kind=kind,
            status=status,
            departement=None if kind == "national" else rng.choice(deps),
            club=rng.choice([None, *clubs]),
            start_date=datetime.date(start_year, rng.randint(1, 12), 1),
            end_date=datetime.date(end_year, 12, 31),
            **extra,
        )
        convention.companies.set(rng.sample(companies, k=2 if kind == "collective" else 1))
        for _ in range(rng.randint(1, 3)):
            family = rng.choice(families)
            commitment = Commitment.objects.create(
                convention=convention, family=family, action_type=rng.choice([None, *types_by_family[family.pk]])
            )
            for year in (PREV, YEAR):
                if start_year <= year <= end_year:
                    for indicator in rng.sample(declarable, k=rng.randint(0, 2)):
                        Target.objects.create(
                            commitment=commitment, indicator=indicator, year=year, value=Decimal(rng.randint(0, 4000)) / 4
                        )
        conventions.append(convention)

    action_types = list(ActionType.objects.all())
    for n in range(rng.randint(40, 70)):
        total = rng.randint(0, 25)
        action = Action.objects.create(
            action_type=rng.choice(action_types),
            title=f"Action {n}",
            start_date=datetime.date(rng.choice([2015, 2016, 2016, 2017, 2017, 2018]), rng.randint(1, 12), rng.randint(1, 28)),
            departement=rng.choice(deps),
            club=rng.choice([None, *clubs]),
            convention=rng.choice([None, None, *conventions]),
            beneficiaries_total=total,
            beneficiaries_qpv=rng.randint(0, total),
            employees_involved=rng.randint(0, 5),
            hours=Decimal(rng.randint(0, 80)) / 2,
        )
        action.companies.set(rng.sample(companies, k=rng.randint(0, 2)))
        action.qpvs.set(rng.sample(qpvs, k=rng.randint(0, 2)))

    # Campaign coverage varies with the seed (methodology §3): 2017 national (every convention, national ones
    # included) or a préfecture's on all départements but one; 2016 on the first two départements, or none.
    campaigns = {}
    for year, covered in ((YEAR, None if seed % 2 else deps[:-1]), (PREV, deps[:2] if seed != 5 else False)):
        if covered is False:
            continue
        campaigns[year] = Campaign.objects.create(
            year=year,
            title=f"Campagne {year}",
            organisation=prefecture,
            opens_on=datetime.date(year + 1, 1, 15),
            reminder_on=datetime.date(year + 1, 3, 1),
            closes_on=datetime.date(year + 1, 3, 31),
        )
        campaigns[year].departements.set(covered or [])
    beneficiaries, residents = Indicator.objects.get(code="BENEFICIAIRES"), Indicator.objects.get(code="BENEFICIAIRES_QPV")
    others = [i for i in declarable if i not in (beneficiaries, residents)]
    for convention in conventions:
        commitments = list(convention.commitments.all())
        for company in convention.companies.all():
            for year in (PREV, YEAR):
                if rng.random() < 0.15 or year not in campaigns:
                    continue
                status = rng.choice(["draft", "submitted", "submitted", "validated", "validated", "validated", "returned"])
                declaration = Declaration.objects.create(
                    campaign=campaigns[year],
                    convention=convention,
                    company=company,
                    status=status,
                    return_comment="À préciser" if status == "returned" else "",
                )
                for commitment in commitments:
                    drawn = {
                        indicator: rng.choice([None, Decimal(rng.randint(0, 2000)) / 4, Decimal(rng.randint(0, 50))])
                        for indicator in rng.sample(others, k=rng.randint(1, 3))
                    }
                    if rng.random() < 0.5:
                        # Both terms of the QPV share, one of them sometimes left empty (never more residents).
                        total = Decimal(rng.randint(0, 60))
                        drawn[beneficiaries] = rng.choice([total, total, None])
                        drawn[residents] = rng.choice([Decimal(rng.randint(0, int(total))), None])
                    for indicator, value in drawn.items():
                        DeclarationValue.objects.create(
                            declaration=declaration, commitment=commitment, indicator=indicator, value=value
                        )


# --- the oracle ------------------------------------------------------------------------------------------


def campaign_coverage():
    """{year: (national campaign?, départements covered)} (methodology §3)."""
    coverage = {}
    for campaign in Campaign.objects.prefetch_related("departements"):
        national, covered = coverage.get(campaign.year, (False, set()))
        departements = {d.pk for d in campaign.departements.all()}
        coverage[campaign.year] = (national or not departements, covered | departements)
    return coverage


def convention_covered(convention, year, coverage):
    national, covered = coverage.get(year, (False, set()))
    return national or convention.departement_id in covered


def is_expected(convention, year, coverage):
    """Methodology §3, restated: companies, not a framework charter, running during the year, really ran (a
    terminated convention only with a termination date on or after 1 January), covered by a campaign."""
    if not convention.companies.all() or convention.kind == "framework":
        return False
    if not convention.start_date.year <= year <= convention.end_date.year:
        return False
    start = timezone.make_aware(datetime.datetime(year, 1, 1))
    ran = convention.status in ("active", "expired") or (
        convention.status == "terminated" and convention.status_changed_at is not None and convention.status_changed_at >= start
    )
    return ran and convention_covered(convention, year, coverage)


def convention_scopes(convention):
    """The scopes a convention's declarations and targets count in: a national convention has no département."""
    scopes = [("national", "")]
    if convention.departement_id:
        scopes += [("region", convention.departement.region.code), ("departement", convention.departement.code)]
    if convention.club_id:
        scopes.append(("club", str(convention.club_id)))
    scopes.append(("convention", str(convention.pk)))
    return scopes


class Cell:
    def __init__(self):
        self.declared = self.validated = self.rated = self.target = None
        self.computed = Decimal(0)
        self.actions = self.beneficiaries = self.beneficiaries_qpv = 0
        self.expected, self.reporting = set(), set()
        # A ratio row's paired terms (declared, validated).
        self.pn = self.pd = self.pnv = self.pdv = None


def add(total, value):
    return value if total is None else total + value


def oracle():
    measurable = {i.pk: realised.measure_for(i.code) for i in Indicator.objects.all() if realised.measure_for(i.code)}
    generic = set(Indicator.objects.filter(code__in=["BENEFICIAIRES", "BENEFICIAIRES_QPV"]).values_list("pk", flat=True))
    ratio = Indicator.objects.get(aggregation="ratio")  # PART_BENEFICIAIRES_QPV: residents / beneficiaries
    suggested = {t.pk: {i.pk for i in t.indicators.all()} for t in ActionType.objects.prefetch_related("indicators")}
    family_of_type = dict(ActionType.objects.values_list("pk", "family_id"))
    coverage = campaign_coverage()
    cells = defaultdict(lambda: {YEAR: Cell(), PREV: Cell()})
    committed = set()  # (scope type, scope key, family, indicator) with a declared value or a target
    with_actions = set()  # (scope type, scope key, family) with actions in N or N-1

    def levels(scope_type, family, indicator):
        # Conventions, companies and QPV have no "all families x indicator" rows.
        if scope_type in ENTITY_SCOPES:
            return [(family, indicator), (family, None), (None, None)]
        return [(family, indicator), (None, indicator), (family, None), (None, None)]

    def ratio_levels(scope_type, family):
        return [family] if scope_type in ENTITY_SCOPES else [family, None]

    # Actions (§5, §6): generic indicators on every action of the family, the others on the suggesting types.
    for action in Action.objects.select_related("departement__region").prefetch_related("companies", "qpvs"):
        year = action.start_date.year
        if year not in (YEAR, PREV):
            continue
        scopes = [("national", ""), ("region", action.departement.region.code), ("departement", action.departement.code)]
        if action.club_id:
            scopes.append(("club", str(action.club_id)))
        if action.convention_id:
            scopes.append(("convention", str(action.convention_id)))
        scopes += [("company", str(c.pk)) for c in action.companies.all()]
        scopes += [("qpv", q.code) for q in action.qpvs.all()]
        family = family_of_type[action.action_type_id]
        keys = [(None, None), (family, None)]
        measures = {}
        for indicator_id in (suggested[action.action_type_id] & set(measurable)) | generic:
            measure = measurable[indicator_id]
            value = 1 if measure == realised.ACTIONS else getattr(action, measure)
            for key in ((family, indicator_id), (None, indicator_id)):
                keys.append(key)
                measures[key] = Decimal(value)
        for scope in scopes:
            with_actions.update({(*scope, family), (*scope, None)})
            for key in keys:
                if scope[0] in ENTITY_SCOPES and key[0] is None and key[1] is not None:
                    continue
                cell = cells[(*scope, *key)][year]
                cell.actions += 1
                cell.beneficiaries += action.beneficiaries_total
                cell.beneficiaries_qpv += action.beneficiaries_qpv
                cell.computed += measures.get(key, 0)

    conventions = {c.pk: c for c in Convention.objects.select_related("departement__region").prefetch_related("companies")}
    commitments = {c.pk: c for c in Commitment.objects.all()}
    targets = list(Target.objects.all())
    targeted = {(commitments[t.commitment_id].convention_id, commitments[t.commitment_id].family_id, t.indicator_id, t.year)
                for t in targets}  # fmt: skip
    expected = {(pk, year) for pk, c in conventions.items() for year in (YEAR, PREV) if is_expected(c, year, coverage)}

    # Declared lines (§2-§4, §7): transmitted or validated declarations of conventions expected that year.
    lines = defaultdict(dict)  # (declaration, commitment) -> {indicator: value}
    for value in DeclarationValue.objects.select_related("declaration"):
        declaration = value.declaration
        year = declaration.year
        convention = conventions[declaration.convention_id]
        if declaration.status not in ("submitted", "validated") or (convention.pk, year) not in expected:
            continue
        lines[(declaration, value.commitment_id)][value.indicator_id] = value.value
        scopes = convention_scopes(convention) + [("company", str(declaration.company_id))]
        family = commitments[value.commitment_id].family_id
        party = declaration.company_id in {c.pk for c in convention.companies.all()}
        for scope in scopes:
            for key in levels(scope[0], family, value.indicator_id):
                committed.add((*scope, *key))
                cell = cells[(*scope, *key)][year]
                if value.value is None:
                    continue
                cell.declared = add(cell.declared, value.value)
                if declaration.status == "validated":
                    cell.validated = add(cell.validated, value.value)
                    if not (scope[0] == "company" and convention.kind == "collective"):
                        cell.rated = add(cell.rated, value.value)
                # Reporting ⊆ expected: party to the convention; on an indicator row, a target of it for that row.
                on_target = (convention.pk, family, value.indicator_id, year) in targeted
                if party and (key[1] is None or on_target):
                    cell.reporting.add(declaration.company_id)
            if value.indicator_id in (ratio.numerator_id, ratio.denominator_id):
                for fam in ratio_levels(scope[0], family):
                    committed.add((*scope, fam, ratio.pk))
                    cells[(*scope, fam, ratio.pk)]  # the row exists
    for (declaration, commitment_id), values in lines.items():
        part, whole = values.get(ratio.numerator_id), values.get(ratio.denominator_id)
        if part is None or whole is None:
            continue
        convention = conventions[declaration.convention_id]
        family = commitments[commitment_id].family_id
        for scope in convention_scopes(convention) + [("company", str(declaration.company_id))]:
            for fam in ratio_levels(scope[0], family):
                cell = cells[(*scope, fam, ratio.pk)][declaration.year]
                cell.pn, cell.pd = add(cell.pn, part), add(cell.pd, whole)
                if declaration.status == "validated":
                    cell.pnv, cell.pdv = add(cell.pnv, part), add(cell.pdv, whole)

    # Targets and expected companies.
    for year in (YEAR, PREV):
        for convention in conventions.values():
            if (convention.pk, year) not in expected:
                continue
            company_ids = [c.pk for c in convention.companies.all()]
            for company_id in company_ids:
                for scope in convention_scopes(convention) + [("company", str(company_id))]:
                    cells[(*scope, None, None)][year].expected.add(company_id)
            for commitment in commitments.values():
                if commitment.convention_id != convention.pk:
                    continue
                for company_id in company_ids:
                    for scope in convention_scopes(convention) + [("company", str(company_id))]:
                        cells[(*scope, commitment.family_id, None)][year].expected.add(company_id)
                for target in [t for t in targets if t.commitment_id == commitment.pk and t.year == year]:
                    # A collective target is not one of its companies' own (§4).
                    own = [] if convention.kind == "collective" else [("company", str(c)) for c in company_ids]
                    for scope in convention_scopes(convention) + own:
                        for key in levels(scope[0], commitment.family_id, target.indicator_id):
                            committed.add((*scope, *key))
                            cell = cells[(*scope, *key)][year]
                            if key[1] is not None:
                                cell.target = add(cell.target, target.value)
                        if target.indicator_id in (ratio.numerator_id, ratio.denominator_id):
                            for fam in ratio_levels(scope[0], commitment.family_id):
                                committed.add((*scope, fam, ratio.pk))
                                cells[(*scope, fam, ratio.pk)]
                    for company_id in company_ids:
                        for scope in convention_scopes(convention) + [("company", str(company_id))]:
                            for key in [
                                k for k in levels(scope[0], commitment.family_id, target.indicator_id) if k[1] is not None
                            ]:
                                cells[(*scope, *key)][year].expected.add(company_id)

    # Ratio rows where the scope has actions of the family.
    for scope_type, scope_key, family in with_actions:
        if family is not None or scope_type not in ENTITY_SCOPES:
            cells[(scope_type, scope_key, family, ratio.pk)]

    def covered(scope_type, scope_key, year):
        national, departements = coverage.get(year, (False, set()))
        if scope_type == "national":
            return year in coverage
        if scope_type == "departement":
            return national or Departement.objects.get(code=scope_key).pk in departements
        if scope_type == "region":
            return national or Departement.objects.filter(region__code=scope_key, pk__in=departements).exists()
        if scope_type == "club":
            of_scope = [c for c in conventions.values() if str(c.club_id) == scope_key]
        elif scope_type == "convention":
            of_scope = [conventions[int(scope_key)]]
        else:
            of_scope = [c for c in conventions.values() if int(scope_key) in {x.pk for x in c.companies.all()}]
        return any(convention_covered(c, year, coverage) for c in of_scope)

    offered = set(Indicator.objects.filter(aggregation="sum", nature="offered").values_list("pk", flat=True))
    summed = set(Indicator.objects.filter(aggregation="sum").values_list("pk", flat=True))

    def percent(n, d):
        return Decimal(100) * Decimal(n) / Decimal(d) if n is not None and d else None

    expected_rows, uncommitted = {}, 0
    for (scope_type, scope_key, family, indicator), by_year in cells.items():
        key = (scope_type, scope_key, family, indicator)
        if scope_type in COMMITTED_SCOPES and indicator is not None and key not in committed:
            uncommitted += 1
            continue
        row = {}
        for year, prefix in ((YEAR, ""), (PREV, "prev_")):
            cell = by_year[year]
            if indicator == ratio.pk:
                row.update(dict.fromkeys((prefix + name for name in FIELDS if not name.startswith("prev_")), None))
                row[prefix + "declared_value"] = percent(cell.pn, cell.pd)
                row[prefix + "declared_validated_value"] = percent(cell.pnv, cell.pdv)
                overall = cells[(scope_type, scope_key, family, None)][year]
                has_actions = (scope_type, scope_key, family) in with_actions
                row[prefix + "computed_value"] = (
                    percent(overall.beneficiaries_qpv, overall.beneficiaries) if has_actions else None
                )
                continue
            on_indicator = indicator is not None
            action_row = indicator is None or indicator in measurable
            target = cell.target if on_indicator else None
            row[prefix + "declared_value"] = cell.declared if on_indicator else None
            row[prefix + "declared_validated_value"] = cell.validated if on_indicator else None
            row[prefix + "computed_value"] = cell.computed if indicator in measurable else None
            row[prefix + "target_value"] = target
            row[prefix + "attainment_rate"] = (
                # Methodology §4: 0 % while nothing is validated against a positive target.
                float((cell.rated or 0) / target) if on_indicator and target else None
            )
            has_companies = scope_type != "qpv" and covered(scope_type, scope_key, year)
            row[prefix + "companies_expected"] = len(cell.expected) if has_companies else None
            row[prefix + "companies_reporting"] = len(cell.reporting) if has_companies else None
            assert cell.reporting <= cell.expected, key
            row[prefix + "actions_count"] = cell.actions if action_row else None
            row[prefix + "beneficiaries"] = cell.beneficiaries if action_row else None
            row[prefix + "beneficiaries_qpv"] = cell.beneficiaries_qpv if action_row else None
            row[prefix + "qpv_share"] = cell.beneficiaries_qpv / cell.beneficiaries if action_row and cell.beneficiaries else None
        row["offered_value"] = row["declared_value"] if indicator in offered else None
        row["realised_value"] = row["declared_value"] if indicator in summed - offered else None
        expected_rows[key] = row
    return expected_rows, uncommitted


# The survey figures (methodology §14) have their oracle in tests/evaluation/oracle.py (property test); these
# territories have no survey, and the test checks that no survey figure is written for them.
SURVEY_FIELDS = {
    prefix + name
    for prefix in ("", "prev_")
    for name in ("respondents", "positive_answers", "people_reached", "positive_share", "response_rate")
}
FIELDS = [
    f.name
    for f in AnnualResult._meta.get_fields()
    if f.concrete
    and f.name not in ("id", "run", "unit", "year", "scope_type", "scope_key", "family", "indicator")
    and f.name not in SURVEY_FIELDS
]


def compiled(run):
    rows = {}
    for result in AnnualResult.objects.filter(run=run):
        key = (result.scope_type, result.scope_key, result.family_id, result.indicator_id)
        assert key not in rows, f"ligne en double : {key}"
        rows[key] = {name: getattr(result, name) for name in FIELDS}
    return rows


def same(expected, actual):
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        return abs(float(expected) - float(actual)) < 1e-9
    if isinstance(expected, Decimal):
        # Stored with two decimals: a ratio is rounded there.
        return abs(expected - Decimal(actual)) <= Decimal("0.005")
    return expected == actual


@pytest.mark.parametrize("seed", SEEDS)
def test_every_compiled_figure_matches_the_oracle(db, seed):
    build_territory(seed)
    run = runs.start_run(YEAR, sync=True)
    assert run.status == EvaluationRun.Status.SUCCEEDED and run.percent == 100

    (expected, uncommitted), actual = oracle(), compiled(run)
    # Actions measured indicators some conventions or companies did not commit to: those rows are left out.
    assert uncommitted > 0
    assert set(actual) == set(expected)
    mismatches = [
        (key, name, expected[key][name], actual[key][name])
        for key in expected
        for name in FIELDS
        if not same(expected[key][name], actual[key][name])
    ]
    assert mismatches == []
    assert not AnnualResult.objects.filter(run=run, respondents__isnull=False).exists()
    # The dataset exercised what matters: every scope type, N-1, ratios, validated subsets, targets.
    scope_types = {key[0] for key in actual}
    assert scope_types == {"national", "region", "departement", "club", "convention", "company", "qpv"}
    national = actual[("national", "", None, None)]
    assert national["actions_count"] > 0 and national["prev_actions_count"] > 0
    for name in ("declared_validated_value", "target_value", "companies_reporting", "computed_value"):
        assert any(row[name] or row[f"prev_{name}"] for row in actual.values()), name
    if seed != 5:  # seed 5 has no campaign of 2016: nothing declared, nobody expected
        assert any(row["declared_value"] is not None and row["prev_declared_value"] is not None for row in actual.values())
    else:
        assert all(row["prev_companies_expected"] is None for row in actual.values())
    ratio = Indicator.objects.get(aggregation="ratio").pk
    # Paired declared shares, and territories or entities no campaign covered ("—", not 0).
    shares = [row[f"{prefix}declared_value"] for key, row in actual.items() if key[3] == ratio for prefix in ("", "prev_")]
    assert any(share is not None for share in shares) and all(share <= 100 for share in shares if share is not None)
    assert any(
        row["companies_expected"] is None or row["prev_companies_expected"] is None
        for key, row in actual.items()
        if key[0] != "qpv" and key[3] != ratio
    )
