"""The demo's published password, known to the platform so the landing page can name the
demo logins that still have it (``common.views``) without importing the demo itself."""

from django.contrib.auth.hashers import make_password

DEMO_PASSWORD = "parkshare-demo"  # noqa: S105
# A fixed salt makes the stored hash the same on every run, so re-seeding rewrites no row
# and costs one hash, not one per user. The password is published anyway.
_HASH_SALT = "parksharedemo"


def demo_password_hash() -> str:
    return make_password(DEMO_PASSWORD, salt=_HASH_SALT)
