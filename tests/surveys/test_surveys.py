"""The 360° surveys (issue 16): creating a survey and its links, answering without an account, moderation,
results with the secrecy threshold, the export and the follow-ups."""

import datetime
import html
import io
import re

import openpyxl
import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import OrganisationKind
from evaluation.surveys import services
from evaluation.surveys.models import (
    Answer,
    FollowUpContact,
    Moderation,
    Question,
    QuestionKind,
    QuestionnaireModel,
    Response,
    Survey,
)
from tests.factories import ActionFactory, MembershipFactory, OrganisationFactory, action_type, departement


def act_as(kind, *codes, name=None):
    organisation = OrganisationFactory(
        kind=kind, departements=[departement(c) for c in codes], **({"name": name} if name else {})
    )
    return MembershipFactory(organisation=organisation).user, organisation


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def world(db):
    club_user, club = act_as(OrganisationKind.CLUB, "34", name="FACE Hérault")
    other_club_user, other_club = act_as(OrganisationKind.CLUB, "34", name="CREPI Hérault")
    prefecture_user, prefecture = act_as(OrganisationKind.PREFECTURE, "34")
    aude_prefecture_user, _ = act_as(OrganisationKind.PREFECTURE, "11")
    national_user, _ = act_as(OrganisationKind.NATIONAL)
    action = ActionFactory(title="Stages de 3e à la Mosson", club=club)
    job_dating = ActionFactory(title="Job dating de la Paillade", club=club, action_type=action_type("JOB_DATING"))
    pupil = QuestionnaireModel.objects.get(code="stage-3e-eleve")
    survey = services.create_survey(action, pupil, 0, user=club_user)
    return {
        "club_user": club_user,
        "club": club,
        "other_club_user": other_club_user,
        "other_club": other_club,
        "prefecture_user": prefecture_user,
        "aude_prefecture_user": aude_prefecture_user,
        "national_user": national_user,
        "action": action,
        "job_dating": job_dating,
        "pupil": pupil,
        "survey": survey,
    }


def page_text(response):
    return html.unescape(response.content.decode())


def post_answers(client, survey, url=None, **extra):
    """Answer every closed question with its first choice, the open one with a text."""
    data = {}
    for question in services.questions_of(survey):
        name = f"q{question.pk}"
        data[name] = "Un très bon stage, merci Julie" if question.kind == QuestionKind.OPEN else str(question.choices[-2][0])
    data.update(extra)
    return client.post(url or reverse("survey_public:answer", args=[survey.public_key]), data)


# --- the catalogue -----------------------------------------------------------------------------------------


def test_the_catalogue_has_the_models_the_issue_names(db):
    codes = set(QuestionnaireModel.objects.values_list("code", flat=True))
    assert {"stage-3e-eleve", "stage-3e-etablissement", "stage-3e-entreprise", "job-dating-candidat"} <= codes
    assert {"parrainage-filleul", "participant", "association"} <= codes
    job = QuestionnaireModel.objects.get(code="job-dating-candidat")
    assert 3 in job.waves and 6 in job.waves
    indicators = set(Question.objects.exclude(indicator="").values_list("indicator", flat=True))
    assert indicators == {"satisfaction", "recommande", "stage_trouve", "emploi_trouve", "formation_trouvee"}
    # Every model has an open question, which feeds no indicator.
    for model in QuestionnaireModel.objects.all():
        assert model.questions.filter(kind=QuestionKind.OPEN, indicator="").exists()


# --- creating surveys --------------------------------------------------------------------------------------


def test_a_survey_takes_a_model_of_the_action_type_and_one_of_its_waves(world):
    with pytest.raises(ValidationError) as error:
        services.create_survey(world["action"], QuestionnaireModel.objects.get(code="job-dating-candidat"), 0)
    assert "questionnaire" in error.value.error_dict
    with pytest.raises(ValidationError) as error:
        services.create_survey(world["action"], world["pupil"], 3)
    assert "wave_months" in error.value.error_dict
    with pytest.raises(ValidationError):
        services.create_survey(world["action"], world["pupil"], 0)
    assert Survey.objects.count() == 1


