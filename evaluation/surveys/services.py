"""Every write of the 360° surveys: creating a survey and its personal links, recording an anonymous response,
moderating open answers, sending the 3- and 6-month follow-ups and erasing the addresses afterwards."""

import logging

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from .models import (
    Answer,
    FollowUpContact,
    Moderation,
    Question,
    QuestionKind,
    QuestionnaireModel,
    Response,
    Survey,
    SurveyToken,
)

logger = logging.getLogger(__name__)

MAX_TOKENS_AT_ONCE = 200
STOP_SALT = "surveys.follow_up.stop"
# Below this many responses, a survey's figures and texts are not shown (same secrecy as the evaluation).
MIN_RESPONSES = 5


def applicable_questionnaires(action):
    return QuestionnaireModel.objects.for_action_type(action.action_type_id).order_by("title")


@transaction.atomic
def create_survey(action, questionnaire, wave_months, user=None, closes_at=None, expected_respondents=None):
    """A survey of an action for a model of its action type and one of the model's waves."""
    if not applicable_questionnaires(action).filter(pk=questionnaire.pk).exists():
        raise ValidationError({"questionnaire": "Ce questionnaire ne s'applique pas à ce type d'action."})
    if wave_months not in questionnaire.waves:
        raise ValidationError({"wave_months": "Ce questionnaire n'a pas cette vague."})
    if Survey.objects.filter(action=action, questionnaire=questionnaire, wave_months=wave_months).exists():
        raise ValidationError({"wave_months": "Cette enquête existe déjà pour cette action et cette vague."})
    return Survey.objects.create(
        action=action,
        questionnaire=questionnaire,
        wave_months=wave_months,
        created_by=user,
        closes_at=closes_at,
        expected_respondents=expected_respondents,
    )


@transaction.atomic
def issue_tokens(survey, count):
    """`count` new single-use personal links."""
    if not 1 <= count <= MAX_TOKENS_AT_ONCE:
        raise ValidationError({"count": f"Indiquez un nombre de liens entre 1 et {MAX_TOKENS_AT_ONCE}."})
    return SurveyToken.objects.bulk_create([SurveyToken(survey=survey) for _ in range(count)])


def questions_of(survey):
    return list(Question.objects.asked_in(survey).order_by("club_id", "position", "pk"))


def offers_follow_up(survey):
    """The follow-up block is shown on the first answer of a model that has later waves."""
    return survey.wave_months == 0 and any(w > 0 for w in survey.questionnaire.waves)


class AlreadyAnswered(Exception):
    """The personal link was used already."""


@transaction.atomic
def submit_response(survey, answers, token=None, follow_up_email="", now=None):
    """Record one response: `answers` maps each question to a choice (closed) or a text (open). Open texts wait
    for moderation; closed answers need none. With a token, the link is spent: a second use is refused, even
    when two submissions race (the row is locked)."""
    now = now or timezone.now()
    if survey.is_closed(now):
        raise ValidationError("Cette enquête est close.")
    if token is not None:
        token = SurveyToken.objects.select_for_update().get(pk=token.pk)
        if token.used_at is not None:
            raise AlreadyAnswered
        token.used_at = now
        token.save(update_fields=["used_at"])
    response = Response.objects.create(survey=survey, token=token)
    rows = []
    for question, value in answers.items():
        if question.kind == QuestionKind.OPEN:
            text = (value or "").strip()
            if text:
                rows.append(Answer(response=response, question=question, text=text, moderation=Moderation.PENDING))
        elif value is not None and value != "":
            rows.append(Answer(response=response, question=question, choice=int(value), moderation=Moderation.APPROVED))
    Answer.objects.bulk_create(rows)
    if follow_up_email:
        FollowUpContact.objects.create(response=response, email=follow_up_email, consented_at=now)
    return response


@transaction.atomic
def moderate(answer, decision, user):
    if decision not in (Moderation.APPROVED, Moderation.REJECTED):
        raise ValidationError("Décision de modération inconnue.")
    answer.moderation = decision
    answer.moderated_by = user
    answer.moderated_at = timezone.now()
    answer.save(update_fields=["moderation", "moderated_by", "moderated_at"])
    return answer


# --- results ---------------------------------------------------------------------------------------------


def survey_results(survey):
    """What the results page shows: the response count, then per question the count of each choice, and the
    approved open answers. Fewer than MIN_RESPONSES responses: no figure, no text (`hidden`)."""
    response_count = survey.responses.count()
    questions = questions_of(survey)
    counts = {}
    for row in (
        Answer.objects.published()
        .filter(response__survey=survey, choice__isnull=False)
        .values("question_id", "choice")
        .annotate(n=Count("pk"))
    ):
        counts[(row["question_id"], row["choice"])] = row["n"]
    texts = {}
    for answer in Answer.objects.published().filter(response__survey=survey, question__kind=QuestionKind.OPEN).order_by("pk"):
        texts.setdefault(answer.question_id, []).append(answer.text)
    hidden = response_count < MIN_RESPONSES
    rows = []
    for question in questions:
        choices = [{"label": label, "count": counts.get((question.pk, value), 0)} for value, label in question.choices]
        answered = sum(c["count"] for c in choices)
        for c in choices:
            c["share"] = round(100 * c["count"] / answered) if answered else None
        rows.append({"question": question, "choices": choices, "answered": answered, "texts": texts.get(question.pk, [])})
    return {"response_count": response_count, "hidden": hidden, "questions": [] if hidden else rows, "min": MIN_RESPONSES}


