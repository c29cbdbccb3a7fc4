"""Statistical secrecy of the public outputs (methodology §13), checked by an attacker.

The attacker is written from the methodology, not from the suppression code (`evaluation.reports.secrecy` is
not imported here): it reads what anyone can read without signing in (the open-data JSON of every published
year, the public home page) plus what the methodology says is known anyway (the margins of the table: totals
per département over families, per family over départements, the national total, taken from the published
national run's rows), writes every relation it knows as a linear equation (margins; beneficiaries = QPV
residents + non-residents; companies expected = reporting + non-reporting; the home page counters) and decides
by exact Gaussian elimination over the rationals whether a hidden value is determined: its unit vector lies in
the row space of the equations. A hidden cell, or a complement of 1 to 4, that is determined is a leak.
"""

import html
import random
import re
from fractions import Fraction
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction

from charte.catalogue.models import Family, Indicator
from charte.territoires.models import Departement
from evaluation.engine import runs
from evaluation.models import AnnualResult, EvaluationRun, ScopeType

# The counts of the open-data file, their AnnualResult columns, and the complements: (whole, part, name).
COUNTS = {
    "actions": "actions_count",
    "beneficiaires": "beneficiaries",
    "beneficiaires_qpv": "beneficiaries_qpv",
    "entreprises_attendues": "companies_expected",
    "entreprises_ayant_declare": "companies_reporting",
}
# Survey indicators (methodology §14): respondents published, positive answers known through the published share
# (share x respondents); both add up to known margins. {question indicator: AnnualResult indicator code}.
SURVEYS = {
    "satisfaction": "ENQUETE_SATISFACTION",
    "recommande": "ENQUETE_RECOMMANDE",
    "stage_trouve": "ENQUETE_STAGE_TROUVE",
    "emploi_trouve": "ENQUETE_EMPLOI_TROUVE",
    "formation_trouvee": "ENQUETE_FORMATION_TROUVEE",
}
SURVEY_COUNTS = {
    f"enquete_{code}_{what}": field
    for code in SURVEYS
    for what, field in (("repondants", "respondents"), ("positives", "positive_answers"))
}
ADDITIVE = ("actions", "beneficiaires", "beneficiaires_qpv", *SURVEY_COUNTS)
COMPLEMENTS = (
    ("beneficiaires", "beneficiaires_qpv", "beneficiaires_non_residents"),
    ("entreprises_attendues", "entreprises_ayant_declare", "entreprises_non_declarantes"),
)
JSON_URL = "/rapports/donnees-ouvertes/departements-familles.json"


def small(value):
    return value is not None and 1 <= value <= 4


# --- the attacker: exact linear algebra ---------------------------------------------------------------------


class Attack:
    """Linear equations over unknowns; which unknowns they determine, and at what value."""

    def __init__(self):
        self.known = {}
        self.equations = []  # ({variable: coefficient}, right-hand side): sum(coefficient x variable) = rhs
        self.contradictions = 0

    def know(self, variable, value):
        self.known[variable] = Fraction(value)

    def equation(self, terms, total):
        """sum(coefficient x variable) = total, known variables moved to the right-hand side."""
        row = {}
        rhs = Fraction(total)
        for variable, coefficient in terms:
            if variable in self.known:
                rhs -= coefficient * self.known[variable]
            else:
                row[variable] = row.get(variable, 0) + Fraction(coefficient)
        row = {variable: coefficient for variable, coefficient in row.items() if coefficient}
        self.equations.append((row, rhs))

    def determined(self):
        """{variable: value} of the unknowns the equations fix (reduced row echelon form)."""
        pivots = {}  # pivot variable -> (row over the pivot and free variables, rhs), kept fully reduced
        for row, rhs in self.equations:
            row = dict(row)
            for variable in [variable for variable in row if variable in pivots]:
                factor = row.pop(variable)
                pivot_row, pivot_rhs = pivots[variable]
                for other, coefficient in pivot_row.items():
                    if other != variable:
                        row[other] = row.get(other, 0) - factor * coefficient
                        if not row[other]:
                            del row[other]
                rhs -= factor * pivot_rhs
            if not row:
                # Redundant: it must agree, else two public figures contradict each other (a home page counter
                # that is not the total of the open data, say); the contradiction is set aside and reported.
                if rhs:
                    self.contradictions += 1
                continue
            pivot = min(row, key=lambda variable: (len(str(variable)), str(variable)))
            scale = row[pivot]
            row = {variable: coefficient / scale for variable, coefficient in row.items()}
            rhs /= scale
            for other_pivot, (other_row, other_rhs) in list(pivots.items()):
                factor = other_row.get(pivot)
                if factor:
                    new_row = dict(other_row)
                    del new_row[pivot]
                    for variable, coefficient in row.items():
                        if variable != pivot:
                            new_row[variable] = new_row.get(variable, 0) - factor * coefficient
                            if not new_row[variable]:
                                del new_row[variable]
                    pivots[other_pivot] = (new_row, other_rhs - factor * rhs)
            pivots[pivot] = (row, rhs)
        return {variable: rhs for variable, (row, rhs) in pivots.items() if len(row) == 1}


