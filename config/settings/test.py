"""Settings for the test suite: the base settings with a fixed key and fast hashing.

The database and broker still come from the environment, so the same suite runs on SQLite
(nothing set) and on PostgreSQL + Redis (DATABASE_URL, CELERY_BROKER_URL set).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Rates no test reaches unless it lowers them (tests/common/test_throttles.py); the
# environment may still set them, for a live server under a fuzzer too.
os.environ.setdefault("THROTTLE_ANON", "1000000/min")
os.environ.setdefault("THROTTLE_USER_READ", "1000000/min")
os.environ.setdefault("THROTTLE_USER_WRITE", "1000000/min")
os.environ.setdefault("THROTTLE_MATCHING_RUN", "1000000/min")
os.environ.setdefault("THROTTLE_EXPENSIVE_LIST", "1000000/min")

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LANGUAGE_CODE = "en"
# Login lockout off, so that tests may log in with Client.login (no request); the lockout's
# own test turns it on (tests/common/test_login_lockout.py).
AXES_ENABLED = False

# Under pytest-xdist every worker has its own test database; its broker keys are its own
# too, so that a test running a real Celery worker never consumes (or purges) the tasks of
# a test in another xdist worker, whose ids point into another database.
if os.environ.get("PYTEST_XDIST_WORKER"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "global_keyprefix": f"{os.environ['PYTEST_XDIST_WORKER']}:",
    }

# Webhook tests send to servers of their own on this machine; nothing else private.
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
