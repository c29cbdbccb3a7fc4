"""The 360° surveys in a real browser (issue 16): an animator creates a survey from an action's page and opens its
printable QR page; a respondent answers on a 390 px phone with JavaScript off; the answer shows in the survey's
results and, after the next compile, in the club's report, once 5 responses are in (hidden below). The survey pages
pass axe."""

import re

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from evaluation import figures as registry
from evaluation.engine import runs
from evaluation.surveys import services
from evaluation.surveys.models import Answer, QuestionKind, QuestionnaireModel, Response
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_axe import axe_violations, describe, settle
from tests.factories import ActionFactory, MembershipFactory, OrganisationFactory, departement

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def club_world(db):
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[departement("34")])
    animator = MembershipFactory(organisation=club).user
    action = ActionFactory(title="Stages de 3e au collège Las Cazes", club=club, logged_by=animator)
    return {"club": club, "animator": animator, "action": action}


def answer_closed(page, survey, choice_of):
    for question in services.questions_of(survey):
        if question.kind != QuestionKind.OPEN:
            page.locator(f"input[name='q{question.pk}'][value='{choice_of(question)}']").check(force=True)


def test_an_animator_prints_the_qr_page_and_a_phone_answers_without_javascript(
    page, browser, live_server, login, screenshot, club_world
):
    login(page, live_server, club_world["animator"].email, PASSWORD)
    page.goto(reverse("actions:detail", args=[club_world["action"].pk]))
    page.get_by_role("link", name="Créer une enquête").click()
    pupil = QuestionnaireModel.objects.get(code="stage-3e-eleve")
    page.get_by_label("Questionnaire").select_option(str(pupil.pk))
    page.get_by_label("Moment de l'enquête").select_option("0")
    page.get_by_role("button", name="Créer l'enquête").click()
    page.get_by_role("link", name="Page à imprimer").click()
    assert page.locator(".survey-qr svg").count() == 1
    link = page.locator("#survey-link").inner_text().strip()
    assert re.fullmatch(r"http://[^/]+/enquete/[\w-]+/", link)
    screenshot(page, "enquete-page-a-imprimer")
    survey = club_world["action"].surveys.get()

    # The respondent's phone: no account, no JavaScript, 390 px wide. The printed address names the portal's
    # public site; the test server listens elsewhere, so its path is opened on the live server.
    path = "/" + link.split("/", 3)[3]
    phone = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="fr-FR", base_url=live_server.url)
    respondent = phone.new_page()
    respondent.goto(path)
    assert respondent.get_by_role("heading", name="Donnez votre avis").is_visible()
    # Sent empty: the error summary, and nothing recorded.
    respondent.get_by_role("button", name="Envoyer mes réponses").click()
    assert respondent.get_by_role("heading", name="Il manque des réponses").is_visible()
    assert Response.objects.count() == 0
    answer_closed(respondent, survey, lambda q: q.choices[0][0])  # « Pas du tout » / « Oui »
    respondent.locator("textarea").fill("J'ai aimé l'atelier.")
    # Nothing wider than the phone's screen.
    assert respondent.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(respondent, "enquete-reponse-telephone")
    respondent.get_by_role("button", name="Envoyer mes réponses").click()
    assert respondent.get_by_role("heading", name="Merci pour votre avis !").is_visible()
    phone.close()
    assert Response.objects.filter(survey=survey).count() == 1

    # One response: the results say so, without figures.
    page.goto(reverse("surveys:results", args=[survey.pk]))
    assert page.locator("#response-count").inner_text().startswith("1 réponse")
    assert "Moins de 5 réponses" in page.locator("#results-hidden").inner_text()
    # After the next compile the answer is in the club's report, hidden: one respondent.
    year = club_world["action"].start_date.year
    runs.start_run(year, sync=True)
    satisfaction = club_report_row(page, club_world, year)
    assert satisfaction["repondants"] == "1"
    assert satisfaction["part_reponses_positives"] == registry.WITHHELD
    screenshot(page, "enquete-rapport-club-masque")
    # Four more (another choice each): the figures show, the respondent's « Pas du tout » among them.
    for _ in range(4):
        services.submit_response(
            survey, {q: (4 if q.kind == QuestionKind.SCALE else 0) for q in services.questions_of(survey) if q.kind != "open"}
        )
    page.goto(reverse("surveys:results", args=[survey.pk]))
    first = services.questions_of(survey)[0]
    table = page.get_by_role("table", name=f"Réponses à « {first.text} »")
    assert table.get_by_role("row", name=re.compile("Pas du tout")).inner_text().split("\t")[1:] == ["1", "20 %"]
    assert table.get_by_role("row", name=re.compile("Tout à fait")).inner_text().split("\t")[1:] == ["4", "80 %"]
    # The open answer waits for moderation: not shown until the club publishes it.
    assert "J'ai aimé l'atelier." not in page.content()
    page.goto(reverse("surveys:moderation"))
    page.get_by_role("button", name="Publier").click()
    assert Answer.objects.get(text="J'ai aimé l'atelier.").moderation == "approved"
    page.goto(reverse("surveys:results", args=[survey.pk]))
    assert "J'ai aimé l'atelier." in page.content()
    screenshot(page, "enquete-resultats")
    # And in the club's report once compiled again: 4 satisfied of 5.
    runs.start_run(year, sync=True)
    satisfaction = club_report_row(page, club_world, year)
    assert satisfaction["repondants"] == "5"
    assert satisfaction["part_reponses_positives"] == "80,0\u00a0%"


