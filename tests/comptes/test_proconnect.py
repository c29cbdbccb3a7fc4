"""ProConnect sign-in without a provider: off when unconfigured, the configuration rules, who is let in
(`resolve_user`), and every failure ending on the login page with a French message.

The whole flow against a real OpenID Connect provider is in tests/e2e/test_proconnect.py."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from charte.comptes.models import User
from charte.comptes.oidc import ProConnectRefusal, resolve_user
from charte.comptes.proconnect_settings import ProConnectMisconfigured, proconnect_settings
from tests.comptes.proconnect import CLIENT_ID, proconnect_on
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "motdepasse-solide-1"
ENDPOINTS = {
    "authorization_endpoint": "https://proconnect.example.gouv.fr/api/v2/authorize",
    "token_endpoint": "https://proconnect.example.gouv.fr/api/v2/token",
    "userinfo_endpoint": "https://proconnect.example.gouv.fr/api/v2/userinfo",
    "jwks_endpoint": "https://proconnect.example.gouv.fr/api/v2/jwks",
    "end_session_endpoint": "https://proconnect.example.gouv.fr/api/v2/session/end",
}
# Nothing listens on the discard port of loopback: discovery fails at once.
UNREACHABLE_ISSUER = "http://127.0.0.1:9/api/v2"


def messages_of(response):
    return [str(message) for message in response.wsgi_request._messages]


def settings_for(**values):
    arguments = dict.fromkeys(
        ("client_id", "client_secret", "issuer", *(name for name in ENDPOINTS)),
        "",
    )
    arguments.update(
        scopes="openid email",
        sign_algo="RS256",
        use_pkce=False,
        timeout=10.0,
        authentication_backends=["django.contrib.auth.backends.ModelBackend"],
        content_security_policy={"DIRECTIVES": {"form-action": ["'self'"]}},
    )
    arguments.update(values)
    return proconnect_settings(**arguments)


# --- off when unset ---------------------------------------------------------------------------------------


def test_off_when_unset_no_url_no_button_no_backend(client, db):
    assert settings.PROCONNECT_ENABLED is False
    for name in ("comptes:proconnect_login", "comptes:proconnect_callback", "comptes:proconnect_logged_out"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    for path in ("/compte/proconnect/connexion/", "/compte/proconnect/retour/?code=x&state=y", "/compte/proconnect/deconnecte/"):
        assert client.get(path).status_code == 404
    page = client.get("/compte/connexion/").content.decode()
    assert "ProConnect" not in page
    assert "proconnect.css" not in page
    assert not any("oidc" in backend for backend in settings.AUTHENTICATION_BACKENDS)
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] == ["'self'"]


def test_the_settings_module_is_off_with_an_empty_environment():
    assert settings_for() == {"PROCONNECT_ENABLED": False}


@pytest.mark.parametrize(
    "values",
    [
        {"client_id": "portail"},
        {"client_id": "portail", "client_secret": "s"},
        {"issuer": "https://proconnect.example.gouv.fr/api/v2"},
        {"client_id": "portail", "client_secret": "s", "authorization_endpoint": ENDPOINTS["authorization_endpoint"]},
    ],
)
def test_half_a_configuration_is_refused_at_start_up_in_french(values):
    with pytest.raises(ProConnectMisconfigured, match="ProConnect est partiellement configuré"):
        settings_for(**values)


def test_explicit_endpoints_without_keys_for_rs256_are_refused():
    endpoints = {key: value for key, value in ENDPOINTS.items() if key != "jwks_endpoint"}
    with pytest.raises(ProConnectMisconfigured, match="PROCONNECT_JWKS_ENDPOINT"):
        settings_for(client_id="portail", client_secret="s", **endpoints)


def test_on_adds_the_backend_and_lets_forms_lead_to_the_provider_only():
    values = settings_for(client_id="portail", client_secret="s", issuer="https://proconnect.example.gouv.fr/api/v2/")
    assert values["PROCONNECT_ENABLED"] is True
    assert values["PROCONNECT_ISSUER"] == "https://proconnect.example.gouv.fr/api/v2"
    assert values["AUTHENTICATION_BACKENDS"][-1] == "charte.comptes.oidc.ProConnectBackend"
    assert values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["form-action"] == ["'self'", "https://proconnect.example.gouv.fr"]
    assert values["OIDC_CREATE_USER"] is False
    assert values["OIDC_STORE_ACCESS_TOKEN"] is False


# --- on: the button and the redirection to the provider ---------------------------------------------------


@pytest.fixture
def proconnect():
    with proconnect_on(**ENDPOINTS):
        yield


def test_the_login_page_shows_the_proconnect_button(client, db, proconnect):
    page = client.get("/compte/connexion/?next=/conventions/").content.decode()
    assert '<form method="get" action="/compte/proconnect/connexion/" novalidate>' in page
    assert '<span class="fr-connect__login">S’identifier avec</span>' in page
    assert '<span class="fr-connect__brand">ProConnect</span>' in page
    assert '<input type="hidden" name="next" value="/conventions/">' in page
    assert 'href="https://www.proconnect.gouv.fr/"' in page
    assert "Qu’est-ce que ProConnect ?" in page
    assert "/static/css/proconnect.css" in page
    # The e-mail and password form is still there.
    assert 'name="password"' in page


def test_the_button_leads_to_the_provider_with_state_and_nonce(client, db, proconnect):
    response = client.get("/compte/proconnect/connexion/?next=/conventions/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == ENDPOINTS["authorization_endpoint"]
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["scope"] == "openid email given_name usual_name"
    assert query["redirect_uri"] == "http://testserver/compte/proconnect/retour/"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    # ProConnect refuses parameters it does not list: no PKCE unless asked for.
    assert "code_challenge" not in query
    remembered = client.session["oidc_states"][query["state"]]
    assert remembered["nonce"] == query["nonce"]
    assert client.session["oidc_login_next"] == "/conventions/"


def test_pkce_when_configured(client, db):
    with proconnect_on(use_pkce=True, **ENDPOINTS):
        response = client.get("/compte/proconnect/connexion/")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    state = query["state"][0]
    assert len(client.session["oidc_states"][state]["code_verifier"]) >= 43


def test_an_unreachable_provider_gives_a_french_message_and_password_sign_in_still_works(client, db):
    user = UserFactory(email="camille@example.org")
    MembershipFactory(user=user)
    with proconnect_on(issuer=UNREACHABLE_ISSUER):
        response = client.get("/compte/proconnect/connexion/")
        assert response.status_code == 302
        assert response["Location"] == "/compte/connexion/"
        assert any("ProConnect est momentanément indisponible" in message for message in messages_of(response))
        # The ProConnect backend reads the provider only when it is the one signing in.
        response = client.post("/compte/connexion/", {"username": "camille@example.org", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == "/tableau-de-bord/"
        # Signed in with a password: signing out stays on the portal.
        response = client.post("/compte/deconnexion/")
        assert response["Location"] == "/"


@pytest.mark.parametrize(
    "query, message",
    [
        ("?error=access_denied&state=abc", "La connexion avec ProConnect a été annulée"),
        # No sign-in was started in this browser (a bookmarked or forged callback).
        ("?code=abc&state=abc", "La connexion avec ProConnect a échoué"),
        ("", "La connexion avec ProConnect a échoué"),
    ],
)
def test_a_failed_callback_ends_on_the_login_page_in_french(client, db, proconnect, query, message):
    response = client.get(f"/compte/proconnect/retour/{query}")
    assert response.status_code == 302
    assert response["Location"] == "/compte/connexion/"
    assert any(message in text for text in messages_of(response))


def test_a_callback_with_an_unknown_state_is_refused_without_an_error_page(client, db, proconnect):
    client.get("/compte/proconnect/connexion/")  # a sign-in started: the session knows one state
    response = client.get("/compte/proconnect/retour/?code=abc&state=not-the-one-sent")
    assert response.status_code == 302
    assert response["Location"] == "/compte/connexion/"
    assert any("La connexion avec ProConnect a échoué" in text for text in messages_of(response))


def test_the_return_from_the_provider_logout_checks_the_state(client, db, proconnect):
    session = client.session
    session["proconnect_logout_state"] = "etat-envoye-a-proconnect"
    session.save()
    response = client.get("/compte/proconnect/deconnecte/?state=autre-etat")
    assert response["Location"] == "/"
    assert messages_of(response) == []
    session = client.session
    session["proconnect_logout_state"] = "etat-envoye-a-proconnect"
    session.save()
    response = client.get("/compte/proconnect/deconnecte/?state=etat-envoye-a-proconnect")
    assert response["Location"] == "/"
    assert messages_of(response) == ["Vous êtes déconnecté du portail et de ProConnect."]


def test_signing_out_after_proconnect_goes_to_the_end_session_endpoint(client, db, proconnect):
    user = UserFactory()
    client.force_login(user)
    session = client.session
    session["oidc_id_token"] = "jeton.d.identite"
    session.save()
    response = client.post("/compte/deconnexion/")
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == ENDPOINTS["end_session_endpoint"]
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert query["id_token_hint"] == "jeton.d.identite"
    assert query["post_logout_redirect_uri"] == "http://testserver/compte/proconnect/deconnecte/"
    # The portal's session has already ended; only the state of the round trip is left in the new one.
    assert client.get("/tableau-de-bord/").status_code == 302
    assert client.session["proconnect_logout_state"] == query["state"]
    assert "oidc_id_token" not in client.session


# --- who is let in ----------------------------------------------------------------------------------------


def claims(email="Camille.Martin@Herault.Gouv.FR", sub="sub-de-camille", **extra):
    return {"sub": sub, "email": email, "given_name": "Camille", "usual_name": "Martin", **extra}


def test_first_sign_in_matches_the_email_whatever_its_case_and_links_the_identity(db):
    user = UserFactory(email="camille.martin@herault.gouv.fr", first_name="", last_name="")
    assert resolve_user(claims()) == user
    user.refresh_from_db()
    assert user.proconnect_sub == "sub-de-camille"
    assert (user.first_name, user.last_name) == ("Camille", "Martin")


def test_names_already_given_are_kept(db):
    user = UserFactory(email="camille.martin@herault.gouv.fr", first_name="Cam", last_name="Martin-Roux")
    resolve_user(claims())
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Cam", "Martin-Roux")


def test_later_sign_ins_find_the_account_by_its_proconnect_identity(db):
    user = UserFactory(email="camille.martin@herault.gouv.fr")
    resolve_user(claims())
    # The e-mail changed at ProConnect (a new service address): the identity still leads to the account.
    assert resolve_user(claims(email="c.martin@occitanie.gouv.fr")) == user
    user.refresh_from_db()
    assert user.email == "camille.martin@herault.gouv.fr"


def test_another_identity_provider_moves_the_link_to_the_new_identity(db):
    user = UserFactory(email="camille.martin@herault.gouv.fr")
    resolve_user(claims(sub="sub-chez-le-premier-fournisseur"))
    assert resolve_user(claims(sub="sub-chez-le-second-fournisseur")) == user
    user.refresh_from_db()
    assert user.proconnect_sub == "sub-chez-le-second-fournisseur"


def test_an_unknown_email_is_refused_in_french_and_no_account_is_created(db):
    count = User.objects.count()
    with pytest.raises(ProConnectRefusal) as refusal:
        resolve_user(claims(email="inconnu@example.gouv.fr"))
    assert "Aucun compte du portail n'utilise l'adresse inconnu@example.gouv.fr" in str(refusal.value)
    assert "demandez une invitation" in str(refusal.value)
    assert User.objects.count() == count


def test_no_email_is_refused_in_french(db):
    with pytest.raises(ProConnectRefusal, match="n'a pas transmis d'adresse électronique"):
        resolve_user(claims(email=""))


def test_an_inactive_account_is_refused_by_email_and_by_identity(db):
    user = UserFactory(email="camille.martin@herault.gouv.fr")
    resolve_user(claims())
    user.is_active = False
    user.save()
    with pytest.raises(ProConnectRefusal, match="Le compte camille.martin@herault.gouv.fr est désactivé"):
        resolve_user(claims())
    with pytest.raises(ProConnectRefusal, match="est désactivé"):
        resolve_user(claims(sub="une-autre-identite"))


# The invitation hook: a handler the invitations app will provide, here one that accepts a fixed list.
INVITED = {"invitee@example.gouv.fr"}


def accept_test_invitation(email, claims):
    if email not in INVITED:
        return None
    return User.objects.create_user(email, first_name=claims["given_name"], last_name=claims["usual_name"])


@override_settings(PROCONNECT_INVITATION_HANDLER="tests.comptes.test_proconnect.accept_test_invitation")
def test_an_unknown_email_with_a_pending_invitation_goes_through_the_hook(db):
    user = resolve_user(claims(email="Invitee@Example.gouv.fr", sub="sub-invite"))
    assert user.email == "invitee@example.gouv.fr"
    user.refresh_from_db()
    assert user.proconnect_sub == "sub-invite"
    assert not user.has_usable_password()
    with pytest.raises(ProConnectRefusal, match="Aucun compte du portail"):
        resolve_user(claims(email="pas-invite@example.gouv.fr", sub="autre"))
