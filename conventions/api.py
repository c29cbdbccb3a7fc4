"""API of conventions (with signatories, commitments and targets) and of actions, including the writes of
actions by a club's (or a company's, a préfecture's) tool.

An action written through the API goes through the portal's own doors: `ActionForm` (the same scoped
choices and rules as the logging page) and `action_services.save_action` (the one write path), with the
same permission predicates. The API only translates its JSON field names and codes.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import QueryDict
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response

from charte.api.base import (
    MAX_ID,
    IdFilter,
    OrderingFilter,
    ScopedReadOnlyViewSet,
    ScopedViewSetMixin,
    YearFilter,
    acting_user,
    recorded_author,
    updated_since_filter,
    visible_fk,
)
from charte.api.exceptions import ConcurrentEdit
from charte.api.pagination import PageOrKeysetPagination
from charte.catalogue.api import ActionTypeRefSerializer, FamilyRefSerializer, IndicatorRefSerializer
from charte.catalogue.models import ActionType
from charte.concurrency import StaleEditError
from charte.territoires.api import DepartementRefSerializer, QPVRefSerializer
from charte.territoires.models import QPV, Departement
from charte.validators import LONG_TEXT_MAX_LENGTH, validate_plausible_date
from entreprises.api import CompanyRefSerializer, OrganisationRefSerializer
from entreprises.models import Company

from .action_forms import ActionForm
from .action_permissions import can_create_action, can_delete_action, can_edit_action
from .action_services import save_action
from .models import Action, ActionPartner, Commitment, Convention, Signatory, Target

MAX_COUNT = 2147483647  # PositiveIntegerField's upper bound on PostgreSQL

# --- conventions --------------------------------------------------------------------------------------


class SignatorySerializer(serializers.ModelSerializer):
    qualite = serializers.ChoiceField(source="role", choices=Signatory.Role.choices)
    nom = serializers.CharField(source="name")
    organisation = serializers.CharField(source="organisation_name")
    signe_le = serializers.DateField(source="signed_on", allow_null=True)

    class Meta:
        model = Signatory
        fields = ["qualite", "nom", "organisation", "signe_le"]


class TargetSerializer(serializers.ModelSerializer):
    indicateur = IndicatorRefSerializer(source="indicator")
    annee = serializers.IntegerField(source="year")
    valeur = serializers.DecimalField(source="value", max_digits=14, decimal_places=2, coerce_to_string=False)

    class Meta:
        model = Target
        fields = ["indicateur", "annee", "valeur"]


class CommitmentSerializer(serializers.ModelSerializer):
    famille = FamilyRefSerializer(source="family")
    type_action = ActionTypeRefSerializer(source="action_type", allow_null=True)
    objectifs = TargetSerializer(source="targets", many=True, help_text="Objectifs chiffrés par indicateur et par année.")

    class Meta:
        model = Commitment
        fields = ["id", "famille", "type_action", "description", "objectifs"]


class ConventionSerializer(serializers.ModelSerializer):
    intitule = serializers.CharField(source="title")
    type = serializers.ChoiceField(source="kind", choices=Convention.Kind.choices)
    statut = serializers.ChoiceField(source="status", choices=Convention.Status.choices)
    generation = serializers.ChoiceField(choices=Convention.Generation.choices)
    entreprises = CompanyRefSerializer(source="companies", many=True, help_text="Entreprises de votre périmètre.")
    convention_nationale = serializers.IntegerField(
        source="visible_parent_id", allow_null=True, help_text="Convention nationale déclinée (si elle est dans votre périmètre)."
    )
    charte_cadre = serializers.IntegerField(
        source="visible_framework_id",
        allow_null=True,
        help_text="Charte-cadre départementale (si elle est dans votre périmètre).",
    )
    convention_renouvelee = serializers.IntegerField(
        source="visible_predecessor_id",
        allow_null=True,
        help_text="Convention renouvelée par celle-ci (si elle est dans votre périmètre).",
    )
    date_debut = serializers.DateField(source="start_date")
    date_fin = serializers.DateField(source="end_date")
    departement = DepartementRefSerializer(allow_null=True)
    club = OrganisationRefSerializer(allow_null=True, help_text="Club animateur.")
    motif_resiliation = serializers.CharField(source="termination_reason")
    statut_modifie_le = serializers.DateTimeField(source="status_changed_at", allow_null=True)
    signataires = SignatorySerializer(source="signatories", many=True)
    engagements = CommitmentSerializer(source="commitments", many=True)
    cree_le = serializers.DateTimeField(source="created_at")
    mis_a_jour_le = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Convention
        fields = [
            "id",
            "reference",
            "intitule",
            "type",
            "statut",
            "generation",
            "entreprises",
            "convention_nationale",
            "charte_cadre",
            "convention_renouvelee",
            "date_debut",
            "date_fin",
            "departement",
            "club",
            "motif_resiliation",
            "statut_modifie_le",
            "signataires",
            "engagements",
            "cree_le",
            "mis_a_jour_le",
        ]


def _company_links():
    return Convention.companies.through.objects


class ConventionFilter(django_filters.FilterSet):
    statut = django_filters.ChoiceFilter(field_name="status", choices=Convention.Status.choices, label="Statut")
    type = django_filters.ChoiceFilter(field_name="kind", choices=Convention.Kind.choices, label="Type de convention")
    generation = django_filters.TypedChoiceFilter(choices=Convention.Generation.choices, coerce=int, label="Génération")
    departement = django_filters.CharFilter(field_name="departement__code", label="Code INSEE du département")
    club = IdFilter(field_name="club_id", label="Identifiant du club animateur")
    annee = YearFilter(method="filter_year", label="Année : conventions dont la période couvre cette année")
    entreprise = IdFilter(method="filter_company", label="Identifiant d'une entreprise signataire")
    updated_since = updated_since_filter()
    ordering = OrderingFilter(
        fields=(
            ("reference", "reference", "Référence"),
            ("start_date", "date_debut", "Date de début"),
            ("end_date", "date_fin", "Date de fin"),
            ("updated_at", "mis_a_jour_le", "Date de mise à jour"),
        )
    )

    class Meta:
        model = Convention
        fields = ["statut", "type", "generation", "departement", "club", "annee", "entreprise", "updated_since"]

    def filter_year(self, queryset, name, value):
        return queryset.running_during(int(value))

    def filter_company(self, queryset, name, value):
        return queryset.filter(pk__in=_company_links().filter(company_id=value).values("convention_id"))


@extend_schema_view(
    list=extend_schema(summary="Conventions du périmètre"),
    retrieve=extend_schema(summary="Une convention, avec ses signataires, engagements et objectifs"),
)
class ConventionViewSet(ScopedReadOnlyViewSet):
    serializer_class = ConventionSerializer
    filterset_class = ConventionFilter

    def scoped_queryset(self, scope):
        visible = Convention.objects.visible_to(scope).values("pk")
        targets = Target.objects.select_related("indicator").order_by("year", "indicator__code", "pk")
        commitments = (
            Commitment.objects.select_related("family", "action_type__family")
            .prefetch_related(Prefetch("targets", queryset=targets))
            .order_by("family__position", "pk")
        )
        return (
            Convention.objects.visible_to(scope)
            .select_related("departement", "club")
            .annotate(
                visible_parent_id=visible_fk("parent_id", visible),
                visible_framework_id=visible_fk("framework_id", visible),
                visible_predecessor_id=visible_fk("predecessor_id", visible),
            )
            .prefetch_related(
                Prefetch("companies", queryset=Company.objects.visible_to(scope).order_by("name", "pk")),
                Prefetch("signatories", queryset=Signatory.objects.order_by("pk")),
                Prefetch("commitments", queryset=commitments),
            )
            .order_by("-start_date", "reference", "pk")
        )


# --- actions: reading ---------------------------------------------------------------------------------


class ActionPartnerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(source="kind", choices=ActionPartner.Kind.choices)
    nom = serializers.CharField(source="name", max_length=200)


class ActionSerializer(serializers.ModelSerializer):
    type_action = ActionTypeRefSerializer(source="action_type")
    intitule = serializers.CharField(source="title")
    date_debut = serializers.DateField(source="start_date")
    date_fin = serializers.DateField(source="end_date", allow_null=True)
    entreprises = CompanyRefSerializer(source="companies", many=True, help_text="Entreprises de votre périmètre.")
    convention = serializers.IntegerField(
        source="visible_convention_id", allow_null=True, help_text="Convention mise en œuvre (si elle est dans votre périmètre)."
    )
    departement = DepartementRefSerializer()
    club = OrganisationRefSerializer(allow_null=True)
    qpv = QPVRefSerializer(source="qpvs", many=True, help_text="QPV concernés (de votre périmètre).")
    beneficiaires_total = serializers.IntegerField(source="beneficiaries_total")
    beneficiaires_femmes = serializers.IntegerField(source="beneficiaries_women")
    beneficiaires_moins_de_26_ans = serializers.IntegerField(source="beneficiaries_under_26")
    beneficiaires_qpv = serializers.IntegerField(source="beneficiaries_qpv", help_text="Dont résidents des QPV.")
    salaries_mobilises = serializers.IntegerField(source="employees_involved")
    heures = serializers.DecimalField(source="hours", max_digits=10, decimal_places=1, coerce_to_string=False)
    partenaires = ActionPartnerSerializer(source="partners", many=True, help_text="Structures partenaires.")
    saisie_le = serializers.DateTimeField(source="created_at")
    mis_a_jour_le = serializers.DateTimeField(source="updated_at")
    version = serializers.IntegerField(
        read_only=True, help_text="À renvoyer dans une modification : elle est refusée (409) si l'action a changé depuis."
    )

    class Meta:
        model = Action
        fields = [
            "id",
            "type_action",
            "intitule",
            "description",
            "date_debut",
            "date_fin",
            "entreprises",
            "convention",
            "departement",
            "club",
            "qpv",
            "beneficiaires_total",
            "beneficiaires_femmes",
            "beneficiaires_moins_de_26_ans",
            "beneficiaires_qpv",
            "salaries_mobilises",
            "heures",
            "partenaires",
            "saisie_le",
            "mis_a_jour_le",
            "version",
        ]


class ActionFilter(django_filters.FilterSet):
    departement = django_filters.CharFilter(field_name="departement__code", label="Code INSEE du département")
    annee = YearFilter(field_name="start_date", lookup_expr="year", label="Année de début de l'action")
    famille = django_filters.CharFilter(field_name="action_type__family__code", label="Code de la famille d'actions")
    type_action = django_filters.CharFilter(field_name="action_type__code", label="Code du type d'action")
    entreprise = IdFilter(method="filter_company", label="Identifiant d'une entreprise participante")
    convention = IdFilter(field_name="convention_id", label="Identifiant de la convention mise en œuvre")
    qpv = django_filters.CharFilter(method="filter_qpv", label="Code d'un QPV concerné")
    club = IdFilter(field_name="club_id", label="Identifiant du club")
    updated_since = updated_since_filter()
    ordering = OrderingFilter(
        fields=(
            ("start_date", "date_debut", "Date de début"),
            ("updated_at", "mis_a_jour_le", "Date de mise à jour"),
            ("created_at", "saisie_le", "Date de saisie"),
            ("beneficiaries_total", "beneficiaires_total", "Nombre de bénéficiaires"),
        )
    )

    class Meta:
        model = Action
        fields = ["departement", "annee", "famille", "type_action", "entreprise", "convention", "qpv", "club", "updated_since"]

    # Subqueries, not joins: an action with two matching companies or QPV must not come twice.
    def filter_company(self, queryset, name, value):
        return queryset.filter(pk__in=Action.companies.through.objects.filter(company_id=value).values("action_id"))

    def filter_qpv(self, queryset, name, value):
        return queryset.filter(pk__in=Action.qpvs.through.objects.filter(qpv__code=value).values("action_id"))


# --- actions: writing ---------------------------------------------------------------------------------

# ActionForm's field -> the API's field, to give the form's messages back under the names the client sent.
FORM_TO_API = {
    "action_type": "type_action",
    "title": "intitule",
    "description": "description",
    "start_date": "date_debut",
    "end_date": "date_fin",
    "departement": "departement",
    "companies": "entreprises",
    "qpvs": "qpv",
    "convention": "convention",
    "club": "club",
    "beneficiaries_total": "beneficiaires_total",
    "beneficiaries_women": "beneficiaires_femmes",
    "beneficiaries_under_26": "beneficiaires_moins_de_26_ans",
    "beneficiaries_qpv": "beneficiaires_qpv",
    "employees_involved": "salaries_mobilises",
    "hours": "heures",
    "__all__": "non_field_errors",
}
API_TO_FORM = {api: form for form, api in FORM_TO_API.items() if form != "__all__"}


def _api_errors(errors):
    """{form field: [messages]} -> {API field: [messages]}."""
    return {FORM_TO_API.get(name, name): [str(m) for m in messages] for name, messages in errors.items()}


class ActionWriteSerializer(serializers.Serializer):
    # What a tool sends to log or change an action. Referential rows are named by their codes, the others
    # by their ids; choices are limited to the caller's scope exactly as on the portal's form.

    type_action = serializers.CharField(max_length=50, help_text="Code du type d'action (voir /api/v1/types-action/).")
    intitule = serializers.CharField(max_length=250)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=LONG_TEXT_MAX_LENGTH)
    date_debut = serializers.DateField(validators=[validate_plausible_date])
    date_fin = serializers.DateField(required=False, allow_null=True, default=None, validators=[validate_plausible_date])
    departement = serializers.CharField(max_length=3, help_text="Code INSEE du département de l'action.")
    entreprises = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=200,
        help_text="Identifiants des entreprises qui ont pris part à l'action (de votre périmètre).",
    )
    qpv = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        default=list,
        max_length=200,
        help_text="Codes des QPV concernés, dans le département de l'action.",
    )
    convention = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        default=None,
        help_text="Identifiant de la convention mise en œuvre.",
    )
    club = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        default=None,
        help_text="Identifiant du club animateur : préfecture et niveau national seulement ; un club saisit pour lui-même.",
    )
    beneficiaires_total = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False, default=0)
    beneficiaires_femmes = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False, default=0)
    beneficiaires_moins_de_26_ans = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False, default=0)
    beneficiaires_qpv = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False, default=0)
    salaries_mobilises = serializers.IntegerField(min_value=0, max_value=MAX_COUNT, required=False, default=0)
    heures = serializers.DecimalField(
        max_digits=10, decimal_places=1, min_value=0, required=False, default=0, coerce_to_string=False
    )
    partenaires = ActionPartnerSerializer(many=True, required=False, default=list, max_length=30)
    version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        default=None,
        help_text="La version lue (champ `version` de l'action) : si l'action a changé depuis, la modification "
        "est refusée (409) et rien n'est écrit. Sans version, aucune vérification.",
    )

    def _current_values(self, action):
        """The stored action in the API's terms, so that a PATCH changes only what it sends."""
        return {
            "type_action": action.action_type.code,
            "intitule": action.title,
            "description": action.description,
            "date_debut": action.start_date,
            "date_fin": action.end_date,
            "departement": action.departement.code,
            "entreprises": list(action.companies.values_list("pk", flat=True)),
            "qpv": list(action.qpvs.values_list("code", flat=True)),
            "convention": action.convention_id,
            "club": action.club_id,
            "beneficiaires_total": action.beneficiaries_total,
            "beneficiaires_femmes": action.beneficiaries_women,
            "beneficiaires_moins_de_26_ans": action.beneficiaries_under_26,
            "beneficiaires_qpv": action.beneficiaries_qpv,
            "salaries_mobilises": action.employees_involved,
            "heures": action.hours,
            "partenaires": [{"kind": p.kind, "name": p.name} for p in action.partners.all()],
        }

    def validate(self, attrs):
        scope = self.context["scope"]
        action = self.instance if self.instance is not None else Action()
        if self.instance is not None and self.partial:
            attrs = {**self._current_values(self.instance), **attrs}
        if self.instance is None and scope.is_club:
            action.club_id = scope.organisation_id  # a club logs its own actions, as on the portal

        errors = {}
        action_type = ActionType.objects.filter(code=attrs["type_action"]).first()
        if action_type is None:
            errors["type_action"] = [f"Aucun type d'action n'a le code « {attrs['type_action']} »."]
        departement = Departement.objects.filter(code=attrs["departement"]).first()
        if departement is None:
            errors["departement"] = [f"Aucun département n'a le code « {attrs['departement']} »."]
        codes = list(dict.fromkeys(attrs["qpv"]))
        qpv_ids = dict(QPV.objects.filter(code__in=codes).values_list("code", "pk"))
        unknown = [code for code in codes if code not in qpv_ids]
        if unknown:
            errors["qpv"] = [f"Codes de QPV inconnus : {', '.join(unknown)}."]
        else:
            # Said with the codes the tool sent: the form would name the QPV by its internal id.
            visible = set(QPV.objects.visible_to(scope).filter(pk__in=qpv_ids.values()).values_list("code", flat=True))
            outside = [code for code in codes if code not in visible]
            if outside:
                errors["qpv"] = [f"QPV hors de votre périmètre : {', '.join(outside)}."]
        if errors:
            raise serializers.ValidationError(errors)

        data = QueryDict(mutable=True)
        single = {
            "action_type": action_type.pk,
            "title": attrs["intitule"],
            "description": attrs["description"],
            "start_date": attrs["date_debut"].isoformat(),
            "end_date": attrs["date_fin"].isoformat() if attrs["date_fin"] else "",
            "departement": departement.pk,
            "convention": attrs["convention"] or "",
            "club": attrs["club"] or "",
            "beneficiaries_total": attrs["beneficiaires_total"],
            "beneficiaries_women": attrs["beneficiaires_femmes"],
            "beneficiaries_under_26": attrs["beneficiaires_moins_de_26_ans"],
            "beneficiaries_qpv": attrs["beneficiaires_qpv"],
            "employees_involved": attrs["salaries_mobilises"],
            "hours": str(attrs["heures"]),
        }
        for name, value in single.items():
            data[name] = str(value)
        data.setlist("companies", [str(pk) for pk in dict.fromkeys(attrs["entreprises"])])
        data.setlist("qpvs", [str(qpv_ids[code]) for code in codes])

        form = ActionForm(data, instance=action, scope=scope)
        if "club" not in form.fields and attrs["club"] not in (None, action.club_id):
            errors["club"] = ["Seuls la préfecture et le niveau national désignent le club d'une action."]
        if not form.is_valid():
            errors.update(_api_errors(form.errors))
        if errors:
            raise serializers.ValidationError(errors)
        self._form = form
        return attrs

    def save(self, **kwargs):
        form = self._form
        partners = [(p["kind"], p["name"]) for p in self.validated_data["partenaires"]]
        try:
            self.instance = save_action(
                form.save(commit=False),
                companies=form.cleaned_data["companies"],
                qpvs=form.cleaned_data["qpvs"],
                partners=partners,
                logged_by=kwargs.get("logged_by"),
                expected_version=self.validated_data.get("version"),
            )
        except StaleEditError as error:
            raise ConcurrentEdit(error.messages[0], {"version": [f"Version actuelle : {error.current_version}."]}) from error
        except DjangoValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            raise serializers.ValidationError(_api_errors(errors)) from error
        return self.instance


