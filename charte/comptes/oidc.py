"""ProConnect sign-in (OpenID Connect, authorisation code flow) through mozilla-django-oidc.

The library does the protocol: state and nonce kept in the session and checked, optional PKCE, the code
exchanged at the token endpoint, the ID token's signature checked against the provider's keys, the userinfo
read (ProConnect signs it: a JWT, checked the same way). This module adds what the portal needs:

- the provider's endpoints read from its discovery document when not given (`get_setting`);
- checks the library leaves out: the ID token's issuer and audience, the userinfo's subject;
- who the person is in the portal (`resolve_user`): never an account created by a sign-in;
- French messages for every refusal, and no error page when the provider fails;
- the RP-initiated logout URL (`provider_logout_url`), used by the portal's own logout view.

Nothing here runs unless `settings.PROCONNECT_ENABLED` (charte/comptes/proconnect_settings.py): the URLs are
not even registered otherwise.
"""

import logging
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

logger = logging.getLogger(__name__)

# The session keys: the library's for the ID token; ours for the state of the logout round trip.
ID_TOKEN_SESSION_KEY = "oidc_id_token"
LOGOUT_STATE_SESSION_KEY = "proconnect_logout_state"

UNKNOWN_EMAIL = (
    "Aucun compte du portail n'utilise l'adresse {email} transmise par ProConnect. Le portail ne crée pas de "
    "compte à la connexion : demandez une invitation à l'administrateur de votre organisation (préfecture, "
    "club ou entreprise), puis reconnectez-vous avec ProConnect."
)
NO_EMAIL = (
    "ProConnect n'a pas transmis d'adresse électronique : le portail ne peut pas retrouver votre compte. "
    "Connectez-vous avec votre adresse et votre mot de passe."
)
INACTIVE = (
    "Le compte {email} est désactivé : la connexion par ProConnect est refusée. Adressez-vous à "
    "l'administrateur de votre organisation."
)
FAILED = (
    "La connexion avec ProConnect a échoué. Réessayez dans quelques instants ou connectez-vous avec votre "
    "adresse électronique et votre mot de passe."
)
CANCELLED = "La connexion avec ProConnect a été annulée ou refusée par ProConnect."
UNAVAILABLE = (
    "ProConnect est momentanément indisponible. Réessayez plus tard ou connectez-vous avec votre adresse "
    "électronique et votre mot de passe."
)
SIGNED_OUT = "Vous êtes déconnecté du portail et de ProConnect."


class ProConnectRefusal(Exception):
    """A sign-in that the portal refuses, with the French message the person reads."""


class ProConnectUnavailable(Exception):
    """The provider's discovery document could not be read."""


# --- configuration: explicit endpoints first, else the issuer's discovery document -----------------------

# mozilla-django-oidc setting -> key of the discovery document (OpenID Connect Discovery 1.0, section 3).
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}
DISCOVERY_CACHE_SECONDS = 3600


def discovery_document():
    """The provider's metadata, cached an hour (in the shared cache when there is one). Its issuer must be
    exactly the configured one (Discovery 1.0, 4.3): metadata served for another issuer is refused."""
    issuer = settings.PROCONNECT_ISSUER
    cache_key = f"proconnect-discovery:{issuer}"
    document = cache.get(cache_key)
    if document is not None:
        return document
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProConnectUnavailable(f"Document de découverte illisible ({issuer}) : {error}") from error
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        raise ProConnectUnavailable(f"Le document de découverte ne décrit pas l'émetteur {issuer}.")
    cache.set(cache_key, document, DISCOVERY_CACHE_SECONDS)
    return document


def get_setting(attr, *default):
    """mozilla-django-oidc's `get_settings`, with an empty endpoint read from the discovery document."""
    value = import_from_settings(attr, *default)
    if attr in DISCOVERED and not value and settings.PROCONNECT_ISSUER:
        value = discovery_document().get(DISCOVERED[attr], "")
        if not value and not default:
            raise ProConnectUnavailable(f"Le document de découverte ne donne pas {DISCOVERED[attr]}.")
    return value


