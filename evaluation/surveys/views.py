"""Pages of the 360° surveys. Management pages (club of the action, préfecture; national reads) take their rows
from `Survey.objects.visible_to(scope)`; the answer pages are public, need no JavaScript, and ask for no
personal data."""

import datetime

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from charte.exports import Workbook
from charte.web import add_service_error
from conventions.models import Action

from . import services
from .forms import AnswerForm, ClubQuestionForm, SurveyCreateForm, TokensForm
from .models import (
    SCALE_CHOICES,
    YES_NO_CHOICES,
    Answer,
    FollowUpContact,
    Moderation,
    Question,
    QuestionKind,
    QuestionnaireModel,
    Survey,
    SurveyToken,
)
from .permissions import can_manage_surveys, may_add_club_questions

MANAGERS_ONLY = "Seuls le club qui a saisi l'action et la préfecture de son département peuvent gérer ses enquêtes."
# Against a robot submitting the group link in a loop: this many responses per address and survey per hour.
RATE_LIMIT = 20


def public_url(request, survey, token=None):
    if token is None:
        path = reverse("survey_public:answer", kwargs={"public_key": survey.public_key})
    else:
        path = reverse("survey_public:answer_token", kwargs={"public_key": survey.public_key, "token": token.token})
    return settings.SITE_URL.rstrip("/") + path


def qr_svg(url, scale=4):
    """The QR code of a link, as inline SVG made on the server (segno): nothing fetched, printable."""
    return mark_safe(segno.make(url, error="m").svg_inline(scale=scale, title="Code QR du lien de l'enquête"))


def _page(request, items):
    return Paginator(items, settings.PAGE_SIZE).get_page(request.GET.get("page"))


def _survey(request, pk):
    return get_object_or_404(Survey.objects.visible_to(request.scope).select_related("questionnaire", "action__club"), pk=pk)


def _managed_survey(request, pk):
    survey = _survey(request, pk)
    if not can_manage_surveys(request.scope, survey.action):
        raise PermissionDenied(MANAGERS_ONLY)
    return survey


# --- management -------------------------------------------------------------------------------------------


def survey_list(request):
    scope = request.scope
    if not (scope.is_national or scope.is_prefecture or scope.is_club):
        raise Http404("Page introuvable.")
    queryset = (
        Survey.objects.visible_to(scope)
        .select_related("questionnaire", "action")
        .annotate(response_count=Count("responses", distinct=True))
        .order_by("-created_at", "-pk")
    )
    questionnaire = request.GET.get("questionnaire", "")
    if questionnaire.isdigit():
        queryset = queryset.filter(questionnaire_id=int(questionnaire))
    query = request.GET.get("q", "").strip()
    if query:
        queryset = queryset.filter(action__title__icontains=query)
    page_obj = _page(request, queryset)
    return render(
        request,
        "surveys/list.html",
        {
            "page_obj": page_obj,
            "surveys": page_obj.object_list,
            "questionnaires": QuestionnaireModel.objects.visible_to(scope).order_by("title"),
            "selected_questionnaire": questionnaire,
            "q": query,
            "pending": services.pending_count(scope),
        },
    )


