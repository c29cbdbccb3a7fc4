"""API of the catalogue: action families, action types and indicators (the same for every organisation)."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from charte.api.base import OrderingFilter, ScopedReadOnlyViewSet, boolean_filter
from charte.comptes import scoping

from .models import ActionType, Family, Indicator, PaqteAxis

# --- serializers --------------------------------------------------------------------------------------


class FamilyRefSerializer(serializers.ModelSerializer):
    libelle = serializers.CharField(source="label")

    class Meta:
        model = Family
        fields = ["id", "code", "libelle"]


class IndicatorRefSerializer(serializers.ModelSerializer):
    libelle = serializers.CharField(source="label")
    unite = serializers.CharField(source="unit")

    class Meta:
        model = Indicator
        fields = ["id", "code", "libelle", "unite"]


class ActionTypeRefSerializer(serializers.ModelSerializer):
    libelle = serializers.CharField(source="label")
    famille = serializers.CharField(source="family.code", help_text="Code de la famille d'actions.")

    class Meta:
        model = ActionType
        fields = ["id", "code", "libelle", "famille"]


class FamilySerializer(serializers.ModelSerializer):
    libelle = serializers.CharField(source="label")
    libelle_court = serializers.CharField(source="short_label")
    ordre = serializers.IntegerField(source="position")
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Family
        fields = ["id", "code", "libelle", "libelle_court", "ordre", "active"]


class ActionTypeSerializer(serializers.ModelSerializer):
    libelle = serializers.CharField(source="label")
    famille = FamilyRefSerializer(source="family")
    axe_paqte = serializers.ChoiceField(source="paqte_axis", choices=[("", "Aucun")] + PaqteAxis.choices)
    indicateurs = IndicatorRefSerializer(source="indicators", many=True, help_text="Indicateurs suggérés pour ce type.")
    actif = serializers.BooleanField(source="is_active")

    class Meta:
        model = ActionType
        fields = ["id", "code", "libelle", "famille", "axe_paqte", "indicateurs", "actif"]


class IndicatorSerializer(serializers.ModelSerializer):
    libelle = serializers.CharField(source="label")
    unite = serializers.CharField(source="unit")
    type = serializers.ChoiceField(choices=Indicator.Type.choices)
    nature = serializers.ChoiceField(choices=Indicator.Nature.choices)
    agregation = serializers.ChoiceField(source="aggregation", choices=Indicator.Aggregation.choices)
    numerateur = serializers.SlugRelatedField(
        source="numerator",
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="Pour un ratio : code de l'indicateur numérateur.",
    )
    denominateur = serializers.SlugRelatedField(
        source="denominator",
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="Pour un ratio : code de l'indicateur dénominateur.",
    )
    declarable = serializers.BooleanField(
        source="is_declarable", read_only=True, help_text="Faux pour un ratio, calculé et jamais déclaré."
    )
    actif = serializers.BooleanField(source="is_active")

    class Meta:
        model = Indicator
        fields = [
            "id",
            "code",
            "libelle",
            "unite",
            "type",
            "nature",
            "agregation",
            "numerateur",
            "denominateur",
            "declarable",
            "actif",
        ]


# --- filters ------------------------------------------------------------------------------------------


class FamilyFilter(django_filters.FilterSet):
    active = boolean_filter("is_active", "Familles actives seulement (true) ou inactives (false)")
    ordering = OrderingFilter(
        fields=(("position", "ordre", "Ordre d'affichage"), ("code", "code", "Code"), ("label", "libelle", "Libellé"))
    )

    class Meta:
        model = Family
        fields = ["active"]


class ActionTypeFilter(django_filters.FilterSet):
    famille = django_filters.CharFilter(field_name="family__code", label="Code de la famille d'actions")
    axe_paqte = django_filters.ChoiceFilter(field_name="paqte_axis", choices=PaqteAxis.choices, label="Axe du PaQte")
    actif = boolean_filter("is_active", "Types actifs seulement (true) ou inactifs (false)")
    ordering = OrderingFilter(fields=(("code", "code", "Code"), ("label", "libelle", "Libellé")))

    class Meta:
        model = ActionType
        fields = ["famille", "axe_paqte", "actif"]


class IndicatorFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Indicator.Type.choices, label="Type d'indicateur")
    nature = django_filters.ChoiceFilter(choices=Indicator.Nature.choices, label="Nature")
    agregation = django_filters.ChoiceFilter(field_name="aggregation", choices=Indicator.Aggregation.choices, label="Agrégation")
    actif = boolean_filter("is_active", "Indicateurs actifs seulement (true) ou inactifs (false)")
    ordering = OrderingFilter(fields=(("code", "code", "Code"), ("label", "libelle", "Libellé")))

    class Meta:
        model = Indicator
        fields = ["type", "nature", "agregation", "actif"]


# --- viewsets -----------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(summary="Familles d'actions"), retrieve=extend_schema(summary="Une famille d'actions"))
class FamilyViewSet(ScopedReadOnlyViewSet):
    serializer_class = FamilySerializer
    filterset_class = FamilyFilter

    def scoped_queryset(self, scope):
        return scoping.referential(scope, Family.objects.order_by("position", "code", "pk"))


@extend_schema_view(list=extend_schema(summary="Types d'actions"), retrieve=extend_schema(summary="Un type d'action"))
class ActionTypeViewSet(ScopedReadOnlyViewSet):
    serializer_class = ActionTypeSerializer
    filterset_class = ActionTypeFilter

    def scoped_queryset(self, scope):
        qs = (
            ActionType.objects.select_related("family")
            .prefetch_related(Prefetch("indicators", queryset=Indicator.objects.order_by("code")))
            .order_by("family__position", "label", "pk")
        )
        return scoping.referential(scope, qs)


@extend_schema_view(list=extend_schema(summary="Indicateurs"), retrieve=extend_schema(summary="Un indicateur"))
class IndicatorViewSet(ScopedReadOnlyViewSet):
    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilter

    def scoped_queryset(self, scope):
        return scoping.referential(scope, Indicator.objects.select_related("numerator", "denominator").order_by("code", "pk"))
