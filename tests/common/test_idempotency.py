"""Idempotency-Key on POSTs, through real endpoints: creating a need (``POST needs/``) and
closing one (``POST needs/{id}/close/``). A retry with the same key runs once and gets the
first response again; misuse answers in the one error shape."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework import exceptions

import marketplace.api
from common.idempotency import (
    HEADER,
    REPLAYED_HEADER,
    Claim,
    IdempotentPostMixin,
    idempotency_key_claim,
    idempotency_key_complete,
    replay_response,
    request_fingerprint,
)
from common.models import IdempotencyKey, IdempotencyState, OutboxEvent
from common.tasks import idempotency_purge
from marketplace.models import Need, NeedStatus
from tests import factories as f
from tests.concurrency import run_concurrently

NEEDS = "/api/v1/needs/"
World = dict[str, Any]


def need_body(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "material": world["material"].pk,
        "quantity": "2",
        "unit": "t",
        "needed_by": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "delivery_zone": world["zones"]["a1"].pk,
        "note": "for the spring turnaround",
        **overrides,
    }


def post(client: Any, path: str, body: Any = None, *, key: str | None = None) -> Any:
    """POST ``body`` as JSON bytes (the fingerprint hashes the raw bytes)."""
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    data = b"" if body is None else json.dumps(body).encode()
    return client.post(path, data=data, content_type="application/json", **extra)


def fingerprint(path: str, body: Any = None) -> str:
    data = b"" if body is None else json.dumps(body).encode()
    return request_fingerprint(method="POST", full_path=path, body=data)


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def written() -> tuple[int, int]:
    return Need.objects.count(), OutboxEvent.objects.count()


@pytest.fixture
def admin(world: World, api_client: Any) -> Any:
    return api_client(world["users"]["enterprise_admin"])


@pytest.fixture
def need(world: World) -> Need:
    return f.NeedFactory.create(enterprise=world["enterprises"]["a1"], material=world["material"])


# --- the same request twice ---------------------------------------------------------------


def test_same_key_and_body_creates_once_and_replays_the_response(world: World, admin: Any) -> None:
    body = need_body(world)
    first = post(admin, NEEDS, body, key="order-4711")
    assert first.status_code == 201, first.content
    assert REPLAYED_HEADER not in first
    after_first = written()

    again = post(admin, NEEDS, body, key="order-4711")

    assert again.status_code == 201
    assert again[REPLAYED_HEADER] == "true"
    assert again.content == first.content  # byte for byte
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert written() == after_first  # no second need, no second event
    row = IdempotencyKey.objects.get()
    assert row.state == IdempotencyState.DONE and row.response_status == 201
    assert row.user == world["users"]["enterprise_admin"]
    assert row.response_headers == {"Content-Type": "application/json"}
    assert row.completed_at is not None


def test_a_transition_is_replayed_instead_of_refused(admin: Any, need: Need) -> None:
    close = f"{NEEDS}{need.pk}/close/"
    first = post(admin, close, key="close-1")
    assert first.status_code == 200 and first.json()["status"] == NeedStatus.CLOSED
    events = OutboxEvent.objects.count()

    again = post(admin, close, key="close-1")

    assert again.status_code == 200 and again[REPLAYED_HEADER] == "true"
    assert again.content == first.content
    assert OutboxEvent.objects.count() == events
    # Without the key, closing a closed need is refused: the replay did not run the view.
    assert post(admin, close).status_code == 409


# --- misuse ---------------------------------------------------------------------------------


def test_same_key_with_another_body_is_422_and_creates_nothing(world: World, admin: Any) -> None:
    assert post(admin, NEEDS, need_body(world), key="k-1").status_code == 201
    before = written()

    response = post(admin, NEEDS, need_body(world, quantity="3"), key="k-1")

    assert response.status_code == 422
    err = error(response)
    assert err["code"] == "idempotency_key_reused"
    assert list(err["fields"]) == [HEADER]
    assert REPLAYED_HEADER not in response
    assert written() == before


def test_same_key_on_another_path_is_422(world: World, admin: Any, need: Need) -> None:
    assert post(admin, f"{NEEDS}{need.pk}/close/", key="k-2").status_code == 200
    response = post(admin, f"{NEEDS}{need.pk}/reopen/", key="k-2")
    assert response.status_code == 422
    assert Need.objects.get(pk=need.pk).status == NeedStatus.CLOSED
    # The query string is part of the path.
    assert post(admin, f"{NEEDS}{need.pk}/close/?x=1", key="k-2").status_code == 422


def test_keys_belong_to_their_user(world: World, api_client: Any) -> None:
    body = need_body(world)
    responses = [
        post(api_client(world["users"][who]), NEEDS, body, key="shared-key")
        for who in ("enterprise_admin", "trader")
    ]
    assert [r.status_code for r in responses] == [201, 201]
    assert not any(REPLAYED_HEADER in r for r in responses)
    assert Need.objects.count() == 2
    assert IdempotencyKey.objects.filter(key="shared-key").count() == 2


@pytest.mark.parametrize(
    "key",
    ["", "a" * 256, "has space", "tab\there", "ключ", "quote\x7f"],
    ids=["empty", "too-long", "space", "tab", "non-ascii", "del"],
)
def test_a_malformed_key_is_400_naming_the_header(world: World, admin: Any, key: str) -> None:
    response = post(admin, NEEDS, need_body(world), key=key)
    assert response.status_code == 400
    err = error(response)
    assert err["code"] == "invalid"
    assert list(err["fields"]) == [HEADER]
    assert written() == (0, 0)
    assert not IdempotencyKey.objects.exists()


def test_the_longest_key_and_every_visible_character_are_accepted(world: World, admin: Any) -> None:
    for key in ("k" * 255, "".join(chr(c) for c in range(0x21, 0x7F))):
        assert post(admin, NEEDS, need_body(world), key=key).status_code == 201
    assert Need.objects.count() == 2


# --- unchanged without the header, and for other methods -----------------------------------


def test_without_the_header_nothing_changes(world: World, admin: Any) -> None:
    body = need_body(world)
    responses = [post(admin, NEEDS, body), post(admin, NEEDS, body)]
    assert [r.status_code for r in responses] == [201, 201]
    assert not any(REPLAYED_HEADER in r for r in responses)
    assert Need.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_other_methods_and_anonymous_posts_ignore_the_header(
    world: World, admin: Any, need: Need, api_client: Any
) -> None:
    assert admin.get(NEEDS, HTTP_IDEMPOTENCY_KEY="not a key").status_code == 200
    patch = admin.patch(
        f"{NEEDS}{need.pk}/", {"note": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1"
    )
    assert patch.status_code == 200
    anonymous = post(api_client(), NEEDS, need_body(world), key="a-1")
    assert anonymous.status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_a_refused_permission_claims_nothing(world: World, api_client: Any) -> None:
    viewer = api_client(world["users"]["viewer"])
    assert post(viewer, NEEDS, need_body(world), key="v-1").status_code == 403
    assert not IdempotencyKey.objects.exists()


# --- which responses are kept ---------------------------------------------------------------


def test_a_4xx_is_stored_and_replayed(world: World, admin: Any) -> None:
    bad = need_body(world, quantity="-1")
    first = post(admin, NEEDS, bad, key="bad-1")
    assert first.status_code == 400
    assert "quantity" in error(first)["fields"]

    again = post(admin, NEEDS, bad, key="bad-1")

    assert again.status_code == 400 and again[REPLAYED_HEADER] == "true"
    assert again.content == first.content
    assert IdempotencyKey.objects.get().response_status == 400
    # The corrected request is another request: it needs another key.
    assert post(admin, NEEDS, need_body(world), key="bad-1").status_code == 422
    assert post(admin, NEEDS, need_body(world), key="bad-2").status_code == 201


def test_a_request_that_raises_is_not_stored_and_the_retry_runs(
    world: World, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Need:
        raise RuntimeError("database went away")

    body = need_body(world)
    with monkeypatch.context() as patched:
        patched.setattr(marketplace.api, "need_create", broken)
        with pytest.raises(RuntimeError):
            post(admin, NEEDS, body, key="retry-1")
    assert not IdempotencyKey.objects.exists()  # the claim was released

    retry = post(admin, NEEDS, body, key="retry-1")

    assert retry.status_code == 201 and REPLAYED_HEADER not in retry
    assert Need.objects.count() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyState.DONE


def test_a_5xx_response_is_not_stored_and_the_retry_runs(
    world: World, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(**kwargs: Any) -> Need:
        raise exceptions.APIException("try again")  # a 500 answered by the handler

    body = need_body(world)
    with monkeypatch.context() as patched:
        patched.setattr(marketplace.api, "need_create", unavailable)
        assert post(admin, NEEDS, body, key="retry-2").status_code == 500
    assert not IdempotencyKey.objects.exists()

    retry = post(admin, NEEDS, body, key="retry-2")

    assert retry.status_code == 201 and REPLAYED_HEADER not in retry
    assert Need.objects.count() == 1


# --- in flight, expired, stuck --------------------------------------------------------------


def claim_in_flight(user: Any, key: str, fp: str, *, age: timedelta = timedelta(0)) -> None:
    IdempotencyKey.objects.create(
        user=user, key=key, fingerprint=fp, created_at=timezone.now() - age
    )


def test_a_key_in_flight_answers_409(world: World, admin: Any) -> None:
    body = need_body(world)
    claim_in_flight(world["users"]["enterprise_admin"], "busy", fingerprint(NEEDS, body))

    response = post(admin, NEEDS, body, key="busy")

    assert response.status_code == 409
    err = error(response)
    assert err["code"] == "idempotency_key_in_flight"
    assert list(err["fields"]) == [HEADER]
    assert written() == (0, 0)
    # Another body with the key in flight is a reused key, not a wait.
    assert post(admin, NEEDS, need_body(world, note="x"), key="busy").status_code == 422


def test_a_claim_stuck_past_the_timeout_is_taken_over(world: World, admin: Any) -> None:
    body = need_body(world)
    user = world["users"]["enterprise_admin"]
    claim_in_flight(user, "stuck", fingerprint(NEEDS, body), age=timedelta(seconds=290))
    assert post(admin, NEEDS, body, key="stuck").status_code == 409  # not yet
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=301))

    response = post(admin, NEEDS, body, key="stuck")

    assert response.status_code == 201 and REPLAYED_HEADER not in response
    assert Need.objects.count() == 1
    row = IdempotencyKey.objects.get()
    assert row.state == IdempotencyState.DONE and row.response_status == 201
    assert timezone.now() - row.created_at < timedelta(seconds=60)  # claimed anew
    assert post(admin, NEEDS, body, key="stuck")[REPLAYED_HEADER] == "true"


def test_keys_expire_after_the_ttl_and_the_task_purges_them(
    world: World, admin: Any, api_client: Any
) -> None:
    body = need_body(world)
    assert post(admin, NEEDS, body, key="old").status_code == 201
    assert post(admin, NEEDS, body, key="young").status_code == 201
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    # Expired but not purged yet: the key is already free, even for another body.
    response = post(admin, NEEDS, need_body(world, note="next day"), key="old")
    assert response.status_code == 201 and REPLAYED_HEADER not in response
    assert Need.objects.count() == 3

    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    response = post(admin, NEEDS, body, key="old")
    assert response.status_code == 201 and REPLAYED_HEADER not in response
    assert post(admin, NEEDS, body, key="young")[REPLAYED_HEADER] == "true"
    assert Need.objects.count() == 4


def test_the_ttl_and_timeout_are_settings(world: World, admin: Any, settings: Any) -> None:
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 1
    settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = 10
    body = need_body(world)
    claim_in_flight(
        world["users"]["enterprise_admin"], "s", fingerprint(NEEDS, body), age=timedelta(seconds=11)
    )
    assert post(admin, NEEDS, body, key="s").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert idempotency_purge() == 1


# --- the stored response and the admin -------------------------------------------------------


def test_location_and_content_type_are_replayed_and_nothing_else(world: World) -> None:
    user = world["users"]["trader"]
    fp = fingerprint("/x/")
    claim = idempotency_key_claim(user=user, key="h", fingerprint=fp)
    assert isinstance(claim, Claim)
    first = HttpResponse(b'{"id":1}', status=201, content_type="application/json")
    first["Location"] = "/api/v1/things/1/"
    first["X-Request-Id"] = "abc"
    assert idempotency_key_complete(claim=claim, response=first)

    row = idempotency_key_claim(user=user, key="h", fingerprint=fp)
    assert isinstance(row, IdempotencyKey)
    replay = replay_response(row)
    assert (replay.status_code, replay.content) == (201, b'{"id":1}')
    assert replay["Location"] == "/api/v1/things/1/"
    assert replay["Content-Type"] == "application/json"
    assert replay[REPLAYED_HEADER] == "true"
    assert not replay.has_header("X-Request-Id")

    empty_claim = idempotency_key_claim(user=user, key="e", fingerprint=fp)
    assert isinstance(empty_claim, Claim)
    empty = HttpResponse(status=204)
    del empty["Content-Type"]
    idempotency_key_complete(claim=empty_claim, response=empty)
    empty_row = idempotency_key_claim(user=user, key="e", fingerprint=fp)
    assert isinstance(empty_row, IdempotencyKey)
    assert not replay_response(empty_row).has_header("Content-Type")


def test_keys_are_shown_to_superusers_only_in_the_admin(world: World, admin: Any) -> None:
    assert post(admin, NEEDS, need_body(world), key="adm-1").status_code == 201
    row = IdempotencyKey.objects.get()
    for who, expected in (("superuser", 200), ("enterprise_admin", 403)):
        user = world["users"][who]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client = Client()
        client.force_login(user)
        changelist = client.get(reverse("admin:common_idempotencykey_changelist"))
        assert changelist.status_code == expected
        change = client.get(reverse("admin:common_idempotencykey_change", args=[row.pk]))
        assert change.status_code == (200 if expected == 200 else 403)
        if expected == 200:
            assert "adm-1" in changelist.content.decode()
            assert "&quot;status&quot;" in change.content.decode()  # the stored body, escaped


# --- cost -----------------------------------------------------------------------------------


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def test_a_key_adds_two_statements_to_a_post(world: World, admin: Any) -> None:
    body = need_body(world)
    post(admin, NEEDS, body)  # warm caches (content types, prepared plans)
    with CaptureQueriesContext(connection) as plain:
        assert post(admin, NEEDS, body).status_code == 201
    with CaptureQueriesContext(connection) as keyed:
        assert post(admin, NEEDS, body, key="cost-1").status_code == 201
    with CaptureQueriesContext(connection) as replayed:
        assert post(admin, NEEDS, body, key="cost-1")[REPLAYED_HEADER] == "true"

    def own(queries: CaptureQueriesContext) -> list[str]:
        return [sql.split()[0] for sql in _statements(queries) if "common_idempotencykey" in sql]

    def others(queries: CaptureQueriesContext) -> int:
        return sum("common_idempotencykey" not in sql for sql in _statements(queries))

    # The claim (INSERT) and the stored response (UPDATE), plus a SAVEPOINT and its RELEASE
    # around the INSERT (only because the test runs inside a transaction).
    assert own(plain) == []
    assert own(keyed) == ["INSERT", "UPDATE"]
    assert others(keyed) - others(plain) == 2
    assert len(keyed) - len(plain) == 4
    # A replay: authentication, the refused INSERT and one indexed read; no view queries.
    replay_sql = [sql for sql in _statements(replayed) if "SAVEPOINT" not in sql]
    assert len(replay_sql) == 3, replay_sql
    assert not any("marketplace_" in sql for sql in replay_sql)


# --- every POST of every viewset, and the schema -------------------------------------------


def test_every_viewset_with_a_post_route_is_idempotent() -> None:
    from config.api_urls import urlpatterns

    callbacks: list[Any] = [p.callback for p in urlpatterns]
    posting = [view.cls for view in callbacks if "post" in getattr(view, "actions", {})]
    assert posting, "no POST routes found"
    assert all(issubclass(cls, IdempotentPostMixin) for cls in posting), posting


def test_the_schema_documents_the_header_on_posts_only(world: World, admin: Any) -> None:
    schema = admin.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    def headers(path: str, method: str) -> set[str]:
        params = schema["paths"][path][method].get("parameters", [])
        return {p["name"] for p in params if p["in"] == "header"}

    assert HEADER in headers("/api/v1/needs/", "post")
    assert HEADER in headers("/api/v1/needs/{id}/close/", "post")
    assert HEADER not in headers("/api/v1/needs/", "get")
    assert HEADER not in headers("/api/v1/needs/{id}/", "patch")
    replayed = schema["paths"]["/api/v1/needs/"]["post"]["responses"]["201"]["headers"]
    assert REPLAYED_HEADER in replayed


# --- a real race (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_concurrent_posts_with_one_key_create_once(
    world: World, api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four simultaneous POSTs with one key: one creates; the others see the committed
    claim and answer 409 (or, if they arrive after it completed, the replay)."""
    real_create = marketplace.api.need_create

    def slow_create(**kwargs: Any) -> Need:
        time.sleep(0.2)  # keep the first request in flight while the others arrive
        return real_create(**kwargs)

    monkeypatch.setattr(marketplace.api, "need_create", slow_create)
    user = world["users"]["enterprise_admin"]
    clients = [api_client(user) for _ in range(4)]
    body = need_body(world)

    responses = run_concurrently(4, lambda i: post(clients[i], NEEDS, body, key="race"))

    assert not [r for r in responses if isinstance(r, Exception)], responses
    created = [r for r in responses if r.status_code == 201 and REPLAYED_HEADER not in r]
    others = [r for r in responses if r not in created]
    assert len(created) == 1
    assert all(
        r.status_code == 409 or (r.status_code == 201 and r[REPLAYED_HEADER] == "true")
        for r in others
    ), [(r.status_code, r.content) for r in others]
    assert Need.objects.count() == 1
    row = IdempotencyKey.objects.get()
    assert row.state == IdempotencyState.DONE and bytes(row.response_body) == created[0].content
