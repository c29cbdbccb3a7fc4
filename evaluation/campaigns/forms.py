"""The forms of the campaign pages. They only collect what a person typed: every rule (dates, scope,
statuses, values) is checked by `evaluation.campaigns.services`, whose refusals are shown at the fields they name."""

from django import forms
from dsfr.forms import DsfrBaseForm

from charte.territoires.models import Departement

from . import evidence
from .services import value_key

DATE_WIDGET = {"type": "date"}


def comment_key(commitment_id, indicator_id):
    return f"comment_{commitment_id}_{indicator_id}"


def show_number(value):
    """A declared figure as a French person types it: « 12 », « 12,5 » (no trailing zeros)."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


class CampaignForm(DsfrBaseForm):
    year = forms.IntegerField(label="Année évaluée", min_value=2000, max_value=2100, help_text="Par exemple 2017.")
    title = forms.CharField(
        label="Intitulé",
        max_length=200,
        required=False,
        help_text="Facultatif : « Campagne <année> » par défaut.",
    )
    opens_on = forms.DateField(label="Ouverture le", widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    reminder_on = forms.DateField(
        label="Relance le",
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        help_text="Les entreprises qui n'ont pas transmis leur déclaration reçoivent un rappel à partir de cette date.",
    )
    closes_on = forms.DateField(label="Clôture le", widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    departements = forms.ModelMultipleChoiceField(
        label="Départements couverts",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departements"].queryset = Departement.objects.visible_to(scope).order_by("code")
        if scope.is_national:
            self.fields["departements"].help_text = "Aucun département coché : campagne nationale, pour toute la France."
        else:
            self.fields["departements"].help_text = "Aucun département coché : tous les départements de votre préfecture."

    def clean(self):
        cleaned = super().clean()
        opens_on, reminder_on, closes_on = (cleaned.get(name) for name in ("opens_on", "reminder_on", "closes_on"))
        if opens_on and closes_on and closes_on < opens_on:
            self.add_error("closes_on", "La clôture doit suivre l'ouverture de la campagne.")
        return cleaned


class DeclarationForm(forms.Form):
    """One value field and one comment field per line of the declaration, and the version displayed."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, lines, **kwargs):
        self.lines = lines
        initial = kwargs.pop("initial", None) or {}
        for line in lines:
            initial.setdefault(value_key(*line.key), show_number(line.value))
            initial.setdefault(comment_key(*line.key), line.comment)
        super().__init__(*args, initial=initial, **kwargs)
        for line in lines:
            nature = "offerte" if line.is_offered else "réalisée"
            value_field = self.fields[value_key(*line.key)] = forms.CharField(
                label=f"Valeur {nature}",
                required=False,
                max_length=30,
                widget=forms.TextInput(attrs={"class": "fr-input", "inputmode": "decimal", "autocomplete": "off"}),
            )
            comment_field = self.fields[comment_key(*line.key)] = forms.CharField(
                label="Commentaire",
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"class": "fr-input", "rows": 2}),
            )
            # Every line has a "Valeur réalisée": the error summary names the indicator it belongs to.
            value_field.summary_label = f"{line.indicator.label} — valeur {nature}"
            comment_field.summary_label = f"{line.indicator.label} — commentaire"

    def service_values(self):
        """{(commitment_id, indicator_id): (raw value, comment)} for `services.save_draft`."""
        return {
            line.key: (self.cleaned_data.get(value_key(*line.key), ""), self.cleaned_data.get(comment_key(*line.key), ""))
            for line in self.lines
        }

    def rows(self):
        """(line, value field, comment field) for the template."""
        return [(line, self[value_key(*line.key)], self[comment_key(*line.key)]) for line in self.lines]


class EvidenceForm(DsfrBaseForm):
    file = forms.FileField(
        label="Ajouter un justificatif",
        help_text=f"{evidence.ACCEPTED_LABEL} ; 10 Mo au plus.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{ext}" for ext in evidence.ACCEPTED)}),
    )


class ReturnForm(DsfrBaseForm):
    comment = forms.CharField(
        label="Commentaire pour l'entreprise",
        help_text="Obligatoire : indiquez ce que l'entreprise doit corriger.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"required": "Indiquez à l'entreprise ce qu'elle doit corriger."},
    )


class ReopenForm(DsfrBaseForm):
    reason = forms.CharField(
        label="Motif de la réouverture",
        help_text="Obligatoire : il est conservé dans l'historique de la déclaration.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"required": "Une réouverture doit être motivée."},
    )


class CompletenessFilterForm(DsfrBaseForm):
    SHOW_CHOICES = [
        ("", "Toutes les entreprises"),
        ("incompletes", "Déclaration manquante, en brouillon ou renvoyée"),
        ("a_valider", "Déclaration transmise, à valider"),
        ("validees", "Toutes les déclarations validées"),
    ]
    show = forms.ChoiceField(label="Entreprises affichées", choices=SHOW_CHOICES, required=False)
    q = forms.CharField(label="Nom de l'entreprise", required=False, max_length=100)

    def keep(self, row):
        if not self.is_valid():
            return True
        q = self.cleaned_data["q"].strip().lower()
        if q and q not in row.name.lower():
            return False
        show = self.cleaned_data["show"]
        if show == "incompletes":
            return bool(row.missing or row.draft or row.returned)
        if show == "a_valider":
            return bool(row.submitted)
        if show == "validees":
            return row.validated == row.expected
        return True