def attack(publication, margins=None, home=()):
    """What an attacker recovers.

    publication: {year: {(département, family): {count: published value or None}}} (the open data);
    margins: {year: {"departement": {dép: {count: v}}, "famille": {fam: {count: v}}, "national": {count: v}}};
    home: [(count, years, value)]: a counter of the home page, the total of a count over these years.
    Returns {(year, département, family, count or complement): value} of the determined unknowns, and the
    number of equations that contradicted the others."""
    attack = Attack()

    def var(year, cell, code):
        return (year, cell[0], cell[1], code)

    for year, cells in publication.items():
        for cell, values in cells.items():
            for code, value in values.items():
                if value is not None:
                    attack.know(var(year, cell, code), value)
    for year, cells in publication.items():
        for cell in cells:
            for whole, part, name in COMPLEMENTS:
                attack.equation([(var(year, cell, whole), 1), (var(year, cell, part), -1), (var(year, cell, name), -1)], 0)
        if not margins or year not in margins:
            continue
        known = margins[year]
        for code in [code for code in ADDITIVE if code in known["national"]]:
            # A cell absent from the file is a zero: nothing happened there.
            for departement, totals in known["departement"].items():
                attack.equation([(var(year, cell, code), 1) for cell in cells if cell[0] == departement], totals[code] or 0)
            for family, totals in known["famille"].items():
                attack.equation([(var(year, cell, code), 1) for cell in cells if cell[1] == family], totals[code] or 0)
            attack.equation([(var(year, cell, code), 1) for cell in cells], known["national"][code] or 0)
        if "beneficiaires" in known["national"]:
            # Non-residents add up too: their margins are those of the beneficiaries minus the residents'.
            name = "beneficiaires_non_residents"
            for departement, totals in known["departement"].items():
                terms = [(var(year, cell, name), 1) for cell in cells if cell[0] == departement]
                attack.equation(terms, (totals["beneficiaires"] or 0) - (totals["beneficiaires_qpv"] or 0))
            for family, totals in known["famille"].items():
                terms = [(var(year, cell, name), 1) for cell in cells if cell[1] == family]
                attack.equation(terms, (totals["beneficiaires"] or 0) - (totals["beneficiaires_qpv"] or 0))
    for code, years, value in home:
        terms = [(var(year, cell, code), 1) for year in years for cell in publication.get(year, {})]
        attack.equation(terms, value)
    return attack.determined(), attack.contradictions


def leaks(truth, publication, recovered):
    """The secrets the attack recovered: hidden cells (published null, a value in the database) and complements
    of 1 to 4, as readable strings."""
    found = []
    for year, cells in truth.items():
        for cell, values in cells.items():
            shown = publication[year][cell]
            secrets = {code: value for code, value in values.items() if value is not None and shown[code] is None}
            for whole, part, name in COMPLEMENTS:
                if values[whole] is not None and values[part] is not None and small(values[whole] - values[part]):
                    secrets[name] = values[whole] - values[part]
            for code, value in secrets.items():
                key = (year, cell[0], cell[1], code)
                if key in recovered:
                    assert recovered[key] == value, f"l'attaquant se trompe sur {key}"
                    found.append(f"{year} département {cell[0]} famille {cell[1]} {code} = {value}")
    return found


