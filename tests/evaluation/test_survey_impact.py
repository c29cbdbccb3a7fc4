"""Impact indicators from the 360° surveys in the annual evaluation (issue 16 item 3, methodology §14).

Answers go in through the public page, as a respondent sends them; the club reads them in its report after the
next compile, with the response rate beside the share; fewer than 5 respondents hide the share on the page,
the CSV, the XLSX and the API, and a compile without any survey writes no survey figure."""

import csv
import datetime
import html
import io

import openpyxl
import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from charte.catalogue.models import Indicator
from charte.comptes.models import OrganisationKind
from evaluation import figures as registry
from evaluation.engine import runs
from evaluation.models import AnnualResult, ScopeType
from evaluation.surveys import services
from evaluation.surveys.models import QuestionKind, QuestionnaireModel
from tests.factories import ActionFactory, MembershipFactory, OrganisationFactory, departement

YEAR = 2017


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def club_world(db):
    club = OrganisationFactory(kind=OrganisationKind.CLUB, departements=[departement("34")], name="FACE Hérault")
    user = MembershipFactory(organisation=club).user
    # 40 pupils hosted; the club asked 8 of them, through the group link (QR code).
    action = ActionFactory(
        title="Stages de 3e à la Mosson", club=club, start_date=datetime.date(YEAR, 3, 1), beneficiaries_total=40
    )
    survey = services.create_survey(action, QuestionnaireModel.objects.get(code="stage-3e-eleve"), 0, user=user)
    survey.expected_respondents = 8
    survey.save(update_fields=["expected_respondents"])
    return {"club": club, "user": user, "action": action, "survey": survey}


def answer_on_the_public_page(client, survey, satisfied=True, address="203.0.113.7"):
    """What a respondent sends from the QR code page: every closed question answered, the open one left empty."""
    data = {}
    for question in services.questions_of(survey):
        if question.kind == QuestionKind.SCALE:
            data[f"q{question.pk}"] = "4" if satisfied else "1"
        elif question.kind == QuestionKind.YES_NO:
            data[f"q{question.pk}"] = "1" if satisfied else "0"
    response = client.post(reverse("survey_public:answer", args=[survey.public_key]), data, REMOTE_ADDR=address)
    assert response.status_code == 302, response.content.decode()[:500]


def report_page(client, world):
    client.force_login(world["user"])
    response = client.get(reverse("rapports:report", args=["club", world["club"].pk]), {"annee": YEAR})
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def satisfaction_row(page):
    start = page.index("Indicateurs d'impact (enquêtes) — Toutes les familles")
    row = page[page.index("Personnes satisfaites de l'action", start) :]
    return row[: row.index("</tr>")]


def cells(row_html):
    import re

    return dict(re.findall(r'data-code="([a-z_0-9]+)">([^<]*)<', row_html))


def test_an_answer_sent_on_the_public_page_shows_in_the_club_report_after_the_next_compile(client, club_world):
    survey = club_world["survey"]
    for n in range(4):
        answer_on_the_public_page(client, survey, satisfied=n != 3)
    runs.start_run(YEAR, sync=True)
    page = report_page(client, club_world)
    # Four respondents: the share and the positive answers are hidden, the response rate is shown.
    row = cells(satisfaction_row(page))
    assert row["part_reponses_positives"] == registry.WITHHELD
    assert row["reponses_positives"] == registry.WITHHELD
    assert row["repondants"] == "4"
    assert row["personnes_sollicitees"] == "8"
    assert row["taux_reponse"] == "50,0\u00a0%"

    client.logout()
    answer_on_the_public_page(client, survey, satisfied=True)
    # Not before the next compile: the report reads the published set.
    assert cells(satisfaction_row(report_page(client, club_world)))["repondants"] == "4"
    runs.start_run(YEAR, sync=True)
    row = cells(satisfaction_row(report_page(client, club_world)))
    assert row["repondants"] == "5"
    assert row["reponses_positives"] == "4"
    assert row["part_reponses_positives"] == "80,0\u00a0%"
    assert row["taux_reponse"] == "62,5\u00a0%"
    # The family table of the action says the same.
    family_table = report_page(client, club_world)
    assert 'id="tableau-impact-EDU"' in family_table or "tableau-impact-" in family_table


def test_fewer_than_5_respondents_hide_the_share_in_the_exports_and_the_api(client, club_world):
    survey = club_world["survey"]
    for _ in range(3):
        answer_on_the_public_page(client, survey)
    runs.start_run(YEAR, sync=True)
    client.force_login(club_world["user"])
    key = ["club", club_world["club"].pk]

    text = client.get(reverse("rapports:csv", args=key), {"annee": YEAR}).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = lines[0]
    satisfied = [line for line in lines if "Personnes satisfaites de l'action (enquêtes)" in line]
    assert satisfied
    for line in satisfied:
        assert line[header.index("Répondants")] == "3"
        assert line[header.index("Part de réponses positives (%)")] == ""
        assert line[header.index("Réponses positives")] == ""

    workbook = openpyxl.load_workbook(io.BytesIO(client.get(reverse("rapports:xlsx", args=key), {"annee": YEAR}).content))
    seen = 0
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        headers = next((r for r in rows if r and "Part de réponses positives" in r), None)
        if headers is None:
            continue
        for values in rows:
            if values and values[0] == "Personnes satisfaites de l'action (enquêtes)":
                seen += 1
                assert values[headers.index("Répondants")] == 3
                assert values[headers.index("Part de réponses positives")] is None
    assert seen

    api = APIClient()
    api.force_login(club_world["user"])
    body = api.get(reverse("api:resultat-list"), {"annee": YEAR, "type_perimetre": "club"}).json()
    satisfaction = Indicator.objects.get(code="ENQUETE_SATISFACTION")
    rows = [row for row in body["resultats"] if (row["indicateur"] or {}).get("code") == satisfaction.code]
    assert rows
    for row in rows:
        assert row["valeurs"]["repondants"] == 3
        assert row["valeurs"]["part_reponses_positives"] is None
        assert row["valeurs"]["reponses_positives"] is None
        assert row["valeurs"]["taux_reponse"] == pytest.approx(3 / 8)


