"""A small OpenID Connect provider for the ProConnect tests: django-oauth-toolkit in OIDC mode, run in its
own process on loopback by tests/comptes/test_proconnect_provider.py (see serve.py). Everything it needs
comes from the environment the test gives it: its port, a temporary folder (SQLite file, RSA key)."""

import os
from pathlib import Path

DATA = Path(os.environ["OP_DATA_DIR"])
PORT = os.environ["OP_PORT"]
ISSUER = f"http://127.0.0.1:{PORT}/o"

SECRET_KEY = "oidc-provider-for-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "tests.oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA / "provider.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
LOGIN_URL = "/login/"
# The portal and the provider both listen on 127.0.0.1 (cookies ignore the port): distinct cookie names.
SESSION_COOKIE_NAME = "op_sessionid"
CSRF_COOKIE_NAME = "op_csrftoken"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_RSA_PRIVATE_KEY": (DATA / "rsa.pem").read_text(),
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    # As ProConnect: a logout with the ID token of the signed-in person ends the session without a question.
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "PKCE_REQUIRED": os.environ.get("OP_PKCE_REQUIRED") == "1",
    # ProConnect's scopes: one claim each.
    "SCOPES": {
        "openid": "OpenID Connect",
        "email": "Adresse électronique",
        "given_name": "Prénoms",
        "usual_name": "Nom d'usage",
    },
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validators.ProConnectLikeValidator",
}
