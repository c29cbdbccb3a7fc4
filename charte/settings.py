"""Settings of the Charte Entreprises et Quartiers portal, read from the environment.

Defaults are the embedded set-up of `make run`: a SQLite file in the project and Celery tasks run
eagerly in-process. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS...
(see .env.example).
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

from charte.comptes.proconnect_settings import proconnect_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is a convenience for development; the real environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The development key is refused outside DEBUG so a production deployment cannot forget its own.
_DEV_SECRET_KEY = "django-insecure-dev-only-charte-entreprises-quartiers"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY doit être défini quand DEBUG est désactivé.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "widget_tweaks",
    "dsfr",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "simple_history",
    "charte.comptes",
    "charte.ops",
    "charte.territoires",
    "charte.catalogue",
    "entreprises",
    "conventions",
    "conventions.practices",
    "evaluation",
    "evaluation.surveys",
]

MIDDLEWARE = [
    # First: every later log line of the request carries its id (X-Request-ID), and so do the tasks it starts.
    "charte.ops.logs.RequestIdMiddleware",
    # Request metrics for Prometheus; removes itself unless METRICS_ENABLED.
    "charte.ops.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response the portal renders (static files are served above it).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages of a signed-in person (and API answers to a key) are never kept by a browser or a proxy cache.
    "charte.middleware.NoStoreForSignedInMiddleware",
    # History rows (declarations, conventions) record the signed-in person who made the change.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Every page needs a signed-in person unless its view opts out with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "charte.comptes.middleware.CurrentOrganisationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns lockouts into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "charte.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dsfr.context_processors.site_config",
                "charte.comptes.context_processors.current_organisation",
                "evaluation.campaigns.inbox.unread_notifications",
                "charte.legal.footer",
            ],
            "builtins": ["charte.form_errors"],
        },
    },
]

WSGI_APPLICATION = "charte.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool("DATABASE_JIT", default=False):
    # PostgreSQL compiles a query to machine code (JIT) once its estimated cost is high, as it is for the pages
    # that read millions of actions: 50 to 85 ms of compiling per query measured on the national benchmark, for
    # queries that then run in tens of milliseconds. A portal's queries are short: JIT off (the engine already
    # turns it off in its own transactions). DATABASE_JIT=1 gives it back.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "comptes.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first, so that a locked-out address never reaches the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "comptes:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Brute-force protection: 5 failed attempts for one e-mail from one address lock it for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Sign-in records (e-mail typed, IP address, browser, date) are personal data: purged every night past this age.
AXES_LOG_RETENTION_DAYS = env.int("AXES_LOG_RETENTION_DAYS", default=180)
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Export files (evaluation.exports): private, no base URL; served only by the download view.
    "exports": {"BACKEND": "charte.exports.PrivateExportStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# The manifest storage rewrites the DSFR CSS, so its integrity hashes would no longer match.
DSFR_USE_INTEGRITY_CHECKSUMS = False
# The DSFR now marks optional fields rather than required ones.
DSFR_MARK_OPTIONAL_FIELDS = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Charte Entreprises et Quartiers <ne-pas-repondre@charte.local>")

# Celery: without a broker, tasks run eagerly in the calling process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None) or None
CELERY_TASK_ACKS_LATE = True
# A task whose worker died (SIGKILL, lost machine) is acknowledged late, so Redis still holds it: it is given to
# another worker once CELERY_VISIBILITY_TIMEOUT seconds have passed since delivery. Longer than the longest task (a
# task still running past it would be delivered a second time: the compile units are idempotent, e-mails are not).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
# The longest task may run this long (seconds) before its worker process is killed and the task failed: kept below
# the visibility timeout, so no task still running is ever delivered twice (check charte.E003). The longest tasks
# are a compile unit at national scale (about a minute) and the large exports (minutes).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3000)
# The queue the portal sends to and the workers read (`celery worker -Q`): one per deployment sharing a Redis.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Daily jobs (run by `celery -A charte beat`). Reminders go from each campaign's reminder date to its close;
# each is sent once, so running the job again (or late) sends nothing twice.
CELERY_BEAT_SCHEDULE = {
    # Active conventions past their end date become expired (before the nightly compile reads them).
    "echeance-conventions": {
        "task": "conventions.expire_due_conventions",
        "schedule": crontab(hour=1, minute=5),
    },
    # Campaign e-mails to the companies still pending: opening, reminder, last reminder (J-3), overdue.
    "rappels-campagnes": {
        "task": "evaluation.send_campaign_reminders",
        "schedule": crontab(hour=8, minute=30),
    },
    # Active conventions ending within RENEWAL_NOTICE_DAYS whose renewal is not signed: their club and companies.
    "conventions-a-renouveler": {
        "task": "evaluation.send_convention_renewal_notices",
        "schedule": crontab(hour=8, minute=45),
    },
    # E-mails whose retries ran out (mail server down for long): sent again.
    "notifications-en-attente": {
        "task": "evaluation.deliver_pending_notifications",
        "schedule": crontab(minute=20),
    },
    # The national compile of the current year (N-1 figures included), published when every unit succeeded.
    "compilation-evaluation": {
        "task": "evaluation.nightly_compile",
        "schedule": crontab(hour=2, minute=15),
    },
    # Survey follow-ups at 3 and 6 months (issue 16), then the respondent's address is erased.
    "send-survey-follow-ups": {
        "task": "evaluation.send_survey_follow_ups",
        "schedule": crontab(hour=9, minute=15),
    },
    # The health endpoint's proof that beat and a worker are alive (charte/ops/health.py).
    "battement-beat": {
        "task": "ops.beat_heartbeat",
        "schedule": 60.0,
    },
    # The detail rows of superseded compile runs, past EVALUATION_RESULTS_RETENTION_DAYS (evaluation.engine.retention).
    "purge-compilations-remplacees": {
        "task": "evaluation.purge_results",
        "schedule": crontab(hour=3, minute=30, day_of_week="sunday"),
    },
    # Compile runs whose tasks were lost (no progress for EVALUATION_STALLED_AFTER_MINUTES) are failed.
    "compilations-bloquees": {
        "task": "evaluation.fail_stalled_runs",
        "schedule": 300.0,
    },
    # django-axes' sign-in records past AXES_LOG_RETENTION_DAYS (charte.ops.retention; the personal-data page says it).
    "purge-journal-connexions": {
        "task": "ops.purge_sign_in_records",
        "schedule": crontab(hour=3, minute=45),
    },
    # Export files past EXPORT_RETENTION_DAYS are deleted (evaluation.exports.jobs.purge_expired).
    "purge-exports-expires": {
        "task": "evaluation.purge_exports",
        "schedule": crontab(hour=4, minute=10),
    },
}
# Django's LOGGING (JSON lines with the request id) applies in the workers too, instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A compile run whose tasks gave no sign of life (a unit starting or done) for this long is failed as lost. Above
# CELERY_TASK_TIME_LIMIT, so that a unit still computing is never taken for lost (check charte.E003).
EVALUATION_STALLED_AFTER_MINUTES = env.int("EVALUATION_STALLED_AFTER_MINUTES", default=60)
EVALUATION_RESULTS_RETENTION_DAYS = env.int("EVALUATION_RESULTS_RETENTION_DAYS", default=90)

# Security: safe by default when DEBUG is off; HTTPS itself is the reverse proxy's job, so the
# HTTPS-only switches are opt-in through the environment.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_HTTPS_PROXY", default=False) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# Content-Security-Policy (django-csp 4: one dict, not the 3.x CSP_* settings). Scripts come from the portal's
# own static files only: no inline script, no eval; a template that needs an inline script gives it
# nonce="{{ request.csp_nonce }}". Styles allow 'unsafe-inline': the DSFR and a few templates use style
# attributes, and Swagger UI / Redoc insert their <style> elements at run time. Redoc runs a blob: worker.
# Nothing is loaded from another origin (the API documentation comes from drf-spectacular-sidecar).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

PAGE_SIZE = 25
# Long lists (the actions) count their rows exactly up to this many, then show PostgreSQL's estimate
# (charte/pagination.py): counting 2 M national actions cost more than the page itself.
LIST_EXACT_COUNT_LIMIT = env.int("LIST_EXACT_COUNT_LIMIT", default=10_000)
# The report pages and PDF list the first companies that have not declared and count the rest; the full list is
# a CSV download (evaluation/reports).
REPORT_MISSING_SHOWN = 50

# Spreadsheet imports (conventions.imports): beyond this many rows, the preview and the import run as Celery
# tasks and the batch page shows their progress; files above IMPORT_MAX_BYTES are refused at upload.
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=2000)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
# CSV exports of more rows than this are built by a Celery task (evaluation.exports) and downloaded when ready:
# gunicorn cuts any response lasting past its --timeout, even a streamed one.
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=20000)
# Days an export file is kept before the beat task deletes it.
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
# Where export files are written: outside MEDIA_ROOT, never served by a URL of their own (only through the
# requester's download view).
EXPORT_ROOT = env.path("EXPORT_ROOT", default=BASE_DIR / "private" / "exports")

# Absolute links in e-mails (notifications, docs/notifications.md): the portal's public address. The loopback
# default is only right for `make run`: `check --deploy` warns (charte.W001) when DEBUG is off and it is still set.
SITE_URL_DEFAULT = "http://127.0.0.1:8000"
SITE_URL = env.str("SITE_URL", default=SITE_URL_DEFAULT)
# The legal notices (/mentions-legales/) and the contact of the accessibility statement and of personal-data
# requests. The defaults describe the demonstration; `check --deploy` warns (charte.W002) when DEBUG is off and
# the publisher is still the default.
PUBLISHER_NAME_DEFAULT = "Agence nationale de la cohésion des territoires (ANCT) — déploiement de démonstration"
PUBLISHER_NAME = env.str("PUBLISHER_NAME", default=PUBLISHER_NAME_DEFAULT)
PUBLISHER_ADDRESS = env.str("PUBLISHER_ADDRESS", default="20 avenue de Ségur, 75007 Paris")
PUBLICATION_DIRECTOR = env.str("PUBLICATION_DIRECTOR", default="La directrice générale ou le directeur général de l'éditeur")
HOSTING_PROVIDER = env.str("HOSTING_PROVIDER", default="Non renseigné (déploiement de démonstration)")
# Where people write about accessibility problems and about their personal data (access, erasure).
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="contact@charte.local")
# The date of the accessibility statement (/accessibilite/): the day of the last audit.
ACCESSIBILITY_AUDIT_DATE = env.str("ACCESSIBILITY_AUDIT_DATE", default="2026-12-03")
# Active conventions ending within this many days, renewal not signed: their club and companies are told.
RENEWAL_NOTICE_DAYS = env.int("RENEWAL_NOTICE_DAYS", default=90)
# How long an invitation link stays usable (days); resending it starts a new period.
INVITATION_VALIDITY_DAYS = env.int("INVITATION_VALIDITY_DAYS", default=7)

# API throttling counters must be shared by every gunicorn process: production sets CACHE_URL to Redis
# (e.g. redis://127.0.0.1:6379/1); the per-process memory cache is only right for a single process.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# REST API v1 (charte/api): session or API key, the portal's scoping policy, one French error body.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The key first: a request that carries one acts as the key's organisation, whatever its cookies.
        "charte.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "charte.api.permissions.ActsForAnOrganisation",
        "charte.api.permissions.KeyAllowsWrites",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "charte.api.throttling.ApiKeyRateThrottle",
        "charte.api.throttling.SessionUserRateThrottle",
        "charte.api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "cle": env.str("API_RATE_PER_KEY", default="120/minute"),
        "utilisateur": env.str("API_RATE_PER_USER", default="120/minute"),
        "anonyme": env.str("API_RATE_ANONYMOUS", default="30/minute"),
    },
    # Behind the reverse proxy, the client's address for the anonymous rate comes from X-Forwarded-For.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=None),
    "DEFAULT_PAGINATION_CLASS": "charte.api.pagination.Pagination",
    "PAGE_SIZE": PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["charte.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "charte.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "charte.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API de la Charte Entreprises et Quartiers",
    "DESCRIPTION": (
        "Données du portail de la Charte Entreprises et Quartiers pour les outils des partenaires, des clubs "
        "et des entreprises. Authentification : session du portail ou clé d'API de l'organisation "
        "(en-tête `Authorization: Api-Key <préfixe>.<secret>`, créée par l'administrateur de l'organisation "
        "dans le portail). Chaque requête ne voit que le périmètre de l'organisation : une ressource hors "
        'périmètre répond 404. Erreurs : `{"erreur": {"code", "message", "details"}}`, en français.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc come from the drf-spectacular-sidecar package, served by our static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to swagger.io's online validator: the documentation page talks to the portal only.
    # No deep links: Swagger UI puts them as <a> inside the button of each operation, an interactive control
    # nested in another that screen readers cannot reach (axe: nested-interactive, WCAG 4.1.2). No syntax
    # colouring of the examples: several of its colours fail the AA contrast on its dark background.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "validatorUrl": None, "syntaxHighlight": {"activated": False}},
    # Two different "generation" choices (QPV 2015/2024, conventions 1st/2nd): one enum name each.
    "ENUM_NAME_OVERRIDES": {
        "GenerationQpvEnum": "charte.territoires.models.QPV.Generation",
        "GenerationConventionEnum": "conventions.models.Convention.Generation",
    },
}

# ProConnect (the State's OpenID Connect identity federation for agents and professionals), beside the
# e-mail and password: on only when the client id, its secret and the provider are configured; otherwise
# no button and no URL. The settings are derived in charte/comptes/proconnect_settings.py (README « ProConnect »).
vars().update(
    proconnect_settings(
        client_id=env.str("PROCONNECT_CLIENT_ID", default=""),
        client_secret=env.str("PROCONNECT_CLIENT_SECRET", default=""),
        issuer=env.str("PROCONNECT_ISSUER", default=""),
        authorization_endpoint=env.str("PROCONNECT_AUTHORIZATION_ENDPOINT", default=""),
        token_endpoint=env.str("PROCONNECT_TOKEN_ENDPOINT", default=""),
        userinfo_endpoint=env.str("PROCONNECT_USERINFO_ENDPOINT", default=""),
        jwks_endpoint=env.str("PROCONNECT_JWKS_ENDPOINT", default=""),
        end_session_endpoint=env.str("PROCONNECT_END_SESSION_ENDPOINT", default=""),
        scopes=env.str("PROCONNECT_SCOPES", default="openid email given_name usual_name"),
        sign_algo=env.str("PROCONNECT_SIGN_ALGO", default="RS256"),
        use_pkce=env.bool("PROCONNECT_USE_PKCE", default=False),
        timeout=env.float("PROCONNECT_TIMEOUT", default=10.0),
        authentication_backends=AUTHENTICATION_BACKENDS,
        content_security_policy=CONTENT_SECURITY_POLICY,
    )
)
# The hook where an unknown e-mail with a pending invitation becomes an account: a dotted path to a function
# (email, claims) -> User or None, called by charte.comptes.oidc.resolve_user: the pending invitations for that
# e-mail are accepted (charte.comptes.people.accept_by_proconnect). Empty: unknown e-mails are refused.
PROCONNECT_INVITATION_HANDLER = env.str("PROCONNECT_INVITATION_HANDLER", default="charte.comptes.people.accept_by_proconnect")

# Logs on stdout: one JSON object a line in production (LOG_FORMAT=json), readable text in DEBUG (LOG_FORMAT=text);
# each line carries the request id (X-Request-ID) and, in a worker, the task id (charte/ops/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("LOG_FORMAT doit valoir « json » ou « text ».")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "charte.ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "charte.ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [requête %(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Health endpoint (/sante/, charte/ops/health.py): seconds a Celery ping waits for the workers; age in seconds past
# which beat's heartbeat counts as stale (beat sends it every minute).
HEALTH_CELERY_TIMEOUT = env.float("HEALTH_CELERY_TIMEOUT", default=2.0)
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=300)

# Error reporting: on only when SENTRY_DSN is set (Django and Celery integrations, no personal data sent).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from charte.ops.errors import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# Prometheus metrics (/metriques/, charte/ops/metrics.py): off by default. When on, readable with
# `Authorization: Bearer <METRICS_TOKEN>` or from an address of METRICS_ALLOWED_IPS (addresses or networks); with
# neither, nobody can read them.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

# Backups (python manage.py backup): where the archives go when no --output is given.
BACKUP_DIR = env.path("BACKUP_DIR", default=BASE_DIR / "backups")
