"""The figures of the annual evaluation recomputed from docs/methodologie.md, in plain Python.

Written from the methodology, not from the engine: loops over the ORM rows of the database, no SQL aggregate,
no import of `evaluation.engine`. `figures(N)` returns, for every scope (national, région, département, club,
convention, company, QPV) x family (None: all) x indicator (None: not about one indicator), the fields of
`AnnualResult` for N and N-1 (`prev_`) that the methodology defines. A field the methodology says nothing
about on a row is left out of the row (the test compares only what is here).

Rules, with their section of the methodology:

- §1: an action counts for the year of its start date.
- §2: a declaration counts in "declared" when submitted or validated, in "validated" when validated; draft and
  returned ones (reopened ones included: they went back to draft or stayed returned) count nowhere.
- §3: a convention is expected for year Y when it has a company, is not a framework charter, its start year
  <= Y <= its end year, it ran (active, expired, or terminated on or after 1 January Y, Paris time;
  terminated without a date: never) and a campaign of Y covers it (a national campaign covers every
  convention, a préfecture's the conventions of its départements). Expected companies of a row: distinct
  signatories of the expected conventions of the scope (family row: with a commitment in the family;
  indicator row: with a target of year Y for the indicator). Reporting companies: among them, those whose
  declaration of Y *for that same expected convention* is transmitted with a non-empty value of the row's
  family / indicator. A declaration of a convention that is not expected counts nowhere (§3, §4).
- §4: declared / validated / target: sums over the expected conventions of the scope, on indicator rows only
  (rows without indicator carry none). Attainment = validated / target when target > 0. Collective
  conventions: on a company's rows the targets are those of its individual conventions only (local,
  national), and its attainment compares its validated values under those conventions to them; what it
  declared under a collective convention is in its declared and validated values. In territories and clubs
  a collective target counts once. A declaration carries what was done under its own convention: no
  deduplication between a national convention and its declinations.
- §5: actions, beneficiaries, of whom QPV residents: the actions of the year where they took place
  (département, région, national), of the club that logged them, of the convention they implement, of each
  company that took part, of each QPV they concern; on family rows the actions of the family. Share = QPV
  residents / beneficiaries, empty without beneficiaries.
- §6: computed value: generic indicators BENEFICIAIRES and BENEFICIAIRES_QPV over every action of the
  family (all families on a row without family); an action-type indicator over the actions of the types that
  suggest it, with the measure of `MEASURES` below; indicators no action measures have none.
- §7: ratio indicator PART_BENEFICIAIRES_QPV (in %, as its unit says): computed = 100 x QPV residents /
  beneficiaries of the family row (same actions); declared (validated) = 100 x sum QPV / sum beneficiaries over
  the declaration lines (same declaration, same commitment) of counted (validated) declarations where both are
  filled in.
- §8: N-1 with the same rules (campaigns, expected conventions and statuses of N-1).
- §14: survey indicators (aggregation "survey"): per survey of an action of the year (the action's year and
  scopes, §5), for each indicator one of its questionnaire's national closed questions carries: respondents =
  responses with an approved, non-empty answer to such a question; positive = those with at least one answer
  3 or 4 on the scale, or yes; people reached = the people the club said it asked, else the personal links
  issued, else the action's beneficiaries, and at least the survey's responses. Summed over the surveys; share
  = positive / respondents, rate = respondents / reached (empty when the denominator is 0). No companies, no
  declared values on these rows. A convention or a company has the row of an indicator its surveyed actions ask.
- §9: a club counts the conventions it animates and the actions it logged (club memberships of companies do
  not matter); a company its declarations, the targets of its individual conventions and its actions; a QPV
  only actions. A national convention has no département: it counts at national level, in its club and for
  its companies.

Readings chosen where the methodology leaves room (each is said in the report of the property test):

- Attainment with a positive target and nothing validated is 0 (the methodology makes it empty only when the
  target is not positive); the validated sum itself stays empty (nothing to sum), like declared and target.
- "No campaign covers the territory" (§3, §11: expected and reporting companies empty, not 0) is applied to the
  territories, where the text says it: national (a campaign of the year exists), région (a campaign covers
  one of its départements, or a national campaign), département. For clubs, conventions and companies, which are
  not territories, a zero count may be written 0 or left empty (`ZERO_OR_EMPTY`). A QPV has no companies.
- On a company's rows, the company counts as expected through every expected convention it signed,
  collective ones included (its declaration under a collective convention counts as reporting, and reporting
  must stay within expected), even though a collective target is not its target.
- Action counts, beneficiaries and their share are defined for rows without indicator; on indicator rows the
  methodology does not say which actions they cover, so they are not given there.
- Companies on ratio-indicator rows (no target can be set on a ratio) are not given.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from charte.catalogue.models import ActionType, Indicator
from charte.territoires.models import Departement
from conventions.models import Action, Commitment, Convention, Target
from evaluation.models import Campaign, Declaration
from evaluation.surveys.models import Question, Survey

TRANSMITTED = ("submitted", "validated")
RAN = ("active", "expired")
# Generic indicators: computed over every action of the family (methodology §6).
GENERIC = {"BENEFICIAIRES": "beneficiaries_total", "BENEFICIAIRES_QPV": "beneficiaries_qpv"}
# What an action of a type suggesting the indicator measures for it (the catalogue's meaning of each
# indicator: the pupils hosted by a stage de 3e are its beneficiaries, an intervention in class is one action).
MEASURES = {
    "HEURES_MECENAT": "hours",
    "SALARIES_MOBILISES": "employees_involved",
    "INTERVENTIONS_CLASSE": None,  # one per action
    "STAGE3_ACCUEILLIS": "beneficiaries_total",
    "ELEVES_SENSIBILISES": "beneficiaries_total",
    "JEUNES_PARRAINES": "beneficiaries_total",
    "ALTERNANTS_RECRUTES": "beneficiaries_total",
    "EMBAUCHES": "beneficiaries_total",
    "PERSONNES_COACHEES": "beneficiaries_total",
    "SERVICES_CIVIQUES": "beneficiaries_total",
    "STAGIAIRES_INSERTION": "beneficiaries_total",
    "PORTEURS_ACCOMPAGNES": "beneficiaries_total",
}
TERRITORIES = ("national", "region", "departement")
LENIENT_COMPANY_SCOPES = ("club", "convention", "company")
HUNDRED = Decimal(100)


class _ZeroOrEmpty:
    """A count of zero that may be written 0 or left empty (see the readings above)."""

    def __repr__(self):
        return "0 ou vide"


ZERO_OR_EMPTY = _ZeroOrEmpty()


def _add(total, value):
    return value if total is None else total + value


def percent(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return HUNDRED * Decimal(numerator) / Decimal(denominator)


@dataclass
class Cell:
    """What one scope x family x indicator accumulates for one year."""

    actions: int = 0
    beneficiaries: int = 0
    beneficiaries_qpv: int = 0
    computed: Decimal = Decimal(0)
    declared: Decimal | None = None
    validated: Decimal | None = None
    own_validated: Decimal | None = None  # a company's validated values under its individual conventions
    target: Decimal | None = None
    # Ratio indicators, over the complete declaration lines.
    ratio_num: Decimal | None = None
    ratio_den: Decimal | None = None
    ratio_vnum: Decimal | None = None
    ratio_vden: Decimal | None = None
    expected: set = field(default_factory=set)  # (convention id, company id) pairs that make a company expected
    # Survey indicators (§14).
    respondents: int = 0
    positive: int = 0
    reached: int = 0


class Facts:
    """Every row the figures read, loaded once (a handful of queries)."""

    def __init__(self):
        self.indicators = {i.pk: i for i in Indicator.objects.all()}
        self.code_of = {pk: i.code for pk, i in self.indicators.items()}
        self.ratios = {pk: (i.numerator_id, i.denominator_id) for pk, i in self.indicators.items() if i.aggregation == "ratio"}
        self.types = {
            t.pk: (t.family_id, {i.pk for i in t.indicators.all()}) for t in ActionType.objects.prefetch_related("indicators")
        }
        self.generic = {pk for pk, code in self.code_of.items() if code in GENERIC}
        self.measurable = self.generic | {pk for pk, code in self.code_of.items() if code in MEASURES}
        self.departements = {d.pk: (d.code, d.region.code) for d in Departement.objects.select_related("region")}
        self.conventions = {c.pk: c for c in Convention.objects.prefetch_related("companies")}
        self.companies_of = {pk: sorted(c.pk for c in v.companies.all()) for pk, v in self.conventions.items()}
        self.commitments = {c.pk: c for c in Commitment.objects.all()}
        self.families_of = defaultdict(set)
        for commitment in self.commitments.values():
            self.families_of[commitment.convention_id].add(commitment.family_id)
        self.targets = list(Target.objects.all())
        self.declarations = list(Declaration.objects.prefetch_related("values"))
        self.actions = list(Action.objects.prefetch_related("companies", "qpvs"))
        self.qpv_codes = {q.pk: q.code for a in self.actions for q in a.qpvs.all()}
        # {year: [None (national) or set of covered département ids]}
        # §14: survey indicators by the question indicator that feeds them; surveys with their tokens, responses
        # and answers; the national closed questions of each questionnaire model, by indicator.
        self.surveyed = {i.survey_indicator: pk for pk, i in self.indicators.items() if i.aggregation == "survey"}
        self.surveys = list(Survey.objects.prefetch_related("tokens", "responses__answers__question"))
        self.asked = defaultdict(set)
        for question in Question.objects.all():
            if question.club_id is None and question.kind != "open" and question.indicator in self.surveyed:
                self.asked[question.questionnaire_id].add(question.indicator)
        self.action_by_id = {a.pk: a for a in self.actions}
        self.campaigns = defaultdict(list)
        for campaign in Campaign.objects.prefetch_related("departements"):
            departements = {d.pk for d in campaign.departements.all()}
            self.campaigns[campaign.year].append(departements or None)

    # --- §3 ---

    def ran(self, convention, year):
        if convention.status in RAN:
            return True
        if convention.status != "terminated" or convention.status_changed_at is None:
            return False
        return convention.status_changed_at >= timezone.make_aware(datetime.datetime(year, 1, 1))

    def covered(self, convention, year):
        return any(deps is None or convention.departement_id in deps for deps in self.campaigns[year])

    def expected(self, convention, year):
        return (
            bool(self.companies_of[convention.pk])
            and convention.kind != "framework"
            and convention.start_date.year <= year <= convention.end_date.year
            and self.ran(convention, year)
            and self.covered(convention, year)
        )

    def territory_covered(self, scope_type, scope_key, year):
        """§3: whether a campaign of the year covers (part of) the territory."""
        campaigns = self.campaigns[year]
        if scope_type == "national":
            return bool(campaigns)
        if any(deps is None for deps in campaigns):
            return True
        covered = set().union(*campaigns) if campaigns else set()
        position = 0 if scope_type == "departement" else 1
        return any(self.departements[d][position] == scope_key for d in covered)

    # --- scopes ---

    def convention_scopes(self, convention):
        scopes = [("national", "")]
        if convention.departement_id:
            code, region = self.departements[convention.departement_id]
            scopes += [("region", region), ("departement", code)]
        if convention.club_id:
            scopes.append(("club", str(convention.club_id)))
        scopes.append(("convention", str(convention.pk)))
        return scopes

    def action_scopes(self, action):
        code, region = self.departements[action.departement_id]
        scopes = [("national", ""), ("region", region), ("departement", code)]
        if action.club_id:
            scopes.append(("club", str(action.club_id)))
        if action.convention_id:
            scopes.append(("convention", str(action.convention_id)))
        scopes += [("company", str(c.pk)) for c in action.companies.all()]
        scopes += [("qpv", self.qpv_codes[q.pk]) for q in action.qpvs.all()]
        return scopes


def _keys(family, indicator):
    """The rows a fact of (family, indicator) counts on: its family and all families."""
    return ((family, indicator), (None, indicator))


def accumulate(facts, years):
    """{(scope type, scope key, family, indicator): {year: Cell}}, plus {(convention, company, year): set of
    (family, indicator) with a non-empty value in a transmitted declaration}."""
    cells = defaultdict(lambda: {year: Cell() for year in years})
    transmitted = defaultdict(set)

    # §5, §6: actions.
    for action in facts.actions:
        year = action.start_date.year
        if year not in years:
            continue
        family, suggested = facts.types[action.action_type_id]
        measured = {}
        for indicator in facts.measurable:
            code = facts.code_of[indicator]
            if indicator in facts.generic:
                measured[indicator] = Decimal(getattr(action, GENERIC[code]))
            elif indicator in suggested:
                measure = MEASURES[code]
                measured[indicator] = Decimal(1 if measure is None else getattr(action, measure))
        for scope in facts.action_scopes(action):
            for key in _keys(family, None):
                cell = cells[(*scope, *key)][year]
                cell.actions += 1
                cell.beneficiaries += action.beneficiaries_total
                cell.beneficiaries_qpv += action.beneficiaries_qpv
            for indicator, value in measured.items():
                for key in _keys(family, indicator):
                    cells[(*scope, *key)][year].computed += value

    # §14: answers to the surveys of the actions.
    for survey in facts.surveys:
        action = facts.action_by_id[survey.action_id]
        year = action.start_date.year
        if year not in years:
            continue
        family = facts.types[action.action_type_id][0]
        responses = list(survey.responses.all())
        tokens = len(survey.tokens.all())
        if survey.expected_respondents is not None:
            asked = survey.expected_respondents
        else:
            asked = tokens or action.beneficiaries_total
        reached = max(asked, len(responses))
        for code in facts.asked[survey.questionnaire_id]:
            respondents = positive = 0
            for response in responses:
                answers = [
                    a
                    for a in response.answers.all()
                    if a.question.indicator == code
                    and a.question.club_id is None
                    and a.choice is not None
                    and a.moderation == "approved"
                ]
                if answers:
                    respondents += 1
                    if any(_is_positive(a) for a in answers):
                        positive += 1
            for scope in facts.action_scopes(action):
                for key in _keys(family, facts.surveyed[code]):
                    cell = cells[(*scope, *key)][year]
                    cell.respondents += respondents
                    cell.positive += positive
                    cell.reached += reached

    # §4: targets of expected conventions; a company's rows only those of its individual conventions.
    for target in facts.targets:
        commitment = facts.commitments[target.commitment_id]
        convention = facts.conventions[commitment.convention_id]
        if target.year not in years or not facts.expected(convention, target.year):
            continue
        scopes = facts.convention_scopes(convention)
        if convention.kind != "collective":
            scopes += [("company", str(c)) for c in facts.companies_of[convention.pk]]
        for scope in scopes:
            for key in _keys(commitment.family_id, target.indicator_id):
                cell = cells[(*scope, *key)][target.year]
                cell.target = _add(cell.target, target.value)

    # §3: expected companies, as (convention, company) pairs.
    for convention in facts.conventions.values():
        for year in years:
            if not facts.expected(convention, year):
                continue
            rows = [(None, None)] + [(family, None) for family in facts.families_of[convention.pk]]
            for target in facts.targets:
                commitment = facts.commitments[target.commitment_id]
                if target.year == year and commitment.convention_id == convention.pk:
                    rows += _keys(commitment.family_id, target.indicator_id)
            for company in facts.companies_of[convention.pk]:
                for scope in [*facts.convention_scopes(convention), ("company", str(company))]:
                    for key in rows:
                        cells[(*scope, *key)][year].expected.add((convention.pk, company))

    # §2, §4, §7: declarations of expected conventions, transmitted.
    for declaration in facts.declarations:
        convention = facts.conventions[declaration.convention_id]
        year = declaration.year
        if year not in years or declaration.status not in TRANSMITTED or not facts.expected(convention, year):
            continue
        validated = declaration.status == "validated"
        individual = convention.kind != "collective"
        scopes = [*facts.convention_scopes(convention), ("company", str(declaration.company_id))]
        lines = defaultdict(dict)  # commitment -> {indicator: value}
        for value in declaration.values.all():
            if value.value is None:
                continue
            family = facts.commitments[value.commitment_id].family_id
            lines[value.commitment_id][value.indicator_id] = value.value
            transmitted[(convention.pk, declaration.company_id, year)].add((family, value.indicator_id))
            for scope in scopes:
                for key in _keys(family, value.indicator_id):
                    cell = cells[(*scope, *key)][year]
                    cell.declared = _add(cell.declared, value.value)
                    if validated:
                        cell.validated = _add(cell.validated, value.value)
                        if scope[0] == "company" and individual:
                            cell.own_validated = _add(cell.own_validated, value.value)
        for commitment_id, line in lines.items():
            family = facts.commitments[commitment_id].family_id
            for ratio, (numerator, denominator) in facts.ratios.items():
                if numerator not in line or denominator not in line:
                    continue
                for scope in scopes:
                    for key in _keys(family, ratio):
                        cell = cells[(*scope, *key)][year]
                        cell.ratio_num = _add(cell.ratio_num, line[numerator])
                        cell.ratio_den = _add(cell.ratio_den, line[denominator])
                        if validated:
                            cell.ratio_vnum = _add(cell.ratio_vnum, line[numerator])
                            cell.ratio_vden = _add(cell.ratio_vden, line[denominator])
    return cells, transmitted


def _is_positive(answer):
    """§14: "Plutôt oui" (3) or "Tout à fait" (4) on the scale, "Oui" (1) to a yes / no question."""
    return answer.choice >= 3 if answer.question.kind == "scale" else answer.choice == 1


def _reporting(cell, transmitted, year, family, indicator, targeted):
    """§3: the expected companies of the row whose declaration for that convention carries a value of the row. On
    an indicator row, a value the company was expected for: of the indicator, in a family where the convention has
    a target of the year for it (the same family as the row's on a family row)."""
    companies = set()
    for convention, company in cell.expected:
        for value_family, value_indicator in transmitted.get((convention, company, year), ()):
            if indicator is not None and (convention, year, value_family, indicator) not in targeted:
                continue
            if family in (None, value_family) and indicator in (None, value_indicator):
                companies.add(company)
                break
    return companies


def _companies(facts, scope_type, scope_key, year, count):
    if scope_type == "qpv":
        return None
    if scope_type in TERRITORIES:
        return count if facts.territory_covered(scope_type, scope_key, year) else None
    return ZERO_OR_EMPTY if count == 0 else count


class Figures(dict):
    """{(scope type, scope key, family id, indicator id): {AnnualResult field: value}}: the rows where something
    counts, and, for any other key asked for (a row the engine wrote), the figures of an empty row (companies
    expected 0 or empty according to the campaigns, sums empty)."""

    def __init__(self, facts, cells, transmitted, year):
        super().__init__()
        self.facts, self.cells, self.transmitted = facts, cells, transmitted
        commitments = facts.commitments
        self.targeted = {
            (commitments[t.commitment_id].convention_id, t.year, commitments[t.commitment_id].family_id, t.indicator_id)
            for t in facts.targets
        }
        self.years = ((year, ""), (year - 1, "prev_"))
        indicators = facts.indicators.items()
        self.offered = {pk for pk, i in indicators if i.aggregation == "sum" and i.nature == "offered"}
        self.realised = {pk for pk, i in indicators if i.aggregation == "sum" and i.nature != "offered"}
        for key in list(cells):
            self[key] = self.row(key)
            if key[3] is None:
                # Ratio rows of a family row: computed from the same actions, declared from complete lines.
                for ratio in facts.ratios:
                    self[(*key[:3], ratio)] = self.row((*key[:3], ratio))

    def __missing__(self, key):
        return self.row(key)

    def row(self, key):
        facts = self.facts
        scope_type, scope_key, family, indicator = key
        by_year = self.cells.get(key) or {y: Cell() for y, _ in self.years}
        row = {}
        survey = indicator in facts.surveyed.values()
        for y, prefix in self.years:
            cell = by_year[y]
            row[prefix + "respondents"] = cell.respondents if survey else None
            row[prefix + "positive_answers"] = cell.positive if survey else None
            row[prefix + "people_reached"] = cell.reached if survey else None
            row[prefix + "positive_share"] = cell.positive / cell.respondents if survey and cell.respondents else None
            row[prefix + "response_rate"] = cell.respondents / cell.reached if survey and cell.reached else None
            if survey:
                # §14: only answers on these rows.
                for name in ("declared_value", "declared_validated_value", "computed_value", "target_value"):
                    row[prefix + name] = None
                row[prefix + "attainment_rate"] = row[prefix + "companies_expected"] = None
                row[prefix + "companies_reporting"] = None
                continue
            if indicator is None:
                for name in ("declared_value", "declared_validated_value", "computed_value", "target_value", "attainment_rate"):
                    row[prefix + name] = None
                row[prefix + "actions_count"] = cell.actions
                row[prefix + "beneficiaries"] = cell.beneficiaries
                row[prefix + "beneficiaries_qpv"] = cell.beneficiaries_qpv
                row[prefix + "qpv_share"] = cell.beneficiaries_qpv / cell.beneficiaries if cell.beneficiaries else None
            elif indicator in facts.ratios:
                whole = self.cells.get((scope_type, scope_key, family, None), {}).get(y, Cell())
                row[prefix + "declared_value"] = percent(cell.ratio_num, cell.ratio_den)
                row[prefix + "declared_validated_value"] = percent(cell.ratio_vnum, cell.ratio_vden)
                row[prefix + "computed_value"] = percent(whole.beneficiaries_qpv, whole.beneficiaries)
                row[prefix + "target_value"] = None
                row[prefix + "attainment_rate"] = None
                continue
            else:
                row[prefix + "declared_value"] = cell.declared
                row[prefix + "declared_validated_value"] = cell.validated
                row[prefix + "target_value"] = cell.target
                attained = cell.own_validated if scope_type == "company" else cell.validated
                row[prefix + "attainment_rate"] = (
                    float((attained or 0) / cell.target) if cell.target is not None and cell.target > 0 else None
                )
                row[prefix + "computed_value"] = cell.computed if indicator in facts.measurable else None
            expected = {company for _, company in cell.expected}
            reporting = _reporting(cell, self.transmitted, y, family, indicator, self.targeted)
            row[prefix + "companies_expected"] = _companies(facts, scope_type, scope_key, y, len(expected))
            row[prefix + "companies_reporting"] = _companies(facts, scope_type, scope_key, y, len(reporting))
        if indicator is None or indicator in facts.ratios or survey:
            row["offered_value"] = row["realised_value"] = None
        else:
            row["offered_value"] = row["declared_value"] if indicator in self.offered else None
            row["realised_value"] = row["declared_value"] if indicator in self.realised else None
        return row


def figures(year):
    """(Figures of `year` and N-1, the committed keys of conventions and companies)."""
    facts = Facts()
    prev = year - 1
    cells, transmitted = accumulate(facts, (year, prev))
    return Figures(facts, cells, transmitted, year), committed(facts, (year, prev))


def committed(facts, years):
    """(scope type, scope key, family, indicator) of conventions and companies with a counted declared value or a
    target in one of the years: the indicator rows the engine writes for them (its row rule, compile.py). Counted:
    a non-empty value of a transmitted declaration of an expected convention (§2, §3); a target of an expected
    convention, and for a company only of its individual conventions (§4: a collective target is the convention's)."""
    keys = set()
    for target in facts.targets:
        commitment = facts.commitments[target.commitment_id]
        convention = facts.conventions[commitment.convention_id]
        # §4: the targets counted are those of conventions expected that year.
        if target.year in years and facts.expected(convention, target.year):
            companies = [] if convention.kind == "collective" else facts.companies_of[convention.pk]
            for scope in [("convention", str(convention.pk))] + [("company", str(c)) for c in companies]:
                keys.add((*scope, commitment.family_id, target.indicator_id))
    for declaration in facts.declarations:
        convention = facts.conventions[declaration.convention_id]
        counted = declaration.status in TRANSMITTED and facts.expected(convention, declaration.year)
        if declaration.year in years and counted:
            for value in declaration.values.all():
                if value.value is None:
                    continue
                family = facts.commitments[value.commitment_id].family_id
                for scope in (("convention", str(declaration.convention_id)), ("company", str(declaration.company_id))):
                    keys.add((*scope, family, value.indicator_id))
    for survey in facts.surveys:
        action = facts.action_by_id[survey.action_id]
        if action.start_date.year not in years:
            continue
        family = facts.types[action.action_type_id][0]
        scopes = [("company", str(c.pk)) for c in action.companies.all()]
        if action.convention_id:
            scopes.append(("convention", str(action.convention_id)))
        for code in facts.asked[survey.questionnaire_id]:
            keys |= {(*scope, family, facts.surveyed[code]) for scope in scopes}
    for ratio, terms in facts.ratios.items():
        for scope_type, scope_key, family, indicator in list(keys):
            if indicator in terms:
                keys.add((scope_type, scope_key, family, ratio))
    return keys
