"""API of companies: identity, establishments, labels and current club memberships (no contact: personal data).

Conventions belong to a higher app: reached through `apps.get_model`, never imported.
"""

import django_filters
from django.apps import apps
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from charte.api.base import IdFilter, OrderingFilter, ScopedReadOnlyViewSet, updated_since_filter, visible_fk
from charte.comptes.models import Organisation
from charte.territoires.api import CommuneRefSerializer

from .models import ClubMembership, Company, Establishment


class OrganisationRefSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")

    class Meta:
        model = Organisation
        fields = ["id", "nom"]


class CompanyRefSerializer(serializers.ModelSerializer):
    raison_sociale = serializers.CharField(source="name")

    class Meta:
        model = Company
        fields = ["id", "siren", "raison_sociale"]


class EstablishmentSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")
    adresse = serializers.CharField(source="address")
    commune = CommuneRefSerializer(allow_null=True)
    siege = serializers.BooleanField(source="is_head_office")

    class Meta:
        model = Establishment
        fields = ["id", "siret", "nom", "adresse", "commune", "siege"]


class ClubMembershipSerializer(serializers.ModelSerializer):
    club = OrganisationRefSerializer()
    debut = serializers.DateField(source="start_date")
    fin = serializers.DateField(source="end_date", allow_null=True)

    class Meta:
        model = ClubMembership
        fields = ["club", "debut", "fin"]


class CompanySerializer(serializers.ModelSerializer):
    raison_sociale = serializers.CharField(source="name")
    forme_juridique = serializers.CharField(source="legal_form")
    taille = serializers.ChoiceField(source="size", choices=[("", "Non renseignée")] + Company.Size.choices)
    code_naf = serializers.CharField(source="naf_code")
    adresse = serializers.CharField(source="address")
    code_postal = serializers.CharField(source="postcode")
    commune = CommuneRefSerializer(allow_null=True, help_text="Commune du siège.")
    departement = serializers.CharField(
        source="commune.departement.code", allow_null=True, default=None, help_text="Code INSEE du département du siège."
    )
    signataire_national = serializers.BooleanField(source="is_national_signatory")
    groupe = serializers.IntegerField(
        source="visible_parent_id",
        allow_null=True,
        help_text="Identifiant de la société mère (si elle est dans votre périmètre).",
    )
    labels = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    etablissements = EstablishmentSerializer(source="establishments", many=True)
    clubs = ClubMembershipSerializer(source="current_club_memberships", many=True, help_text="Adhésions en cours à un club.")
    cree_le = serializers.DateTimeField(source="created_at")
    mis_a_jour_le = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Company
        fields = [
            "id",
            "siren",
            "raison_sociale",
            "forme_juridique",
            "taille",
            "code_naf",
            "adresse",
            "code_postal",
            "commune",
            "departement",
            "signataire_national",
            "groupe",
            "labels",
            "etablissements",
            "clubs",
            "cree_le",
            "mis_a_jour_le",
        ]


def _convention_links():
    return apps.get_model("conventions", "Convention").companies.through.objects


class CompanyFilter(django_filters.FilterSet):
    departement = django_filters.CharFilter(
        method="filter_departement",
        label="Code INSEE d'un département : siège, établissement ou convention dans ce département",
    )
    club = IdFilter(method="filter_club", label="Identifiant d'un club : ses entreprises adhérentes aujourd'hui")
    taille = django_filters.ChoiceFilter(field_name="size", choices=Company.Size.choices, label="Taille de l'entreprise")
    siren = django_filters.CharFilter(field_name="siren", label="SIREN (9 chiffres)")
    updated_since = updated_since_filter()
    ordering = OrderingFilter(
        fields=(
            ("name", "raison_sociale", "Raison sociale"),
            ("siren", "siren", "SIREN"),
            ("created_at", "cree_le", "Date de création"),
            ("updated_at", "mis_a_jour_le", "Date de mise à jour"),
        )
    )

    class Meta:
        model = Company
        fields = ["departement", "club", "taille", "siren", "updated_since"]

    def filter_departement(self, queryset, name, value):
        # The same three ways a company belongs to a département as in the scoping policy, as subqueries.
        return queryset.filter(
            Q(commune__departement__code=value)
            | Q(pk__in=Establishment.objects.filter(commune__departement__code=value).values("company_id"))
            | Q(pk__in=_convention_links().filter(convention__departement__code=value).values("company_id"))
        )

    def filter_club(self, queryset, name, value):
        return queryset.members_of(value)


@extend_schema_view(
    list=extend_schema(summary="Entreprises du périmètre"),
    retrieve=extend_schema(summary="Une entreprise"),
)
class CompanyViewSet(ScopedReadOnlyViewSet):
    serializer_class = CompanySerializer
    filterset_class = CompanyFilter

    def scoped_queryset(self, scope):
        visible = Company.objects.visible_to(scope)
        return (
            visible.select_related("commune__departement")
            .annotate(visible_parent_id=visible_fk("parent_id", visible.values("pk")))
            .prefetch_related(
                "labels",
                Prefetch("establishments", queryset=Establishment.objects.select_related("commune").order_by("siret")),
                Prefetch(
                    "club_memberships",
                    queryset=ClubMembership.objects.current().select_related("club").order_by("start_date", "pk"),
                    to_attr="current_club_memberships",
                ),
            )
            .order_by("name", "pk")
        )
