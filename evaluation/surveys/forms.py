"""Forms of the survey pages. The answer form is built from the survey's questions; every write goes through
`evaluation.surveys.services`."""

from django import forms
from dsfr.forms import DsfrBaseForm

from .models import WAVE_CHOICES, QuestionKind, QuestionnaireModel

REQUIRED_CHOICE = "Choisissez une réponse."
DATE_WIDGET = {"type": "date"}


class SurveyCreateForm(DsfrBaseForm):
    questionnaire = forms.ModelChoiceField(
        label="Questionnaire",
        queryset=QuestionnaireModel.objects.none(),
        empty_label="Choisir un questionnaire",
        error_messages={"required": "Choisissez un questionnaire.", "invalid_choice": "Choisissez un questionnaire de la liste."},
    )
    wave_months = forms.TypedChoiceField(
        label="Moment de l'enquête",
        choices=WAVE_CHOICES,
        coerce=int,
        error_messages={"required": "Choisissez le moment de l'enquête."},
    )
    expected_respondents = forms.IntegerField(
        label="Nombre de personnes sollicitées",
        required=False,
        min_value=1,
        max_value=100000,
        help_text="Sert à calculer le taux de réponse.",
    )
    closes_on = forms.DateField(
        label="Date de clôture",
        required=False,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        help_text="Après cette date, le lien ne permet plus de répondre.",
    )

    def __init__(self, *args, questionnaires, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["questionnaire"].queryset = questionnaires


class TokensForm(DsfrBaseForm):
    count = forms.IntegerField(
        label="Nombre de liens personnels à créer",
        min_value=1,
        max_value=200,
        initial=10,
        help_text="Chaque lien ne sert qu'une fois. Entre 1 et 200.",
        error_messages={"required": "Indiquez un nombre de liens.", "invalid": "Indiquez un nombre entier."},
    )


class ClubQuestionForm(DsfrBaseForm):
    text = forms.CharField(
        label="Votre question",
        max_length=300,
        help_text="Des mots simples, une seule idée. Elle est posée seulement dans les enquêtes de votre club.",
        error_messages={"required": "Écrivez la question."},
    )
    kind = forms.ChoiceField(label="Type de réponse", choices=QuestionKind.choices, widget=forms.RadioSelect)


def question_field_name(question):
    return f"q{question.pk}"


class AnswerForm(DsfrBaseForm):
    """One field per question; closed questions are required, open ones are not. A honeypot field, hidden from
    people (CSS and aria-hidden), catches the robots that fill every input. The follow-up block only exists on
    the first wave of a model with later waves."""

    website = forms.CharField(label="Ne pas remplir ce champ", required=False)

    def __init__(self, *args, questions, follow_up, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            name = question_field_name(question)
            if question.kind == QuestionKind.OPEN:
                self.fields[name] = forms.CharField(
                    label=question.text,
                    required=False,
                    max_length=2000,
                    widget=forms.Textarea(attrs={"rows": 4}),
                    help_text="Ne donnez pas de nom, ni d'adresse, ni de numéro de téléphone.",
                )
            else:
                self.fields[name] = forms.TypedChoiceField(
                    label=question.text,
                    choices=[(str(v), label) for v, label in question.choices],
                    coerce=int,
                    widget=forms.RadioSelect,
                    error_messages={"required": REQUIRED_CHOICE},
                )
        self.follow_up = follow_up
        if follow_up:
            self.fields["follow_up"] = forms.BooleanField(
                label="Oui, j'accepte qu'on m'écrive dans 3 et 6 mois pour cette enquête, et seulement pour cela.",
                required=False,
                help_text="Votre adresse est effacée après le dernier message. Elle n'est jamais montrée au club "
                "ni à l'entreprise.",
            )
            self.fields["email"] = forms.EmailField(
                label="Votre adresse électronique",
                required=False,
                help_text="Format attendu : nom@domaine.fr",
                error_messages={"invalid": "Écrivez une adresse électronique valide, par exemple nom@domaine.fr."},
            )

    def question_fields(self):
        return [self[question_field_name(q)] for q in self.questions]

    def is_robot(self):
        return bool(self.data.get("website"))

    def clean(self):
        data = super().clean()
        if self.follow_up:
            email, consent = data.get("email"), data.get("follow_up")
            if consent and not email and "email" not in self.errors:
                self.add_error("email", "Écrivez votre adresse pour qu'on puisse vous recontacter.")
            if email and not consent:
                self.add_error("follow_up", "Cochez la case si vous acceptez qu'on vous recontacte, ou effacez l'adresse.")
        return data

    def answers(self):
        """question -> value, for the service."""
        return {q: self.cleaned_data.get(question_field_name(q)) for q in self.questions}

    def follow_up_email(self):
        if self.follow_up and self.cleaned_data.get("follow_up"):
            return self.cleaned_data.get("email") or ""
        return ""