# --- what is public, what is true ---------------------------------------------------------------------------


def published_runs():
    return {run.year: run for run in EvaluationRun.objects.published().filter(scope_type=ScopeType.NATIONAL)}


def read_publication(client, years):
    """The open data of each year, as anyone downloads it (not signed in)."""
    publication = {}
    for year in years:
        data = client.get(JSON_URL, {"annee": year}).json()
        assert data["annee"] == year
        publication[year] = {
            (row["departement_code"], row["famille_code"]): {code: row[code] for code in COUNTS} | survey_values(row)
            for row in data["lignes"]
        }
        for row in data["lignes"]:
            for code in SURVEYS:
                # The share and the response rate only with their respondents (rule 5), the share from 5 on.
                respondents = row[f"enquete_{code}_repondants"]
                if row[f"enquete_{code}_part"] is not None or row[f"enquete_{code}_taux_reponse"] is not None:
                    assert respondents is not None, row
                if row[f"enquete_{code}_part"] is not None:
                    assert respondents >= 5, row
            # Rule 3: a share is published only with its two terms.
            if row["part_beneficiaires_qpv"] is not None:
                assert row["beneficiaires"] is not None and row["beneficiaires_qpv"] is not None, row
    return publication


def survey_values(row):
    """What the open data says of the answers: respondents, and positive answers = share x respondents (0 when
    nobody answered: there is no share then, and nothing to hide)."""
    values = {}
    for code in SURVEYS:
        respondents, share = row[f"enquete_{code}_repondants"], row[f"enquete_{code}_part"]
        values[f"enquete_{code}_repondants"] = respondents
        if respondents == 0:
            values[f"enquete_{code}_positives"] = 0
        else:
            values[f"enquete_{code}_positives"] = None if share is None else round(Fraction(str(share)) * respondents)
    return values


def read_truth_and_margins(runs_by_year):
    truth, margins = {}, {}
    for year, run in runs_by_year.items():
        rows = AnnualResult.objects.filter(run=run, indicator__isnull=True).select_related("family")
        truth[year] = {}
        margins[year] = {"departement": {}, "famille": {}, "national": {}}
        answers = {}
        survey_rows = AnnualResult.objects.filter(run=run, indicator__code__in=SURVEYS.values()).select_related(
            "family", "indicator"
        )
        for row in survey_rows:
            key = (row.scope_type, row.scope_key, row.family.code if row.family else None)
            code = row.indicator.survey_indicator
            answers.setdefault(key, {})[f"enquete_{code}_repondants"] = row.respondents or 0
            answers[key][f"enquete_{code}_positives"] = row.positive_answers or 0
        for row in rows:
            values = {code: getattr(row, field) for code, field in COUNTS.items()}
            values |= dict.fromkeys(SURVEY_COUNTS, 0) | answers.get(
                (row.scope_type, row.scope_key, row.family.code if row.family else None), {}
            )
            if row.scope_type == ScopeType.DEPARTEMENT and row.family:
                truth[year][(row.scope_key, row.family.code)] = values
            elif row.scope_type == ScopeType.DEPARTEMENT:
                margins[year]["departement"][row.scope_key] = values
            elif row.scope_type == ScopeType.NATIONAL and row.family:
                margins[year]["famille"][row.family.code] = values
            elif row.scope_type == ScopeType.NATIONAL:
                margins[year]["national"] = values
    return truth, margins


TILE = re.compile(r'fr-tile__title">([^<]*)</p>\s*<p class="fr-tile__desc">([^<]*)</p>')


def read_home(client, years):
    """The home page's counters of actions and beneficiaries: (count, years it covers, value). A counter that does
    not say its year is read as the total of every year published."""
    page = html.unescape(client.get("/").content.decode())
    counters = []
    for number, label in TILE.findall(page):
        digits = re.sub(r"[\s\u202f\u00a0]", "", number)
        if not digits.isdigit():
            continue
        year = re.search(r"\b(20\d\d)\b", label)
        covered = (int(year.group(1)),) if year else tuple(years)
        if "action" in label:
            counters.append(("actions", covered, int(digits)))
        elif "bénéficiaire" in label:
            counters.append(("beneficiaires", covered, int(digits)))
    return counters


