"""OpenAPI schema: every operation documents its error responses (400, 401, 403, 404, 429, and 415 for
writes) with the one error body, so that a client, and schemathesis, know what to expect."""

from decimal import Decimal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .base import NO_NUL_PATTERN, StrictFieldsMixin
from .exceptions import ERROR_CODES


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[(code, code) for code in ERROR_CODES], help_text="Code stable de l'erreur, destiné aux programmes."
    )
    message = serializers.CharField(help_text="Explication en français, destinée aux personnes.")
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Pour des données refusées : les messages par champ ou paramètre (« non_field_errors » pour l'ensemble).",
    )


class ErrorSerializer(serializers.Serializer):
    erreur = ErrorDetailSerializer()


ERRORS = {
    "400": "Paramètres ou données invalides (type, valeur hors des choix, caractère nul, JSON mal formé…).",
    "401": "Authentification absente ou invalide (clé d'API inconnue ou révoquée).",
    "403": "Authentifié, mais sans le droit de faire cette opération (clé en lecture seule, rôle insuffisant).",
    "404": "Ressource introuvable ou hors de votre périmètre, ou page au-delà de la dernière.",
    "429": "Trop de requêtes : attendre le nombre de secondes indiqué par l'en-tête Retry-After.",
}
WRITE_ERRORS = {"415": "Le corps de la requête doit être du JSON (Content-Type: application/json)."}


def _refuses_nul(schema):
    """A free text (no format, choices or pattern of its own) is documented as holding no NUL character."""
    if isinstance(schema, dict) and schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema):
        schema["pattern"] = NO_NUL_PATTERN
    if isinstance(schema, dict) and schema.get("type") == "array":
        _refuses_nul(schema.get("items"))


class AutoSchema(BaseAutoSchema):
    # The schema documents what the API really accepts, so that a client (and schemathesis) can rely on it:
    # empty query parameters are ignored, text never holds NUL, decimals have a fixed number of places, and
    # a strict body refuses unknown fields.

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
                _refuses_nul(parameter.get("schema"))
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(schema, dict):
            if isinstance(field, serializers.DecimalField) and field.decimal_places is not None:
                schema["multipleOf"] = float(Decimal(1).scaleb(-field.decimal_places))
            _refuses_nul(schema)
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False
        if schema.get("description") == get_doc(StrictFieldsMixin):
            del schema["description"]  # the mixin's docstring is for developers
        return schema

    def get_description(self):
        # Docstrings are written in English for developers: the public documentation only shows the French
        # descriptions given with `extend_schema`.
        return ""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(WRITE_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorSerializer, description=description), code, direction=direction
                )
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if status_code == "429":
            headers["Retry-After"] = {
                "schema": {"type": "integer"},
                "description": "Nombre de secondes à attendre avant de réessayer.",
            }
        return headers


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "charte.api.authentication.ApiKeyAuthentication"
    name = "cleApi"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Clé d'API de votre organisation, sous la forme « Api-Key <préfixe>.<secret> ».",
        }
