"""Settings for the test suite: the base settings with a fixed key and fast hashing.

The database and broker still come from the environment, so the same suite runs on SQLite
(nothing set) and on PostgreSQL + Redis (DATABASE_URL, CELERY_BROKER_URL set).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LANGUAGE_CODE = "en"