EDIT_REFUSED = (
    "Seuls l'auteur de la saisie (pour une clé d'API : la personne qui l'a créée), la préfecture du département "
    "de l'action et le niveau national peuvent modifier ou supprimer cette action."
)


@extend_schema_view(
    list=extend_schema(summary="Actions du périmètre"),
    retrieve=extend_schema(summary="Une action"),
    create=extend_schema(
        summary="Saisir une action",
        description="Mêmes règles que le formulaire du portail. Refusé aux clés en lecture seule et aux partenaires.",
        request=ActionWriteSerializer,
        responses={201: ActionSerializer},
    ),
    update=extend_schema(summary="Remplacer une action", request=ActionWriteSerializer, responses={200: ActionSerializer}),
    partial_update=extend_schema(
        summary="Modifier une partie d'une action", request=ActionWriteSerializer, responses={200: ActionSerializer}
    ),
    destroy=extend_schema(summary="Supprimer une action"),
)
class ActionViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    # Millions of rows nationally: `?curseur=` walks them along `action_date_pk_idx` (start date, id, descending).
    pagination_class = PageOrKeysetPagination

    def scoped_queryset(self, scope):
        visible_conventions = Convention.objects.visible_to(scope).values("pk")
        return (
            Action.objects.visible_to(scope)
            .select_related("action_type__family", "departement", "club")
            .annotate(visible_convention_id=visible_fk("convention_id", visible_conventions))
            .prefetch_related(
                Prefetch("companies", queryset=Company.objects.visible_to(scope).order_by("name", "pk")),
                Prefetch("qpvs", queryset=QPV.objects.visible_to(scope).order_by("code")),
                Prefetch("partners", queryset=ActionPartner.objects.order_by("pk")),
            )
            .order_by("-start_date", "-pk")
        )

    def _write_serializer(self, *args, **kwargs):
        return ActionWriteSerializer(*args, context={**self.get_serializer_context(), "scope": self.scope}, **kwargs)

    def _read(self, action):
        return ActionSerializer(self.get_queryset().get(pk=action.pk), context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        if not can_create_action(self.scope):
            raise exceptions.PermissionDenied("Votre organisation ne peut pas saisir d'actions.")
        serializer = self._write_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = serializer.save(logged_by=recorded_author(request))
        return self._response(self._read(action), status=201)

    def update(self, request, *args, **kwargs):
        action = self.get_object()
        if not can_edit_action(acting_user(request), self.scope, action):
            raise exceptions.PermissionDenied(EDIT_REFUSED)
        serializer = self._write_serializer(action, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        action = serializer.save(logged_by=recorded_author(request))  # on an edit: recorded as the last editor
        return self._response(self._read(action))

    def destroy(self, request, *args, **kwargs):
        action = self.get_object()
        if not can_delete_action(acting_user(request), self.scope, action):
            raise exceptions.PermissionDenied(EDIT_REFUSED)
        action.delete()
        return self._response(None, status=204)

    @staticmethod
    def _response(data, status=200):
        return Response(data, status=status)
