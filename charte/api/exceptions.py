"""One error body for every API error, in French:

    {"erreur": {"code": "introuvable", "message": "Ressource introuvable.", "details": {}}}

`code` is stable and meant for programs; `message` is for people; `details` carries the per-field messages
of a refused input (`{"champ": ["message", ...]}`), or is empty.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

# exception class -> (stable code, French message used when the exception carries none of its own)
_CODES = [
    (exceptions.ValidationError, "donnees_invalides", "Les données envoyées sont invalides."),
    (exceptions.ParseError, "requete_mal_formee", "Le corps de la requête n'est pas un JSON valide."),
    (exceptions.AuthenticationFailed, "authentification_refusee", "Authentification refusée."),
    (exceptions.NotAuthenticated, "non_authentifie", "Authentification requise : session ou clé d'API."),
    (exceptions.PermissionDenied, "interdit", "Vous n'avez pas le droit d'effectuer cette opération."),
    (exceptions.NotFound, "introuvable", "Ressource introuvable."),
    (exceptions.MethodNotAllowed, "methode_non_autorisee", "Méthode non autorisée sur cette adresse."),
    (exceptions.NotAcceptable, "format_non_disponible", "Le format de réponse demandé n'est pas disponible."),
    (exceptions.UnsupportedMediaType, "format_non_supporte", "Le corps de la requête doit être en JSON (application/json)."),
    (exceptions.Throttled, "trop_de_requetes", "Trop de requêtes."),
]

ERROR_CODES = {code: message for _cls, code, message in _CODES}


def error_body(code, message, details=None):
    return {"erreur": {"code": code, "message": message, "details": details or {}}}


def _code_and_message(exc):
    code, default = "erreur", "La requête n'a pas pu être traitée."
    for cls, cls_code, cls_default in _CODES:
        if isinstance(exc, cls):
            code, default = cls_code, cls_default
            break
    if isinstance(exc, exceptions.ValidationError):
        return code, default
    if isinstance(exc, exceptions.ParseError):
        # DRF's JSON parser error ("JSON parse error - ...") is English and technical: keep ours.
        return code, default
    if isinstance(exc, exceptions.Throttled):
        wait = exc.wait
        if wait is not None:
            return code, f"Trop de requêtes : réessayez dans {max(1, round(wait))} s."
        return code, default
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if isinstance(exc, exceptions.PermissionDenied) and detail.startswith("CSRF Failed"):
        # DRF's own message is English: a browser session writes with the CSRF token.
        return code, "Jeton CSRF absent ou invalide : une écriture par session doit envoyer l'en-tête X-CSRFToken."
    if not detail or str(detail) == str(exc.default_detail):
        return code, default
    # A message given on purpose where the exception was raised (already French).
    return code, str(detail)


def _details(exc):
    if not isinstance(exc, exceptions.ValidationError):
        return {}
    detail = exc.detail
    if isinstance(detail, dict):
        return detail
    # A refusal that concerns no field in particular.
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        # Django's message names the model in English ("No Action matches the given query."): not ours.
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, DjangoValidationError):
        # Raised by model validation and by the services: their messages are already French.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})

    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, round(exc.wait)))
    code, message = _code_and_message(exc)
    set_rollback()
    return Response(error_body(code, message, _details(exc)), status=exc.status_code, headers=headers)


def not_found_response():
    return Response(error_body("introuvable", "Aucune ressource à cette adresse."), status=status.HTTP_404_NOT_FOUND)