def is_proconnect_callback(request, credentials=None):
    """django-axes' AXES_WHITELIST_CALLABLE: a sign-in through ProConnect carries no password to guess, so
    its refusals (an unknown e-mail...) never count toward locking an address out."""
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name == "comptes:proconnect_callback"


# --- who signs in --------------------------------------------------------------------------------------


def accept_pending_invitation(email, claims):
    """The place where "an unknown e-mail with a pending invitation for it" becomes an account.

    `settings.PROCONNECT_INVITATION_HANDLER` names a function `(email, claims) -> User | None`: it accepts the
    pending invitation for that e-mail (creating the account and its membership in one transaction, names
    from `claims["given_name"]` and `claims["usual_name"]`) and returns the new user, or None when there is
    no pending invitation. Without a handler, nobody unknown gets in."""
    handler = settings.PROCONNECT_INVITATION_HANDLER
    if not handler:
        return None
    return import_string(handler)(email=email, claims=claims)


@transaction.atomic
def resolve_user(claims):
    """The portal's account for the person ProConnect vouches for, or `ProConnectRefusal` (French message).

    1. The account already linked to this ProConnect identity (`sub`), if any.
    2. Otherwise (the first ProConnect sign-in), the account with the e-mail ProConnect gives, whatever its
       case; then, for an unknown e-mail, the pending invitation for it (`accept_pending_invitation`).
       The account is then linked to the `sub`, so that the next sign-ins find it even if the e-mail changes.
       (ProConnect's `sub` is specific to the identity provider used: a person who signs in through another
       one is matched by e-mail again and the link moves to the new identity.)
    3. An inactive account is refused. Empty names are filled from ProConnect; nothing else is changed.

    No account is ever created here outside an invitation.
    """
    User = get_user_model()
    sub = str(claims.get("sub") or "")
    email = User.objects.normalize_email(str(claims.get("email") or "")).strip().lower()
    user = User.objects.select_for_update().filter(proconnect_sub=sub).first() if sub else None
    if user is None:
        if not email:
            raise ProConnectRefusal(NO_EMAIL)
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is None:
            user = accept_pending_invitation(email, claims)
        if user is None:
            raise ProConnectRefusal(UNKNOWN_EMAIL.format(email=email))
    if not user.is_active:
        raise ProConnectRefusal(INACTIVE.format(email=user.email))
    changed = []
    if sub and user.proconnect_sub != sub:
        # Another account can hold this identity only if its link is older than an e-mail change: move it.
        User.objects.filter(proconnect_sub=sub).exclude(pk=user.pk).update(proconnect_sub=None)
        user.proconnect_sub = sub
        changed.append("proconnect_sub")
    for field, claim in (("first_name", "given_name"), ("last_name", "usual_name")):
        value = str(claims.get(claim) or "").strip()[:150]
        if value and not getattr(user, field):
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    return user


# --- the library's backend and views, adapted ----------------------------------------------------------