def test_the_club_creates_a_survey_from_the_action_page(client, world):
    client.force_login(world["club_user"])
    page = client.get(reverse("actions:detail", args=[world["job_dating"].pk]))
    assert "Enquête auprès des participants" in page_text(page)
    create_url = reverse("surveys:create", args=[world["job_dating"].pk])
    assert create_url in page_text(page)
    form = page_text(client.get(create_url))
    assert "Job dating : l'avis du candidat ou de la candidate" in form
    assert "Stage de 3e" not in form
    job = QuestionnaireModel.objects.get(code="job-dating-candidat")
    response = client.post(create_url, {"questionnaire": job.pk, "wave_months": "3"})
    survey = Survey.objects.get(action=world["job_dating"])
    assert response["Location"] == reverse("surveys:detail", args=[survey.pk])
    assert survey.wave_months == 3 and survey.created_by == world["club_user"]
    # Twice the same wave: refused at the field, nothing written.
    again = client.post(create_url, {"questionnaire": job.pk, "wave_months": "3"})
    assert "Cette enquête existe déjà" in page_text(again)
    assert Survey.objects.filter(action=world["job_dating"]).count() == 1


def test_another_club_and_the_national_level_do_not_create_surveys(client, world):
    url = reverse("surveys:create", args=[world["action"].pk])
    client.force_login(world["other_club_user"])
    assert client.get(url).status_code == 404
    client.force_login(world["national_user"])
    assert client.get(url).status_code == 403
    client.force_login(world["prefecture_user"])
    assert client.get(url).status_code == 200
    client.force_login(world["aude_prefecture_user"])
    assert client.get(url).status_code == 404


def test_the_survey_page_shows_the_link_and_an_inline_qr_code(client, world):
    survey = world["survey"]
    client.force_login(world["club_user"])
    text = page_text(client.get(reverse("surveys:detail", args=[survey.pk])))
    assert f"/enquete/{survey.public_key}/" in text
    assert "<svg" in text
    printed = page_text(client.get(reverse("surveys:print", args=[survey.pk])))
    assert "<svg" in printed and f"/enquete/{survey.public_key}/" in printed and "survey-print" in printed


def test_personal_links_are_generated_on_demand_and_printed(client, world):
    survey = world["survey"]
    client.force_login(world["club_user"])
    response = client.post(reverse("surveys:tokens", args=[survey.pk]), {"count": "3"})
    assert response["Location"] == reverse("surveys:tokens_print", args=[survey.pk])
    text = page_text(client.get(response["Location"]))
    tokens = list(survey.tokens.values_list("token", flat=True))
    assert len(tokens) == 3
    assert all(f"/enquete/{survey.public_key}/{t}/" in text for t in tokens)
    assert text.count("<svg") >= 3
    bad = client.post(reverse("surveys:tokens", args=[survey.pk]), {"count": "500"})
    assert bad.status_code == 200 and survey.tokens.count() == 3
    assert "inférieure ou égale à 200" in page_text(bad)


# --- answering -------------------------------------------------------------------------------------------


def test_the_public_page_needs_no_account_and_asks_no_personal_data(client, world):
    survey = world["survey"]
    page = client.get(reverse("survey_public:answer", args=[survey.public_key]))
    assert page.status_code == 200
    text = page_text(page)
    assert "novalidate" in text and "<legend" in text and 'type="radio"' in text
    assert "Votre stage vous a plu ?" in text
    # No name, no follow-up block for a model without later waves.
    form = text.split('id="answer-form"')[1].split("</form>")[0]
    names = set(re.findall(r'name="([^"]+)"', form))
    assert names == {"csrfmiddlewaretoken", "website", *(f"q{q.pk}" for q in services.questions_of(survey))}
    response = post_answers(client, survey)
    assert response["Location"] == reverse("survey_public:thanks", args=[survey.public_key])
    assert client.get(response["Location"]).status_code == 200
    assert Response.objects.filter(survey=survey).count() == 1
    answers = Answer.objects.filter(response__survey=survey)
    assert answers.filter(moderation=Moderation.PENDING).get().text == "Un très bon stage, merci Julie"
    assert answers.filter(choice__isnull=False, moderation=Moderation.APPROVED).count() == 4


