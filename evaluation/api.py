"""API of the annual campaigns: campaigns, declarations with their values, and the writes of a company's
tool (declared values, submission).

Writes go through `evaluation.campaigns.services`, the portal's one write path: the same validation, the same lock
after submission and after the close, the same optimistic locking (`version`). The API only translates its
JSON names and codes, and the services' refusals into HTTP statuses: 400 for invalid data, 403 for a
visible declaration the caller may not fill, 409 for a stale version or a declaration no longer editable.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.formats import date_format
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from charte.api.base import (
    MAX_ID,
    DecimalField,
    IdFilter,
    OrderingFilter,
    ScopedReadOnlyViewSet,
    StrictFieldsMixin,
    YearFilter,
    recorded_author,
    updated_since_filter,
    visible_fk,
)
from charte.api.exceptions import ConcurrentEdit, NotEditable
from charte.api.schema import ErrorSerializer
from charte.catalogue.api import FamilyRefSerializer, IndicatorRefSerializer
from charte.catalogue.models import Indicator
from charte.territoires.api import DepartementRefSerializer
from charte.territoires.models import QPV, Departement
from conventions.models import Convention
from entreprises.api import CompanyRefSerializer, OrganisationRefSerializer
from entreprises.models import Company

from . import figures
from .campaigns import permissions, services
from .models import AnnualResult, Campaign, Declaration, DeclarationValue, ScopeType

# The services' refusals that concern the declaration's state, not the data sent: answered with 409.
STATE_CODES = {"submitted", "validated", "not_open", "closed"}
NOT_THE_COMPANY = "Seule l'entreprise concernée (ses membres ou ses clés d'API) peut remplir et transmettre sa déclaration."
MAX_LINES = 500
MAX_COMMENT = 2000


# --- campaigns ----------------------------------------------------------------------------------------

UPCOMING, OPEN, CLOSED = "a_venir", "ouverte", "close"
CAMPAIGN_STATES = [(UPCOMING, "À venir"), (OPEN, "Ouverte"), (CLOSED, "Close")]


def campaign_state(campaign, today):
    if today < campaign.opens_on:
        return UPCOMING
    return CLOSED if campaign.is_closed(today) else OPEN


class CampaignSerializer(serializers.ModelSerializer):
    annee = serializers.IntegerField(source="year", help_text="Année évaluée.")
    intitule = serializers.CharField(source="title")
    organisation = OrganisationRefSerializer(help_text="Organisation qui a ouvert la campagne (préfecture ou niveau national).")
    nationale = serializers.BooleanField(source="covers_every_departement", help_text="Vrai : campagne sans département.")
    departements = DepartementRefSerializer(
        source="visible_departements", many=True, help_text="Départements couverts (ceux de votre périmètre)."
    )
    ouverture = serializers.DateField(source="opens_on")
    relance = serializers.DateField(source="reminder_on")
    cloture = serializers.DateField(source="closes_on")
    etat = serializers.SerializerMethodField(help_text="État aujourd'hui : à venir, ouverte (saisie possible) ou close.")
    cree_le = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "annee",
            "intitule",
            "organisation",
            "nationale",
            "departements",
            "ouverture",
            "relance",
            "cloture",
            "etat",
            "cree_le",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=CAMPAIGN_STATES))
    def get_etat(self, campaign):
        return campaign_state(campaign, timezone.localdate())


def _covered():
    return Campaign.departements.through.objects


class CampaignFilter(django_filters.FilterSet):
    annee = YearFilter(field_name="year", label="Année évaluée")
    departement = django_filters.CharFilter(
        method="filter_departement", label="Code INSEE d'un département : campagnes qui le couvrent, nationales comprises"
    )
    etat = django_filters.ChoiceFilter(method="filter_state", choices=CAMPAIGN_STATES, label="État aujourd'hui")
    ordering = OrderingFilter(
        fields=(
            ("year", "annee", "Année évaluée"),
            ("opens_on", "ouverture", "Date d'ouverture"),
            ("closes_on", "cloture", "Date de clôture"),
        )
    )

    class Meta:
        model = Campaign
        fields = ["annee", "departement", "etat"]

    def filter_departement(self, queryset, name, value):
        return queryset.filter(
            Exists(_covered().filter(campaign=OuterRef("pk"), departement__code=value))
            | ~Exists(_covered().filter(campaign=OuterRef("pk")))
        )

    def filter_state(self, queryset, name, value):
        today = timezone.localdate()
        if value == UPCOMING:
            return queryset.filter(opens_on__gt=today)
        if value == OPEN:
            return queryset.open_on(today)
        return queryset.closed_on(today)


@extend_schema_view(
    list=extend_schema(summary="Campagnes annuelles du périmètre"),
    retrieve=extend_schema(summary="Une campagne annuelle"),
)
class CampaignViewSet(ScopedReadOnlyViewSet):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter

    def scoped_queryset(self, scope):
        return (
            Campaign.objects.visible_to(scope)
            .select_related("organisation")
            .annotate(covers_every_departement=~Exists(_covered().filter(campaign=OuterRef("pk"))))
            .prefetch_related(
                Prefetch(
                    "departements",
                    queryset=Departement.objects.visible_to(scope).order_by("code"),
                    to_attr="visible_departements",
                )
            )
            .order_by("-year", "title", "pk")
        )


# --- declarations: reading ----------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "enum": Declaration.Status.values,
        "description": " ; ".join(f"`{value}` : {label}" for value, label in Declaration.Status.choices),
    },
    component_name="StatutDeclaration",
)
class DeclarationStatusField(serializers.ChoiceField):
    # Its own component: drf-spectacular would otherwise name it after the field and collide with the conventions'.
    def __init__(self, **kwargs):
        super().__init__(choices=Declaration.Status.choices, **kwargs)


class DeclarationValueSerializer(serializers.ModelSerializer):
    engagement = serializers.IntegerField(source="commitment_id", help_text="Identifiant de l'engagement de la convention.")
    indicateur = serializers.CharField(source="indicator.code", help_text="Code de l'indicateur (voir /api/v1/indicateurs/).")
    valeur = serializers.DecimalField(source="value", max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True)
    commentaire = serializers.CharField(source="comment")
    mis_a_jour_le = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = DeclarationValue
        fields = ["engagement", "indicateur", "valeur", "commentaire", "mis_a_jour_le"]


class DeclarationCampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="visible_campaign_id", allow_null=True, help_text="Si elle est dans votre périmètre.")
    intitule = serializers.CharField(source="campaign.title")
    cloture = serializers.DateField(source="campaign.closes_on")


class DeclarationConventionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="visible_convention_id", allow_null=True, help_text="Si elle est dans votre périmètre.")
    reference = serializers.CharField(source="convention.reference")
    intitule = serializers.CharField(source="convention.title")
    departement = serializers.CharField(
        source="convention.departement.code", allow_null=True, default=None, help_text="Code INSEE du département."
    )


class DeclarationSerializer(serializers.ModelSerializer):
    campagne = DeclarationCampaignSerializer(source="*")
    annee = serializers.IntegerField(source="year")
    statut = DeclarationStatusField(source="status")
    entreprise = CompanyRefSerializer(source="company")
    convention = DeclarationConventionSerializer(source="*")
    version = serializers.IntegerField(
        help_text="À renvoyer avec chaque écriture : une version périmée est refusée (409), rien n'est écrasé."
    )
    modifiable = serializers.SerializerMethodField(
        help_text="Vrai si votre organisation peut encore modifier ses valeurs aujourd'hui (entreprise concernée, brouillon "
        "ou renvoyée, campagne ouverte)."
    )
    transmise_le = serializers.DateTimeField(source="submitted_at", allow_null=True)
    validee_le = serializers.DateTimeField(source="validated_at", allow_null=True)
    renvoyee_le = serializers.DateTimeField(source="returned_at", allow_null=True)
    commentaire_renvoi = serializers.CharField(source="return_comment", help_text="Ce qu'il faut corriger, après un renvoi.")
    rouverte_le = serializers.DateTimeField(source="reopened_at", allow_null=True)
    motif_reouverture = serializers.CharField(source="reopen_reason")
    valeurs = DeclarationValueSerializer(source="values", many=True, help_text="Valeurs déclarées pour l'année.")
    cree_le = serializers.DateTimeField(source="created_at")
    mis_a_jour_le = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Declaration
        fields = [
            "id",
            "campagne",
            "annee",
            "statut",
            "entreprise",
            "convention",
            "version",
            "modifiable",
            "transmise_le",
            "validee_le",
            "renvoyee_le",
            "commentaire_renvoi",
            "rouverte_le",
            "motif_reouverture",
            "valeurs",
            "cree_le",
            "mis_a_jour_le",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_modifiable(self, declaration):
        scope = self.context["view"].scope
        return permissions.can_edit_declaration(scope, declaration) and services.can_be_edited(declaration)


class LineSerializer(serializers.Serializer):
    engagement = serializers.IntegerField(source="commitment.pk")
    famille = serializers.CharField(source="commitment.family.code", help_text="Code de la famille de l'engagement.")
    indicateur = IndicatorRefSerializer(source="indicator")
    nature = serializers.ChoiceField(source="indicator.nature", choices=Indicator.Nature.choices)
    objectif = serializers.DecimalField(
        source="target", max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True, help_text="Objectif de N."
    )
    valeur_annee_precedente = serializers.DecimalField(
        source="previous_value", max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True
    )
    valeur = serializers.DecimalField(source="value", max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True)
    commentaire = serializers.CharField(source="comment")
    valeur_calculee = serializers.DecimalField(
        source="computed",
        max_digits=18,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        help_text="Valeur calculée depuis les actions saisies de l'entreprise (quand l'indicateur s'y prête).",
    )


class DeclarationDetailSerializer(DeclarationSerializer):
    lignes = serializers.SerializerMethodField(
        help_text="Les lignes à déclarer : chaque indicateur de chaque engagement, avec objectif, valeur de l'année "
        "précédente et valeur calculée depuis les actions."
    )

    class Meta(DeclarationSerializer.Meta):
        fields = DeclarationSerializer.Meta.fields + ["lignes"]

    @extend_schema_field(LineSerializer(many=True))
    def get_lignes(self, declaration):
        return LineSerializer(services.expected_lines(declaration), many=True).data


class DeclarationFilter(django_filters.FilterSet):
    campagne = IdFilter(field_name="campaign_id", label="Identifiant de la campagne")
    annee = YearFilter(field_name="year", label="Année déclarée")
    statut = django_filters.ChoiceFilter(field_name="status", choices=Declaration.Status.choices, label="Statut")
    entreprise = IdFilter(field_name="company_id", label="Identifiant de l'entreprise")
    convention = IdFilter(field_name="convention_id", label="Identifiant de la convention")
    departement = django_filters.CharFilter(
        field_name="convention__departement__code", label="Code INSEE du département de la convention"
    )
    club = IdFilter(field_name="convention__club_id", label="Identifiant du club animateur de la convention")
    updated_since = updated_since_filter()
    ordering = OrderingFilter(
        fields=(
            ("year", "annee", "Année"),
            ("status", "statut", "Statut"),
            ("company__name", "entreprise", "Raison sociale de l'entreprise"),
            ("submitted_at", "transmise_le", "Date de transmission"),
            ("updated_at", "mis_a_jour_le", "Date de mise à jour"),
        )
    )

    class Meta:
        model = Declaration
        fields = ["campagne", "annee", "statut", "entreprise", "convention", "departement", "club", "updated_since"]


# --- declarations: writing ----------------------------------------------------------------------------


class ValueWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    engagement = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Identifiant de l'engagement.")
    indicateur = serializers.CharField(max_length=50, help_text="Code de l'indicateur.")
    valeur = DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=services.MAX_VALUE,
        allow_null=True,
        coerce_to_string=False,
        help_text="Valeur de l'année (0 si rien n'a été réalisé) ; null efface la valeur.",
    )
    commentaire = serializers.CharField(
        max_length=MAX_COMMENT,
        required=False,
        allow_blank=True,
        help_text="Commentaire de la ligne ; absent, le commentaire enregistré est conservé.",
    )


class ValuesWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2147483647, help_text="La version de la déclaration que vous avez lue (champ « version »)."
    )
    valeurs = ValueWriteSerializer(
        many=True,
        max_length=MAX_LINES,
        help_text="Les lignes à enregistrer ; les lignes absentes restent telles qu'elles sont.",
    )


class SubmitSerializer(StrictFieldsMixin, serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=2147483647,
        required=False,
        help_text="La version que vous avez lue : conseillé, pour ne pas transmettre une déclaration modifiée entre-temps.",
    )


def _line_label(index, line):
    return f"élément {index + 1} (engagement {line['engagement']}, indicateur {line['indicateur']})"


def _concurrent_edit(error, sent_version):
    who = error.modified_by or "une autre personne"
    when = timezone.localtime(error.modified_at)
    message = (
        f"Cette déclaration a été modifiée par {who} le {date_format(when, 'd/m/Y')} à {date_format(when, 'H:i')} : "
        f"vous avez envoyé la version {sent_version}, la version actuelle est la {error.current_version}. Rien n'a été "
        "enregistré : relisez la déclaration puis renvoyez vos valeurs avec la version actuelle."
    )
    return ConcurrentEdit(message, details={"version": [str(error.current_version)]})


def _service_refusal(error, lines=None, sent_version=None):
    """The services' ValidationError as the API's exception: 409 for the declaration's state or a stale
    version, 400 at the line for a refused value."""
    if isinstance(error, services.ConcurrentEditError):
        return _concurrent_edit(error, sent_version)
    if not hasattr(error, "error_dict"):
        if getattr(error, "code", None) in STATE_CODES:
            return NotEditable(" ".join(error.messages))
        return exceptions.ValidationError({"non_field_errors": error.messages})
    by_key = {}
    for index, line in enumerate(lines or []):
        by_key[services.value_key(line["commitment_id"], line["indicator_id"])] = _line_label(index, line)
    messages = []
    for key, key_messages in error.message_dict.items():
        label = by_key.get(key)
        messages += [f"{label} : {message}" if label else message for message in key_messages]
    return exceptions.ValidationError({"valeurs": messages})


DECLARATION_409 = OpenApiResponse(
    response=ErrorSerializer,
    description="Version périmée (« modification_concurrente » : quelqu'un a enregistré entre-temps, rien n'est écrit) ou "
    "déclaration qui n'est plus modifiable (« non_modifiable » : transmise, validée, campagne pas encore ouverte ou close).",
)


@extend_schema_view(
    list=extend_schema(summary="Déclarations annuelles du périmètre, avec leurs valeurs"),
    retrieve=extend_schema(summary="Une déclaration, avec ses valeurs et les lignes à déclarer"),
)
class DeclarationViewSet(ScopedReadOnlyViewSet):
    filterset_class = DeclarationFilter

    def get_serializer_class(self):
        return DeclarationSerializer if self.action == "list" else DeclarationDetailSerializer

    def scoped_queryset(self, scope):
        values = DeclarationValue.objects.select_related("indicator").order_by("commitment_id", "indicator__code", "pk")
        return (
            Declaration.objects.visible_to(scope)
            .select_related("campaign", "company", "convention__departement")
            .annotate(
                visible_campaign_id=visible_fk("campaign_id", Campaign.objects.visible_to(scope).values("pk")),
                visible_convention_id=visible_fk("convention_id", Convention.objects.visible_to(scope).values("pk")),
            )
            .prefetch_related(Prefetch("values", queryset=values))
            .order_by("-year", "company__name", "convention__reference", "pk")
        )

    def _declaration_for_writing(self):
        declaration = self.get_object()  # out of scope: 404
        if not permissions.can_edit_declaration(self.scope, declaration):
            raise exceptions.PermissionDenied(NOT_THE_COMPANY)
        return declaration

    def _read(self, declaration):
        fresh = self.get_queryset().get(pk=declaration.pk)
        return Response(DeclarationDetailSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Enregistrer des valeurs déclarées (brouillon)",
        description="Réservé à l'entreprise de la déclaration, avec une clé « lecture et écriture » ou une session. Mêmes "
        "règles que le portail : lignes des engagements de la convention seulement, valeurs positives à deux décimales, "
        "plus de modification après la transmission ni après la clôture. Les lignes non envoyées restent inchangées.",
        request=ValuesWriteSerializer,
        responses={200: DeclarationDetailSerializer, 409: DECLARATION_409},
    )
    @action(detail=True, methods=["put"], url_path="valeurs")
    def values(self, request, pk=None):
        declaration = self._declaration_for_writing()
        serializer = ValuesWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lines = serializer.validated_data["valeurs"]
        codes = {line["indicateur"] for line in lines}
        indicator_ids = dict(Indicator.objects.filter(code__in=codes).values_list("code", "pk"))
        values, errors, seen = {}, [], set()
        for index, line in enumerate(lines):
            indicator_id = indicator_ids.get(line["indicateur"])
            if indicator_id is None:
                errors.append(f"{_line_label(index, line)} : aucun indicateur n'a ce code.")
                continue
            key = (line["engagement"], indicator_id)
            if key in seen:
                errors.append(f"{_line_label(index, line)} : cette ligne est envoyée deux fois.")
                continue
            seen.add(key)
            line["commitment_id"], line["indicator_id"] = key
            values[key] = (line["valeur"], line.get("commentaire"))
        if errors:
            raise exceptions.ValidationError({"valeurs": errors})
        version = serializer.validated_data["version"]
        try:
            services.save_draft(declaration, recorded_author(request), values, version, scope=self.scope)
        except DjangoValidationError as error:
            raise _service_refusal(error, lines, version) from error
        return self._read(declaration)

    @extend_schema(
        summary="Transmettre la déclaration pour validation",
        description="Réservé à l'entreprise de la déclaration. Chaque indicateur ayant un objectif pour l'année doit avoir "
        "une valeur (0 si rien n'a été réalisé). Une fois transmise, la déclaration n'est plus modifiable, sauf renvoi.",
        request=SubmitSerializer,
        responses={200: DeclarationDetailSerializer, 409: DECLARATION_409},
    )
    @action(detail=True, methods=["post"], url_path="soumettre")
    def submit(self, request, pk=None):
        declaration = self._declaration_for_writing()
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = serializer.validated_data.get("version")
        try:
            services.submit(declaration, recorded_author(request), scope=self.scope, expected_version=version)
        except DjangoValidationError as error:
            raise _service_refusal(error, sent_version=version) from error
        return self._read(declaration)


# --- compiled annual results ----------------------------------------------------------------------------


class _FigureFieldMixin:
    """A figure of the registry read from the row by the registry (N, or N-1 with `previous`): the field's
    name is the figure's code, its help text the figure's label and the link to its definition."""

    def __init__(self, figure, previous=False, **kwargs):
        self.figure, self.previous = figure, previous
        super().__init__(source="*", read_only=True, allow_null=True, help_text=figure.api_help, **kwargs)

    def get_attribute(self, instance):
        return self.figure.value(instance, previous=self.previous)


class FigureDecimalField(_FigureFieldMixin, serializers.DecimalField):
    def __init__(self, figure, previous=False):
        super().__init__(figure, previous, max_digits=18, decimal_places=2, coerce_to_string=False)


class FigureIntegerField(_FigureFieldMixin, serializers.IntegerField):
    pass


class FigureRateField(_FigureFieldMixin, serializers.FloatField):
    pass


FIGURE_FIELDS = {figures.COUNT: FigureIntegerField, figures.RATE: FigureRateField, figures.VALUE: FigureDecimalField}


def _figures_serializer(name, previous):
    """The figures of one year from the registry: every figure for N, those with an N-1 twin for N-1."""
    fields = {
        figure.code: FIGURE_FIELDS[figure.kind](figure, previous=previous)
        for figure in figures.FIGURES
        if figure.previous or not previous
    }
    doc = "Les chiffres de l'année précédente." if previous else "Les chiffres de l'année."
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc, "__module__": __name__})


CurrentYearSerializer = _figures_serializer("CurrentYearSerializer", previous=False)
PreviousYearSerializer = _figures_serializer("PreviousYearSerializer", previous=True)


class RunRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    terminee_le = serializers.DateTimeField(source="finished_at", allow_null=True)


class AnnualResultSerializer(serializers.ModelSerializer):
    annee = serializers.IntegerField(source="year")
    type_perimetre = serializers.ChoiceField(source="scope_type", choices=ScopeType.choices)
    perimetre = serializers.CharField(
        source="scope_key",
        help_text="Code de la région, du département ou du QPV ; identifiant du club, de la convention ou de "
        "l'entreprise ; vide pour le national.",
    )
    famille = FamilyRefSerializer(source="family", allow_null=True, help_text="null : toutes les familles.")
    indicateur = IndicatorRefSerializer(
        source="indicator",
        allow_null=True,
        help_text="null : chiffres qui ne portent pas sur un indicateur (actions, bénéficiaires, entreprises).",
    )
    valeurs = CurrentYearSerializer(source="*", help_text="Chiffres de l'année, dans l'unité de l'indicateur.")
    annee_precedente = PreviousYearSerializer(source="*", help_text="Les mêmes chiffres pour l'année précédente.")
    compilation = RunRefSerializer(source="run", help_text="La compilation publiée dont viennent ces chiffres.")

    class Meta:
        model = AnnualResult
        fields = [
            "id",
            "annee",
            "type_perimetre",
            "perimetre",
            "famille",
            "indicateur",
            "valeurs",
            "annee_precedente",
            "compilation",
        ]


ALL_FAMILIES = "toutes"
NO_INDICATOR = "aucun"


class AnnualResultFilter(django_filters.FilterSet):
    annee = YearFilter(field_name="year", label="Année compilée")
    type_perimetre = django_filters.ChoiceFilter(field_name="scope_type", choices=ScopeType.choices, label="Type de périmètre")
    perimetre = django_filters.CharFilter(
        field_name="scope_key", label="Clé du périmètre (code de région, de département ou de QPV, identifiant sinon)"
    )
    departement = django_filters.CharFilter(
        method="filter_departement",
        label="Code INSEE d'un département : le département, ses QPV, ses conventions et les entreprises dont le siège y est",
    )
    famille = django_filters.CharFilter(
        method="filter_family", label=f"Code de la famille d'actions, ou « {ALL_FAMILIES} » pour les lignes toutes familles"
    )
    indicateur = django_filters.CharFilter(
        method="filter_indicator",
        label=f"Code de l'indicateur, ou « {NO_INDICATOR} » pour les lignes qui ne portent pas sur un indicateur",
    )
    ordering = OrderingFilter(
        fields=(
            ("year", "annee", "Année"),
            ("scope_type", "type_perimetre", "Type de périmètre"),
            ("scope_key", "perimetre", "Clé du périmètre"),
        )
    )

    class Meta:
        model = AnnualResult
        fields = ["annee", "type_perimetre", "perimetre", "departement", "famille", "indicateur"]

    def filter_departement(self, queryset, name, value):
        # Keys read first, as lists (as `AnnualResult.objects.visible_to`): found by index, where subqueries joined
        # by OR made PostgreSQL filter every published row (2.2 s on the national benchmark).
        conventions = Convention.objects.filter(departement__code=value).values_list("pk", flat=True)
        companies = Company.objects.filter(commune__departement__code=value).values_list("pk", flat=True)
        qpvs = QPV.objects.filter(departement__code=value).values_list("code", flat=True)
        return queryset.filter(
            Q(scope_type=ScopeType.DEPARTEMENT, scope_key=value)
            | Q(scope_type=ScopeType.QPV, scope_key__in=list(qpvs))
            | Q(scope_type=ScopeType.CONVENTION, scope_key__in=[str(pk) for pk in conventions])
            | Q(scope_type=ScopeType.COMPANY, scope_key__in=[str(pk) for pk in companies])
        )

    def filter_family(self, queryset, name, value):
        if value == ALL_FAMILIES:
            return queryset.filter(family__isnull=True)
        return queryset.filter(family__code=value)

    def filter_indicator(self, queryset, name, value):
        if value == NO_INDICATOR:
            return queryset.filter(indicator__isnull=True)
        return queryset.filter(indicator__code=value)


@extend_schema_view(
    list=extend_schema(
        summary="Résultats annuels compilés du périmètre",
        description="Les lignes de la dernière compilation réussie de chaque périmètre et de chaque année, par famille et "
        "par indicateur ; un partenaire lit les agrégats de son territoire (départements, régions, QPV).",
    ),
    retrieve=extend_schema(summary="Une ligne de résultats annuels"),
)
class AnnualResultViewSet(ScopedReadOnlyViewSet):
    serializer_class = AnnualResultSerializer
    filterset_class = AnnualResultFilter

    def scoped_queryset(self, scope):
        return (
            AnnualResult.objects.visible_to(scope)
            .published()
            .select_related("family", "indicator", "run")
            # The run's unit lists (a hundred entries) are not shown: not read for each row.
            .defer("run__units", "run__done_units", "run__error")
            # Along the index `result_year_scope_run` (year, scope, then the few rows of a scope sorted).
            .order_by(
                "-year",
                "scope_type",
                "scope_key",
                F("family__position").asc(nulls_first=True),
                F("indicator__code").asc(nulls_first=True),
                "pk",
            )
        )