class ProConnectBackend(OIDCAuthenticationBackend):
    """Authenticates the callback of ProConnect only; every other sign-in (password) passes it by."""

    get_settings = staticmethod(get_setting)

    def __init__(self, *args, **kwargs):
        # Django builds every backend for every sign-in, the password ones included: the library's
        # constructor would read the endpoints there (a network call with discovery). They are read when used.
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: get_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: get_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: get_setting("OIDC_OP_JWKS_ENDPOINT", None))
    OIDC_RP_CLIENT_ID = property(lambda self: get_setting("OIDC_RP_CLIENT_ID"))
    OIDC_RP_CLIENT_SECRET = property(lambda self: get_setting("OIDC_RP_CLIENT_SECRET"))
    OIDC_RP_SIGN_ALGO = property(lambda self: get_setting("OIDC_RP_SIGN_ALGO", "RS256"))
    OIDC_RP_IDP_SIGN_KEY = property(lambda self: get_setting("OIDC_RP_IDP_SIGN_KEY", None))

    def authenticate(self, request, **kwargs):
        if request is None or not is_proconnect_callback(request):
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:
            # The ID token (OpenID Connect Core 3.1.3.7): issued by our provider, for us. The library checks
            # the signature, the expiry and the nonce, not these.
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if self.OIDC_RP_CLIENT_ID not in audiences:
                raise SuspiciousOperation("ID token émis pour un autre client.")
            issuer = settings.PROCONNECT_ISSUER
            if issuer and str(payload.get("iss", "")).rstrip("/") != issuer:
                raise SuspiciousOperation("ID token émis par un autre fournisseur.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        claims = super().get_userinfo(access_token, id_token, payload)
        # Core 5.3.2: the userinfo must be about the person of the ID token.
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("Les informations de ProConnect ne concernent pas la personne du jeton.")
        return claims

    def verify_claims(self, claims):
        # What is missing is said in French by resolve_user.
        return True

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        try:
            return resolve_user(claims)
        except ProConnectRefusal as refusal:
            logger.info("Connexion ProConnect refusée : %s", refusal)
            self.request.proconnect_refusal = str(refusal)
            return None

    def get_user(self, user_id):
        # The library's get_user would keep a session alive after the account is deactivated.
        return ModelBackend.get_user(self, user_id)


class ProConnectLoginView(OIDCAuthenticationRequestView):
    """The button's target: redirects to ProConnect's authorisation endpoint with state and nonce (and the
    PKCE challenge when configured), all remembered in the session."""

    get_settings = staticmethod(get_setting)

    def __init__(self, *args, **kwargs):
        # The library reads the endpoint here; with discovery that is a network call, done in get() instead
        # so that an unreachable provider becomes a French message, not an error page.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = get_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = get_setting("OIDC_RP_CLIENT_ID")
        except ProConnectUnavailable as error:
            logger.warning("ProConnect indisponible : %s", error)
            messages.error(request, UNAVAILABLE)
            return redirect("comptes:login")
        return super().get(request)


class ProConnectCallbackView(OIDCAuthenticationCallbackView):
    """ProConnect's redirect_uri: signs the person in, or back to the login page with the reason in French."""

    get_settings = staticmethod(get_setting)

    def get(self, request):
        try:
            return super().get(request)
        except (requests.RequestException, SuspiciousOperation, jwt.PyJWTError, ProConnectUnavailable) as error:
            # A replayed or forged callback, an unreachable or misbehaving provider: never an error page.
            logger.warning("Échec de la connexion ProConnect : %s", error)
            return self.refuse(FAILED)

    def login_failure(self):
        refusal = getattr(self.request, "proconnect_refusal", None)
        return self.refuse(refusal or (CANCELLED if self.request.GET.get("error") else FAILED))

    def refuse(self, message):
        messages.error(self.request, message)
        return redirect("comptes:login")


def provider_logout_url(request):
    """OIDC_OP_LOGOUT_URL_METHOD: where to send a person who signs out, to end their ProConnect session too
    (RP-initiated logout: id_token_hint, state, post_logout_redirect_uri), or None for a person who signed in
    with a password (or when the provider cannot be reached: the portal's own sign-out still happens).

    The state is put on the request: the logout view stores it in the fresh session after signing out, and
    the return page checks it."""
    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    if not settings.PROCONNECT_ENABLED or not id_token:
        return None
    try:
        endpoint = get_setting("OIDC_OP_LOGOUT_ENDPOINT")
    except ProConnectUnavailable as error:
        logger.warning("Déconnexion de ProConnect impossible : %s", error)
        return None
    request.proconnect_logout_state = get_random_string(32)
    query = urlencode(
        {
            "id_token_hint": id_token,
            "state": request.proconnect_logout_state,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("comptes:proconnect_logged_out")),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def logged_out(request):
    """ProConnect's post_logout_redirect_uri: the portal's session has already ended (before leaving for
    ProConnect); when the state is the one sent, say that ProConnect's has ended too."""
    expected = request.session.pop(LOGOUT_STATE_SESSION_KEY, None)
    if expected and request.GET.get("state") == expected:
        messages.success(request, SIGNED_OUT)
    return redirect(settings.LOGOUT_REDIRECT_URL)
