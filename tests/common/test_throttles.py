"""Rate limits: anonymous clients per IP, users' reads and writes, and stricter scopes on
expensive operations; a refused request is a 429 in the JSON error shape with Retry-After.
Counted on the default cache: locmem here, and real Redis shared by two processes in the
last test."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from common.throttles import AnonThrottle, parse_rate
from matching.models import RunKind, RunStatus
from tests import factories as f

pytestmark = pytest.mark.django_db

World = dict[str, Any]
BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def rates(settings: Any) -> Iterator[Any]:
    """Low rates for the test, on an empty cache; ``rates(user_read="2/day")``."""
    cache.clear()

    def set_rates(**changes: str) -> None:
        framework = dict(settings.REST_FRAMEWORK)
        framework["DEFAULT_THROTTLE_RATES"] = {
            **framework["DEFAULT_THROTTLE_RATES"],
            **changes,
        }
        settings.REST_FRAMEWORK = framework

    yield set_rates
    cache.clear()


def assert_throttled(response: Any, window: int = 86400) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert (error["status"], error["code"], error["fields"]) == (429, "throttled", {})
    assert "throttled" in error["message"]
    assert 1 <= int(response["Retry-After"]) <= window


def test_parse_rate() -> None:
    assert parse_rate("60/min") == (60, 60)
    assert parse_rate("10/hour") == (10, 3600)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("1000/day") == (1000, 86400)


def test_a_users_reads_are_limited_and_other_users_keep_theirs(
    world: World, api_client: Any, rates: Any
) -> None:
    rates(user_read="3/day")
    trader = api_client(world["users"]["trader"])
    for _ in range(3):
        assert trader.get("/api/v1/materials/").status_code == 200
    assert_throttled(trader.get("/api/v1/materials/"))
    assert_throttled(trader.get("/api/v1/lots/"))  # one count for every read
    assert api_client(world["users"]["viewer"]).get("/api/v1/materials/").status_code == 200


def test_writes_have_their_own_stricter_rate(world: World, api_client: Any, rates: Any) -> None:
    rates(user_read="100/day", user_write="2/day")
    trader = api_client(world["users"]["trader"])
    for _ in range(2):  # refused by the serializer, counted all the same
        assert trader.post("/api/v1/needs/", {}, format="json").status_code == 400
    assert_throttled(trader.post("/api/v1/needs/", {}, format="json"))
    assert trader.get("/api/v1/needs/").status_code == 200  # reads go on


def test_matching_runs_have_a_stricter_scope(world: World, api_client: Any, rates: Any) -> None:
    rates(matching_run="2/day")
    f.MatchRunFactory.create(kind=RunKind.FULL, status=RunStatus.RUNNING)
    operator = api_client(world["users"]["park_operator"])
    for _ in range(2):
        assert operator.post("/api/v1/matching/runs/", {}, format="json").status_code == 409
    assert_throttled(operator.post("/api/v1/matching/runs/", {}, format="json"))
    assert operator.get("/api/v1/matching/runs/").status_code == 200


def test_an_exact_count_is_an_expensive_list(world: World, api_client: Any, rates: Any) -> None:
    rates(expensive_list="1/day")
    trader = api_client(world["users"]["trader"])
    assert trader.get("/api/v1/listings/", {"count": "exact"}).status_code == 200
    assert_throttled(trader.get("/api/v1/listings/", {"count": "exact"}))
    assert trader.get("/api/v1/listings/").status_code == 200


def _anon_request(ip: str, forwarded: str | None = None) -> Any:
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.request import Request

    extra: dict[str, Any] = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = Request(APIRequestFactory().get("/api/v1/", **extra))
    request.user = AnonymousUser()
    return request


def test_anonymous_clients_are_limited_per_ip(rates: Any, settings: Any) -> None:
    rates(anon="2/day")
    assert all(AnonThrottle().allow_request(_anon_request("10.0.0.1"), None) for _ in range(2))
    throttle = AnonThrottle()
    assert not throttle.allow_request(_anon_request("10.0.0.1"), None)
    assert 0 < (throttle.wait() or 0) <= 86400
    assert AnonThrottle().allow_request(_anon_request("10.0.0.2"), None)
    # Without a proxy in front (NUM_PROXIES=0), X-Forwarded-For is not believed.
    assert not AnonThrottle().allow_request(_anon_request("10.0.0.1", "192.0.2.9"), None)


def test_behind_one_proxy_the_client_ip_is_the_last_forwarded(rates: Any, settings: Any) -> None:
    rates(anon="1/day")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.9.9.9"
    assert AnonThrottle().allow_request(_anon_request(proxy, "6.6.6.6, 192.0.2.1"), None)
    assert not AnonThrottle().allow_request(_anon_request(proxy, "7.7.7.7, 192.0.2.1"), None)
    assert AnonThrottle().allow_request(_anon_request(proxy, "192.0.2.2"), None)


def test_anonymous_requests_to_open_endpoints_are_limited(client: Any, rates: Any) -> None:
    rates(anon="2/day")
    for _ in range(2):
        assert client.get("/api/docs/").status_code == 200
    response = client.get("/api/docs/")  # an HTML page: its 429 is rendered as one
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 86400


REDIS_TEST_URL = "redis://127.0.0.1:6379/4"

# Another process, with its own cache client on the same Redis: it spends part of a user's
# reads through the throttle the API uses.
OTHER_PROCESS = """
import json, sys
import django
django.setup()
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from common.throttles import UserReadThrottle

class User:
    is_authenticated = True
    pk = int(sys.argv[1])

request = Request(APIRequestFactory().get("/api/v1/materials/"))
request.user = User()
print(json.dumps([UserReadThrottle().allow_request(request, None) for _ in range(2)]))
"""


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="needs Redis at 127.0.0.1:6379")
def test_the_limit_is_shared_through_redis_by_two_processes(
    world: World, api_client: Any, rates: Any, settings: Any
) -> None:
    import redis

    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    rates(user_read="3/day")
    user = world["users"]["trader"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": REDIS_TEST_URL,
        "THROTTLE_USER_READ": "3/day",
    }
    other = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", OTHER_PROCESS, str(user.pk)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [True, True]
    client = api_client(user)
    assert client.get("/api/v1/materials/").status_code == 200  # the third read
    assert_throttled(client.get("/api/v1/materials/"))
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer " + "0" * 64}],
    ids=["no credentials", "a wrong token"],
)
def test_requests_refused_for_their_credentials_count_as_anonymous(
    client: Any, rates: Any, headers: dict[str, str]
) -> None:
    rates(anon="3/day")
    for _ in range(3):
        assert client.get("/api/v1/orders/", **headers).status_code == 401
    response = client.post("/api/v1/listings/", {}, content_type="application/json", **headers)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 86400
