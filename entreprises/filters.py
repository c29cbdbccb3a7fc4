"""The companies list's filters, and the per-row figures it shows and exports.

Conventions and actions belong to a higher app (`conventions`): they are reached through `apps.get_model`
and the reverse relations, never imported, so that imports keep going one way. Every condition on them is
an `Exists`/subquery: a join would repeat a company once per matching convention or action.
"""

import django_filters
from django.apps import apps
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from dsfr.forms import DsfrBaseForm

from charte.catalogue.models import Family
from charte.comptes.models import Organisation
from charte.territoires.models import Departement
from conventions.models import Convention

from .models import ClubMembership, Company, Establishment
from .validators import normalize_identifier


def _convention_model():
    return apps.get_model("conventions", "Convention")


def _convention_links():
    """The rows linking conventions and companies (the M2M table)."""
    return _convention_model().companies.through.objects


def _action_links():
    return apps.get_model("conventions", "Action").companies.through.objects


def visible_convention_links(scope):
    """Links to the conventions this person may see: the list's figures must agree with the detail page."""
    return _convention_links().filter(convention__in=Convention.objects.visible_to(scope).values("pk"))


def with_list_figures(queryset, scope):
    """Annotate what a row of the list and of the export shows about conventions, without a join."""
    active_status = _convention_model().Status.ACTIVE
    links = visible_convention_links(scope).filter(company_id=OuterRef("pk"))
    count = links.order_by().values("company_id").annotate(n=Count("convention_id", distinct=True)).values("n")[:1]
    return queryset.annotate(
        has_active_convention=Exists(links.filter(convention__status=active_status)),
        convention_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
    )


class FilterForm(DsfrBaseForm):
    """The GET form of the filters, with DSFR field groups and labels."""


class CompanyFilter(django_filters.FilterSet):
    YES_NO = (("oui", "Oui"), ("non", "Non"))

    q = django_filters.CharFilter(label="Nom ou SIREN", method="filter_q")
    departement = django_filters.ModelChoiceFilter(
        label="Département", queryset=None, method="filter_departement", empty_label="Tous les départements"
    )
    club = django_filters.ModelChoiceFilter(label="Club", queryset=None, method="filter_club", empty_label="Tous les clubs")
    size = django_filters.ChoiceFilter(label="Taille", choices=Company.Size.choices, empty_label="Toutes les tailles")
    family = django_filters.ModelChoiceFilter(
        label="Famille d'actions", queryset=None, method="filter_family", empty_label="Toutes les familles"
    )
    active_convention = django_filters.ChoiceFilter(
        label="Convention en vigueur", choices=YES_NO, method="filter_active_convention", empty_label="Indifférent"
    )

    class Meta:
        model = Company
        fields = ["q", "departement", "club", "size", "family", "active_convention"]
        form = FilterForm

    def __init__(self, data=None, queryset=None, *, scope, **kwargs):
        self.scope = scope
        super().__init__(data, queryset, **kwargs)
        # Choice lists offer only what this person may see.
        self.filters["departement"].queryset = Departement.objects.visible_to(scope).order_by("code")
        self.filters["club"].queryset = Organisation.objects.clubs_visible_to(scope).order_by("name")
        self.filters["family"].queryset = Family.objects.filter(is_active=True)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q(name__icontains=value)
        digits = normalize_identifier(value)
        if digits.isdigit():
            condition |= Q(siren__startswith=digits)
        return queryset.filter(condition)

    def filter_departement(self, queryset, name, value):
        if not value:
            return queryset
        # The same three ways a company belongs to a département as in the scoping policy.
        return queryset.filter(
            Q(commune__departement=value)
            | Q(pk__in=Establishment.objects.filter(commune__departement=value).values("company_id"))
            | Q(pk__in=_convention_links().filter(convention__departement=value).values("company_id"))
        )

    def filter_club(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(pk__in=ClubMembership.objects.current().filter(club=value).values("company_id"))

    def filter_family(self, queryset, name, value):
        if not value:
            return queryset
        committed = _convention_links().filter(company_id=OuterRef("pk"), convention__commitments__family=value)
        acted = _action_links().filter(company_id=OuterRef("pk"), action__action_type__family=value)
        return queryset.filter(Exists(committed) | Exists(acted))

    def filter_active_convention(self, queryset, name, value):
        if value not in ("oui", "non"):
            return queryset
        active = Exists(
            visible_convention_links(self.scope).filter(
                company_id=OuterRef("pk"), convention__status=_convention_model().Status.ACTIVE
            )
        )
        return queryset.filter(active if value == "oui" else ~active)