def test_a_missing_answer_is_shown_at_its_question_and_nothing_is_recorded(client, world):
    survey = world["survey"]
    first = services.questions_of(survey)[0]
    response = post_answers(client, survey, **{f"q{first.pk}": ""})
    text = page_text(response)
    assert response.status_code == 200
    assert "Il manque des réponses" in text and "Choisissez une réponse." in text
    assert f'href="#id_q{first.pk}_0"' in text
    assert Response.objects.count() == 0


def test_a_personal_link_serves_once(client, world):
    survey = world["survey"]
    token = services.issue_tokens(survey, 1)[0]
    url = reverse("survey_public:answer_token", args=[survey.public_key, token.token])
    assert post_answers(client, survey, url=url).status_code == 302
    again = client.get(url)
    assert "Vous avez déjà répondu" in page_text(again)
    assert post_answers(client, survey, url=url).status_code == 200
    assert Response.objects.filter(survey=survey).count() == 1
    with pytest.raises(services.AlreadyAnswered):
        services.submit_response(survey, {}, token=token)
    # A token of another survey is not found.
    other = services.create_survey(world["job_dating"], QuestionnaireModel.objects.get(code="job-dating-candidat"), 0)
    assert client.get(reverse("survey_public:answer_token", args=[other.public_key, token.token])).status_code == 404


def test_a_closed_survey_says_so(client, world):
    survey = world["survey"]
    survey.closes_at = timezone.now() - datetime.timedelta(days=1)
    survey.save()
    page = client.get(reverse("survey_public:answer", args=[survey.public_key]))
    assert "Cette enquête est close" in page_text(page)
    post_answers(client, survey)
    assert Response.objects.count() == 0


def test_a_robot_filling_the_honeypot_is_thanked_and_ignored(client, world):
    survey = world["survey"]
    response = post_answers(client, survey, website="http://spam.example")
    assert response.status_code == 302
    assert Response.objects.count() == 0


def test_a_flood_from_one_address_is_stopped(client, world, settings):
    survey = world["survey"]
    for _ in range(20):
        assert post_answers(client, survey).status_code == 302
    assert post_answers(client, survey).status_code == 429
    assert Response.objects.count() == 20


def test_follow_up_needs_consent_and_an_address(client, world):
    job = QuestionnaireModel.objects.get(code="job-dating-candidat")
    survey = services.create_survey(world["job_dating"], job, 0)
    page = page_text(client.get(reverse("survey_public:answer", args=[survey.public_key])))
    assert "Voulez-vous qu'on vous recontacte dans 3 et 6 mois ?" in page
    refused = post_answers(client, survey, email="lea@example.org")
    assert "Cochez la case" in page_text(refused)
    refused = post_answers(client, survey, follow_up="on")
    assert "Écrivez votre adresse" in page_text(refused)
    assert Response.objects.count() == 0
    assert post_answers(client, survey, email="lea@example.org", follow_up="on").status_code == 302
    contact = FollowUpContact.objects.get()
    assert contact.email == "lea@example.org" and contact.consented_at is not None


# --- moderation, results, export -----------------------------------------------------------------------


def answer_n(survey, n, text="Très bien"):
    questions = services.questions_of(survey)
    for _ in range(n):
        services.submit_response(survey, {q: (text if q.kind == QuestionKind.OPEN else q.choices[0][0]) for q in questions})