def survey_create(request, action_pk):
    action = get_object_or_404(Action.objects.visible_to(request.scope).select_related("action_type"), pk=action_pk)
    if not can_manage_surveys(request.scope, action):
        raise PermissionDenied(MANAGERS_ONLY)
    questionnaires = services.applicable_questionnaires(action)
    form = SurveyCreateForm(request.POST or None, questionnaires=questionnaires)
    if request.method == "POST" and form.is_valid():
        closes_on = form.cleaned_data["closes_on"]
        closes_at = None
        if closes_on:
            closes_at = timezone.make_aware(datetime.datetime.combine(closes_on, datetime.time.max))
        try:
            survey = services.create_survey(
                action,
                form.cleaned_data["questionnaire"],
                form.cleaned_data["wave_months"],
                user=request.user,
                closes_at=closes_at,
                expected_respondents=form.cleaned_data["expected_respondents"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "L'enquête est créée : partagez le lien ou le code QR.")
            return redirect("surveys:detail", pk=survey.pk)
    return render(request, "surveys/create.html", {"form": form, "action": action, "questionnaires": questionnaires})


def survey_detail(request, pk):
    survey = _survey(request, pk)
    link = public_url(request, survey)
    tokens = survey.tokens.aggregate(total=Count("pk"), used=Count("pk", filter=Q(used_at__isnull=False)))
    return render(
        request,
        "surveys/detail.html",
        {
            "survey": survey,
            "link": link,
            "qr": qr_svg(link),
            "tokens": tokens,
            "tokens_form": TokensForm(),
            "can_manage": can_manage_surveys(request.scope, survey.action),
            "response_count": survey.responses.count(),
        },
    )


def survey_print(request, pk):
    survey = _survey(request, pk)
    link = public_url(request, survey)
    return render(request, "surveys/print.html", {"survey": survey, "link": link, "qr": qr_svg(link, scale=8)})


def tokens_create(request, pk):
    survey = _managed_survey(request, pk)
    form = TokensForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.issue_tokens(survey, form.cleaned_data["count"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return redirect("surveys:tokens_print", pk=survey.pk)
    return render(request, "surveys/tokens_form.html", {"survey": survey, "form": form})


def tokens_print(request, pk):
    survey = _managed_survey(request, pk)
    page_obj = _page(request, survey.tokens.filter(used_at__isnull=True).order_by("pk"))
    cards = [{"number": t.pk, "url": public_url(request, survey, t)} for t in page_obj.object_list]
    for card in cards:
        card["qr"] = qr_svg(card["url"], scale=3)
    return render(request, "surveys/tokens_print.html", {"survey": survey, "cards": cards, "page_obj": page_obj})


def survey_results(request, pk):
    survey = _survey(request, pk)
    return render(request, "surveys/results.html", {"survey": survey, "results": services.survey_results(survey)})


# --- moderation -------------------------------------------------------------------------------------------


def moderation_queue(request):
    scope = request.scope
    if not (scope.is_prefecture or scope.is_club):
        raise Http404("Page introuvable.")
    queryset = (
        Answer.objects.moderable_by(scope)
        .filter(moderation=Moderation.PENDING)
        .select_related("question", "response__survey__action", "response__survey__questionnaire")
        .order_by("response__submitted_at", "pk")
    )
    page_obj = _page(request, queryset)
    return render(request, "surveys/moderation.html", {"page_obj": page_obj, "answers": page_obj.object_list})


@require_POST
def moderate(request, pk):
    answer = get_object_or_404(Answer.objects.moderable_by(request.scope), pk=pk)
    decision = request.POST.get("decision")
    try:
        services.moderate(answer, decision, request.user)
    except ValidationError:
        messages.error(request, "Choisissez « Publier » ou « Écarter ».")
    else:
        messages.success(request, "Réponse publiée." if decision == Moderation.APPROVED else "Réponse écartée.")
    return redirect("surveys:moderation")


# --- export -----------------------------------------------------------------------------------------------

EXPORT_HEADER = ["Action", "Date de l'action", "Questionnaire", "Vague", "Réponse n°", "Envoyée le", "Question", "Réponse"]


def _answer_label(answer):
    if answer.question.kind == QuestionKind.OPEN:
        return answer.text
    labels = dict(SCALE_CHOICES if answer.question.kind == QuestionKind.SCALE else YES_NO_CHOICES)
    return labels.get(answer.choice, "")


def export_xlsx(request):
    """The answers of the surveys one sees: closed answers and published texts; never a pending or rejected
    text, never an address."""
    scope = request.scope
    if not (scope.is_national or scope.is_prefecture or scope.is_club):
        raise Http404("Page introuvable.")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Réponses"
    sheet.append(EXPORT_HEADER)
    for answer in services.club_answers(scope).iterator(chunk_size=2000):
        survey = answer.response.survey
        sheet.append(
            [
                survey.action.title,
                survey.action.start_date,
                survey.questionnaire.title,
                survey.get_wave_months_display(),
                answer.response_id,
                timezone.localtime(answer.response.submitted_at).replace(tzinfo=None),
                answer.question.text,
                _answer_label(answer),
            ]
        )
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="reponses-enquetes.xlsx"'
    workbook.save(response)
    return response


# --- questionnaire models ---------------------------------------------------------------------------------


def questionnaire_list(request):
    queryset = (
        QuestionnaireModel.objects.visible_to(request.scope)
        .prefetch_related("action_types")
        .annotate(question_count=Count("questions", filter=Q(questions__club__isnull=True, questions__is_active=True)))
    )
    group = request.GET.get("groupe", "")
    if group:
        queryset = queryset.filter(respondent_group=group)
    page_obj = _page(request, queryset.order_by("title"))
    return render(
        request,
        "surveys/questionnaire_list.html",
        {
            "page_obj": page_obj,
            "questionnaires": page_obj.object_list,
            "group": group,
            "groups": QuestionnaireModel._meta.get_field("respondent_group").choices,
        },
    )


def questionnaire_detail(request, pk):
    questionnaire = get_object_or_404(QuestionnaireModel.objects.visible_to(request.scope), pk=pk)
    questions = Question.objects.visible_to(request.scope).filter(questionnaire=questionnaire).select_related("club")
    form = None
    if may_add_club_questions(request.scope):
        form = ClubQuestionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            services.add_club_question(
                questionnaire, request.scope.organisation_id, form.cleaned_data["text"], form.cleaned_data["kind"]
            )
            messages.success(request, "Votre question est ajoutée aux enquêtes de votre club.")
            return redirect("surveys:questionnaire", pk=questionnaire.pk)
    elif request.method == "POST":
        raise PermissionDenied("Seul un club peut ajouter ses propres questions à un modèle.")
    return render(
        request,
        "surveys/questionnaire_detail.html",
        {
            "questionnaire": questionnaire,
            "national_questions": [q for q in questions if q.club_id is None],
            "club_questions": [q for q in questions if q.club_id is not None],
            "form": form,
            "can_edit": request.scope.is_national,
        },
    )


@require_POST
def club_question_toggle(request, pk):
    """A club withdraws (or asks again) one of its own questions: answers already given stay."""
    question = get_object_or_404(Question.objects.visible_to(request.scope).filter(club__isnull=False), pk=pk)
    if not (request.scope.is_club and question.club_id == request.scope.organisation_id):
        raise PermissionDenied("Seul le club qui a ajouté la question peut la retirer.")
    services.toggle_club_question(question)
    return redirect("surveys:questionnaire", pk=question.questionnaire_id)


# --- public answer pages ----------------------------------------------------------------------------------


def _client_address(request):
    return request.META.get("REMOTE_ADDR", "")


def _rate_limited(request, survey):
    key = f"surveys:rate:{survey.pk}:{_client_address(request)}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) > RATE_LIMIT
    except ValueError:
        return False


@login_not_required
def answer(request, public_key, token=None):
    survey = get_object_or_404(Survey.objects.select_related("questionnaire", "action"), public_key=public_key)
    token_obj = None
    if token is not None:
        token_obj = get_object_or_404(SurveyToken.objects.filter(survey=survey), token=token)
    context = {"survey": survey, "questionnaire": survey.questionnaire}
    if survey.is_closed():
        return render(request, "surveys/public/closed.html", context)
    if token_obj is not None and token_obj.used_at is not None:
        return render(request, "surveys/public/used.html", context)
    questions = services.questions_of(survey)
    form = AnswerForm(request.POST or None, questions=questions, follow_up=services.offers_follow_up(survey))
    if request.method == "POST":
        if form.is_robot():
            # Said thank you, recorded nothing: a robot learns nothing.
            return redirect("survey_public:thanks", public_key=survey.public_key)
        if _rate_limited(request, survey):
            return render(request, "surveys/public/limited.html", context, status=429)
        if form.is_valid():
            try:
                services.submit_response(survey, form.answers(), token=token_obj, follow_up_email=form.follow_up_email())
            except services.AlreadyAnswered:
                return render(request, "surveys/public/used.html", context)
            except ValidationError:
                return render(request, "surveys/public/closed.html", context)
            return redirect("survey_public:thanks", public_key=survey.public_key)
    return render(request, "surveys/public/answer.html", {**context, "form": form})


@login_not_required
def thanks(request, public_key):
    survey = get_object_or_404(Survey.objects.select_related("questionnaire"), public_key=public_key)
    return render(request, "surveys/public/thanks.html", {"survey": survey})


@login_not_required
def stop_follow_up(request, signed):
    """The link of every follow-up e-mail: the address is erased at once, on request."""
    try:
        pk = signing.loads(signed, salt=services.STOP_SALT)
    except signing.BadSignature as error:
        raise Http404("Lien invalide.") from error
    contact = get_object_or_404(FollowUpContact, pk=pk)
    done = contact.erased_at is not None
    if request.method == "POST" and not done:
        services.erase_follow_up(contact)
        done = True
    return render(request, "surveys/public/stop.html", {"done": done})
