"""Rate limits of the API (docs/architecture.md, "API edge").

Each throttle counts requests in fixed windows on the default cache with an atomic ``add`` +
``incr``, so on Redis (REDIS_URL set) every process and host shares one count; on the
local-memory cache of a plain development run each process counts alone. The rates are
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, from the environment (THROTTLE_*):

- ``anon``: requests without a user, per client IP (``NUM_PROXIES`` says which address of
  X-Forwarded-For is the client's);
- ``user_read`` / ``user_write``: a user's reads (GET, HEAD, OPTIONS) and writes;
- stricter scopes on expensive operations: the actions a view names in ``throttle_scopes``
  (``{"create": "matching_run"}``), and ``expensive_list`` for a list asked to count every
  match (``?count=exact``).

A refused request is a 429 in the JSON error shape with ``Retry-After`` (common.errors).
"""

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Any) -> str | None:
    """The client's IP: REMOTE_ADDR, or behind ``NUM_PROXIES`` proxies the address they
    put that far from the end of X-Forwarded-For. Also the IP of the login lockout."""
    return BaseThrottle().get_ident(request)


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/min"`` → (60 requests, 60 seconds); the period is s, m(in), h(our) or d(ay)."""
    count, period = rate.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0].lower()]
    return int(count), seconds


class WindowThrottle(BaseThrottle):
    """At most ``rate`` requests per window for one key in one scope.

    ``scope_for`` names the scope of a request (None: this throttle does not apply) and
    ``ident_for`` whose count it is."""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def scope_for(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    def ident_for(self, request: Request) -> str | None:
        user = request.user
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return None

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = self.scope_for(request, view)
        ident = self.ident_for(request) if scope else None
        if scope is None or ident is None:
            return True
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if not isinstance(rate, str) or not rate:
            return True
        limit, window = parse_rate(rate)
        now = time.time()
        index = int(now // window)
        key = f"throttle:{scope}:{ident}:{window}:{index}"
        cache.add(key, 0, timeout=window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.add(key, 1, timeout=window + 1)
            count = 1
        if count > limit:
            self.wait_seconds = (index + 1) * window - now
            return False
        return True

    def wait(self) -> float | None:
        return self.wait_seconds


class AnonThrottle(WindowThrottle):
    def scope_for(self, request: Request, view: Any) -> str | None:
        user = request.user
        return None if user is not None and user.is_authenticated else "anon"

    def ident_for(self, request: Request) -> str | None:
        return f"ip:{self.get_ident(request)}"


class UserReadThrottle(WindowThrottle):
    def scope_for(self, request: Request, view: Any) -> str | None:
        return "user_read" if request.method in SAFE_METHODS else None


class UserWriteThrottle(WindowThrottle):
    def scope_for(self, request: Request, view: Any) -> str | None:
        return None if request.method in SAFE_METHODS else "user_write"


class ExpensiveThrottle(WindowThrottle):
    """The stricter scope of an expensive operation, for users and anonymous clients."""

    def scope_for(self, request: Request, view: Any) -> str | None:
        action = getattr(view, "action", None)
        scope = getattr(view, "throttle_scopes", {}).get(action)
        if scope is None and action == "list" and request.query_params.get("count") == "exact":
            scope = "expensive_list"
        return scope

    def ident_for(self, request: Request) -> str | None:
        return super().ident_for(request) or f"ip:{self.get_ident(request)}"