def club_report_row(page, club_world, year):
    """The cells of the « satisfied » row of the club report's all-families impact table, by figure code."""
    page.goto(reverse("rapports:report", args=["club", club_world["club"].pk]) + f"?annee={year}")
    row = page.locator("#tableau-impact-toutes tr", has_text="Personnes satisfaites de l'action")
    return {cell.get_attribute("data-code"): cell.inner_text().strip() for cell in row.locator("td").all()}


def test_the_survey_pages_pass_axe(page, browser, live_server, login, club_world):
    action = club_world["action"]
    survey = services.create_survey(action, QuestionnaireModel.objects.get(code="stage-3e-eleve"), 0)
    services.issue_tokens(survey, 2)
    for _ in range(5):
        services.submit_response(
            survey, {q: ("Texte" if q.kind == QuestionKind.OPEN else 1) for q in services.questions_of(survey)}
        )
    job = services.create_survey(
        ActionFactory(
            title="Job dating", club=club_world["club"], action_type=action.action_type.__class__.objects.get(code="JOB_DATING")
        ),
        QuestionnaireModel.objects.get(code="job-dating-candidat"),
        0,
    )
    failures = []
    # Public pages, anonymous, on the phone's width: the form, its error state (empty submission), the thanks.
    phone = browser.new_context(viewport=PHONE, locale="fr-FR", base_url=live_server.url)
    public = phone.new_page()
    for url in (
        reverse("survey_public:answer", args=[survey.public_key]),
        reverse("survey_public:answer", args=[job.public_key]),
    ):
        public.goto(url)
        settle(public)
        failures += describe(url, axe_violations(public))
        public.get_by_role("button", name="Envoyer mes réponses").click()
        settle(public)
        failures += describe(url + " (erreurs)", axe_violations(public))
    public.goto(reverse("survey_public:thanks", args=[survey.public_key]))
    settle(public)
    failures += describe("merci", axe_violations(public))
    phone.close()

    login(page, live_server, club_world["animator"].email, PASSWORD)
    for url in (
        reverse("actions:detail", args=[action.pk]),
        reverse("surveys:create", args=[action.pk]),
        reverse("surveys:detail", args=[survey.pk]),
        reverse("surveys:print", args=[survey.pk]),
        reverse("surveys:tokens_print", args=[survey.pk]),
        reverse("surveys:results", args=[survey.pk]),
        reverse("surveys:list"),
        reverse("surveys:moderation"),
        reverse("surveys:questionnaires"),
        reverse("surveys:questionnaire", args=[survey.questionnaire_id]),
    ):
        response = page.goto(url)
        assert response.status == 200, url
        settle(page)
        failures += describe(url, axe_violations(page))
    assert not failures, "Violations axe graves ou critiques :\n" + "\n".join(failures)
