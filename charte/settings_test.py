"""Test settings: the project's settings with test-friendly defaults that the environment may still
override (CI exports DATABASE_URL and CELERY_BROKER_URL to run the suite on PostgreSQL and Redis)."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-charte-entreprises-quartiers-0123456789")
# No collectstatic in tests: the manifest storage would have no manifest to read.
os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="charte-test-media-"))
os.environ.setdefault("EXPORT_ROOT", tempfile.mkdtemp(prefix="charte-test-exports-"))
os.environ.setdefault("EMAIL_URL", "consolemail://")

from charte.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
