"""The filters of the conventions list and of its CSV export (one FilterSet, so both show the same rows)."""

import django_filters
from django.db.models import Q
from dsfr.forms import DsfrBaseForm

from charte.comptes.models import Organisation
from charte.territoires.models import Departement

from .models import Convention


def _departements(request):
    return Departement.objects.visible_to(request.scope).order_by("code")


def _clubs(request):
    return Organisation.objects.clubs_visible_to(request.scope).order_by("name")


class ConventionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Rechercher", method="search", help_text="Référence, intitulé ou nom d'une entreprise signataire."
    )
    status = django_filters.ChoiceFilter(label="Statut", choices=Convention.Status.choices, empty_label="Tous les statuts")
    kind = django_filters.ChoiceFilter(label="Type", choices=Convention.Kind.choices, empty_label="Tous les types")
    departement = django_filters.ModelChoiceFilter(
        label="Département", queryset=_departements, empty_label="Tous les départements"
    )
    club = django_filters.ModelChoiceFilter(label="Club animateur", queryset=_clubs, empty_label="Tous les clubs")
    year = django_filters.NumberFilter(
        label="En cours pendant l'année", method="running_during", min_value=1990, max_value=2100, help_text="Par exemple 2017."
    )
    generation = django_filters.ChoiceFilter(
        label="Génération", choices=Convention.Generation.choices, empty_label="Toutes les générations"
    )

    class Meta:
        model = Convention
        fields = ["q", "status", "kind", "departement", "club", "year", "generation"]
        form = DsfrBaseForm

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # A subquery rather than a join on companies: a convention with two matching companies stays one row.
        by_company = Convention.companies.through.objects.filter(company__name__icontains=value).values("convention_id")
        return queryset.filter(Q(reference__icontains=value) | Q(title__icontains=value) | Q(pk__in=by_company))

    def running_during(self, queryset, name, value):
        return queryset.running_during(int(value))