def test_a_year_without_surveys_writes_no_survey_figure(db):
    ActionFactory(start_date=datetime.date(YEAR, 3, 1))
    run = runs.start_run(YEAR, sync=True)
    rows = AnnualResult.objects.filter(run=run)
    assert rows.filter(scope_type=ScopeType.NATIONAL, family__isnull=True, indicator__isnull=True).get().actions_count == 1
    assert not rows.filter(indicator__aggregation=Indicator.Aggregation.SURVEY).exists()
    assert not rows.filter(respondents__isnull=False).exists()


def test_survey_indicators_are_not_declared_nor_targeted(db):
    """They come from answers only: no action type suggests them, so no declaration line nor target asks them."""
    survey_indicators = Indicator.objects.filter(aggregation=Indicator.Aggregation.SURVEY)
    assert set(survey_indicators.values_list("survey_indicator", flat=True)) == {
        "satisfaction",
        "recommande",
        "stage_trouve",
        "emploi_trouve",
        "formation_trouvee",
    }
    assert all(i.type == Indicator.Type.IMPACT and not i.is_declarable for i in survey_indicators)
    assert not survey_indicators.filter(action_types__isnull=False).exists()


def test_the_demo_reports_show_impact_figures_and_one_hidden(client, db):
    from django.core.management import call_command

    from charte.comptes.models import Organisation, User

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "réponses inventées" in out.getvalue()
    run = runs.start_run(YEAR, sync=True)
    assert run.status == "succeeded", run.error
    club = Organisation.objects.get(kind=OrganisationKind.CLUB, name="FACE Hérault")
    client.force_login(User.objects.get(email="animateur.face-herault@demo.charte.fr"))
    page = html.unescape(client.get(reverse("rapports:report", args=["club", club.pk]), {"annee": YEAR}).content.decode())
    shown = cells(satisfaction_row(page))
    assert int(shown["repondants"]) >= 5 and shown["part_reponses_positives"].endswith("%")
    # The solidarity family has the 3 answers of one association: hidden.
    start = page.index('id="tableau-impact-SOL"') if 'id="tableau-impact-SOL"' in page else None
    assert start is not None, "la famille solidarité du club n'a pas d'indicateur d'impact"
    table = page[start : page.index("</table>", start)]
    assert registry.WITHHELD in table and 'data-code="repondants">3<' in table
    # The national roll-up equals the sum of the régions for the survey counts.
    rows = AnnualResult.objects.filter(run=run, family__isnull=True, indicator__code="ENQUETE_SATISFACTION")
    national = rows.get(scope_type=ScopeType.NATIONAL)
    assert national.respondents == sum(r.respondents for r in rows.filter(scope_type=ScopeType.REGION))
    assert national.respondents == 14 + 9 + 8 + 6 + 3


def test_no_form_offers_a_survey_indicator_as_declared_targeted_or_suggested(db):
    """The target form, an action type's suggested indicators and a new indicator's aggregation leave them out;
    a survey indicator keeps its aggregation (the engine reads its answers through it)."""
    from charte.catalogue.forms import ActionTypeForm, IndicatorForm
    from conventions.forms import TargetForm

    survey_indicators = set(Indicator.objects.filter(aggregation=Indicator.Aggregation.SURVEY))
    assert len(survey_indicators) == 5
    assert not survey_indicators & set(TargetForm().fields["indicator"].queryset)
    assert not survey_indicators & set(ActionTypeForm().fields["indicators"].queryset)
    assert Indicator.Aggregation.SURVEY not in [value for value, _ in IndicatorForm().fields["aggregation"].choices]
    assert IndicatorForm(instance=next(iter(survey_indicators))).fields["aggregation"].disabled


def test_no_respondent_is_empty_not_withheld():
    """Nothing to hide without any answer: « — », not « masqué » (the N-1 column of a first survey year)."""
    from types import SimpleNamespace

    share = registry.BY_CODE["part_reponses_positives"]
    assert not share.withheld(SimpleNamespace(respondents=0))
    assert share.withheld(SimpleNamespace(respondents=1))
    assert share.withheld(SimpleNamespace(respondents=4))
    assert not share.withheld(SimpleNamespace(respondents=5))
    assert share.withheld(SimpleNamespace(prev_respondents=3), previous=True)
    assert not share.withheld(SimpleNamespace(prev_respondents=0), previous=True)
