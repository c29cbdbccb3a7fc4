"""The filters of the practice catalogue (signed-in and public): family, action type, territory, size of the named
companies, public reached, and the French full-text search (`search`)."""

import django_filters
from dsfr.forms import DsfrBaseForm

from charte.catalogue.models import ActionType, Family
from charte.territoires.models import Departement, Region
from entreprises.models import Company

from . import search
from .models import PracticeCompany, PracticePublic, PracticeSheet


class PracticeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Rechercher",
        method="full_text",
        help_text="Des mots du titre ou du texte ; les mots de la même famille sont trouvés (insertion, insérés).",
    )
    family = django_filters.ModelChoiceFilter(
        label="Famille d'actions", queryset=Family.objects.order_by("position"), empty_label="Toutes les familles"
    )
    action_type = django_filters.ModelChoiceFilter(
        label="Type d'action",
        field_name="action_types",
        queryset=ActionType.objects.filter(is_active=True).select_related("family"),
        method="with_action_type",
        empty_label="Tous les types",
    )
    region = django_filters.ModelChoiceFilter(
        label="Région", field_name="departement__region", queryset=Region.objects.none(), empty_label="Toutes les régions"
    )
    departement = django_filters.ModelChoiceFilter(
        label="Département", queryset=Departement.objects.none(), empty_label="Tous les départements"
    )
    size = django_filters.ChoiceFilter(
        label="Taille des entreprises citées",
        choices=Company.Size.choices,
        method="with_company_size",
        empty_label="Toutes les tailles",
    )
    public = django_filters.ModelChoiceFilter(
        label="Public touché",
        field_name="publics",
        queryset=PracticePublic.objects.all(),
        method="with_public",
        empty_label="Tous les publics",
    )

    class Meta:
        model = PracticeSheet
        fields = ["q", "family", "action_type", "region", "departement", "size", "public"]
        form = DsfrBaseForm

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset=queryset, **kwargs)
        # Only the régions and départements where the catalogue has sheets: the choices follow its rows.
        self.filters["region"].queryset = Region.objects.filter(pk__in=self.queryset.values("departement__region")).order_by(
            "code"
        )
        self.filters["departement"].queryset = Departement.objects.filter(pk__in=self.queryset.values("departement")).order_by(
            "code"
        )

    # Subqueries rather than joins on the many-to-many tables: a sheet matching twice stays one row.

    def with_action_type(self, queryset, name, value):
        return queryset.filter(
            pk__in=PracticeSheet.action_types.through.objects.filter(actiontype=value).values("practicesheet_id")
        )

    def with_public(self, queryset, name, value):
        return queryset.filter(
            pk__in=PracticeSheet.publics.through.objects.filter(practicepublic=value).values("practicesheet_id")
        )

    def with_company_size(self, queryset, name, value):
        return queryset.filter(pk__in=PracticeCompany.objects.filter(company__size=value).values("sheet_id"))

    def full_text(self, queryset, name, value):
        value = value.strip()
        return search.search(queryset, value) if value else queryset
