"""Forms of the catalogue pages (national level only): families, action types, indicators.

A code identifies a row for the imports, the API and the exports: it is typed at creation and read-only
afterwards. An indicator the engine needs keeps its code, nature, aggregation and ratio terms
(`engine_needs.lock_reasons`): those fields are disabled, so whatever is posted for them is ignored.
"""

import re

from django import forms

from charte.web import DsfrModelForm

from . import engine_needs
from .models import ActionType, Family, Indicator

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
CODE_HELP = "En majuscules, chiffres et « _ » (par exemple STAGE_3E). Il ne change plus une fois enregistré."


def _clean_code(form):
    code = (form.cleaned_data.get("code") or "").strip().upper()
    if form.instance.pk is None and not CODE_RE.match(code):
        raise forms.ValidationError("Le code commence par une lettre et ne contient que des majuscules, chiffres et « _ ».")
    return code


class _CatalogueForm(DsfrModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["code"].disabled = True
            self.fields[
                "code"
            ].help_text = "Le code identifie la ligne pour les imports, l'API et les exports : il ne change pas."
        else:
            self.fields["code"].help_text = CODE_HELP

    def clean_code(self):
        return _clean_code(self) if self.instance.pk is None else self.instance.code


class FamilyForm(_CatalogueForm):
    class Meta:
        model = Family
        fields = ["code", "label", "short_label", "position", "is_active"]
        help_texts = {"is_active": "Une famille désactivée n'est plus proposée pour les nouveaux types d'action."}


class ActionTypeForm(_CatalogueForm):
    class Meta:
        model = ActionType
        fields = ["code", "label", "family", "paqte_axis", "indicators", "is_active"]
        widgets = {"indicators": forms.CheckboxSelectMultiple}
        help_texts = {
            "indicators": "Les indicateurs proposés pour ce type d'action (engagements, déclarations).",
            "is_active": "Un type désactivé n'est plus proposé pour les nouvelles actions ; l'historique le garde.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.family_id
        self.fields["family"].queryset = Family.objects.filter(is_active=True) | Family.objects.filter(pk=current)
        self.fields["family"].empty_label = "Choisir une famille"
        self.fields["paqte_axis"].choices = [("", "Aucun axe PaQte")] + list(self.fields["paqte_axis"].choices)[1:]
        chosen = self.instance.indicators.values("pk") if self.instance.pk else Indicator.objects.none()
        # Survey indicators come from answers, not from what an action type measures.
        self.fields["indicators"].queryset = (
            Indicator.objects.filter(is_active=True).exclude(aggregation=Indicator.Aggregation.SURVEY)
            | Indicator.objects.filter(pk__in=chosen)
        ).order_by("code")


class IndicatorForm(_CatalogueForm):
    class Meta:
        model = Indicator
        fields = ["code", "label", "unit", "type", "nature", "aggregation", "numerator", "denominator", "is_active"]
        help_texts = {
            "aggregation": "Une somme est déclarée par les entreprises ; un ratio est calculé à partir de deux sommes.",
            "numerator": "Pour un ratio seulement : une somme.",
            "denominator": "Pour un ratio seulement : une autre somme.",
            "is_active": "Un indicateur désactivé n'est plus proposé pour de nouveaux engagements ; ses valeurs restent.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sums = Indicator.objects.filter(aggregation=Indicator.Aggregation.SUM)
        if self.instance.pk:
            sums = sums.exclude(pk=self.instance.pk)
        for name in ("numerator", "denominator"):
            self.fields[name].queryset = sums.order_by("code")
            self.fields[name].empty_label = "Aucun (somme)"
        # A survey indicator is tied to the questions that feed it: it comes with the catalogue (methodology §14),
        # and no other indicator becomes one here.
        if self.instance.aggregation == Indicator.Aggregation.SURVEY:
            self.fields["aggregation"].disabled = True
        else:
            self.fields["aggregation"].choices = [
                choice for choice in self.fields["aggregation"].choices if choice[0] != Indicator.Aggregation.SURVEY
            ]
        self.lock_reasons = engine_needs.lock_reasons(self.instance)
        if self.lock_reasons:
            explanation = "Non modifiable : " + " ; ".join(self.lock_reasons) + "."
            for name in engine_needs.LOCKED_FIELDS:
                self.fields[name].disabled = True
                self.fields[name].help_text = explanation

    def clean(self):
        cleaned = super().clean()
        aggregation = cleaned.get("aggregation")
        numerator, denominator = cleaned.get("numerator"), cleaned.get("denominator")
        if aggregation == Indicator.Aggregation.RATIO:
            if numerator is None:
                self.add_error("numerator", "Un ratio a un numérateur.")
            if denominator is None:
                self.add_error("denominator", "Un ratio a un dénominateur.")
            if numerator is not None and numerator == denominator:
                self.add_error("denominator", "Le dénominateur doit être un autre indicateur que le numérateur.")
        elif aggregation == Indicator.Aggregation.SUM:
            if numerator is not None:
                self.add_error("numerator", "Une somme n'a pas de numérateur : choisissez « Aucun ».")
            if denominator is not None:
                self.add_error("denominator", "Une somme n'a pas de dénominateur : choisissez « Aucun ».")
        return cleaned
