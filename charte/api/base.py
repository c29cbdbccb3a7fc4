"""What every API viewset shares: the caller's scope, the refusal of NUL characters, scoped querysets,
integer ids, and the filters' building blocks."""

import datetime
import math
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, F, When
from django.utils.dateparse import parse_datetime
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.drainage import set_override
from rest_framework import exceptions, serializers, viewsets

from charte.comptes.models import ApiKey
from charte.comptes.scoping import Scope

NUL = "\x00"
NUL_MESSAGE = "Le caractère nul (U+0000) n'est pas accepté."
REPEATED_MESSAGE = "Ce paramètre est donné plusieurs fois : donnez-le une seule fois."
UNKNOWN_FIELD = "Champ inconnu : vérifiez son nom dans la documentation de l'API."
MAX_ID = 2**63 - 1
# Query parameters and written text never hold NUL (see `reject_nul`): the schema says so to clients.
NO_NUL_PATTERN = "^[^\\x00]*$"


def request_scope(request):
    """The scope the API request acts with: the key's organisation, else the session's current membership
    (set by `CurrentOrganisationMiddleware`)."""
    if isinstance(request.auth, ApiKey):
        return Scope.for_organisation(request.auth.organisation)
    return getattr(request._request, "scope", None) or Scope.none()


def acting_user(request):
    """The person in whose name a write is checked: the signed-in person, or the key's creator."""
    if isinstance(request.auth, ApiKey):
        return request.auth.created_by or AnonymousUser()
    return request.user


def recorded_author(request):
    """The author stored on a written row: `acting_user`, or nobody for a key whose creator was deleted."""
    user = acting_user(request)
    return user if user.is_authenticated else None


def _contains_nul(value):
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(v) for v in value)
    return False


def reject_nul(request):
    """PostgreSQL cannot store or even compare text holding NUL: refuse it before any query sees it."""
    bad = sorted({key for key, values in request.query_params.lists() if _contains_nul(key) or _contains_nul(values)})
    if bad:
        raise exceptions.ValidationError({key.replace(NUL, "") or "parametre": [NUL_MESSAGE] for key in bad})
    # Django keeps the last of repeated values: `?page_size=abc&page_size=` would silently mean "no page size".
    repeated = sorted(key for key, values in request.query_params.lists() if len(values) > 1)
    if repeated:
        raise exceptions.ValidationError({key: [REPEATED_MESSAGE] for key in repeated})
    if request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") and _contains_nul(request.data):
        raise exceptions.ValidationError({"non_field_errors": [NUL_MESSAGE]})


class ScopedViewSetMixin:
    # Querysets come from `scoped_queryset(scope)`, which each viewset writes with the models' `visible_to(scope)`:
    # a row out of scope is absent from lists and answers 404 in detail.

    lookup_value_regex = "[0-9]+"
    filter_backends = [DjangoFilterBackend]

    @classmethod
    def as_view(cls, *args, **kwargs):
        view = super().as_view(*args, **kwargs)
        # DRF authenticates API requests itself (session or key): the portal's login redirect must not apply.
        view.login_required = False
        return view

    def perform_authentication(self, request):
        super().perform_authentication(request)
        request.scope = request_scope(request)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        reject_nul(request)

    @property
    def scope(self):
        # The schema generator builds views on a fake request, without a scope.
        return getattr(self.request, "scope", None) or Scope.none()

    def scoped_queryset(self, scope):  # pragma: no cover - every viewset defines it
        raise NotImplementedError

    def get_queryset(self):
        return self.scoped_queryset(self.scope)

    def get_object(self):
        pk = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if not str(pk).isdigit() or not 0 < int(pk) <= MAX_ID:
            raise exceptions.NotFound()
        return super().get_object()


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


# --- filters ------------------------------------------------------------------------------------------


class IdField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def _documented_as(filter_, schema):
    # Set on the instance, so that the schema keeps this filter's own label as its description.
    set_override(filter_, "field", {**schema, "description": str(filter_.label or "")})


class IdFilter(django_filters.NumberFilter):
    """An id (integer): anything else is refused with a 400 before reaching the database."""

    field_class = IdField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _documented_as(self, {"type": "integer", "minimum": 1, "maximum": MAX_ID, "format": "int64"})


