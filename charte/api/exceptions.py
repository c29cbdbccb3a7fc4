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


class ConcurrentEdit(exceptions.APIException):
    """The resource changed since the client read it (optimistic locking): nothing was written."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "La ressource a été modifiée entre-temps : relisez-la puis renvoyez vos changements."

    def __init__(self, detail=None, details=None):
        super().__init__(detail)
        self.error_details = details or {}


class NotEditable(exceptions.APIException):
    """The resource exists and is visible, but its state forbids the change (submitted, validated, closed...)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Cette ressource n'est plus modifiable."


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
    (ConcurrentEdit, "modification_concurrente", ConcurrentEdit.default_detail),
    (NotEditable, "non_modifiable", NotEditable.default_detail),
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


def _nested_messages(detail, location=""):
    """Messages of a nested field (a list of objects, a list of ids...) as plain strings that say where."""
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        items = enumerate(detail)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return [f"{location} : {message}" if location else str(message) for message in messages]
    result = []
    for key, value in items:
        if isinstance(key, int) or str(key).isdigit():
            part = f"élément {int(key) + 1}"
        else:
            part = str(key)
        result += _nested_messages(value, f"{location}, {part}" if location else part)
    return result


def _details(exc):
    """{field: [message, ...]}, always one flat list of strings per field, as the schema documents it (DRF
    would nest the errors of a list of objects as lists of dictionaries)."""
    if not isinstance(exc, exceptions.ValidationError):
        return getattr(exc, "error_details", {})
    detail = exc.detail
    if not isinstance(detail, dict):
        # A refusal that concerns no field in particular.
        detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
    return {str(field): _nested_messages(messages) for field, messages in detail.items()}


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