def check_publication(client):
    """Attack everything public; return the leaks, the publication and the truth."""
    runs_by_year = published_runs()
    publication = read_publication(client, sorted(runs_by_year))
    truth, margins = read_truth_and_margins(runs_by_year)
    home = read_home(client, sorted(runs_by_year))
    recovered, contradictions = attack(publication, margins, home)
    return SimpleNamespace(
        leaks=leaks(truth, publication, recovered), contradictions=contradictions, publication=publication, truth=truth, home=home
    )


def assert_secret(checked, context=""):
    assert not checked.leaks, f"{context}secret statistique rompu :\n" + "\n".join(checked.leaks)
    assert not checked.contradictions, f"{context}des chiffres publics se contredisent (page d'accueil, totaux, cellules)"
    assert_primary_rule(checked.publication)


def assert_primary_rule(publication):
    for year, cells in publication.items():
        for cell, values in cells.items():
            # Positive answers among 5 respondents or more are not hidden for being few (secrecy rule 5).
            published_small = {code: value for code, value in values.items() if small(value) and not code.endswith("_positives")}
            assert not published_small, f"{year} {cell}: effectifs de 1 à 4 publiés {published_small}"
            for whole, part, name in COMPLEMENTS:
                if values[whole] is not None and values[part] is not None:
                    assert not small(values[whole] - values[part]), f"{year} {cell}: {name} de 1 à 4 publié"


# --- the attacker can fail ----------------------------------------------------------------------------------


def test_the_attacker_recovers_a_complement_published_through_its_two_terms():
    # Haute-Garonne 2017, employment: 8 companies expected, 7 reporting: one did not declare.
    publication = {2017: {("31", "EMP"): {"entreprises_attendues": 8, "entreprises_ayant_declare": 7}}}
    assert attack(publication)[0][(2017, "31", "EMP", "entreprises_non_declarantes")] == 1
    # Aude 2015, economic development: 14 beneficiaries, 11 QPV residents: 3 are not.
    publication = {2015: {("11", "ECO"): {"beneficiaires": 14, "beneficiaires_qpv": 11}}}
    assert attack(publication)[0][(2015, "11", "ECO", "beneficiaires_non_residents")] == 3


def test_the_attacker_recovers_a_hidden_cell_from_a_home_page_total():
    cells = {("11", "EDU"): {"actions": 37}, ("11", "ECO"): {"actions": None}, ("34", "EDU"): {"actions": 96}}
    recovered, _ = attack({2015: cells}, home=[("actions", (2015,), 135)])
    assert recovered[(2015, "11", "ECO", "actions")] == 2


def test_the_attacker_recovers_a_lone_hidden_cell_from_the_margins_but_not_a_rectangle():
    truth = {("a", "F1"): 3, ("a", "F2"): 20, ("b", "F1"): 30, ("b", "F2"): 40}

    def margins_of(values):
        return {
            "departement": {d: {"actions": sum(v for (dd, _), v in values.items() if dd == d)} for d in "ab"},
            "famille": {f: {"actions": sum(v for (_, ff), v in values.items() if ff == f)} for f in ("F1", "F2")},
            "national": {"actions": sum(values.values())},
        }

    def publish(hidden):
        return {2017: {cell: {"actions": None if cell in hidden else value} for cell, value in truth.items()}}

    margins = {2017: margins_of(truth)}
    assert attack(publish({("a", "F1")}), margins)[0][(2017, "a", "F1", "actions")] == 3
    everything, _ = attack(publish(set(truth)), margins)
    assert not any(key[3] == "actions" for key in everything)


# --- the demo territory, 2015 to 2017 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        with open("/dev/null", "w") as silent:
            call_command("seed_demo", stdout=silent)
        for year in (2015, 2016, 2017):
            runs.start_run(year, sync=True)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo_db(demo, db):
    cache.clear()


def test_nothing_hidden_in_the_demo_open_data_can_be_recovered(client, demo_db):
    checked = check_publication(client)
    assert sorted(checked.publication) == [2015, 2016, 2017]
    assert checked.home, "la page d'accueil ne montre aucun compteur d'actions"
    assert_secret(checked)


