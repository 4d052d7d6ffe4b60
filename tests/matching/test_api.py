"""REST API v1 of matching: matches and their decisions, engine runs; per role, across
tenants, with bad input, filters and query counts."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from access.scope import Scope
from common.models import OutboxEvent
from inventory.models import StockLot
from matching.models import Match, MatchRun, RunKind, RunStatus
from matching.selectors import match_list
from matching.serializers import MatchSerializer
from tests import factories as f

pytestmark = pytest.mark.django_db

MATCHES = "/api/v1/matches/"
RUNS = "/api/v1/matching/runs/"

World = dict[str, Any]


def error_fields(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["fields"]


def snapshot() -> tuple[list[Any], int]:
    """Every match as stored, and the number of outbox events: what a refused write keeps."""
    return list(Match.objects.order_by("pk").values()), OutboxEvent.objects.count()


@pytest.fixture
def ctx(world: World, receive: Callable[..., StockLot]) -> World:
    """Matches between the world's enterprises (a1 and a2 in park A, b in B, c in C):

    * ``a1_b``: a1 sells to b (a1's listing has stock to accept it);
    * ``b_a1``: b sells to a1;
    * ``a2_c``: a2 sells to c;
    * ``c_b``: c sells to b (no enterprise of park A takes part).
    """
    ents, zones, material = world["enterprises"], world["zones"], world["material"]

    def listing(seller: str) -> Any:
        lot = receive(zone=zones[seller], material=material, quantity="1000")
        return f.ListingFactory.create(lot=lot, quantity_kg=Decimal(500), status="published")

    def match(seller: str, buyer: str, **kwargs: Any) -> Match:
        need = f.NeedFactory.create(enterprise=ents[buyer], material=material)
        return f.MatchFactory.create(listing=listing(seller), need=need, **kwargs)

    return {
        **world,
        "matches": {
            "a1_b": match("a1", "b", quantity_kg=Decimal(300)),
            "b_a1": match("b", "a1"),
            "a2_c": match("a2", "c"),
            "c_b": match("c", "b"),
        },
    }


def ids(client: Any, **params: Any) -> set[int]:
    response = client.get(MATCHES, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def pks(ctx: World, *names: str) -> set[int]:
    return {ctx["matches"][name].pk for name in names}


# --- reading matches --------------------------------------------------------------------

VISIBLE = {
    "enterprise_admin": ("a1_b", "b_a1"),
    "trader": ("a1_b", "b_a1"),
    "warehouse_keeper": ("a1_b", "b_a1"),
    "viewer": ("a1_b", "b_a1"),
    "other_admin": ("a2_c",),
    "park_b_admin": ("a1_b", "b_a1", "c_b"),
    "park_c_admin": ("a2_c", "c_b"),
    "park_operator": ("a1_b", "b_a1", "a2_c"),
    "regulator": ("a1_b", "b_a1", "a2_c"),
    "regulator_c": ("a2_c", "c_b"),
    "superuser": ("a1_b", "b_a1", "a2_c", "c_b"),
}


@pytest.mark.parametrize(("who", "names"), VISIBLE.items())
def test_each_role_reads_the_matches_of_its_scope(
    who: str, names: tuple[str, ...], ctx: World, api_client: Any
) -> None:
    client = api_client(ctx["users"][who])
    assert ids(client) == pks(ctx, *names)
    for name, match in ctx["matches"].items():
        status = client.get(f"{MATCHES}{match.pk}/").status_code
        assert status == (200 if name in names else 404), (who, name)


def test_a_user_with_no_standing_sees_nothing(ctx: World, api_client: Any) -> None:
    assert ids(api_client(f.UserFactory.create())) == set()


def test_a_match_reads_flat(ctx: World, api_client: Any) -> None:
    match = ctx["matches"]["a1_b"]
    seller, buyer, material = ctx["enterprises"]["a1"], ctx["enterprises"]["b"], ctx["material"]
    row = api_client(ctx["users"]["viewer"]).get(f"{MATCHES}{match.pk}/").json()
    assert row == {
        "id": match.pk,
        "status": "proposed",
        "listing": match.listing_id,
        "need": match.need_id,
        "seller": seller.pk,
        "seller_name_zh": seller.name_zh,
        "seller_name_en": seller.name_en,
        "buyer": buyer.pk,
        "buyer_name_zh": buyer.name_zh,
        "buyer_name_en": buyer.name_en,
        "material": material.pk,
        "material_name_en": material.name_en,
        "material_name_zh": material.name_zh,
        "material_cas": material.cas,
        "quantity_kg": "300.000",
        "price_per_t": "3000.00",
        "transport_per_t": "120.00",
        "distance_km": "12.500",
        "total_yuan": "936.00",
        "explanation": match.explanation,
        "explanation_zh": match.explanation_zh,
        "decline_reason": "",
        "seller_accepted_at": None,
        "buyer_accepted_at": None,
        "decided_at": None,
        "created_at": row["created_at"],
        "superseded_at": None,
        "run": None,
        "previous": None,
    }
    listed = api_client(ctx["users"]["viewer"]).get(MATCHES).json()["results"]
    assert row in listed


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "UTC"])
def test_the_flat_serializer_renders_exactly_as_drf_would(zone_name: str, ctx: World) -> None:
    f.MatchFactory.create(
        run=f.MatchRunFactory.create(),
        status="agreed",
        seller_accepted_at=timezone.now(),
        buyer_accepted_at=timezone.now(),
        decided_at=timezone.now(),
        listing__lot__material=f.MaterialFactory.create(cas=None),
    )
    scope = Scope(user=ctx["users"]["superuser"], is_superuser=True)
    queryset = match_list(scope=scope)
    columns = MatchSerializer().value_columns
    assert columns is not None
    with timezone.override(zone_name):
        for match, values in zip(queryset, queryset.values(*columns), strict=True):
            serializer = MatchSerializer(match)
            drf = serializers.ModelSerializer.to_representation(serializer, match)
            assert serializer.to_representation(match) == drf
            assert serializer.to_representation(values) == drf


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", MATCHES), ("put", "detail"), ("patch", "detail"), ("delete", "detail")],
)
def test_matches_are_never_written_directly(
    method: str, url: str, ctx: World, api_client: Any
) -> None:
    match = ctx["matches"]["a1_b"]
    before = snapshot()
    for who in ("enterprise_admin", "superuser"):
        client = api_client(ctx["users"][who])
        target = f"{MATCHES}{match.pk}/" if url == "detail" else url
        response = getattr(client, method)(target, {"status": "agreed"}, format="json")
        assert response.status_code == 405, (who, method)
    assert snapshot() == before


# --- filters and ordering ---------------------------------------------------------------


def test_filters(ctx: World, api_client: Any) -> None:
    a1_b, b_a1 = ctx["matches"]["a1_b"], ctx["matches"]["b_a1"]
    acid = f.MaterialFactory.create()
    lot = f.LotFactory.create(zone=ctx["zones"]["a1"], material=acid)
    old = f.MatchFactory.create(
        listing=f.ListingFactory.create(lot=lot, status="published"),
        need__enterprise=ctx["enterprises"]["b"],
        status="declined",
        quantity_kg=Decimal(1),
    )
    Match.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    client = api_client(ctx["users"]["trader"])
    assert ids(client) == {a1_b.pk, b_a1.pk, old.pk}
    assert ids(client, status="proposed") == {a1_b.pk, b_a1.pk}
    assert ids(client, status=["declined", "agreed"]) == {old.pk}
    assert ids(client, material=acid.pk) == {old.pk}
    assert ids(client, material=f"{acid.pk},{ctx['material'].pk}") == {a1_b.pk, b_a1.pk, old.pk}
    assert ids(client, listing=a1_b.listing_id) == {a1_b.pk}
    assert ids(client, need=b_a1.need_id) == {b_a1.pk}
    assert ids(client, role="seller") == {a1_b.pk, old.pk}
    assert ids(client, role="buyer") == {b_a1.pk}
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(client, created_after=since) == {a1_b.pk, b_a1.pk}
    # role means nothing to a regulator: the whole scope.
    assert ids(api_client(ctx["users"]["regulator"]), role="seller") == pks(
        ctx, "a1_b", "b_a1", "a2_c"
    ) | {old.pk}

    def ordered(ordering: str) -> list[int]:
        response = client.get(MATCHES, {"ordering": ordering})
        return [row["id"] for row in response.json()["results"]]

    assert ordered("total_yuan")[0] == old.pk
    assert ordered("-total_yuan")[0] == a1_b.pk
    assert ordered("created_at")[0] == old.pk
    assert ordered("id") == sorted([a1_b.pk, b_a1.pk, old.pk])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"role": "broker"}, "role"),
        ({"material": "abc"}, "material"),
        ({"created_after": "yesterday"}, "created_after"),
    ],
)
def test_bad_filter_values_are_a_400_naming_the_parameter(
    params: dict[str, str], field: str, ctx: World, api_client: Any
) -> None:
    response = api_client(ctx["users"]["trader"]).get(MATCHES, params)
    assert response.status_code == 400
    assert field in error_fields(response)


# --- accept and decline -----------------------------------------------------------------


def post(client: Any, match: Match, action: str, body: Any = None, **kwargs: Any) -> Any:
    url = f"{MATCHES}{match.pk}/{action}/"
    if "data" in kwargs:
        return client.post(url, **kwargs)
    return client.post(url, body, format="json")


def test_seller_then_buyer_accept_and_agree(ctx: World, api_client: Any) -> None:
    match = ctx["matches"]["a1_b"]
    seller = api_client(ctx["users"]["trader"])
    response = post(seller, match, "accept")
    assert response.status_code == 200, response.content
    row = response.json()
    assert (row["id"], row["status"]) == (match.pk, "accepted")
    assert row["seller_accepted_at"] is not None
    assert row["buyer_accepted_at"] is None
    assert row == seller.get(f"{MATCHES}{match.pk}/").json()
    buyer = api_client(ctx["users"]["park_b_admin"])
    row = post(buyer, match, "accept", {}).json()
    assert row["status"] == "agreed"
    assert row["decided_at"] == row["buyer_accepted_at"]
    topics = OutboxEvent.objects.filter(topic__startswith="match.").order_by("id")
    assert list(topics.values_list("topic", flat=True)) == ["match.accepted", "match.agreed"]


def test_buyer_declines_with_a_reason(ctx: World, api_client: Any) -> None:
    match = ctx["matches"]["b_a1"]  # a1 buys
    client = api_client(ctx["users"]["enterprise_admin"])
    response = post(client, match, "decline", {"reason": "found it cheaper"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "declined"
    assert response.json()["decided_at"] is not None
    assert response.json()["decline_reason"] == "found it cheaper"
    event = OutboxEvent.objects.get(topic="match.declined")
    assert event.payload["reason"] == "found it cheaper"
    # Deciding again is a conflict on status.
    for action in ("decline", "accept"):
        response = post(client, match, action)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_transition"
        assert "status" in error_fields(response)


def test_decline_without_a_body(ctx: World, api_client: Any) -> None:
    client = api_client(ctx["users"]["trader"])
    response = client.post(f"{MATCHES}{ctx['matches']['a1_b'].pk}/decline/")
    assert response.status_code == 200, response.content
    assert OutboxEvent.objects.get(topic="match.declined").payload["reason"] == ""


def test_accepting_twice_is_a_409(ctx: World, api_client: Any) -> None:
    client = api_client(ctx["users"]["trader"])
    match = ctx["matches"]["a1_b"]
    assert post(client, match, "accept").status_code == 200
    before = snapshot()
    response = post(api_client(ctx["users"]["enterprise_admin"]), match, "accept")
    assert response.status_code == 409
    assert "already accepted" in error_fields(response)["status"][0]
    assert snapshot() == before


def test_over_committing_is_a_409_on_quantity(ctx: World, api_client: Any) -> None:
    match = ctx["matches"]["a1_b"]  # 300 kg of a 500 kg listing
    f.MatchFactory.create(
        listing=match.listing,
        need__enterprise=ctx["enterprises"]["c"],
        quantity_kg=Decimal(201),
        status="agreed",
    )
    before = snapshot()
    response = post(api_client(ctx["users"]["trader"]), match, "accept")
    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "quantity_exceeded"
    assert list(body["fields"]) == ["quantity_kg"]
    assert "201.000 kg" in body["message"]
    assert snapshot() == before


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize("who", ["other_admin", "park_c_admin"])
def test_another_enterprises_match_is_a_404(
    who: str, action: str, ctx: World, api_client: Any
) -> None:
    before = snapshot()
    response = post(api_client(ctx["users"][who]), ctx["matches"]["a1_b"], action)
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize(
    "who", ["viewer", "warehouse_keeper", "park_operator", "regulator", "regulator_c"]
)
def test_read_only_roles_may_not_decide(who: str, action: str, ctx: World, api_client: Any) -> None:
    before = snapshot()
    response = post(api_client(ctx["users"][who]), ctx["matches"]["a1_b"], action)
    assert response.status_code == 403
    assert error_fields(response) == {"detail": ["Your role may not change this."]}
    assert snapshot() == before


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_a_superuser_is_not_a_party(action: str, ctx: World, api_client: Any) -> None:
    before = snapshot()
    response = post(api_client(ctx["users"]["superuser"]), ctx["matches"]["a1_b"], action)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert snapshot() == before


def test_anonymous_is_refused(ctx: World, api_client: Any) -> None:
    client = api_client(None)
    assert client.get(MATCHES).status_code == 401
    assert post(client, ctx["matches"]["a1_b"], "accept").status_code == 401


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("accept", {"body": {"quantity_kg": "1"}}, "quantity_kg"),
    ("accept", {"body": {"reason": "no"}}, "reason"),
    ("decline", {"body": {"reason": "x" * 501}}, "reason"),
    ("decline", {"body": {"reason": None}}, "reason"),
    ("decline", {"body": {"reason": ["a"]}}, "reason"),
    ("decline", {"body": {"reason": "ok", "status": "agreed"}}, "status"),
    ("accept", {"data": '{"x": ', "content_type": "application/json"}, "body"),
    ("decline", {"data": "{reason: 1}", "content_type": "application/json"}, "body"),
    ("decline", {"data": "[1, 2]", "content_type": "application/json"}, "non_field_errors"),
    ("accept", {"data": "reason=x", "content_type": "application/x-www-form-urlencoded"}, ""),
]


@pytest.mark.parametrize(("action", "request_kwargs", "field"), BAD_INPUT)
def test_bad_input_is_a_400_naming_the_field(
    action: str, request_kwargs: dict[str, Any], field: str, ctx: World, api_client: Any
) -> None:
    before = snapshot()
    client = api_client(ctx["users"]["trader"])
    kwargs = dict(request_kwargs)
    response = post(client, ctx["matches"]["a1_b"], action, kwargs.pop("body", None), **kwargs)
    if field:
        assert response.status_code == 400, response.content
        assert field in error_fields(response)
    else:
        assert response.status_code == 415
        assert "content_type" in error_fields(response)
    assert snapshot() == before


def test_a_reason_of_exactly_500_characters_is_taken(ctx: World, api_client: Any) -> None:
    client = api_client(ctx["users"]["trader"])
    response = post(client, ctx["matches"]["a1_b"], "decline", {"reason": "因" * 500})
    assert response.status_code == 200


# --- query counts -----------------------------------------------------------------------


def count_queries(client: Any, url: str, **params: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize(("who", "limit"), [("trader", 3), ("regulator", 5), ("superuser", 3)])
def test_match_list_queries_do_not_grow_with_the_page(
    who: str, limit: int, ctx: World, api_client: Any
) -> None:
    a1, b = ctx["enterprises"]["a1"], ctx["enterprises"]["b"]
    for i in range(20):
        match = f.MatchFactory.create(
            listing__lot__zone=ctx["zones"]["a1"],
            need__enterprise=b,
            run=f.MatchRunFactory.create() if i % 2 else None,
        )
        assert match.seller == a1
    client = api_client(ctx["users"][who])
    small, n_small = count_queries(client, MATCHES, page_size=2)
    large, n_large = count_queries(client, MATCHES, page_size=20)
    assert (n_small, n_large) == (2, 20)
    assert small == large
    # The token, the capped count, the page (+ a regulator's parks and their enterprises).
    assert large <= limit
    filtered, _ = count_queries(
        client, MATCHES, page_size=20, status="proposed", role="seller", ordering="-total_yuan"
    )
    assert filtered == large
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{MATCHES}{match.pk}/").status_code == 200
    assert len(queries.captured_queries) <= limit - 1


def test_accept_costs_a_fixed_number_of_queries(ctx: World, api_client: Any) -> None:
    client = api_client(ctx["users"]["trader"])
    with CaptureQueriesContext(connection) as queries:
        assert post(client, ctx["matches"]["a1_b"], "accept").status_code == 200
    # The token, the match, three locks, two sums, the update, the event, the re-read
    # (twice), the savepoint of the service's transaction, and the audit row (no query to
    # resolve who acted: the token loaded the membership).
    assert len(queries.captured_queries) <= 15


# --- engine runs ------------------------------------------------------------------------


@pytest.fixture
def runs(db: Any) -> list[MatchRun]:
    return [
        f.MatchRunFactory.create(kind=RunKind.FULL, trigger="schedule"),
        f.MatchRunFactory.create(
            relaxed_matched_kg=Decimal(80), matched_kg=Decimal(60), moq_components=1
        ),
        f.MatchRunFactory.create(status=RunStatus.FAILED, error="ValueError('boom')"),
    ]


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("superuser", True),
        ("park_operator", True),
        ("regulator", True),
        ("regulator_c", True),
        ("enterprise_admin", False),
        ("trader", False),
        ("viewer", False),
        ("park_c_admin", False),
    ],
)
def test_runs_are_read_by_park_staff_and_superusers(
    who: str, sees: bool, world: World, runs: list[MatchRun], api_client: Any
) -> None:
    client = api_client(world["users"][who])
    response = client.get(RUNS)
    assert response.status_code == 200
    listed = [row["id"] for row in response.json()["results"]]
    assert listed == ([r.pk for r in reversed(runs)] if sees else [])
    assert client.get(f"{RUNS}{runs[0].pk}/").status_code == (200 if sees else 404)


def test_a_run_reads_with_its_figures(world: World, runs: list[MatchRun], api_client: Any) -> None:
    run = runs[1]
    row = api_client(world["users"]["regulator"]).get(f"{RUNS}{run.pk}/").json()
    assert row == {
        "id": run.pk,
        "kind": "materials",
        "trigger": "command",
        "status": "done",
        "requested_by": None,
        "material_ids": [],
        "started_at": row["started_at"],
        "finished_at": None,
        "pending_chunks": 0,
        "components": 1,
        "listings": 1,
        "needs": 1,
        "arcs": 1,
        "matched_kg": "60.000",
        "cost_yuan": "156.00",
        "relaxed_matched_kg": "80.000",
        "relaxed_cost_yuan": "156.00",
        "quantity_gap": "0.250000",
        "moq_components": 1,
        "created": 0,
        "kept": 0,
        "superseded": 0,
        "read_seconds": 0.0,
        "solve_seconds": 0.0,
        "write_seconds": 0.0,
        "error": "",
    }
    client = api_client(world["users"]["park_operator"])
    assert [r["id"] for r in client.get(RUNS, {"status": "failed"}).json()["results"]] == [
        runs[2].pk
    ]
    assert [r["id"] for r in client.get(RUNS, {"kind": "full"}).json()["results"]] == [runs[0].pk]


def test_run_list_queries_do_not_grow_with_the_page(world: World, api_client: Any) -> None:
    for _ in range(12):
        f.MatchRunFactory.create()
    client = api_client(world["users"]["park_operator"])
    small, _ = count_queries(client, RUNS, page_size=2)
    large, n = count_queries(client, RUNS, page_size=10)
    assert n == 10
    assert small == large


@pytest.mark.parametrize("who", ["park_operator", "superuser"])
def test_park_operators_and_superusers_ask_for_a_rematch_of_materials(
    who: str, world: World, api_client: Any
) -> None:
    other = f.MaterialFactory.create()
    client = api_client(world["users"][who])
    cas = [world["material"].cas, other.cas, world["material"].cas]
    response = client.post(RUNS, {"materials": cas}, format="json")
    assert response.status_code == 202, response.content
    row = response.json()
    run = MatchRun.objects.get()
    assert row["id"] == run.pk
    assert (row["kind"], row["trigger"]) == ("materials", "api")
    assert row["requested_by"] == world["users"][who].pk
    assert row["material_ids"] == sorted([world["material"].pk, other.pk])
    assert row == client.get(f"{RUNS}{run.pk}/").json()


def test_an_empty_body_asks_for_a_full_rematch(world: World, api_client: Any) -> None:
    response = api_client(world["users"]["park_operator"]).post(RUNS, {}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "full"
    assert MatchRun.objects.get().kind == RunKind.FULL


def test_a_second_full_rematch_while_one_runs_is_a_409(world: World, api_client: Any) -> None:
    running = f.MatchRunFactory.create(kind=RunKind.FULL, status=RunStatus.RUNNING)
    response = api_client(world["users"]["park_operator"]).post(RUNS, {}, format="json")
    assert response.status_code == 409
    assert str(running.pk) in response.json()["error"]["message"]
    assert MatchRun.objects.count() == 1


@pytest.mark.parametrize(
    "who", ["enterprise_admin", "trader", "viewer", "regulator", "regulator_c", "park_c_admin"]
)
def test_other_roles_may_not_ask_for_runs(who: str, world: World, api_client: Any) -> None:
    client = api_client(world["users"][who])
    for body in ({}, {"materials": [world["material"].cas]}):
        response = client.post(RUNS, body, format="json")
        assert response.status_code == 403, (who, body)
    assert not MatchRun.objects.exists()


RUN_BAD_INPUT: list[tuple[Any, str]] = [
    ({"materials": ["0000-00-0"]}, "materials"),
    ({"materials": "67-64-1"}, "materials"),
    ({"materials": []}, "materials"),
    ({"materials": [None]}, "materials.0"),
    ({"materials": ["x" * 13]}, "materials.0"),
    ({"materials": ["67-64-1"] * 201}, "materials"),
    ({"material_ids": [1]}, "material_ids"),
    ({"kind": "full"}, "kind"),
]


@pytest.mark.parametrize(("body", "field"), RUN_BAD_INPUT)
def test_bad_run_requests_are_a_400_naming_the_field(
    body: Any, field: str, world: World, api_client: Any
) -> None:
    response = api_client(world["users"]["park_operator"]).post(RUNS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not MatchRun.objects.exists()


def test_unknown_cas_numbers_are_named(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["park_operator"])
    body = {"materials": [world["material"].cas, "9999-99-9", "1-1-1"]}
    response = client.post(RUNS, body, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"materials": ["Unknown CAS numbers: 9999-99-9, 1-1-1."]}


def test_malformed_run_request_is_a_400_on_body(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["park_operator"])
    response = client.post(RUNS, data='{"materials": [', content_type="application/json")
    assert response.status_code == 400
    assert "body" in error_fields(response)
    assert not MatchRun.objects.exists()


def test_runs_are_never_changed_or_deleted(
    world: World, runs: list[MatchRun], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"{RUNS}{runs[0].pk}/", {}, format="json")
        assert response.status_code == 405


# --- the schema -------------------------------------------------------------------------


def test_the_schema_documents_the_actions_and_bodies(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["viewer"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/matches/{id}/accept/"]) == {"post"}
    decline = paths["/api/v1/matches/{id}/decline/"]["post"]
    body = decline["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    reason = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]["reason"]
    assert reason["maxLength"] == 500
    create = paths["/api/v1/matching/runs/"]["post"]
    assert set(create["responses"]) >= {"202", "409"}
    assert "/api/v1/matches/" in paths
    assert "/api/v1/matching/runs/{id}/" in paths


@pytest.mark.parametrize("who", ["trader", "park_operator", "superuser"])
def test_browsable_api_pages_render(who: str, ctx: World, api_client: Any) -> None:
    """The HTML pages build forms from the input serializers; they must not fail."""
    run = f.MatchRunFactory.create()
    client = api_client(ctx["users"][who])
    match = ctx["matches"]["a1_b"]
    paths = [MATCHES, f"{MATCHES}{match.pk}/", RUNS, f"{RUNS}{run.pk}/"]
    for path in paths:
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 404), path
        assert response["Content-Type"].startswith("text/html")
