"""Filters of the campaign list and of the declaration lists (a campaign's expected declarations, and every
declaration the person may see). Choice lists come from the scoping policy."""

import django_filters
from django.db.models import Q
from dsfr.forms import DsfrBaseForm

from charte.comptes.models import Organisation

from ..models import Campaign, Declaration

TO_FILL = "a_remplir"
STATUS_CHOICES = [(TO_FILL, "À remplir ou à corriger (brouillon ou renvoyée)"), *Declaration.Status.choices]


def _clubs(request):
    return Organisation.objects.clubs_visible_to(request.scope).order_by("name")


def _campaigns(request):
    return Campaign.objects.visible_to(request.scope).order_by("-year", "title")


class CampaignFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(label="Année évaluée", min_value=2000, max_value=2100, help_text="Par exemple 2017.")
    q = django_filters.CharFilter(label="Intitulé", method="search")

    class Meta:
        model = Campaign
        fields = ["year", "q"]
        form = DsfrBaseForm

    def search(self, queryset, name, value):
        return queryset.filter(title__icontains=value.strip()) if value.strip() else queryset


class DeclarationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label="Statut", choices=STATUS_CHOICES, empty_label="Tous les statuts", method="by_status"
    )
    club = django_filters.ModelChoiceFilter(
        label="Club animateur", queryset=_clubs, empty_label="Tous les clubs", field_name="convention__club"
    )
    company = django_filters.CharFilter(label="Entreprise", method="by_company", help_text="Nom ou SIREN.")

    class Meta:
        model = Declaration
        fields = ["status", "club", "company"]
        form = DsfrBaseForm

    def by_status(self, queryset, name, value):
        if value == TO_FILL:
            return queryset.filter(status__in=[Declaration.Status.DRAFT, Declaration.Status.RETURNED])
        return queryset.filter(status=value)

    def by_company(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(company__name__icontains=value) | Q(company__siren=value.replace(" ", "")))


class AllDeclarationsFilter(DeclarationFilter):
    campaign = django_filters.ModelChoiceFilter(label="Campagne", queryset=_campaigns, empty_label="Toutes les campagnes")

    class Meta(DeclarationFilter.Meta):
        fields = ["campaign", "status", "club", "company"]