class YearField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1900)
        kwargs.setdefault("max_value", 2100)
        super().__init__(*args, **kwargs)


class YearFilter(django_filters.NumberFilter):
    field_class = YearField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _documented_as(self, {"type": "integer", "minimum": 1900, "maximum": 2100})


EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(2100, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time; one before 1900 counts as 1900 and one after 2100 as 2100. No row of the
    portal is dated outside these years, so "modified since year 352" means everything, and year 1 or 9999
    with an offset could not even be converted to UTC."""

    def to_python(self, value):
        parsed = None
        if isinstance(value, str) and value.strip():
            try:
                parsed = parse_datetime(value.strip()) or datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                parsed = None  # left to the parent class, which says what is wrong
        if parsed is not None and parsed.year < 1900:
            return EARLIEST
        if parsed is not None and parsed.year > 2100:
            return LATEST
        return super().to_python(value)


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


def updated_since_filter():
    return BoundedIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="Modifiés depuis cette date (ISO 8601, par exemple 2024-01-31T00:00:00+01:00) : synchronisation incrémentale",
    )


class OrderingFilter(django_filters.OrderingFilter):
    """The `ordering` parameter: only the listed fields (an unknown one is a 400), then the id so that pages
    never overlap."""

    def __init__(self, *args, fields, **kwargs):
        """`fields`: (model field, parameter value, French label) triples."""
        kwargs.setdefault("label", "Tri : champs séparés par des virgules, précédés de « - » pour l'ordre décroissant")
        kwargs["field_labels"] = {model_field: label for model_field, _param, label in fields}
        super().__init__(*args, fields=[(model_field, param) for model_field, param, _label in fields], **kwargs)

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs
        if any(not param for param in value):
            # `?ordering=,` passes django-filter's choice check and would reach the database as an empty field.
            raise exceptions.ValidationError({self.field_name: ["Un champ de tri est vide : retirez la virgule en trop."]})
        ordering = [self.get_ordering_value(param) for param in value]
        return qs.order_by(*ordering, "pk")


def boolean_filter(field_name, label):
    """`true` or `false`; anything else is a 400 (django-filter's BooleanFilter silently ignores it)."""
    filter_ = django_filters.TypedChoiceFilter(
        field_name=field_name,
        choices=[("true", "vrai"), ("false", "faux")],
        coerce=lambda value: value == "true",
        label=label,
    )
    # The two words, as strings: documented as a boolean, a client could send 1 or True, which are refused.
    _documented_as(filter_, {"type": "string", "enum": ["true", "false"]})
    return filter_


# --- written bodies -------------------------------------------------------------------------------------


class StrictFieldsMixin:
    """A written object with a field the serializer does not know is refused (400) rather than silently
    ignored: a misspelt field would otherwise look saved to the client. The schema says
    `additionalProperties: false` (see `charte.api.schema`)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key).replace(NUL, "") or "champ" for key in data if key not in writable)
            if unknown:
                raise exceptions.ValidationError({key: [UNKNOWN_FIELD] for key in unknown})
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    """A decimal with a fixed number of places, read from a JSON number without float noise: 0.57 computed by
    a client as 0.1 * 5.7 arrives as 0.5700000000000001 and means 0.57. A real extra place is still refused.
    A number too large to round (1e300) is left to the field's own checks, which refuse it in French."""

    NOISE = Decimal("1e-9")

    def to_internal_value(self, data):
        if isinstance(data, float) and math.isfinite(data) and self.decimal_places is not None:
            exact = Decimal(repr(data))
            try:
                rounded = exact.quantize(Decimal(1).scaleb(-self.decimal_places))
            except InvalidOperation:  # more digits than the decimal context holds: far beyond max_digits
                rounded = exact
            if exact != rounded and abs(exact - rounded) < self.NOISE:
                data = rounded
        return super().to_internal_value(data)


def visible_fk(field, visible):
    """The foreign key's id only when the row it points to is in `visible`: ids of foreign rows never leak."""
    return Case(When(**{f"{field}__in": visible}, then=F(field)), default=None)
