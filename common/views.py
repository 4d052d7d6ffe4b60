from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from common.demo import DEMO_PASSWORD, demo_password_hash

# The demo logins the landing page offers first (README, "Demo walkthrough"), each shown
# only while it exists with the demo's password. The full list: var/demo-accounts.json.
FEATURED_DEMO_LOGINS = (
    "zh01.trader",
    "zh01.keeper",
    "zh01.admin",
    "nbpedz.regulator",
    "nbpedz.operator",
    "admin",
)


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    # One slow hash per process (the demo's salt is fixed, so it equals the stored one).
    return demo_password_hash()


def demo_logins() -> list[str]:
    """The featured demo logins that exist and still have the demo password, when this
    server may say so: in development (DEBUG) or where ``SHOW_DEMO_LOGINS`` is set (a
    public demo server). Never otherwise, so production pages name no password."""
    show = getattr(settings, "SHOW_DEMO_LOGINS", None)
    if not (settings.DEBUG if show is None else show):
        return []
    found = set(
        get_user_model()
        .objects.filter(
            username__in=FEATURED_DEMO_LOGINS, password=_demo_password_hash(), is_active=True
        )
        .values_list("username", flat=True)
    )
    return [name for name in FEATURED_DEMO_LOGINS if name in found]


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """``/``: what ParkShare is, where its parts are, what to try first (and the demo
    logins in development)."""
    context: dict[str, Any] = {
        "demo_logins": demo_logins(),
        "demo_password": DEMO_PASSWORD,
    }
    return render(request, "common/landing.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers, and Redis when it is configured."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; report it, don't raise
        checks["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:  # as above
            checks["redis"] = f"error: {exc.__class__.__name__}"
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
