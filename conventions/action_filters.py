"""Filters of the action list and its CSV export. Every choice list is limited to the person's scope."""

import django_filters
from django.db.models import F
from django.db.models.functions import Coalesce
from dsfr.forms import DsfrBaseForm

from charte.catalogue.models import ActionType, Family
from charte.comptes import scoping
from charte.territoires.models import QPV, Departement
from entreprises.models import Company

from .action_forms import ActionForm, DateInput
from .models import Action, Convention


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
    qpv = django_filters.ModelChoiceFilter(
        label="QPV",
        field_name="qpvs",
        queryset=QPV.objects.visible_to(scoping.Scope.none()),
        empty_label="Tous les QPV",
        distinct=True,
    )
    company = django_filters.ModelChoiceFilter(
        label="Entreprise",
        field_name="companies",
        queryset=Company.objects.visible_to(scoping.Scope.none()),
        empty_label="Toutes les entreprises",
        distinct=True,
    )
    convention = django_filters.ModelChoiceFilter(
        label="Convention", queryset=Convention.objects.none(), empty_label="Toutes les conventions"
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
        self.filters["qpv"].queryset = QPV.objects.visible_to(scope).order_by("code").only("pk", "code", "name")
        self.filters["company"].queryset = Company.objects.visible_to(scope).order_by("name").only("pk", "name")
        self.filters["convention"].queryset = (
            Convention.objects.visible_to(scope).order_by("reference").only("pk", "reference", "title")
        )
        # Grouped by family for display only; validation still goes through the field's queryset.
        self.form.fields["action_type"].widget.choices = [("", "Tous les types")] + ActionForm._grouped_types(types)[1:]

    def filter_date_from(self, queryset, name, value):
        # An action lasting several days belongs to the period as soon as it overlaps it.
        return queryset.alias(last_day=Coalesce(F("end_date"), F("start_date"))).filter(last_day__gte=value)

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(start_date__lte=value)
