"""The data of the 360° surveys (issue 16).

A questionnaire model (national catalogue) holds questions; a club may add its own questions to a model, asked
only in its surveys. A survey is one action x one questionnaire model x one wave (0, 3 or 6 months after the
action); respondents answer without an account, through the survey's group link (QR code) or a single-use
personal link (token). A response holds no personal data; the only address ever kept is the one a respondent
leaves, with explicit consent, for the 3- and 6-month follow-ups (`FollowUpContact`), erased after the last one.

Closed answers need no moderation: they are stored as `approved` at once, so "what others may read" is one
filter (`moderation = approved`) whatever the kind of question. Open answers start `pending`.
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from charte.catalogue.models import ActionType
from charte.comptes.models import Organisation
from conventions.models import Action

WAVE_CHOICES = [(0, "Juste après l'action"), (3, "3 mois après"), (6, "6 mois après")]
WAVE_MONTHS = [months for months, _ in WAVE_CHOICES]


def new_public_key():
    # 128 bits: the group link cannot be guessed from another one.
    return secrets.token_urlsafe(16)


def new_token():
    return secrets.token_urlsafe(16)


def validate_waves(value):
    if not isinstance(value, list) or not value or any(v not in WAVE_MONTHS for v in value) or len(set(value)) != len(value):
        raise ValidationError("Choisissez une ou plusieurs vagues parmi 0, 3 et 6 mois, sans doublon.")


class RespondentGroup(models.TextChoices):
    ELEVE = "eleve", "Élève"
    ETABLISSEMENT = "etablissement", "Établissement scolaire"
    ENTREPRISE_ACCUEIL = "entreprise_accueil", "Entreprise d'accueil"
    CANDIDAT = "candidat", "Candidat ou candidate"
    FILLEUL = "filleul", "Filleul ou filleule"
    PARTICIPANT = "participant", "Participant ou participante"
    ASSOCIATION = "association", "Association"


class QuestionnaireModelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def visible_to(self, scope):
        """The catalogue is referential: every organisation reads it (it is what respondents are asked)."""
        return self.all()

    def for_action_type(self, action_type):
        return self.active().filter(action_types=action_type)


class QuestionnaireModel(models.Model):
    """A model questionnaire of the national catalogue, for one respondent group and some action types."""

    code = models.SlugField("code", max_length=60, unique=True)
    title = models.CharField("titre", max_length=200)
    respondent_group = models.CharField("personnes interrogées", max_length=30, choices=RespondentGroup.choices)
    action_types = models.ManyToManyField(
        ActionType, blank=True, related_name="questionnaire_models", verbose_name="types d'actions concernés"
    )
    # The waves that exist for this model, in months after the action: [0], [3, 6], [0, 3, 6]...
    waves = models.JSONField("vagues (mois après l'action)", default=list, validators=[validate_waves])
    intro = models.TextField("texte d'accueil", blank=True, max_length=2000)
    is_active = models.BooleanField("actif", default=True)

    objects = QuestionnaireModelQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = "modèle de questionnaire"
        verbose_name_plural = "modèles de questionnaires"

    def __str__(self):
        return self.title

    @property
    def wave_labels(self):
        labels = dict(WAVE_CHOICES)
        return [labels[w] for w in sorted(self.waves) if w in labels]


class QuestionKind(models.TextChoices):
    SCALE = "scale", "Échelle en 4 points (Pas du tout … Tout à fait)"
    YES_NO = "yes_no", "Oui ou non"
    OPEN = "open", "Réponse libre"


# The 4-point scale, stored as 1..4. Yes / no is stored as 1 / 0.
SCALE_CHOICES = [(1, "Pas du tout"), (2, "Plutôt pas"), (3, "Plutôt oui"), (4, "Tout à fait")]
YES_NO_CHOICES = [(1, "Oui"), (0, "Non")]


class ImpactIndicator(models.TextChoices):
    """The impact a closed question feeds (compiled with the annual evaluation)."""

    SATISFACTION = "satisfaction", "Satisfaction (plutôt oui + tout à fait)"
    RECOMMANDE = "recommande", "Recommanderait l'action (oui)"
    STAGE_TROUVE = "stage_trouve", "A trouvé un stage (oui)"
    EMPLOI_TROUVE = "emploi_trouve", "A trouvé un emploi (oui)"
    FORMATION_TROUVEE = "formation_trouvee", "A trouvé une formation (oui)"


class QuestionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def national(self):
        return self.filter(club__isnull=True)

    def asked_in(self, survey):
        """The questions of a survey: the model's national ones, and those the action's club added."""
        club_questions = Q(club_id=survey.action.club_id) if survey.action.club_id else Q(pk__in=[])
        return self.active().filter(Q(club__isnull=True) | club_questions, questionnaire_id=survey.questionnaire_id)

    def visible_to(self, scope):
        """National questions: everybody. A club's own questions: that club, the préfectures of its
        départements, the national level."""
        if scope.is_national:
            return self.all()
        national = Q(club__isnull=True)
        if scope.is_prefecture:
            clubs = Organisation.objects.filter(departements__in=scope.departement_ids).values("pk")
            return self.filter(national | Q(club_id__in=clubs))
        if scope.is_club:
            return self.filter(Q(club__isnull=True) | Q(club_id=scope.organisation_id))
        return self.filter(club__isnull=True)


class Question(models.Model):
    questionnaire = models.ForeignKey(
        QuestionnaireModel, on_delete=models.CASCADE, related_name="questions", verbose_name="modèle de questionnaire"
    )
    position = models.PositiveSmallIntegerField("ordre", default=0)
    text = models.CharField("question", max_length=300, help_text="Des mots simples, une idée par question.")
    kind = models.CharField("type de réponse", max_length=10, choices=QuestionKind.choices)
    indicator = models.CharField("indicateur d'impact alimenté", max_length=30, choices=ImpactIndicator.choices, blank=True)
    club = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="survey_questions",
        limit_choices_to={"kind": "club"},
        verbose_name="ajoutée par le club",
    )
    is_active = models.BooleanField("active", default=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["questionnaire", "club_id", "position", "pk"]
        verbose_name = "question"
        constraints = [
            # A club's question feeds no national indicator; an open question feeds none at all.
            models.CheckConstraint(
                condition=Q(indicator="") | (Q(club__isnull=True) & ~Q(kind="open")),
                name="survey_question_indicator_national_closed",
                violation_error_message="Seule une question fermée du modèle national alimente un indicateur.",
            ),
        ]

    def __str__(self):
        return self.text

    @property
    def choices(self):
        if self.kind == QuestionKind.SCALE:
            return SCALE_CHOICES
        if self.kind == QuestionKind.YES_NO:
            return YES_NO_CHOICES
        return []


class SurveyQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The surveys of the actions the scope sees (Action.visible_to), for national, préfectures and clubs.
        A company does not read what the people it hosted said about it, and a partner reads no action."""
        if not (scope.is_national or scope.is_prefecture or scope.is_club):
            return self.none()
        return self.filter(action__in=Action.objects.visible_to(scope).values("pk"))


