"""Filters of the action list and its CSV export. Every choice list is limited to the person's scope."""

import django_filters
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse_lazy
from dsfr.forms import DsfrBaseForm

from charte.catalogue.models import ActionType, Family
from charte.comptes import scoping
from charte.territoires.models import Departement

from . import autocomplete
from .action_forms import ActionForm, DateInput
from .models import Action


class LookupFilter(django_filters.Filter):
    field_class = autocomplete.ScopedLookupField


class ActionFilterForm(DsfrBaseForm):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "La fin de la période doit suivre son début.")
        return cleaned


class ActionFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(label="Du", method="filter_date_from", widget=DateInput())
    date_to = django_filters.DateFilter(label="Au", method="filter_date_to", widget=DateInput())
    family = django_filters.ModelChoiceFilter(
        label="Famille", field_name="action_type__family", queryset=Family.objects.all(), empty_label="Toutes les familles"
    )
    action_type = django_filters.ModelChoiceFilter(
        label="Type d'action", queryset=ActionType.objects.none(), empty_label="Tous les types"
    )
    departement = django_filters.ModelChoiceFilter(
        label="Département", queryset=Departement.objects.visible_to(scoping.Scope.none()), empty_label="Tous les départements"
    )
    # Thousands of choices nationally: text inputs with suggestions, resolved within the scope (autocomplete.py).
    qpv = LookupFilter(
        label="QPV",
        field_name="qpvs",
        distinct=True,
        kind=autocomplete.QPVS,
        url=reverse_lazy("actions:qpv_suggestions"),
        help_text="Code ou nom ; des suggestions s'affichent pendant la saisie.",
    )
    company = LookupFilter(
        label="Entreprise",
        field_name="companies",
        distinct=True,
        kind=autocomplete.COMPANIES,
        url=reverse_lazy("actions:company_suggestions"),
        help_text="Nom ou SIREN ; des suggestions s'affichent pendant la saisie.",
    )
    convention = LookupFilter(
        label="Convention",
        kind=autocomplete.CONVENTIONS,
        url=reverse_lazy("actions:convention_suggestions"),
        help_text="Référence ou intitulé ; des suggestions s'affichent pendant la saisie.",
    )

    class Meta:
        model = Action
        fields = []
        form = ActionFilterForm

    def __init__(self, data=None, queryset=None, *, scope, **kwargs):
        super().__init__(data, queryset, **kwargs)
        types = ActionType.objects.select_related("family").order_by("family__position", "family__code", "label")
        self.filters["action_type"].queryset = types
        self.filters["departement"].queryset = Departement.objects.visible_to(scope).select_related(None).order_by("code")
        for name in ("qpv", "company", "convention"):
            self.form.fields[name].scope = scope
        # Grouped by family for display only; validation still goes through the field's queryset.
        self.form.fields["action_type"].widget.choices = [("", "Tous les types")] + ActionForm._grouped_types(types)[1:]

    def filter_date_from(self, queryset, name, value):
        # An action lasting several days belongs to the period as soon as it overlaps it.
        return queryset.alias(last_day=Coalesce(F("end_date"), F("start_date"))).filter(last_day__gte=value)

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(start_date__lte=value)