def test_the_demo_open_data_publishes_no_small_count_and_hides_only_what_it_must(client, demo_db):
    checked = check_publication(client)
    publication, truth = checked.publication, checked.truth
    assert_primary_rule(publication)
    cells = [(year, cell, code) for year, year_cells in publication.items() for cell in year_cells for code in COUNTS]
    published = [(year, cell, code) for year, cell, code in cells if publication[year][cell][code] is not None]
    for code in ADDITIVE[:3]:
        assert any(publication[year][cell][code] is not None for year, cell, _ in published if _ == code)
    # The demo's survey answers (FACE Hérault, 2017): a share is published where enough people answered.
    satisfied = [values["enquete_satisfaction_positives"] for values in publication[2017].values()]
    assert any(value for value in satisfied), "aucune part de satisfaction publiée dans les données ouvertes 2017"
    # Most of the table stays published (the three years: about 70 % of the cells).
    assert len(published) > len(cells) / 2
    # The companies' cells are hidden only for their own small counts or complements: never a secondary one.
    for year, year_cells in publication.items():
        for cell, values in year_cells.items():
            real = truth[year][cell]
            if values["entreprises_attendues"] is None and real["entreprises_attendues"] is not None:
                assert small(real["entreprises_attendues"])


def test_the_home_page_shows_the_published_national_row_of_the_latest_year(client, demo_db):
    national = AnnualResult.objects.get(
        run=published_runs()[2017], scope_type=ScopeType.NATIONAL, family__isnull=True, indicator__isnull=True
    )
    home = read_home(client, [2015, 2016, 2017])
    assert ("actions", (2017,), national.actions_count) in home
    assert ("beneficiaires", (2017,), national.beneficiaries) in home
    page = html.unescape(client.get("/").content.decode())
    assert "compilation nationale publiée pour 2017, terminée le" in page
    # Its actions are the sum of the open data's cells and of nothing else (no live count of all actions).
    publication = read_publication(client, [2017])
    assert sum(values["actions"] or 0 for values in publication[2017].values()) <= national.actions_count


def test_the_open_data_notice_says_what_is_hidden_and_links_the_method(client, demo_db):
    page = html.unescape(client.get("/rapports/donnees-ouvertes/", {"annee": 2016}).content.decode())
    assert 'href="/methodologie/#secret-statistique"' in page
    assert "Masquage secondaire" in page and "Cellules masquées en 2016" in page
    data = client.get(JSON_URL, {"annee": 2016}).json()
    # A cell is hidden when the published run has a figure the file leaves empty (a year without campaign has no
    # companies expected at all: empty, but not secret).
    run = EvaluationRun.objects.published().get(year=2016, scope_type=ScopeType.NATIONAL)
    published = {
        (r.scope_key, r.family.code): r
        for r in AnnualResult.objects.filter(run=run, scope_type=ScopeType.DEPARTEMENT, indicator=None, family__isnull=False)
    }
    hidden = sum(
        1
        for row in data["lignes"]
        for code in COUNTS
        if row[code] is None and getattr(published[(row["departement_code"], row["famille_code"])], COUNTS[code]) is not None
    )
    assert sum(data["secret_statistique"]["cellules_masquees"].values()) == hidden > 0
    assert data["secret_statistique"]["methodologie"].endswith("/methodologie/#secret-statistique")


def test_public_pages_run_a_fixed_number_of_queries_and_the_suppression_runs_once_per_run(
    client, demo_db, django_assert_num_queries
):
    # First download of the year: the years, the run, its cells, its survey cells, the départements' names.
    with django_assert_num_queries(5):
        first = client.get(JSON_URL, {"annee": 2017}).json()
    # Then the suppression is read from the cache: the years and the run only.
    with django_assert_num_queries(2):
        assert client.get(JSON_URL, {"annee": 2017}).json() == first
    # Home page: companies, conventions, QPV, the latest run, its national row; the DSFR settings of the base
    # template twice.
    with django_assert_num_queries(7):
        assert client.get("/").status_code == 200


# --- random tables ------------------------------------------------------------------------------------------


RANDOM_SURVEYS = ("satisfaction", "emploi_trouve")


