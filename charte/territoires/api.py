"""API of the territorial referential: régions, départements, EPCI, communes, QPV of both generations and
their 2015 -> 2024 correspondence. Every queryset comes from the models' `visible_to(scope)`."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from charte.api.base import OrderingFilter, ScopedReadOnlyViewSet, updated_since_filter

from .models import EPCI, QPV, Commune, Departement, QPVCorrespondence, Region

# --- serializers --------------------------------------------------------------------------------------


class RegionRefSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")

    class Meta:
        model = Region
        fields = ["id", "code", "nom"]


class DepartementRefSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")

    class Meta:
        model = Departement
        fields = ["id", "code", "nom"]


class EPCIRefSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")

    class Meta:
        model = EPCI
        fields = ["id", "siren", "nom"]


class CommuneRefSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")

    class Meta:
        model = Commune
        fields = ["id", "code", "nom"]


class QPVRefSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")

    class Meta:
        model = QPV
        fields = ["id", "code", "nom", "generation"]


class RegionSerializer(RegionRefSerializer):
    pass


class DepartementSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")
    region = RegionRefSerializer()

    class Meta:
        model = Departement
        fields = ["id", "code", "nom", "region"]


class EPCISerializer(EPCIRefSerializer):
    pass


class CommuneSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")
    departement = DepartementRefSerializer()
    epci = EPCIRefSerializer(allow_null=True)

    class Meta:
        model = Commune
        fields = ["id", "code", "nom", "departement", "epci"]


class QPVSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name")
    departement = DepartementRefSerializer()
    epci = EPCIRefSerializer(allow_null=True)
    communes = CommuneRefSerializer(many=True)
    mis_a_jour_le = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = QPV
        fields = ["id", "code", "nom", "generation", "departement", "epci", "population", "communes", "mis_a_jour_le"]


class QPVDetailSerializer(QPVSerializer):
    successeurs = QPVRefSerializer(
        source="scoped_successors", many=True, help_text="Pour un QPV 2015 : les QPV 2024 qui lui correspondent."
    )
    predecesseurs = QPVRefSerializer(
        source="scoped_predecessors", many=True, help_text="Pour un QPV 2024 : les QPV 2015 qui lui correspondent."
    )

    class Meta(QPVSerializer.Meta):
        fields = QPVSerializer.Meta.fields + ["successeurs", "predecesseurs"]


class QPVCorrespondenceSerializer(serializers.ModelSerializer):
    qpv_2015 = QPVRefSerializer()
    qpv_2024 = QPVRefSerializer()

    class Meta:
        model = QPVCorrespondence
        fields = ["id", "qpv_2015", "qpv_2024"]


# --- filters ------------------------------------------------------------------------------------------


class DepartementFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__code", label="Code INSEE de la région")
    ordering = OrderingFilter(fields=(("code", "code", "Code"), ("name", "nom", "Nom")))

    class Meta:
        model = Departement
        fields = ["region"]


class RegionFilter(django_filters.FilterSet):
    ordering = OrderingFilter(fields=(("code", "code", "Code"), ("name", "nom", "Nom")))

    class Meta:
        model = Region
        fields = []


class EPCIFilter(django_filters.FilterSet):
    departement = django_filters.CharFilter(method="filter_departement", label="Code INSEE d'un département")
    ordering = OrderingFilter(fields=(("siren", "siren", "SIREN"), ("name", "nom", "Nom")))

    class Meta:
        model = EPCI
        fields = ["departement"]

    def filter_departement(self, queryset, name, value):
        return queryset.filter(pk__in=Commune.objects.filter(departement__code=value).values("epci_id"))


class CommuneFilter(django_filters.FilterSet):
    departement = django_filters.CharFilter(field_name="departement__code", label="Code INSEE du département")
    epci = django_filters.CharFilter(field_name="epci__siren", label="SIREN de l'EPCI")
    ordering = OrderingFilter(fields=(("code", "code", "Code"), ("name", "nom", "Nom")))

    class Meta:
        model = Commune
        fields = ["departement", "epci"]


class QPVFilter(django_filters.FilterSet):
    generation = django_filters.TypedChoiceFilter(
        choices=QPV.Generation.choices, coerce=int, label="Génération : 2015 (codes QP…) ou 2024 (codes QN…)"
    )
    departement = django_filters.CharFilter(field_name="departement__code", label="Code INSEE du département")
    region = django_filters.CharFilter(field_name="departement__region__code", label="Code INSEE de la région")
    commune = django_filters.CharFilter(method="filter_commune", label="Code INSEE d'une commune du quartier")
    epci = django_filters.CharFilter(field_name="epci__siren", label="SIREN de l'EPCI")
    updated_since = updated_since_filter()
    ordering = OrderingFilter(
        fields=(
            ("code", "code", "Code"),
            ("name", "nom", "Nom"),
            ("population", "population", "Population"),
            ("updated_at", "mis_a_jour_le", "Date de mise à jour"),
        )
    )

    class Meta:
        model = QPV
        fields = ["generation", "departement", "region", "commune", "epci", "updated_since"]

    def filter_commune(self, queryset, name, value):
        # A subquery, not a join: a QPV spread over several communes must not come twice.
        return queryset.filter(pk__in=QPV.communes.through.objects.filter(commune__code=value).values("qpv_id"))


class QPVCorrespondenceFilter(django_filters.FilterSet):
    qpv_2015 = django_filters.CharFilter(field_name="qpv_2015__code", label="Code du QPV 2015 (QP…)")
    qpv_2024 = django_filters.CharFilter(field_name="qpv_2024__code", label="Code du QPV 2024 (QN…)")
    departement = django_filters.CharFilter(field_name="qpv_2024__departement__code", label="Code INSEE du département")
    ordering = OrderingFilter(
        fields=(("qpv_2015__code", "qpv_2015", "Code du QPV 2015"), ("qpv_2024__code", "qpv_2024", "Code du QPV 2024"))
    )

    class Meta:
        model = QPVCorrespondence
        fields = ["qpv_2015", "qpv_2024", "departement"]


# --- viewsets -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Régions du périmètre"),
    retrieve=extend_schema(summary="Une région"),
)
class RegionViewSet(ScopedReadOnlyViewSet):
    serializer_class = RegionSerializer
    filterset_class = RegionFilter

    def scoped_queryset(self, scope):
        return Region.objects.visible_to(scope).order_by("code", "pk")


@extend_schema_view(
    list=extend_schema(summary="Départements du périmètre"),
    retrieve=extend_schema(summary="Un département"),
)
class DepartementViewSet(ScopedReadOnlyViewSet):
    serializer_class = DepartementSerializer
    filterset_class = DepartementFilter

    def scoped_queryset(self, scope):
        return Departement.objects.visible_to(scope).select_related("region").order_by("code", "pk")


@extend_schema_view(
    list=extend_schema(summary="EPCI du périmètre"),
    retrieve=extend_schema(summary="Un EPCI"),
)
class EPCIViewSet(ScopedReadOnlyViewSet):
    serializer_class = EPCISerializer
    filterset_class = EPCIFilter

    def scoped_queryset(self, scope):
        return EPCI.objects.visible_to(scope).order_by("name", "pk")


@extend_schema_view(
    list=extend_schema(summary="Communes du périmètre"),
    retrieve=extend_schema(summary="Une commune"),
)
class CommuneViewSet(ScopedReadOnlyViewSet):
    serializer_class = CommuneSerializer
    filterset_class = CommuneFilter

    def scoped_queryset(self, scope):
        return Commune.objects.visible_to(scope).select_related("departement", "epci").order_by("name", "pk")


@extend_schema_view(
    list=extend_schema(summary="Quartiers prioritaires (QPV) du périmètre, des deux générations"),
    retrieve=extend_schema(summary="Un QPV, avec sa correspondance 2015 / 2024"),
)
class QPVViewSet(ScopedReadOnlyViewSet):
    filterset_class = QPVFilter

    def get_serializer_class(self):
        return QPVDetailSerializer if self.action == "retrieve" else QPVSerializer

    def scoped_queryset(self, scope):
        qs = (
            QPV.objects.visible_to(scope)
            .select_related("departement", "epci")
            .prefetch_related(Prefetch("communes", queryset=Commune.objects.order_by("code")))
            .order_by("code", "pk")
        )
        if self.action == "retrieve":
            # The correspondence only lists QPV of the same scope: a foreign QPV would leak through it.
            visible = QPV.objects.visible_to(scope).order_by("code")
            qs = qs.prefetch_related(
                Prefetch("successors", queryset=visible, to_attr="scoped_successors"),
                Prefetch("predecessors", queryset=visible, to_attr="scoped_predecessors"),
            )
        return qs


@extend_schema_view(
    list=extend_schema(summary="Correspondance entre QPV 2015 et QPV 2024 (table de l'ANCT)"),
    retrieve=extend_schema(summary="Une ligne de la correspondance"),
)
class QPVCorrespondenceViewSet(ScopedReadOnlyViewSet):
    serializer_class = QPVCorrespondenceSerializer
    filterset_class = QPVCorrespondenceFilter

    def scoped_queryset(self, scope):
        visible = QPV.objects.visible_to(scope).values("pk")
        return (
            QPVCorrespondence.objects.filter(qpv_2015__in=visible, qpv_2024__in=visible)
            .select_related("qpv_2015", "qpv_2024")
            .order_by("qpv_2015__code", "qpv_2024__code", "pk")
        )
