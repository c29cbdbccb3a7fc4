"""Small random datasets for the property test of the evaluation figures (tests/evaluation/test_properties.py).

`datasets()` is a hypothesis strategy that draws a plain description (`Dataset`, frozen dataclasses of codes
and indices, no database access): drawing stays outside the test's transaction, a failing example prints as a
readable literal that can be pasted into `@example`, and hypothesis shrinks it. `build(dataset)` then writes it
in the database with `bulk_create` (a few dozen rows, a handful of statements), inside the test's transaction.

What a dataset holds, so that every rule of docs/methodologie.md gets exercised:

- 2 or 3 départements over 2 régions (Hérault 34 and Gard 30 in Occitanie, Bouches-du-Rhône 13 in
  Provence-Alpes-Côte d'Azur), one commune and one or two QPV each;
- two clubs; companies with or without a commune, joining and leaving clubs (ClubMembership dates: they must
  change no figure, a club counts the conventions it animates and the actions it logged);
- conventions of every kind (local, collective with several companies, national with local declinations,
  departmental framework) and status (draft, under negotiation, signed, active, expired, terminated with and
  without a termination date, terminated before, on, or in the middle of the year), some without company,
  with commitments and targets for N and N-1;
- actions of N-2..N+1 with several companies and several QPV, zero beneficiaries included;
- declarations of N and N-1 in every status (draft, submitted, validated, returned, reopened after validation
  back to draft, reopened while returned), with empty values and BENEFICIAIRES / BENEFICIAIRES_QPV pairs
  (QPV <= total on a line, as the form requires) and lines carrying only one of the two;
- campaigns per year: national, préfecture campaigns for some départements, both, or none at all (then any
  declaration of that year hangs from a campaign of a département outside the dataset, Paris);
- 360° surveys on some actions (methodology §14): questionnaire models of the catalogue, a number of people
  asked or not, personal links or not, 0 to 7 responses (under and over the 5 of the secrecy) whose closed
  questions are answered, left empty, positive or not.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from hypothesis import strategies as st

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Organisation, OrganisationKind
from charte.territoires.models import QPV, Commune, Departement
from conventions.models import Action, Commitment, Convention, Target
from entreprises.models import ClubMembership, Company
from evaluation.models import Campaign, Declaration, DeclarationValue
from evaluation.surveys.models import Answer, Question, QuestionnaireModel, Response, Survey, SurveyToken
from tests.factories import with_luhn_key

YEAR, PREV = 2017, 2016
# A département outside every dataset: the campaign that declarations of a year "without campaign" hang from.
ELSEWHERE = "75"

# Three families and a few action types, so that rows meet: several conventions, actions and companies on the
# same family x indicator. STAGE_3E suggests BENEFICIAIRES_QPV, MOBILITE_SERVICES suggests BENEFICIAIRES: the
# generic indicators are counted over every action of the family all the same (methodology §6).
ACTION_TYPES = {
    "STAGE_3E": "EDU",
    "INTERVENTION_CLASSE": "EDU",
    "RECRUTEMENT": "EMP",
    "MOBILITE_SERVICES": "SOL",
    "MECENAT_COMPETENCES": "SOL",
}
FAMILIES = ("EDU", "EMP", "SOL")
# Measured by actions (specific or generic), offered, and measured by no action (MECENAT_EUR, OFFRES_EMPLOI).
INDICATORS = (
    "STAGE3_ACCUEILLIS",
    "STAGE3_OFFERTS",
    "BENEFICIAIRES",
    "BENEFICIAIRES_QPV",
    "HEURES_MECENAT",
    "SALARIES_MOBILISES",
    "MECENAT_EUR",
    "OFFRES_EMPLOI",
)
DEPARTEMENT_SETS = (("34", "13"), ("30", "13"), ("34", "30", "13"))
CONVENTION_STATUSES = ("draft", "negotiation", "signed", "active", "expired", "terminated")
DECLARATION_STATUSES = ("draft", "submitted", "validated", "returned", "reopened", "reopened_returned")


def paris(year, month, day, hour=0, minute=0):
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


# Termination dates around the edges of the years: the rule is "terminated on or after 1 January N".
TERMINATIONS = (
    None,
    paris(2016, 6, 15, 12),
    paris(2016, 12, 31, 23, 30),
    paris(2017, 1, 1, 0, 0),
    paris(2017, 6, 15, 12),
    paris(2018, 2, 1, 9),
)


@dataclass(frozen=True)
class CommitmentSpec:
    family: str
    action_type: str | None
    targets: tuple  # (year, indicator code, value)


@dataclass(frozen=True)
class ConventionSpec:
    kind: str
    status: str
    terminated_at: datetime.datetime | None
    start: datetime.date
    end: datetime.date
    departement: int | None  # index in Dataset.departements; None for a national convention
    club: int | None
    companies: tuple  # indices in Dataset.companies
    parent: int | None  # index of a national convention this one declines
    commitments: tuple


@dataclass(frozen=True)
class ActionSpec:
    action_type: str
    start: datetime.date
    departement: int
    club: int | None
    convention: int | None
    companies: tuple
    qpvs: tuple  # indices in Dataset.qpvs
    beneficiaries: int
    beneficiaries_qpv: int
    employees: int
    hours: Decimal


@dataclass(frozen=True)
class DeclarationSpec:
    convention: int
    company: int
    year: int
    status: str
    values: tuple  # (commitment index in its convention, indicator code, value or None)


@dataclass(frozen=True)
class CampaignSpec:
    national: bool
    departements: tuple  # indices of départements with a préfecture campaign


@dataclass(frozen=True)
class SurveySpec:
    action: int  # index in Dataset.actions
    questionnaire: str  # code of a catalogue questionnaire model
    expected: int | None  # people the club said it asked
    tokens: int  # personal links issued
    responses: tuple  # per response, per closed question of the model in order: a choice or None (unanswered)


# Questionnaire models of the catalogue (evaluation/surveys/catalogue.py): scales and yes / no questions, for
# satisfaction, recommending, and a job, a training found.
QUESTIONNAIRES = ("stage-3e-eleve", "participant", "association")


@dataclass(frozen=True)
class Dataset:
    departements: tuple  # codes
    qpvs: tuple  # département index of each QPV
    companies: tuple  # département index of each company's commune, or None (no commune)
    memberships: tuple  # (company, club, start date, end date or None)
    conventions: tuple
    actions: tuple
    campaigns: tuple  # (CampaignSpec of PREV, CampaignSpec of YEAR)
    declarations: tuple
    surveys: tuple = ()


amounts = st.one_of(
    st.integers(0, 40).map(Decimal),
    st.sampled_from([Decimal("0.25"), Decimal("2.5"), Decimal("12.75")]),
)


@st.composite
def commitment_specs(draw, start, end):
    family = draw(st.sampled_from(FAMILIES))
    types = [code for code, fam in ACTION_TYPES.items() if fam == family]
    targets = []
    for year in (PREV, YEAR):
        if start.year <= year <= end.year:
            for code in draw(st.lists(st.sampled_from(INDICATORS), max_size=2, unique=True)):
                targets.append((year, code, draw(amounts)))
    return CommitmentSpec(family, draw(st.sampled_from([None, *types])), tuple(targets))


@st.composite
def convention_specs(draw, n_departements, n_companies, nationals):
    kind = draw(st.sampled_from(["local", "local", "collective", "national", "framework"]))
    status = draw(st.sampled_from(CONVENTION_STATUSES))
    terminated_at = draw(st.sampled_from(TERMINATIONS)) if status == "terminated" else None
    start_year = draw(st.sampled_from([2015, 2016, 2017]))
    end_year = draw(st.sampled_from([y for y in (2016, 2017, 2018) if y >= start_year]))
    start = datetime.date(start_year, draw(st.sampled_from([1, 7])), 1)
    end_month = draw(st.sampled_from([6, 12]))
    end = datetime.date(end_year, end_month, 30 if end_month == 6 else 31)
    if end < start:
        end = datetime.date(end_year, 12, 31)
    companies = range(n_companies)
    if kind == "collective":
        chosen = draw(st.lists(st.sampled_from(companies), min_size=min(2, n_companies), max_size=3, unique=True))
    elif kind == "framework":
        chosen = draw(st.lists(st.sampled_from(companies), max_size=1))
    else:
        # Now and then a convention no company has signed yet: never expected (methodology §3, 1).
        chosen = draw(st.lists(st.sampled_from(companies), min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=1))
    parent = draw(st.sampled_from([None, *nationals])) if kind == "local" else None
    return ConventionSpec(
        kind=kind,
        status=status,
        terminated_at=terminated_at,
        start=start,
        end=end,
        departement=None if kind == "national" else draw(st.integers(0, n_departements - 1)),
        club=draw(st.sampled_from([None, 0, 1])),
        companies=tuple(chosen),
        parent=parent,
        commitments=tuple(draw(st.lists(commitment_specs(start, end), min_size=1, max_size=2))),
    )


@st.composite
def action_specs(draw, n_departements, n_qpvs, n_companies, n_conventions):
    total = draw(st.integers(0, 30))
    return ActionSpec(
        action_type=draw(st.sampled_from(sorted(ACTION_TYPES))),
        start=datetime.date(draw(st.sampled_from([2015, 2016, 2016, 2017, 2017, 2018])), draw(st.sampled_from([1, 6, 12])), 1),
        departement=draw(st.integers(0, n_departements - 1)),
        club=draw(st.sampled_from([None, 0, 1])),
        convention=draw(st.sampled_from([None, *range(n_conventions)])),
        companies=tuple(draw(st.lists(st.sampled_from(range(n_companies)), max_size=2, unique=True))),
        qpvs=tuple(draw(st.lists(st.sampled_from(range(n_qpvs)), max_size=2, unique=True))),
        beneficiaries=total,
        beneficiaries_qpv=draw(st.integers(0, total)),
        employees=draw(st.integers(0, 4)),
        hours=Decimal(draw(st.integers(0, 20))) / 2,
    )


@st.composite
def declaration_values(draw, n_commitments):
    values = []
    for commitment in range(n_commitments):
        codes = draw(st.lists(st.sampled_from(INDICATORS), max_size=3, unique=True))
        line = {code: draw(st.one_of(st.none(), amounts)) for code in codes}
        # The form refuses more QPV residents than beneficiaries on one line.
        total, qpv = line.get("BENEFICIAIRES"), line.get("BENEFICIAIRES_QPV")
        if total is not None and qpv is not None and qpv > total:
            line["BENEFICIAIRES_QPV"] = total
        values += [(commitment, code, value) for code, value in line.items()]
    return tuple(values)


@st.composite
def campaign_specs(draw, n_departements):
    mode = draw(st.sampled_from(["national", "prefecture", "both", "none"]))
    departements = ()
    if mode in ("prefecture", "both"):
        departements = tuple(draw(st.lists(st.integers(0, n_departements - 1), min_size=1, unique=True)))
    return CampaignSpec(national=mode in ("national", "both"), departements=tuple(sorted(departements)))


# Closed questions of each model, in order: their kind (a scale 1..4 or yes / no 1 / 0).
QUESTION_KINDS = {
    "stage-3e-eleve": ("scale", "yes_no", "scale", "yes_no"),
    "participant": ("scale", "yes_no", "yes_no", "yes_no"),
    "association": ("scale", "scale", "yes_no"),
}


@st.composite
def survey_specs(draw, action, code):
    answers = {"scale": st.sampled_from([None, 1, 2, 3, 4]), "yes_no": st.sampled_from([None, 0, 1])}
    responses = draw(st.lists(st.tuples(*(answers[kind] for kind in QUESTION_KINDS[code])), max_size=7))
    return SurveySpec(
        action=action,
        questionnaire=code,
        expected=draw(st.sampled_from([None, None, 3, 10])),
        tokens=draw(st.sampled_from([0, 0, 2])),
        responses=tuple(responses),
    )


@st.composite
def datasets(draw):
    departements = draw(st.sampled_from(DEPARTEMENT_SETS))
    n = len(departements)
    qpvs = tuple(range(n)) + tuple(draw(st.lists(st.integers(0, n - 1), max_size=1)))
    companies = tuple(draw(st.lists(st.sampled_from([None, *range(n)]), min_size=2, max_size=5)))
    memberships = set()
    for company in range(len(companies)):
        for club, start, end in draw(
            st.lists(
                st.tuples(
                    st.sampled_from([0, 1]),
                    st.sampled_from([datetime.date(2015, 1, 1), datetime.date(2017, 3, 1)]),
                    st.sampled_from([None, datetime.date(2017, 9, 30), datetime.date(2018, 6, 30)]),
                ),
                max_size=2,
                unique_by=lambda m: m[:2],
            )
        ):
            memberships.add((company, club, start, end))
    conventions = []
    for _ in range(draw(st.integers(1, 5))):
        nationals = [i for i, c in enumerate(conventions) if c.kind == "national"]
        conventions.append(draw(convention_specs(n, len(companies), nationals)))
    actions = tuple(draw(st.lists(action_specs(n, len(qpvs), len(companies), len(conventions)), max_size=6)))
    declarations = []
    for index, convention in enumerate(conventions):
        for company in convention.companies:
            for year in (PREV, YEAR):
                if draw(st.booleans()):
                    status = draw(st.sampled_from(DECLARATION_STATUSES))
                    values = draw(declaration_values(len(convention.commitments)))
                    declarations.append(DeclarationSpec(index, company, year, status, values))
    surveys = []
    for index in range(len(actions)):
        for code in draw(st.lists(st.sampled_from(QUESTIONNAIRES), max_size=2 if index < 2 else 0, unique=True)):
            surveys.append(draw(survey_specs(index, code)))
    return Dataset(
        surveys=tuple(surveys),
        departements=departements,
        qpvs=qpvs,
        companies=companies,
        memberships=tuple(sorted(memberships, key=repr)),
        conventions=tuple(conventions),
        actions=actions,
        campaigns=(draw(campaign_specs(n)), draw(campaign_specs(n))),
        declarations=tuple(declarations),
    )


# --- writing a dataset -----------------------------------------------------------------------------------


@dataclass
class World:
    """What `build` wrote: the database objects, indexed like the dataset."""

    departements: list
    qpvs: list
    companies: list
    clubs: list
    conventions: list
    actions: list
    campaigns: dict


def _through(field, pairs):
    """bulk_create of (left id, right id) pairs in an M2M table."""
    through = field.remote_field.through
    left, right = field.m2m_field_name(), field.m2m_reverse_field_name()
    through.objects.bulk_create([through(**{f"{left}_id": a, f"{right}_id": b}) for a, b in pairs])


def build(dataset):
    """Write `dataset` in the database; returns the `World`. A few statements per table, whatever the size."""
    by_code = Departement.objects.in_bulk([*dataset.departements, ELSEWHERE], field_name="code")
    departements = [by_code[code] for code in dataset.departements]
    families = {f.code: f for f in Family.objects.filter(code__in=FAMILIES)}
    types = {t.code: t for t in ActionType.objects.filter(code__in=list(ACTION_TYPES))}
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=INDICATORS)}

    communes = Commune.objects.bulk_create(
        [Commune(code=f"{d.code}{900:03d}", name=f"Commune de test {d.code}", departement=d) for d in departements]
    )
    qpvs = QPV.objects.bulk_create(
        [
            QPV(
                code=f"QP0{departements[d].code}{900 + n:03d}", name=f"Quartier {n}", generation=2015, departement=departements[d]
            )
            for n, d in enumerate(dataset.qpvs)
        ]
    )
    organisations = Organisation.objects.bulk_create(
        [
            Organisation(kind=OrganisationKind.CLUB, name="Club propriétés A", network="face"),
            Organisation(kind=OrganisationKind.CLUB, name="Club propriétés B", network="crepi"),
            Organisation(kind=OrganisationKind.NATIONAL, name="ANCT propriétés"),
            *[Organisation(kind=OrganisationKind.PREFECTURE, name=f"Préfecture propriétés {d.code}") for d in departements],
            Organisation(kind=OrganisationKind.PREFECTURE, name="Préfecture propriétés ailleurs"),
        ]
    )
    clubs, national_org, prefectures, elsewhere_org = organisations[:2], organisations[2], organisations[3:-1], organisations[-1]
    companies = Company.objects.bulk_create(
        [
            Company(
                siren=with_luhn_key(f"{52000000 + n:08d}"),
                name=f"Entreprise propriétés {n}",
                commune=None if d is None else communes[d],
            )
            for n, d in enumerate(dataset.companies)
        ]
    )
    ClubMembership.objects.bulk_create(
        [
            ClubMembership(company=companies[c], club=clubs[k], start_date=start, end_date=end)
            for c, k, start, end in dataset.memberships
        ]
    )

    conventions = Convention.objects.bulk_create(
        [
            Convention(
                reference=f"PROP-{n}",
                title=f"Convention propriétés {n}",
                kind=spec.kind,
                status=spec.status,
                status_changed_at=spec.terminated_at,
                termination_reason="Cessation d'activité" if spec.status == "terminated" else "",
                start_date=spec.start,
                end_date=spec.end,
                departement=None if spec.departement is None else departements[spec.departement],
                club=None if spec.club is None else clubs[spec.club],
            )
            for n, spec in enumerate(dataset.conventions)
        ]
    )
    # Declinations point to their national convention once both exist.
    declinations = []
    for convention, spec in zip(conventions, dataset.conventions, strict=True):
        if spec.parent is not None:
            convention.parent = conventions[spec.parent]
            declinations.append(convention)
    Convention.objects.bulk_update(declinations, ["parent"])
    _through(
        Convention._meta.get_field("companies"),
        [(conventions[v].pk, companies[c].pk) for v, spec in enumerate(dataset.conventions) for c in spec.companies],
    )
    commitments = Commitment.objects.bulk_create(
        [
            Commitment(
                convention=conventions[v],
                family=families[c.family],
                action_type=None if c.action_type is None else types[c.action_type],
            )
            for v, spec in enumerate(dataset.conventions)
            for c in spec.commitments
        ]
    )
    commitments_of, position = [], 0
    for spec in dataset.conventions:
        commitments_of.append(commitments[position : position + len(spec.commitments)])
        position += len(spec.commitments)
    Target.objects.bulk_create(
        [
            Target(commitment=commitments_of[v][k], indicator=indicators[code], year=year, value=value)
            for v, spec in enumerate(dataset.conventions)
            for k, c in enumerate(spec.commitments)
            for year, code, value in c.targets
        ]
    )

    actions = Action.objects.bulk_create(
        [
            Action(
                action_type=types[a.action_type],
                title=f"Action propriétés {n}",
                start_date=a.start,
                departement=departements[a.departement],
                club=None if a.club is None else clubs[a.club],
                convention=None if a.convention is None else conventions[a.convention],
                beneficiaries_total=a.beneficiaries,
                beneficiaries_qpv=a.beneficiaries_qpv,
                employees_involved=a.employees,
                hours=a.hours,
            )
            for n, a in enumerate(dataset.actions)
        ]
    )
    _through(
        Action._meta.get_field("companies"),
        [(actions[n].pk, companies[c].pk) for n, a in enumerate(dataset.actions) for c in a.companies],
    )
    _through(Action._meta.get_field("qpvs"), [(actions[n].pk, qpvs[q].pk) for n, a in enumerate(dataset.actions) for q in a.qpvs])

    # Campaigns: the national one covers every convention, a préfecture's covers its département.
    campaigns, coverage = {}, []
    for year, spec in zip((PREV, YEAR), dataset.campaigns, strict=True):
        campaigns[year] = []
        if spec.national:
            campaigns[year].append(Campaign(year=year, title=f"Campagne nationale {year}", organisation=national_org))
            coverage.append(())
        for d in spec.departements:
            campaigns[year].append(
                Campaign(year=year, title=f"Campagne {year} {departements[d].code}", organisation=prefectures[d])
            )
            coverage.append((departements[d].pk,))
        if not campaigns[year] and any(decl.year == year for decl in dataset.declarations):
            # A declaration needs a campaign: one that covers no département of the dataset.
            campaigns[year].append(Campaign(year=year, title=f"Campagne {year} ailleurs", organisation=elsewhere_org))
            coverage.append((by_code[ELSEWHERE].pk,))
    created = []
    for year, items in campaigns.items():
        for campaign in items:
            campaign.opens_on = datetime.date(year + 1, 1, 15)
            campaign.reminder_on = datetime.date(year + 1, 3, 1)
            campaign.closes_on = datetime.date(year + 1, 3, 31)
            created.append(campaign)
    created = Campaign.objects.bulk_create(created)
    _through(
        Campaign._meta.get_field("departements"),
        [(campaign.pk, dep) for campaign, deps in zip(created, coverage, strict=True) for dep in deps],
    )

    def campaign_for(convention, year):
        """The campaign a declaration hangs from: one covering its convention if any, else any of the year."""
        for campaign, deps in zip(created, coverage, strict=True):
            if campaign.year == year and (not deps or convention.departement_id in deps):
                return campaign
        return next(c for c in created if c.year == year)

    declarations = []
    reopened = paris(2018, 4, 10, 10)
    for spec in dataset.declarations:
        convention = conventions[spec.convention]
        status = {"reopened": "draft", "reopened_returned": "returned"}.get(spec.status, spec.status)
        declarations.append(
            Declaration(
                campaign=campaign_for(convention, spec.year),
                convention=convention,
                company=companies[spec.company],
                year=spec.year,
                status=status,
                submitted_at=None if spec.status == "draft" else paris(spec.year + 1, 2, 1),
                validated_at=paris(spec.year + 1, 3, 1) if spec.status in ("validated", "reopened") else None,
                returned_at=paris(spec.year + 1, 3, 1) if status == "returned" else None,
                return_comment="Merci de préciser les bénéficiaires." if status == "returned" else "",
                reopened_at=reopened if spec.status.startswith("reopened") else None,
                reopen_reason="Erreur de saisie signalée par l'entreprise." if spec.status.startswith("reopened") else "",
            )
        )
    declarations = Declaration.objects.bulk_create(declarations)
    DeclarationValue.objects.bulk_create(
        [
            DeclarationValue(
                declaration=declaration,
                commitment=commitments_of[spec.convention][k],
                indicator=indicators[code],
                value=value,
            )
            for declaration, spec in zip(declarations, dataset.declarations, strict=True)
            for k, code, value in spec.values
        ]
    )
    _build_surveys(dataset, actions)
    return World(
        departements=departements,
        qpvs=qpvs,
        companies=companies,
        clubs=list(clubs),
        conventions=conventions,
        actions=actions,
        campaigns={year: [c for c in created if c.year == year] for year in (PREV, YEAR)},
    )


# --- named cases: one rule of the methodology each, small enough to read -----------------------------------

NATIONAL_CAMPAIGNS = (CampaignSpec(national=True, departements=()), CampaignSpec(national=True, departements=()))
NO_CAMPAIGN = CampaignSpec(national=False, departements=())
START, END = datetime.date(2016, 1, 1), datetime.date(2018, 12, 31)


def commitment(family="EDU", action_type="STAGE_3E", targets=((YEAR, "STAGE3_ACCUEILLIS", 10),)):
    return CommitmentSpec(family, action_type, tuple((y, code, Decimal(v)) for y, code, v in targets))


def convention(kind="local", status="active", companies=(0,), commitments=None, **fields):
    """An active local convention of Hérault (2016-2018) for company 0, committed to 10 pupils in 2017."""
    values = dict(
        kind=kind,
        status=status,
        terminated_at=None,
        start=START,
        end=END,
        departement=None if kind == "national" else 0,
        club=None,
        companies=tuple(companies),
        parent=None,
        commitments=tuple(commitments or (commitment(),)),
    )
    values.update(fields)
    return ConventionSpec(**values)


def declared(convention, company, status, *values, year=YEAR):
    """values: (commitment index, indicator code, value)."""
    return DeclarationSpec(
        convention, company, year, status, tuple((k, code, None if v is None else Decimal(v)) for k, code, v in values)
    )


def action(action_type="STAGE_3E", beneficiaries=10, beneficiaries_qpv=4, year=YEAR, **fields):
    values = dict(
        action_type=action_type,
        start=datetime.date(year, 3, 1),
        departement=0,
        club=None,
        convention=None,
        companies=(),
        qpvs=(0,),
        beneficiaries=beneficiaries,
        beneficiaries_qpv=beneficiaries_qpv,
        employees=2,
        hours=Decimal(6),
    )
    values.update(fields)
    return ActionSpec(**values)


def case(conventions, declarations=(), actions=(), campaigns=NATIONAL_CAMPAIGNS, companies=(0, 0, 0)):
    """Hérault (34, Occitanie 76) and Bouches-du-Rhône (13, PACA 93), companies of Hérault."""
    return Dataset(
        departements=("34", "13"),
        qpvs=(0, 1),
        companies=tuple(companies),
        memberships=(),
        conventions=tuple(conventions),
        actions=tuple(actions),
        campaigns=campaigns,
        declarations=tuple(declarations),
    )


STAGE = "STAGE3_ACCUEILLIS"
DEP = ("departement", "34")
NATIONAL = ("national", "")

# name -> (section of the methodology, dataset, [(scope, family code, indicator code, field, value)]), a scope
# being a territory (type, code) or ("convention" | "company", index in the dataset).
CASES = {
    "brouillon_renvoyee_rouverte": (
        "§2",
        case(
            [convention(kind="collective", companies=(0, 1, 2))],
            [
                declared(0, 0, "draft", (0, STAGE, 5)),
                declared(0, 1, "returned", (0, STAGE, 7)),
                declared(0, 2, "reopened", (0, STAGE, 11)),
            ],
        ),
        [
            (DEP, "EDU", STAGE, "declared_value", None),
            (DEP, "EDU", STAGE, "companies_expected", 3),
            (DEP, "EDU", STAGE, "companies_reporting", 0),
        ],
    ),
    "atteinte_sur_le_valide": (
        "§4",
        case(
            [convention(kind="collective", companies=(0, 1))],
            [declared(0, 0, "validated", (0, STAGE, 4)), declared(0, 1, "submitted", (0, STAGE, 6))],
        ),
        [
            (DEP, "EDU", STAGE, "declared_value", Decimal(10)),
            (DEP, "EDU", STAGE, "declared_validated_value", Decimal(4)),
            (DEP, "EDU", STAGE, "attainment_rate", 0.4),
            (DEP, "EDU", STAGE, "companies_reporting", 2),
        ],
    ),
    "resiliee_sans_date": (
        "§3, 3",
        case([convention(status="terminated")], [declared(0, 0, "submitted", (0, STAGE, 5))]),
        [
            (DEP, "EDU", STAGE, "target_value", None),
            (DEP, "EDU", STAGE, "declared_value", None),
            (DEP, None, None, "companies_expected", 0),
            (DEP, None, None, "companies_reporting", 0),
        ],
    ),
    "resiliee_la_veille_ou_en_cours_d_annee": (
        "§3, 3",
        case(
            [
                convention(status="terminated", terminated_at=paris(2016, 12, 31, 23, 30)),
                convention(status="terminated", terminated_at=paris(2017, 1, 1), companies=(1,)),
                convention(status="terminated", terminated_at=paris(2017, 6, 15, 12), companies=(2,)),
            ],
        ),
        [
            (DEP, "EDU", STAGE, "target_value", Decimal(20)),
            (DEP, "EDU", STAGE, "companies_expected", 2),
            (DEP, None, None, "prev_companies_expected", 3),
        ],
    ),
    "campagne_d_une_autre_prefecture": (
        "§3, 4",
        case(
            [convention()],
            [declared(0, 0, "submitted", (0, STAGE, 5))],
            campaigns=(NO_CAMPAIGN, CampaignSpec(national=False, departements=(1,))),
        ),
        [
            (DEP, "EDU", STAGE, "target_value", None),
            (DEP, "EDU", STAGE, "declared_value", None),
            (DEP, None, None, "companies_expected", None),
            (("departement", "13"), None, None, "companies_expected", 0),
            (NATIONAL, None, None, "companies_expected", 0),
        ],
    ),
    "annee_sans_campagne": (
        "§3, §11",
        case([convention()], campaigns=(NO_CAMPAIGN, NO_CAMPAIGN)),
        [
            (DEP, "EDU", STAGE, "target_value", None),
            (DEP, None, None, "companies_expected", None),
            (("region", "76"), None, None, "companies_expected", None),
            (NATIONAL, None, None, "companies_expected", None),
            (NATIONAL, None, None, "prev_companies_expected", None),
        ],
    ),
    "declaration_d_une_convention_non_attendue": (
        "§3 (ayant déclaré ⊆ attendues)",
        case([convention(status="draft")], [declared(0, 0, "submitted", (0, STAGE, 5))]),
        [
            (NATIONAL, "EDU", STAGE, "declared_value", None),
            (NATIONAL, None, None, "companies_expected", 0),
            (NATIONAL, None, None, "companies_reporting", 0),
        ],
    ),
    "convention_sans_entreprise": (
        "§3, 1",
        case([convention(companies=())]),
        [(DEP, "EDU", STAGE, "target_value", None), (("convention", 0), "EDU", STAGE, "target_value", None)],
    ),
    "objectif_collectif_et_page_entreprise": (
        "§4 Conventions collectives",
        case(
            [
                convention(kind="collective", companies=(0, 1)),
                convention(commitments=(commitment(targets=((YEAR, STAGE, 20),)),)),
            ],
            [declared(0, 0, "validated", (0, STAGE, 4)), declared(1, 0, "validated", (0, STAGE, 5))],
        ),
        [
            (("company", 0), "EDU", STAGE, "target_value", Decimal(20)),
            (("company", 0), "EDU", STAGE, "declared_validated_value", Decimal(9)),
            (("company", 0), "EDU", STAGE, "attainment_rate", 0.25),
            (("company", 1), "EDU", STAGE, "target_value", None),
            (DEP, "EDU", STAGE, "target_value", Decimal(30)),
            (DEP, "EDU", STAGE, "attainment_rate", 0.3),
            (("convention", 0), "EDU", STAGE, "attainment_rate", 0.4),
        ],
    ),
    "nationale_et_declinaison": (
        "§4 Conventions nationales",
        case(
            [
                convention(kind="national"),
                convention(parent=0, commitments=(commitment(targets=((YEAR, STAGE, 5),)),)),
            ],
            [declared(0, 0, "validated", (0, STAGE, 3)), declared(1, 0, "validated", (0, STAGE, 2))],
        ),
        [
            (NATIONAL, "EDU", STAGE, "target_value", Decimal(15)),
            (NATIONAL, "EDU", STAGE, "declared_value", Decimal(5)),
            (("region", "76"), "EDU", STAGE, "target_value", Decimal(5)),
            (DEP, "EDU", STAGE, "declared_value", Decimal(2)),
            (NATIONAL, None, None, "companies_expected", 1),
        ],
    ),
    "beneficiaires_generiques": (
        "§6",
        case(
            [convention(commitments=(commitment(targets=((YEAR, "BENEFICIAIRES", 8),)),))],
            actions=[action(), action("INTERVENTION_CLASSE", beneficiaries=5, beneficiaries_qpv=1)],
        ),
        [
            (DEP, "EDU", "BENEFICIAIRES", "computed_value", Decimal(15)),
            (DEP, None, "BENEFICIAIRES", "computed_value", Decimal(15)),
            (DEP, "EDU", "BENEFICIAIRES_QPV", "computed_value", Decimal(5)),
            (DEP, "EDU", "PART_BENEFICIAIRES_QPV", "computed_value", Decimal(100) * 5 / 15),
            (DEP, "EDU", None, "qpv_share", 5 / 15),
            (("qpv", "QP034900"), "EDU", None, "actions_count", 2),
        ],
    ),
    "part_sur_les_lignes_completes": (
        "§7",
        case(
            [
                convention(
                    commitments=(commitment(targets=()), commitment(action_type="INTERVENTION_CLASSE", targets=())),
                )
            ],
            [
                declared(
                    0,
                    0,
                    "validated",
                    (0, "BENEFICIAIRES", 10),
                    (0, "BENEFICIAIRES_QPV", 5),
                    (1, "BENEFICIAIRES", 10),
                    (1, "BENEFICIAIRES_QPV", None),
                )
            ],
        ),
        [
            (DEP, "EDU", "BENEFICIAIRES", "declared_value", Decimal(20)),
            (DEP, "EDU", "PART_BENEFICIAIRES_QPV", "declared_value", Decimal(50)),
            (DEP, "EDU", "PART_BENEFICIAIRES_QPV", "declared_validated_value", Decimal(50)),
        ],
    ),
}


def _build_surveys(dataset, actions):
    """The surveys of the dataset, their personal links, responses and closed answers (methodology §14)."""
    if not dataset.surveys:
        return
    models = QuestionnaireModel.objects.in_bulk([spec.questionnaire for spec in dataset.surveys], field_name="code")
    closed = {
        code: list(
            Question.objects.filter(questionnaire=model, club__isnull=True).exclude(kind="open").order_by("position", "pk")
        )
        for code, model in models.items()
    }
    surveys = Survey.objects.bulk_create(
        [
            Survey(action=actions[spec.action], questionnaire=models[spec.questionnaire], expected_respondents=spec.expected)
            for spec in dataset.surveys
        ]
    )
    SurveyToken.objects.bulk_create(
        [SurveyToken(survey=survey) for survey, spec in zip(surveys, dataset.surveys, strict=True) for _ in range(spec.tokens)]
    )
    pairs = [(survey, spec, choices) for survey, spec in zip(surveys, dataset.surveys, strict=True) for choices in spec.responses]
    responses = Response.objects.bulk_create([Response(survey=survey) for survey, _, _ in pairs])
    Answer.objects.bulk_create(
        [
            Answer(response=response, question=question, choice=choice)
            for response, (_, spec, choices) in zip(responses, pairs, strict=True)
            for question, choice in zip(closed[spec.questionnaire], choices, strict=True)
            if choice is not None
        ]
    )