class Survey(models.Model):
    """An enquête: one action x one questionnaire model x one wave."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="surveys", verbose_name="action")
    questionnaire = models.ForeignKey(
        QuestionnaireModel, on_delete=models.PROTECT, related_name="surveys", verbose_name="modèle de questionnaire"
    )
    wave_months = models.PositiveSmallIntegerField("vague", choices=WAVE_CHOICES, default=0)
    public_key = models.SlugField("clé du lien", max_length=40, unique=True, default=new_public_key, editable=False)
    # How many people were asked (the denominator of the response rate), when the club knows it.
    expected_respondents = models.PositiveIntegerField("personnes sollicitées", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="créée par"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    closes_at = models.DateTimeField("close le", null=True, blank=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "enquête"
        constraints = [
            models.UniqueConstraint(fields=["action", "questionnaire", "wave_months"], name="survey_one_per_wave"),
            models.CheckConstraint(condition=Q(wave_months__in=WAVE_MONTHS), name="survey_wave_known"),
        ]

    def __str__(self):
        return f"{self.questionnaire} — {self.get_wave_months_display()} — {self.action}"

    def is_closed(self, now=None):
        return self.closes_at is not None and self.closes_at <= (now or timezone.now())


class SurveyTokenQuerySet(models.QuerySet):
    def visible_to(self, scope):
        return self.filter(survey__in=Survey.objects.visible_to(scope).values("pk"))


class SurveyToken(models.Model):
    """A single-use personal link of a survey."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="tokens", verbose_name="enquête")
    token = models.SlugField("jeton", max_length=40, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    used_at = models.DateTimeField("utilisé le", null=True, blank=True)

    objects = SurveyTokenQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = "lien personnel"
        verbose_name_plural = "liens personnels"

    def __str__(self):
        return f"Lien personnel n° {self.pk}"


class ResponseQuerySet(models.QuerySet):
    def visible_to(self, scope):
        return self.filter(survey__in=Survey.objects.visible_to(scope).values("pk"))


class Response(models.Model):
    """One person's answers to a survey. No personal data."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses", verbose_name="enquête")
    token = models.OneToOneField(
        SurveyToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="response", verbose_name="lien personnel"
    )
    submitted_at = models.DateTimeField("envoyée le", auto_now_add=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = "réponse à une enquête"
        verbose_name_plural = "réponses aux enquêtes"
        indexes = [models.Index(fields=["survey", "submitted_at"], name="survey_response_idx")]

    def __str__(self):
        return f"Réponse n° {self.pk}"


class Moderation(models.TextChoices):
    PENDING = "pending", "À modérer"
    APPROVED = "approved", "Publiée"
    REJECTED = "rejected", "Écartée"


class AnswerQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Answers of visible surveys, where an open text is read only once approved, except by those who
        moderate it (the action's club, the préfecture of its département)."""
        visible = self.filter(response__survey__in=Survey.objects.visible_to(scope).values("pk"))
        return visible.filter(Q(moderation=Moderation.APPROVED) | Q(pk__in=self.moderable_by(scope).values("pk")))

    def published(self):
        return self.filter(moderation=Moderation.APPROVED)

    def moderable_by(self, scope):
        """Open answers the scope moderates: the club that logged the action, a préfecture of its département.
        National does not moderate (nor read pending texts): the people close to the action do."""
        open_answers = self.filter(question__kind=QuestionKind.OPEN)
        if scope.is_club:
            return open_answers.filter(response__survey__action__club_id=scope.organisation_id)
        if scope.is_prefecture:
            return open_answers.filter(response__survey__action__departement_id__in=scope.departement_ids)
        return self.none()


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers", verbose_name="réponse")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers", verbose_name="question")
    # Scale: 1..4; yes / no: 1 / 0; open: null.
    choice = models.SmallIntegerField("choix", null=True, blank=True)
    text = models.TextField("réponse libre", blank=True, max_length=2000)
    moderation = models.CharField("modération", max_length=10, choices=Moderation.choices, default=Moderation.APPROVED)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="modérée par"
    )
    moderated_at = models.DateTimeField("modérée le", null=True, blank=True)

    objects = AnswerQuerySet.as_manager()

    class Meta:
        ordering = ["response", "question__position", "pk"]
        verbose_name = "réponse à une question"
        verbose_name_plural = "réponses aux questions"
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="survey_answer_once"),
            models.CheckConstraint(
                condition=Q(choice__isnull=True) | Q(choice__gte=0, choice__lte=4), name="survey_answer_choice_range"
            ),
        ]
        indexes = [models.Index(fields=["question", "choice"], name="survey_answer_choice_idx")]

    def __str__(self):
        return f"{self.question} : {self.choice if self.choice is not None else self.text[:40]}"


class FollowUpContactQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Nobody reads the addresses on the portal: they only serve the follow-up e-mails. National sees that
        they exist (support), never in exports or results."""
        if scope.is_national:
            return self.all()
        return self.none()


class FollowUpContact(models.Model):
    """The address a respondent left ONLY for the 3- and 6-month follow-ups, with explicit consent."""

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="follow_up", verbose_name="réponse")
    email = models.EmailField("adresse électronique", blank=True)
    consented_at = models.DateTimeField("accord donné le")
    sent_3m_at = models.DateTimeField("relance à 3 mois envoyée le", null=True, blank=True)
    sent_6m_at = models.DateTimeField("relance à 6 mois envoyée le", null=True, blank=True)
    erased_at = models.DateTimeField("adresse effacée le", null=True, blank=True)

    objects = FollowUpContactQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = "contact pour les relances"
        verbose_name_plural = "contacts pour les relances"
        constraints = [
            models.CheckConstraint(condition=Q(erased_at__isnull=True) | Q(email=""), name="survey_followup_erased_blank"),
        ]

    def __str__(self):
        return f"Contact de la réponse n° {self.response_id}"