def test_pending_texts_are_read_only_by_the_moderators(client, world):
    survey = world["survey"]
    answer_n(survey, 5, text="Texte à modérer")
    results_url = reverse("surveys:results", args=[survey.pk])
    for user in ("club_user", "prefecture_user", "national_user"):
        client.force_login(world[user])
        text = page_text(client.get(results_url))
        assert "Texte à modérer" not in text
        assert "Pas du tout" in text  # the figures are shown: 5 responses
    client.force_login(world["club_user"])
    queue = page_text(client.get(reverse("surveys:moderation")))
    assert queue.count("Texte à modérer") == 5
    client.force_login(world["national_user"])
    assert client.get(reverse("surveys:moderation")).status_code == 404
    client.force_login(world["other_club_user"])
    assert "Texte à modérer" not in page_text(client.get(reverse("surveys:moderation")))
    pending = list(Answer.objects.filter(moderation=Moderation.PENDING))
    assert client.post(reverse("surveys:moderate", args=[pending[0].pk]), {"decision": "approved"}).status_code == 404
    # The préfecture publishes one, the club rejects another.
    client.force_login(world["prefecture_user"])
    client.post(reverse("surveys:moderate", args=[pending[0].pk]), {"decision": "approved"})
    client.force_login(world["club_user"])
    client.post(reverse("surveys:moderate", args=[pending[1].pk]), {"decision": "rejected"})
    assert Answer.objects.get(pk=pending[1].pk).moderated_by == world["club_user"]
    client.force_login(world["national_user"])
    assert page_text(client.get(results_url)).count("Texte à modérer") == 1


def test_fewer_than_five_responses_hide_the_figures(client, world):
    survey = world["survey"]
    answer_n(survey, 4)
    Answer.objects.update(moderation=Moderation.APPROVED)
    client.force_login(world["club_user"])
    text = page_text(client.get(reverse("surveys:results", args=[survey.pk])))
    assert "moins de 5 réponses" in text.lower()
    assert "Pas du tout" not in text and "Très bien" not in text
    answer_n(survey, 1)
    text = page_text(client.get(reverse("surveys:results", args=[survey.pk])))
    assert "Pas du tout" in text


def test_results_count_each_choice(world):
    survey = world["survey"]
    answer_n(survey, 5)
    results = services.survey_results(survey)
    first = results["questions"][0]
    assert first["answered"] == 5
    assert [c["count"] for c in first["choices"]] == [5, 0, 0, 0]
    assert first["choices"][0]["share"] == 100


def test_the_export_holds_closed_answers_and_published_texts_only(client, world):
    survey = world["survey"]
    answer_n(survey, 2, text="Texte en attente")
    services.submit_response(
        survey,
        {q: ("Texte publié" if q.kind == QuestionKind.OPEN else 1) for q in services.questions_of(survey)},
        follow_up_email="",
    )
    services.moderate(Answer.objects.get(text="Texte publié"), Moderation.APPROVED, world["club_user"])
    rejected = Answer.objects.filter(text="Texte en attente").first()
    services.moderate(rejected, Moderation.REJECTED, world["club_user"])
    FollowUpContact.objects.create(response=Response.objects.first(), email="secret@example.org", consented_at=timezone.now())
    client.force_login(world["club_user"])
    response = client.get(reverse("surveys:export"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "Texte publié" in cells
    assert "Texte en attente" not in cells
    assert not any("secret@example.org" in c for c in cells)
    assert "Pas du tout" in cells
    # Another club's export holds none of these answers.
    client.force_login(world["other_club_user"])
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(reverse("surveys:export")).content)).active
    assert sheet.max_row == 1


def test_list_pages_run_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    for n in range(12):
        action = ActionFactory(title=f"Stage {n}", club=world["club"])
        survey = services.create_survey(action, world["pupil"], 0)
        answer_n(survey, 1, text=f"Texte {n}")
    client.force_login(world["club_user"])
    for name in ("surveys:list", "surveys:moderation", "surveys:questionnaires"):
        with django_assert_max_num_queries(14):
            assert client.get(reverse(name)).status_code == 200


# --- club questions ------------------------------------------------------------------------------------


def test_a_club_question_is_asked_only_in_its_surveys(client, world):
    client.force_login(world["club_user"])
    url = reverse("surveys:questionnaire", args=[world["pupil"].pk])
    response = client.post(url, {"text": "Le trajet jusqu'à l'entreprise était facile ?", "kind": "yes_no"})
    assert response.status_code == 302
    question = Question.objects.get(club=world["club"])
    assert question.indicator == ""
    assert question in services.questions_of(world["survey"])
    other_action = ActionFactory(title="Stages du CREPI", club=world["other_club"])
    other_survey = services.create_survey(other_action, world["pupil"], 0)
    assert question not in services.questions_of(other_survey)
    client.force_login(world["other_club_user"])
    assert "Le trajet" not in page_text(client.get(url))
    assert client.post(reverse("surveys:question_toggle", args=[question.pk])).status_code == 404
    client.force_login(world["prefecture_user"])
    assert client.post(url, {"text": "Question ?", "kind": "yes_no"}).status_code == 403


