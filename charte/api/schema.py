"""OpenAPI schema: every operation documents its error responses (400, 401, 403, 404, 429, and 415 for
writes) with the one error body, so that a client, and schemathesis, know what to expect."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

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


class AutoSchema(BaseAutoSchema):
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