def random_table(rng, departements, families):
    """Cells with many small counts (the hard case), some large ones, a few zeros."""

    def count():
        return rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 35, 60, 150, 400, 1200])

    cells = {}
    for departement in departements:
        for family in families:
            beneficiaries = count()
            residents = max(0, beneficiaries - rng.choice([0, 1, 2, 3, 4, 5, rng.randint(0, beneficiaries)]))
            expected = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 20])
            reporting = max(0, expected - rng.choice([0, 1, 2, 3, 4, 5, 9]))
            cells[(departement, family)] = {
                "actions": count(),
                "beneficiaires": beneficiaries,
                "beneficiaires_qpv": residents,
                "entreprises_attendues": expected,
                "entreprises_ayant_declare": reporting,
            }
            # Survey answers of two indicators (the others: nobody answered), many under 5 respondents.
            for code in SURVEYS:
                respondents = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 15, 40]) if code in RANDOM_SURVEYS else 0
                cells[(departement, family)][f"enquete_{code}_repondants"] = respondents
                cells[(departement, family)][f"enquete_{code}_positives"] = rng.randint(0, respondents)
    return cells


def store(year, cells, families):
    """A succeeded national run holding the table, its département and family totals and the national row."""
    run = EvaluationRun.objects.create(year=year, status=EvaluationRun.Status.SUCCEEDED)
    rows = []

    indicators = {code: Indicator.objects.get(code=indicator) for code, indicator in SURVEYS.items()}

    def row(scope_type, scope_key, family, values):
        fields = {COUNTS[code]: value for code, value in values.items() if code in COUNTS}
        beneficiaries, residents = values["beneficiaires"], values["beneficiaires_qpv"]
        share = residents / beneficiaries if beneficiaries else None
        unit = f"dep:{scope_key}" if scope_type == ScopeType.DEPARTEMENT else "national"
        common = {"run": run, "unit": unit, "year": year, "scope_type": scope_type, "scope_key": scope_key, "family": family}
        rows.append(AnnualResult(**common, qpv_share=share, **fields))
        for code, indicator in indicators.items():
            respondents, positive = values[f"enquete_{code}_repondants"], values[f"enquete_{code}_positives"]
            if respondents:
                rows.append(
                    AnnualResult(
                        **common,
                        indicator=indicator,
                        respondents=respondents,
                        positive_answers=positive,
                        positive_share=positive / respondents,
                        people_reached=respondents * 2,
                        response_rate=0.5,
                    )
                )

    def total(selected):
        # Companies are distinct: a total is not their sum; any value at least the largest cell's will do.
        values = {code: sum(cells[cell][code] for cell in selected) for code in ADDITIVE}
        values["entreprises_attendues"] = max(cells[cell]["entreprises_attendues"] for cell in selected) + 1
        values["entreprises_ayant_declare"] = max(cells[cell]["entreprises_ayant_declare"] for cell in selected)
        return values

    by_code = {family.code: family for family in families}
    for (departement, family), values in cells.items():
        row(ScopeType.DEPARTEMENT, departement, by_code[family], values)
    for departement in {cell[0] for cell in cells}:
        row(ScopeType.DEPARTEMENT, departement, None, total([cell for cell in cells if cell[0] == departement]))
    for family in by_code:
        row(ScopeType.NATIONAL, "", by_code[family], total([cell for cell in cells if cell[1] == family]))
    row(ScopeType.NATIONAL, "", None, total(list(cells)))
    AnnualResult.objects.bulk_create(rows)
    return run


@pytest.mark.parametrize("seed", range(30))
def test_nothing_hidden_in_a_random_table_can_be_recovered(client, db, seed):
    cache.clear()
    rng = random.Random(seed)
    families = list(Family.objects.order_by("position")[:5])
    size = rng.choice([2, 2, 3, 4, 5, 8, 12, 20, 30]) if seed else 101  # one table at national scale
    departements = rng.sample(sorted(Departement.objects.values_list("code", flat=True)), size)
    cells = random_table(rng, departements, [family.code for family in families])
    store(2017, cells, families)

    checked = check_publication(client)
    assert checked.home and checked.publication[2017].keys() == cells.keys()
    assert_secret(checked, f"graine {seed} : ")