# --- follow-ups ----------------------------------------------------------------------------------------


def test_follow_ups_go_at_3_and_6_months_then_the_address_is_erased(world):
    job = QuestionnaireModel.objects.get(code="job-dating-candidat")
    first = services.create_survey(world["job_dating"], job, 0)
    start = timezone.now()
    response = services.submit_response(
        first,
        {q: (1 if q.kind != QuestionKind.OPEN else "") for q in services.questions_of(first)},
        follow_up_email="lea@example.org",
        now=start,
    )
    Response.objects.filter(pk=response.pk).update(submitted_at=start)
    assert services.send_due_follow_ups(now=start + datetime.timedelta(days=60)) == 0
    assert services.send_due_follow_ups(now=start + datetime.timedelta(days=93)) == 1
    three = Survey.objects.get(action=world["job_dating"], questionnaire=job, wave_months=3)
    message = mail.outbox[-1]
    assert message.to == ["lea@example.org"]
    assert f"/enquete/{three.public_key}/" in message.body
    assert "/enquete/relances/arreter/" in message.body
    # Twice the same run sends nothing more.
    assert services.send_due_follow_ups(now=start + datetime.timedelta(days=94)) == 0
    contact = FollowUpContact.objects.get()
    assert contact.email == "lea@example.org" and contact.sent_3m_at is not None
    assert services.send_due_follow_ups(now=start + datetime.timedelta(days=185)) == 1
    six = Survey.objects.get(action=world["job_dating"], questionnaire=job, wave_months=6)
    assert f"/enquete/{six.public_key}/" in mail.outbox[-1].body
    contact.refresh_from_db()
    assert contact.email == "" and contact.erased_at is not None
    assert len(mail.outbox) == 2


def test_the_stop_link_erases_the_address_at_once(client, world):
    job = QuestionnaireModel.objects.get(code="job-dating-candidat")
    first = services.create_survey(world["job_dating"], job, 0)
    response = services.submit_response(first, {}, follow_up_email="lea@example.org")
    contact = response.follow_up
    url = services.stop_link(contact).split("127.0.0.1:8000")[-1]
    assert client.get(url).status_code == 200
    client.post(url)
    contact.refresh_from_db()
    assert contact.email == "" and contact.erased_at is not None
    assert services.send_due_follow_ups(now=timezone.now() + datetime.timedelta(days=400)) == 0
    assert client.get(url[:-5] + "xxxx/").status_code == 404


def test_the_beat_task_sends_the_follow_ups(world, settings):
    from evaluation.surveys.tasks import send_survey_follow_ups

    assert send_survey_follow_ups.name == "evaluation.send_survey_follow_ups"
    assert "send-survey-follow-ups" in settings.CELERY_BEAT_SCHEDULE
    assert send_survey_follow_ups.apply().get() == 0


# --- admin ---------------------------------------------------------------------------------------------


def test_the_admin_pages_of_the_surveys_render_and_moderate(client, world):
    from charte.comptes.models import User

    answer_n(world["survey"], 1, text="À publier")
    client.force_login(User.objects.create_superuser("admin@example.org", "motdepasse-solide-1"))
    for model in ("questionnairemodel", "question", "survey", "response", "answer"):
        changelist = client.get(reverse(f"admin:surveys_{model}_changelist"))
        assert changelist.status_code == 200, model
        obj = changelist.context["cl"].result_list[0]
        assert client.get(reverse(f"admin:surveys_{model}_change", args=[obj.pk])).status_code == 200, model
    pending = Answer.objects.get(text="À publier")
    client.post(reverse("admin:surveys_answer_change", args=[pending.pk]), {"moderation": "approved"})
    pending.refresh_from_db()
    assert pending.moderation == Moderation.APPROVED and pending.moderated_by.email == "admin@example.org"