# --- follow-ups ------------------------------------------------------------------------------------------


def _due(contact, months, now):
    return contact.response.submitted_at + relativedelta(months=months) <= now


def _follow_up_link(survey):
    token = SurveyToken.objects.create(survey=survey)
    path = reverse("survey_public:answer_token", kwargs={"public_key": survey.public_key, "token": token.token})
    return settings.SITE_URL.rstrip("/") + path


def _send(contact, survey, months):
    link = _follow_up_link(survey)
    body = (
        "Bonjour,\n\n"
        f"Il y a {months} mois, vous avez répondu à notre questionnaire « {survey.questionnaire.title} ».\n"
        "Vous aviez accepté qu'on vous recontacte. Pouvez-vous nous dire ce qui a changé pour vous ?\n\n"
        f"Répondre (2 minutes, sans compte) : {link}\n\n"
        "Votre adresse sert seulement à ces relances. Nous l'effaçons après la dernière.\n"
        f"Pour ne plus recevoir de message et effacer votre adresse tout de suite : {stop_link(contact)}\n\n"
        "La Charte Entreprises et Quartiers"
    )
    send_mail(f"Votre avis {months} mois après : {survey.questionnaire.title}", body, None, [contact.email])


def stop_link(contact):
    signed = signing.dumps(contact.pk, salt=STOP_SALT)
    return settings.SITE_URL.rstrip("/") + reverse("survey_public:stop", kwargs={"signed": signed})


def send_due_follow_ups(now=None):
    """Send every follow-up that is due, with a personal link to the survey of the matching later wave (created
    if missing), then erase the address once the last follow-up of the model is sent. Each contact is handled
    in its own transaction, locked, so that two runs never send twice. Returns the number of e-mails sent."""
    now = now or timezone.now()
    sent = 0
    pending = FollowUpContact.objects.filter(erased_at__isnull=True).values_list("pk", flat=True)
    for pk in list(pending):
        with transaction.atomic():
            contact = (
                FollowUpContact.objects.select_for_update(of=("self",))
                .select_related("response__survey__questionnaire", "response__survey__action")
                .get(pk=pk)
            )
            if contact.erased_at is not None:
                continue
            first = contact.response.survey
            later_waves = sorted(w for w in first.questionnaire.waves if w > first.wave_months)
            for months in later_waves:
                field = {3: "sent_3m_at", 6: "sent_6m_at"}[months]
                if getattr(contact, field) is None and _due(contact, months, now):
                    survey = _wave_survey(first, months)
                    _send(contact, survey, months)
                    setattr(contact, field, now)
                    sent += 1
            last = {3: "sent_3m_at", 6: "sent_6m_at"}.get(later_waves[-1]) if later_waves else None
            if last is None or getattr(contact, last) is not None:
                contact.email = ""
                contact.erased_at = now
            contact.save()
    return sent


def _wave_survey(first, months):
    try:
        with transaction.atomic():
            survey, _ = Survey.objects.get_or_create(
                action=first.action, questionnaire=first.questionnaire, wave_months=months, defaults={"created_by": None}
            )
    except IntegrityError:
        survey = Survey.objects.get(action=first.action, questionnaire=first.questionnaire, wave_months=months)
    return survey


@transaction.atomic
def erase_follow_up(contact, now=None):
    """On the respondent's request: the address goes at once."""
    contact.email = ""
    contact.erased_at = now or timezone.now()
    contact.save(update_fields=["email", "erased_at"])


@transaction.atomic
def add_club_question(questionnaire, club_id, text, kind):
    """A club's own question, asked only in its surveys and feeding no national indicator."""
    position = (questionnaire.questions.filter(club_id=club_id).count() or 0) + 100
    return Question.objects.create(questionnaire=questionnaire, club_id=club_id, text=text.strip(), kind=kind, position=position)


@transaction.atomic
def toggle_club_question(question):
    question.is_active = not question.is_active
    question.save(update_fields=["is_active"])
    return question


def pending_count(scope):
    return Answer.objects.moderable_by(scope).filter(moderation=Moderation.PENDING).count()


def club_answers(scope):
    """The answers an export may hold: visible surveys, closed answers and approved texts only."""
    return (
        Answer.objects.visible_to(scope)
        .published()
        .filter(Q(question__kind=QuestionKind.OPEN) | Q(choice__isnull=False))
        .select_related("question", "response__survey__questionnaire", "response__survey__action")
        .order_by("response__survey_id", "response_id", "question__position", "pk")
    )
