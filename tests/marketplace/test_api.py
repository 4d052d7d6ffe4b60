"""REST API v1 of the marketplace: listings and needs, by role, with bad input, through
their transitions, filters and query counts. Visibility has its own module."""

import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from access.scope import SYSTEM, Scope
from common.models import OutboxEvent
from inventory.models import StockLot
from inventory.services import stock_reserve
from marketplace.models import Listing, Need
from marketplace.selectors import listing_list, need_list
from marketplace.serializers import LISTING_READ_COLUMNS, ListingSerializer, NeedSerializer
from tests import factories as f

LISTINGS = "/api/v1/listings/"
NEEDS = "/api/v1/needs/"
TODAY = timezone.localdate()
DROP = object()  # marks a key to remove from a request body

World = dict[str, Any]


def today_plus(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def error_fields(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["fields"]


def written() -> tuple[int, int, int]:
    """Rows a write would add: listings, needs and outbox events."""
    return Listing.objects.count(), Need.objects.count(), OutboxEvent.objects.count()


def body_with(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = {**base, **overrides}
    return {k: v for k, v in out.items() if v is not DROP}


@pytest.fixture
def ctx(world: World, receive: Callable[..., StockLot]) -> World:
    """The world plus stocked lots: a1's of a liquid with a density and of a solid without
    one, a2's, and a shared warehouse zone in park B."""
    dry = f.MaterialFactory.create(physical_state="solid", density_kg_per_l=None)
    zones = world["zones"]
    return {
        **world,
        "dry": dry,
        "lot": receive(zone=zones["a1"], material=world["material"], quantity="1000"),
        "dry_lot": receive(zone=zones["a1"], material=dry, quantity="1000"),
        "lot_a2": receive(zone=zones["a2"], material=world["material"], quantity="1000"),
        "zone_shared_b": f.StorageZoneFactory.create(
            warehouse=f.WarehouseFactory.create(owner=None, park=world["parks"]["b"])
        ),
    }


@pytest.fixture
def admin(ctx: World, api_client: Any) -> Any:
    return api_client(ctx["users"]["enterprise_admin"])


def listing_body(ctx: World, **overrides: Any) -> dict[str, Any]:
    base = {
        "lot": ctx["lot"].pk,
        "quantity": "100",
        "unit": "kg",
        "price_per_t": "3000.00",
        "available_from": TODAY.isoformat(),
        "visibility": "region",
        "note": "drums, sealed",
    }
    return body_with(base, overrides)


def need_body(ctx: World, **overrides: Any) -> dict[str, Any]:
    base = {
        "material": ctx["material"].pk,
        "quantity": "2",
        "unit": "t",
        "max_price_per_t": "3500",
        "needed_by": today_plus(30),
        "delivery_zone": ctx["zones"]["a1"].pk,
        "note": "for the spring turnaround",
    }
    return body_with(base, overrides)


def make_listing(ctx: World, *, owner: str = "a1", **kwargs: Any) -> Listing:
    lot = ctx["lot"] if owner == "a1" else ctx["lot_a2"]
    return f.ListingFactory.create(lot=lot, **kwargs)


def make_need(ctx: World, *, owner: str = "a1", **kwargs: Any) -> Need:
    kwargs.setdefault("material", ctx["material"])
    return f.NeedFactory.create(enterprise=ctx["enterprises"][owner], **kwargs)


# --- Listings: create -------------------------------------------------------------------


def test_create_listing_converts_units_and_answers_the_read_shape(ctx: World, admin: Any) -> None:
    response = admin.post(
        LISTINGS,
        listing_body(ctx, quantity="0.5", unit="t", min_order="50", min_order_unit="L"),
        format="json",
    )
    assert response.status_code == 201, response.content
    row = response.json()
    listing = Listing.objects.get(pk=row["id"])
    assert listing.quantity_kg == Decimal("500.000")
    assert listing.min_order_kg == Decimal("40.000")  # 50 L × 0.8 kg/L
    assert listing.seller == ctx["enterprises"]["a1"]
    assert listing.status == "draft"
    lot = ctx["lot"]
    warehouse = lot.zone.warehouse
    assert row == {
        "id": listing.pk,
        "status": "draft",
        "visibility": "region",
        "seller": ctx["enterprises"]["a1"].pk,
        "seller_name_zh": ctx["enterprises"]["a1"].name_zh,
        "park": ctx["parks"]["a"].pk,
        "park_code": "park-a",
        "lot": lot.pk,
        "material": lot.material.pk,
        "material_name_en": lot.material.name_en,
        "material_name_zh": lot.material.name_zh,
        "material_cas": lot.material.cas,
        "material_primary_class": "",
        "warehouse": warehouse.pk,
        "warehouse_latitude": f"{warehouse.latitude:f}",
        "warehouse_longitude": f"{warehouse.longitude:f}",
        "quantity_kg": "500.000",
        "min_order_kg": "40.000",
        "price_per_t": "3000.00",
        "available_from": TODAY.isoformat(),
        "available_until": None,
        "published_at": None,
        "created_at": row["created_at"],
        "note": "drums, sealed",
    }
    topics = list(OutboxEvent.objects.order_by("-id").values_list("topic", flat=True)[:1])
    assert topics == ["listing.created"]


@pytest.mark.parametrize(
    ("quantity", "unit", "kg"),
    [
        ("250", "kg", "250.000"),
        ("0.25", "t", "250.000"),
        ("2500", "g", "2.500"),
        ("100", "L", "80.000"),
        ("0.1", "m3", "80.000"),
        ("300", DROP, "300.000"),  # the material's default unit, kg
    ],
)
def test_listing_quantity_units(quantity: str, unit: Any, kg: str, ctx: World, admin: Any) -> None:
    response = admin.post(LISTINGS, listing_body(ctx, quantity=quantity, unit=unit), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["quantity_kg"] == kg


def test_min_order_unit_defaults_to_the_quantity_unit(ctx: World, admin: Any) -> None:
    response = admin.post(
        LISTINGS, listing_body(ctx, quantity="0.5", unit="t", min_order="0.1"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["min_order_kg"] == "100.000"


def test_create_and_publish_at_once(ctx: World, admin: Any) -> None:
    response = admin.post(LISTINGS, listing_body(ctx, publish=True), format="json")
    assert response.status_code == 201, response.content
    row = response.json()
    assert row["status"] == "published"
    assert row["published_at"] is not None
    topics = list(OutboxEvent.objects.order_by("-id").values_list("topic", flat=True)[:2])
    assert topics == ["listing.published", "listing.created"]


@pytest.mark.parametrize("role", ["enterprise_admin", "trader"])
def test_admins_and_traders_create_listings(role: str, ctx: World, api_client: Any) -> None:
    response = api_client(ctx["users"][role]).post(LISTINGS, listing_body(ctx), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "role", ["warehouse_keeper", "viewer", "regulator", "park_operator", "regulator_c"]
)
def test_other_roles_may_not_create_listings(role: str, ctx: World, api_client: Any) -> None:
    before = written()
    response = api_client(ctx["users"][role]).post(LISTINGS, listing_body(ctx), format="json")
    assert response.status_code == 403
    assert error_fields(response) == {"detail": ["Your role may not change this."]}
    assert written() == before


def test_superuser_lists_for_the_lot_owner(ctx: World, api_client: Any) -> None:
    client = api_client(ctx["users"]["superuser"])
    response = client.post(LISTINGS, listing_body(ctx, lot=ctx["lot_a2"].pk), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["seller"] == ctx["enterprises"]["a2"].pk


LISTING_CREATE_BAD: list[tuple[str, Callable[[World], dict[str, Any]], str, int]] = [
    ("negative", lambda c: {"quantity": "-5"}, "quantity", 400),
    ("zero", lambda c: {"quantity": "0"}, "quantity", 400),
    ("huge string", lambda c: {"quantity": "1e20"}, "quantity", 400),
    ("huge number", lambda c: {"quantity": 1e20}, "quantity", 400),
    ("huge once converted", lambda c: {"quantity": "20000000", "unit": "t"}, "quantity", 400),
    ("below a gram", lambda c: {"quantity": "0.0001", "unit": "g"}, "quantity", 400),
    ("not a number", lambda c: {"quantity": "ten"}, "quantity", 400),
    ("NaN", lambda c: {"quantity": "NaN"}, "quantity", 400),
    ("missing quantity", lambda c: {"quantity": DROP}, "quantity", 400),
    ("unit lb", lambda c: {"unit": "lb"}, "unit", 400),
    ("litres without density", lambda c: {"lot": c["dry_lot"].pk, "unit": "L"}, "unit", 400),
    ("unknown lot", lambda c: {"lot": 987654321}, "lot", 400),
    ("another enterprise's lot", lambda c: {"lot": c["lot_a2"].pk}, "lot", 400),
    ("lot not an id", lambda c: {"lot": "abc"}, "lot", 400),
    ("missing lot", lambda c: {"lot": DROP}, "lot", 400),
    ("negative price", lambda c: {"price_per_t": "-1"}, "price_per_t", 400),
    ("huge price", lambda c: {"price_per_t": "1e20"}, "price_per_t", 400),
    ("missing price", lambda c: {"price_per_t": DROP}, "price_per_t", 400),
    ("note too long", lambda c: {"note": "x" * 501}, "note", 400),
    ("min order above quantity", lambda c: {"min_order": "101"}, "min_order", 400),
    ("negative min order", lambda c: {"min_order": "-1"}, "min_order", 400),
    (
        "min order unit lb",
        lambda c: {"min_order": "1", "min_order_unit": "lb"},
        "min_order_unit",
        400,
    ),
    ("min order unit alone", lambda c: {"min_order_unit": "t"}, "min_order", 400),
    (
        "window reversed",
        lambda c: {"available_until": today_plus(-1)},
        "available_until",
        400,
    ),
    ("bad date", lambda c: {"available_from": "2026-13-45"}, "available_from", 400),
    ("unknown visibility", lambda c: {"visibility": "galaxy"}, "visibility", 400),
    ("publish not a bool", lambda c: {"publish": "maybe"}, "publish", 400),
    ("misspelt field", lambda c: {"min_orders": "1"}, "min_orders", 400),
    ("read-only field", lambda c: {"seller": c["lot_a2"].owner_id}, "seller", 400),
    (
        "publish above the lot's stock",
        lambda c: {"quantity": "1000.001", "publish": True},
        "quantity",
        409,
    ),
    (
        "publish after the window ended",
        lambda c: {
            "available_from": today_plus(-10),
            "available_until": today_plus(-1),
            "publish": True,
        },
        "available_until",
        400,
    ),
]


@pytest.mark.parametrize(
    ("overrides", "field", "status"),
    [pytest.param(o, fld, s, id=name) for name, o, fld, s in LISTING_CREATE_BAD],
)
def test_bad_listing_input_is_refused_and_nothing_is_written(
    overrides: Callable[[World], dict[str, Any]],
    field: str,
    status: int,
    ctx: World,
    admin: Any,
) -> None:
    before = written()
    response = admin.post(LISTINGS, listing_body(ctx, **overrides(ctx)), format="json")
    assert response.status_code == status, response.content
    assert field in error_fields(response)
    assert written() == before


def test_foreign_ids_are_answered_like_unknown_ids(ctx: World, admin: Any) -> None:
    """Another tenant's lot or zone is not found, not forbidden: its existence stays hidden."""

    def message(url: str, data: dict[str, Any], field: str, pk: int) -> str:
        response = admin.post(url, data, format="json")
        assert response.status_code == 400
        return error_fields(response)[field][0].replace(str(pk), "<id>")

    foreign_lot, unknown = ctx["lot_a2"].pk, 987654321
    assert message(LISTINGS, listing_body(ctx, lot=foreign_lot), "lot", foreign_lot) == message(
        LISTINGS, listing_body(ctx, lot=unknown), "lot", unknown
    )
    zone = ctx["zone_shared_b"].pk
    assert message(NEEDS, need_body(ctx, delivery_zone=zone), "delivery_zone", zone) == message(
        NEEDS, need_body(ctx, delivery_zone=unknown), "delivery_zone", unknown
    )


def test_publishing_more_than_the_unreserved_stock_is_refused(ctx: World, admin: Any) -> None:
    lot = ctx["lot"]
    stock_reserve(
        actor=SYSTEM, lot=lot, holder=lot.owner, quantity_kg=Decimal("700"), expires_at=None
    )
    before = written()
    response = admin.post(LISTINGS, listing_body(ctx, quantity="301", publish=True), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert "quantity" in error_fields(response)
    assert written() == before
    response = admin.post(LISTINGS, listing_body(ctx, quantity="300", publish=True), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("url", [LISTINGS, NEEDS])
def test_malformed_json_is_a_400_on_body(url: str, ctx: World, admin: Any) -> None:
    before = written()
    response = admin.post(url, data='{"lot": 1, "quantity": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "body" in error_fields(response)
    assert written() == before


@pytest.mark.parametrize("url", [LISTINGS, NEEDS])
def test_a_body_that_is_not_an_object_is_refused(url: str, ctx: World, admin: Any) -> None:
    before = written()
    response = admin.post(url, data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in error_fields(response)
    assert written() == before


# --- Listings: update and transitions ---------------------------------------------------


@pytest.fixture
def published(ctx: World) -> Listing:
    return make_listing(ctx, status="published", published_at=timezone.now(), available_from=TODAY)


def test_patch_changes_terms_with_unit_conversion(
    ctx: World, admin: Any, published: Listing
) -> None:
    response = admin.patch(
        f"{LISTINGS}{published.pk}/",
        {"quantity": "0.75", "unit": "t", "price_per_t": "2800", "note": "price cut"},
        format="json",
    )
    assert response.status_code == 200, response.content
    published.refresh_from_db()
    assert published.quantity_kg == Decimal("750.000")
    assert published.price_per_t == Decimal("2800.00")
    assert published.note == "price cut"
    assert response.json()["quantity_kg"] == "750.000"
    assert (
        OutboxEvent.objects.order_by("-id").values_list("topic", flat=True)[0] == "listing.updated"
    )


def test_patch_cannot_move_a_listing_to_another_lot(
    ctx: World, admin: Any, published: Listing
) -> None:
    response = admin.patch(
        f"{LISTINGS}{published.pk}/", {"lot": ctx["dry_lot"].pk, "note": "n"}, format="json"
    )
    assert response.status_code == 400
    assert set(error_fields(response)) == {"lot"}
    published.refresh_from_db()
    assert (published.lot_id, published.note) == (ctx["lot"].pk, "")


LISTING_PATCH_BAD: list[tuple[str, dict[str, Any], str, int]] = [
    ("zero", {"quantity": "0"}, "quantity", 400),
    ("negative", {"quantity": "-1"}, "quantity", 400),
    ("huge", {"quantity": "1e20"}, "quantity", 400),
    ("unit lb", {"quantity": "1", "unit": "lb"}, "unit", 400),
    ("unit without quantity", {"unit": "t"}, "quantity", 400),
    ("min order above quantity", {"min_order": "101"}, "min_order", 400),
    ("window reversed", {"available_until": "2020-01-01"}, "available_until", 400),
    ("note too long", {"note": "é" * 501}, "note", 400),
    ("negative price", {"price_per_t": "-0.01"}, "price_per_t", 400),
    ("null price", {"price_per_t": None}, "price_per_t", 400),
    ("unknown visibility", {"visibility": "world"}, "visibility", 400),
    ("above the lot's stock", {"quantity": "1001"}, "quantity", 409),
]


@pytest.mark.parametrize(
    ("data", "field", "status"),
    [pytest.param(d, fld, s, id=name) for name, d, fld, s in LISTING_PATCH_BAD],
)
def test_bad_listing_patch_is_refused_and_nothing_changes(
    data: dict[str, Any],
    field: str,
    status: int,
    ctx: World,
    admin: Any,
    published: Listing,
) -> None:
    before, row = written(), Listing.objects.filter(pk=published.pk).values().get()
    response = admin.patch(f"{LISTINGS}{published.pk}/", data, format="json")
    assert response.status_code == status, response.content
    assert field in error_fields(response)
    assert written() == before
    assert Listing.objects.filter(pk=published.pk).values().get() == row


def test_malformed_json_patch_is_refused(ctx: World, admin: Any, published: Listing) -> None:
    row = Listing.objects.filter(pk=published.pk).values().get()
    response = admin.patch(
        f"{LISTINGS}{published.pk}/", data="{note: 1}", content_type="application/json"
    )
    assert response.status_code == 400
    assert "body" in error_fields(response)
    assert Listing.objects.filter(pk=published.pk).values().get() == row


def test_listing_transitions_and_their_conflicts(ctx: World, admin: Any) -> None:
    listing = make_listing(ctx, available_from=TODAY)
    url = f"{LISTINGS}{listing.pk}/"

    response = admin.post(f"{url}publish/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    assert response.json()["published_at"] is not None

    response = admin.post(f"{url}publish/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert "status" in error_fields(response)

    response = admin.post(f"{url}withdraw/")
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"

    before = written()
    response = admin.post(f"{url}withdraw/")
    assert response.status_code == 409
    assert "status" in error_fields(response)
    response = admin.patch(url, {"note": "again"}, format="json")
    assert response.status_code == 409
    assert "status" in error_fields(response)
    assert written() == before

    response = admin.post(f"{url}publish/")  # a withdrawn listing may be published again
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    topics = list(
        OutboxEvent.objects.filter(topic__startswith="listing.")
        .order_by("id")
        .values_list("topic", flat=True)
    )
    assert topics == ["listing.published", "listing.withdrawn", "listing.published"]


def test_withdrawing_a_draft(ctx: World, admin: Any) -> None:
    listing = make_listing(ctx)
    response = admin.post(f"{LISTINGS}{listing.pk}/withdraw/")
    assert response.status_code == 200
    listing.refresh_from_db()
    assert listing.status == "withdrawn"


def test_publishing_a_draft_above_the_stock_is_409_on_quantity(ctx: World, admin: Any) -> None:
    listing = make_listing(ctx, quantity_kg=Decimal("1500"))
    before = written()
    response = admin.post(f"{LISTINGS}{listing.pk}/publish/")
    assert response.status_code == 409
    assert "quantity" in error_fields(response)
    listing.refresh_from_db()
    assert listing.status == "draft"
    assert written() == before


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [("patch", "", {"note": "mine now"}), ("post", "publish/", None), ("post", "withdraw/", None)],
)
def test_writes_to_another_enterprise_listing_answer_404_even_when_visible(
    method: str, suffix: str, data: Any, ctx: World, api_client: Any
) -> None:
    listing = make_listing(
        ctx, owner="a2", status="published", visibility="park", published_at=timezone.now()
    )
    client = api_client(ctx["users"]["trader"])  # a1, same park: the listing is visible
    assert client.get(f"{LISTINGS}{listing.pk}/").status_code == 200
    before, row = written(), Listing.objects.filter(pk=listing.pk).values().get()
    response = getattr(client, method)(f"{LISTINGS}{listing.pk}/{suffix}", data, format="json")
    assert response.status_code == 404
    assert written() == before
    assert Listing.objects.filter(pk=listing.pk).values().get() == row


@pytest.mark.parametrize("role", ["warehouse_keeper", "viewer"])
@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [("patch", "", {"note": "x"}), ("post", "publish/", None), ("post", "withdraw/", None)],
)
def test_readers_may_not_change_their_own_listings(
    role: str, method: str, suffix: str, data: Any, ctx: World, api_client: Any
) -> None:
    listing = make_listing(ctx, available_from=TODAY)
    client = api_client(ctx["users"][role])
    assert client.get(f"{LISTINGS}{listing.pk}/").status_code == 200
    response = getattr(client, method)(f"{LISTINGS}{listing.pk}/{suffix}", data, format="json")
    assert response.status_code == 403
    listing.refresh_from_db()
    assert (listing.status, listing.note) == ("draft", "")


def test_regulator_may_read_but_not_change_listings_of_its_park(
    ctx: World, api_client: Any
) -> None:
    listing = make_listing(ctx)
    client = api_client(ctx["users"]["regulator"])
    assert client.get(f"{LISTINGS}{listing.pk}/").status_code == 200
    assert client.post(f"{LISTINGS}{listing.pk}/publish/").status_code == 403
    assert client.patch(f"{LISTINGS}{listing.pk}/", {"note": "x"}, format="json").status_code == 403
    assert Listing.objects.get(pk=listing.pk).status == "draft"


@pytest.mark.parametrize("url", [LISTINGS, NEEDS])
def test_no_put_and_no_delete(url: str, ctx: World, admin: Any) -> None:
    pk = make_listing(ctx).pk if url == LISTINGS else make_need(ctx).pk
    before = written()
    assert admin.put(f"{url}{pk}/", {}, format="json").status_code == 405
    response = admin.delete(f"{url}{pk}/")
    assert response.status_code == 405
    assert "method" in error_fields(response)
    assert written() == before


# --- Needs ------------------------------------------------------------------------------


def test_create_need_converts_units_and_answers_the_read_shape(ctx: World, admin: Any) -> None:
    substitute = f.MaterialFactory.create()
    response = admin.post(
        NEEDS,
        need_body(ctx, quantity="2", unit="m3", substitutes=[substitute.pk]),
        format="json",
    )
    assert response.status_code == 201, response.content
    row = response.json()
    need = Need.objects.get(pk=row["id"])
    assert need.quantity_kg == Decimal("1600.000")  # 2 m³ × 800 kg/m³
    assert need.enterprise == ctx["enterprises"]["a1"]
    assert list(need.substitutes.all()) == [substitute]
    assert row["substitutes"] == [substitute.pk]
    assert row["quantity_kg"] == "1600.000"
    assert row["status"] == "open"
    assert row["delivery_zone"] == ctx["zones"]["a1"].pk
    assert row["delivery_warehouse"] == ctx["zones"]["a1"].warehouse_id
    assert row["park_code"] == "park-a"
    assert row["material_name_en"] == ctx["material"].name_en
    assert OutboxEvent.objects.order_by("-id").values_list("topic", flat=True)[0] == "need.opened"


def test_need_may_be_delivered_to_a_shared_zone_of_the_own_park_or_a_point(
    ctx: World, admin: Any
) -> None:
    response = admin.post(
        NEEDS, need_body(ctx, delivery_zone=ctx["zones"]["shared"].pk), format="json"
    )
    assert response.status_code == 201, response.content
    response = admin.post(
        NEEDS,
        need_body(ctx, delivery_zone=DROP, delivery_latitude="29.95", delivery_longitude="121.71"),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["delivery_latitude"] == "29.950000"
    assert response.json()["delivery_zone"] is None


def test_need_due_today_is_accepted(ctx: World, admin: Any) -> None:
    response = admin.post(NEEDS, need_body(ctx, needed_by=today_plus(0)), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("role", ["enterprise_admin", "trader"])
def test_admins_and_traders_post_needs(role: str, ctx: World, api_client: Any) -> None:
    response = api_client(ctx["users"][role]).post(NEEDS, need_body(ctx), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "role", ["warehouse_keeper", "viewer", "regulator", "park_operator", "superuser"]
)
def test_other_roles_may_not_post_needs(role: str, ctx: World, api_client: Any) -> None:
    before = written()
    response = api_client(ctx["users"][role]).post(NEEDS, need_body(ctx), format="json")
    assert response.status_code == 403
    assert "detail" in error_fields(response)
    assert written() == before


NEED_CREATE_BAD: list[tuple[str, Callable[[World], dict[str, Any]], str]] = [
    ("unknown material", lambda c: {"material": 987654321}, "material"),
    ("missing material", lambda c: {"material": DROP}, "material"),
    (
        "inactive material",
        lambda c: {"material": f.MaterialFactory.create(is_active=False).pk},
        "material",
    ),
    ("unknown substitute", lambda c: {"substitutes": [987654321]}, "substitutes"),
    ("substitute beyond any key", lambda c: {"substitutes": [2**63]}, "substitutes.0"),
    ("misspelt field", lambda c: {"needed_before": "2030-01-01"}, "needed_before"),
    (
        "material as its own substitute",
        lambda c: {"substitutes": [c["material"].pk]},
        "substitutes",
    ),
    ("substitutes not a list", lambda c: {"substitutes": "3"}, "substitutes"),
    ("too many substitutes", lambda c: {"substitutes": list(range(1, 60))}, "substitutes"),
    ("negative", lambda c: {"quantity": "-2"}, "quantity"),
    ("zero", lambda c: {"quantity": "0"}, "quantity"),
    ("huge", lambda c: {"quantity": "1e20"}, "quantity"),
    ("huge once converted", lambda c: {"quantity": "20000000", "unit": "t"}, "quantity"),
    ("unit lb", lambda c: {"unit": "lb"}, "unit"),
    ("litres without density", lambda c: {"material": c["dry"].pk, "unit": "L"}, "unit"),
    ("negative price", lambda c: {"max_price_per_t": "-1"}, "max_price_per_t"),
    ("huge price", lambda c: {"max_price_per_t": "1e20"}, "max_price_per_t"),
    ("needed yesterday", lambda c: {"needed_by": today_plus(-1)}, "needed_by"),
    ("bad date", lambda c: {"needed_by": "tomorrow"}, "needed_by"),
    ("unknown zone", lambda c: {"delivery_zone": 987654321}, "delivery_zone"),
    (
        "another enterprise's zone",
        lambda c: {"delivery_zone": c["zones"]["a2"].pk},
        "delivery_zone",
    ),
    ("a zone in another park", lambda c: {"delivery_zone": c["zones"]["c"].pk}, "delivery_zone"),
    (
        "a shared zone of another park",
        lambda c: {"delivery_zone": c["zone_shared_b"].pk},
        "delivery_zone",
    ),
    ("no delivery place", lambda c: {"delivery_zone": DROP}, "delivery_zone"),
    (
        "latitude without longitude",
        lambda c: {"delivery_zone": None, "delivery_latitude": "30"},
        "delivery_zone",
    ),
    (
        "latitude out of range",
        lambda c: {"delivery_latitude": "91", "delivery_longitude": "121"},
        "delivery_latitude",
    ),
    (
        "longitude out of range",
        lambda c: {"delivery_latitude": "30", "delivery_longitude": "-181"},
        "delivery_longitude",
    ),
    ("negative distance", lambda c: {"max_distance_km": "-1"}, "max_distance_km"),
    ("distance beyond the earth", lambda c: {"max_distance_km": "20001"}, "max_distance_km"),
    ("purity above 100", lambda c: {"min_purity_pct": "100.001"}, "min_purity_pct"),
    ("note too long", lambda c: {"note": "n" * 501}, "note"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(o, fld, id=name) for name, o, fld in NEED_CREATE_BAD],
)
def test_bad_need_input_is_refused_and_nothing_is_written(
    overrides: Callable[[World], dict[str, Any]], field: str, ctx: World, admin: Any
) -> None:
    data = need_body(ctx, **overrides(ctx))
    before = written()
    response = admin.post(NEEDS, data, format="json")
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert written() == before


@pytest.fixture
def need(ctx: World) -> Need:
    return make_need(
        ctx, delivery_zone=ctx["zones"]["a1"], delivery_latitude=None, delivery_longitude=None
    )


def test_patch_need_with_unit_conversion_and_substitutes(
    ctx: World, admin: Any, need: Need
) -> None:
    substitute = f.MaterialFactory.create()
    response = admin.patch(
        f"{NEEDS}{need.pk}/",
        {"quantity": "1.2", "unit": "t", "substitutes": [substitute.pk], "max_price_per_t": None},
        format="json",
    )
    assert response.status_code == 200, response.content
    need.refresh_from_db()
    assert need.quantity_kg == Decimal("1200.000")
    assert need.max_price_per_t is None
    assert list(need.substitutes.values_list("pk", flat=True)) == [substitute.pk]
    assert response.json()["substitutes"] == [substitute.pk]
    response = admin.patch(f"{NEEDS}{need.pk}/", {"note": "keep subs"}, format="json")
    assert response.json()["substitutes"] == [substitute.pk]


NEED_PATCH_BAD: list[tuple[str, Callable[[World], dict[str, Any]], str]] = [
    ("zero", lambda c: {"quantity": "0"}, "quantity"),
    ("huge", lambda c: {"quantity": 1e20}, "quantity"),
    ("unit lb", lambda c: {"quantity": "1", "unit": "lb"}, "unit"),
    ("unit without quantity", lambda c: {"unit": "t"}, "quantity"),
    ("needed yesterday", lambda c: {"needed_by": today_plus(-1)}, "needed_by"),
    (
        "another enterprise's zone",
        lambda c: {"delivery_zone": c["zones"]["a2"].pk},
        "delivery_zone",
    ),
    (
        "a shared zone of another park",
        lambda c: {"delivery_zone": c["zone_shared_b"].pk},
        "delivery_zone",
    ),
    ("no delivery place left", lambda c: {"delivery_zone": None}, "delivery_zone"),
    (
        "material as its own substitute",
        lambda c: {"substitutes": [c["material"].pk]},
        "substitutes",
    ),
    ("note too long", lambda c: {"note": "n" * 501}, "note"),
]


@pytest.mark.parametrize(
    ("data", "field"),
    [pytest.param(d, fld, id=name) for name, d, fld in NEED_PATCH_BAD],
)
def test_bad_need_patch_is_refused_and_nothing_changes(
    data: Callable[[World], dict[str, Any]], field: str, ctx: World, admin: Any, need: Need
) -> None:
    before, row = written(), Need.objects.filter(pk=need.pk).values().get()
    response = admin.patch(f"{NEEDS}{need.pk}/", data(ctx), format="json")
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert written() == before
    assert Need.objects.filter(pk=need.pk).values().get() == row


def test_malformed_json_need_patch_is_refused(ctx: World, admin: Any, need: Need) -> None:
    row = Need.objects.filter(pk=need.pk).values().get()
    response = admin.patch(f"{NEEDS}{need.pk}/", data="{", content_type="application/json")
    assert response.status_code == 400
    assert "body" in error_fields(response)
    assert Need.objects.filter(pk=need.pk).values().get() == row


def test_need_transitions_and_their_conflicts(ctx: World, admin: Any, need: Need) -> None:
    url = f"{NEEDS}{need.pk}/"
    response = admin.post(f"{url}close/")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"

    before = written()
    response = admin.post(f"{url}close/")
    assert response.status_code == 409
    assert "status" in error_fields(response)
    response = admin.patch(url, {"note": "changed"}, format="json")
    assert response.status_code == 409
    assert "status" in error_fields(response)
    assert written() == before

    response = admin.post(f"{url}reopen/")
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    response = admin.post(f"{url}reopen/")
    assert response.status_code == 409
    topics = list(
        OutboxEvent.objects.filter(topic__startswith="need.")
        .order_by("id")
        .values_list("topic", flat=True)
    )
    assert topics == ["need.closed", "need.opened"]


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("get", "", None),
        ("patch", "", {"note": "mine now"}),
        ("post", "close/", None),
        ("post", "reopen/", None),
    ],
)
def test_needs_of_another_enterprise_answer_404(
    method: str, suffix: str, data: Any, ctx: World, api_client: Any
) -> None:
    need = make_need(ctx, owner="a2")
    client = api_client(ctx["users"]["trader"])
    before, row = written(), Need.objects.filter(pk=need.pk).values().get()
    response = getattr(client, method)(f"{NEEDS}{need.pk}/{suffix}", data, format="json")
    assert response.status_code == 404
    assert written() == before
    assert Need.objects.filter(pk=need.pk).values().get() == row


@pytest.mark.parametrize("role", ["warehouse_keeper", "viewer", "regulator", "park_operator"])
@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [("patch", "", {"note": "x"}), ("post", "close/", None)],
)
def test_readers_may_not_change_needs(
    role: str, method: str, suffix: str, data: Any, ctx: World, api_client: Any, need: Need
) -> None:
    client = api_client(ctx["users"][role])
    assert client.get(f"{NEEDS}{need.pk}/").status_code == 200
    response = getattr(client, method)(f"{NEEDS}{need.pk}/{suffix}", data, format="json")
    assert response.status_code == 403
    need.refresh_from_db()
    assert (need.status, need.note) == ("open", "")


# --- Filters, search, ordering ----------------------------------------------------------


@pytest.fixture
def catalogue(ctx: World) -> dict[str, Any]:
    """Listings visible to a1 with distinct materials, prices, quantities and dates."""
    chlorine = f.MaterialFactory.create(
        name_en="Chlorine", name_zh="液氯", cas="7782-50-5", primary_class="2.3"
    )
    methanol = f.MaterialFactory.create(
        name_en="Methanol", name_zh="甲醇", cas="67-56-1", primary_class="3"
    )
    zones = ctx["zones"]
    now = timezone.now()

    def listing(zone: str, material: Any, **kwargs: Any) -> Listing:
        lot = f.LotFactory.create(zone=zones[zone], material=material)
        return f.ListingFactory.create(lot=lot, **kwargs)

    rows = {
        "cl_cheap": listing(
            "a1",
            chlorine,
            price_per_t=Decimal("900"),
            quantity_kg=Decimal("50"),
            status="published",
            published_at=now - timedelta(days=20),
            available_from=date(2026, 3, 1),
            available_until=date(2026, 3, 31),
        ),
        "cl_dear": listing(
            "a2",
            chlorine,
            price_per_t=Decimal("5000"),
            quantity_kg=Decimal("5000"),
            status="published",
            published_at=now - timedelta(days=2),
            available_from=date(2026, 6, 1),
            note="cylinders, 1 t each",
        ),
        "meoh": listing(
            "c",
            methanol,
            price_per_t=Decimal("2500"),
            quantity_kg=Decimal("800"),
            status="published",
            visibility="all",
            published_at=now - timedelta(days=1),
            available_from=date(2026, 9, 1),
        ),
        "meoh_draft": listing(
            "a1",
            methanol,
            price_per_t=Decimal("2500"),
            quantity_kg=Decimal("100"),
            available_from=date(2026, 9, 1),
        ),
    }
    return {"chlorine": chlorine, "methanol": methanol, **rows}


def listing_keys(client: Any, catalogue: dict[str, Any], **params: Any) -> list[str]:
    response = client.get(LISTINGS, params)
    assert response.status_code == 200, response.content
    names = {v.pk: k for k, v in catalogue.items() if isinstance(v, Listing)}
    return [names[row["id"]] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"cl_cheap", "cl_dear", "meoh", "meoh_draft"}),
        ({"material": "<chlorine>"}, {"cl_cheap", "cl_dear"}),
        ({"material": "<chlorine>,<methanol>"}, {"cl_cheap", "cl_dear", "meoh", "meoh_draft"}),
        ({"cas": "67-56-1"}, {"meoh", "meoh_draft"}),
        ({"hazard_class": "2.3"}, {"cl_cheap", "cl_dear"}),
        ({"park": "<park c>"}, {"meoh"}),
        ({"seller": "<a2>"}, {"cl_dear"}),
        ({"status": "draft"}, {"meoh_draft"}),
        ({"visibility": "all"}, {"meoh"}),
        ({"price_min": "1000", "price_max": "2500"}, {"meoh", "meoh_draft"}),
        ({"quantity_min": "100", "quantity_max": "800"}, {"meoh", "meoh_draft"}),
        (
            {"available_from_after": "2026-05-01", "available_from_before": "2026-06-30"},
            {"cl_dear"},
        ),
        ({"available_on": "2026-03-15"}, {"cl_cheap"}),
        ({"available_on": "2026-04-15"}, set()),
        ({"published_at_after": "<3 days ago>"}, {"cl_dear", "meoh"}),
        ({"search": "chlor"}, {"cl_cheap", "cl_dear"}),
        ({"search": "甲醇"}, {"meoh", "meoh_draft"}),
        ({"search": "7782-50"}, {"cl_cheap", "cl_dear"}),
        ({"search": "cylinders"}, {"cl_dear"}),
    ],
)
def test_listing_filters(
    params: dict[str, str],
    expected: set[str],
    ctx: World,
    catalogue: dict[str, Any],
    api_client: Any,
) -> None:
    values = {
        "<chlorine>": str(catalogue["chlorine"].pk),
        "<methanol>": str(catalogue["methanol"].pk),
        "<park c>": str(ctx["parks"]["c"].pk),
        "<a2>": str(ctx["enterprises"]["a2"].pk),
        "<3 days ago>": today_plus(-3),
    }
    resolved = {}
    for key, value in params.items():
        for token, real in values.items():
            value = value.replace(token, real)
        resolved[key] = value
    client = api_client(ctx["users"]["viewer"])
    keys = listing_keys(client, catalogue, **resolved)
    assert set(keys) == expected
    assert len(keys) == len(expected)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price_per_t", ["cl_cheap", "meoh_draft", "meoh", "cl_dear"]),  # ties: newest first
        ("-price_per_t", ["cl_dear", "meoh_draft", "meoh", "cl_cheap"]),
        ("quantity_kg", ["cl_cheap", "meoh_draft", "meoh", "cl_dear"]),
        ("id", ["cl_cheap", "cl_dear", "meoh", "meoh_draft"]),
        ("", ["meoh_draft", "meoh", "cl_dear", "cl_cheap"]),
    ],
)
def test_listing_ordering(
    ordering: str, expected: list[str], ctx: World, catalogue: dict[str, Any], api_client: Any
) -> None:
    client = api_client(ctx["users"]["viewer"])
    assert listing_keys(client, catalogue, ordering=ordering) == expected


def test_listing_ordering_by_publication_date(
    ctx: World, catalogue: dict[str, Any], api_client: Any
) -> None:
    client = api_client(ctx["users"]["viewer"])
    keys = listing_keys(client, catalogue, ordering="-published_at", status="published")
    assert keys == ["meoh", "cl_dear", "cl_cheap"]


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (LISTINGS, {"price_min": "cheap"}, "price_min"),
        (LISTINGS, {"hazard_class": "99"}, "hazard_class"),
        (LISTINGS, {"status": "sold"}, "status"),
        (LISTINGS, {"material": "a,b"}, "material"),
        (LISTINGS, {"available_on": "someday"}, "available_on"),
        (LISTINGS, {"published_at_after": "2026-02-30"}, "published_at"),
        (NEEDS, {"quantity_min": "lots"}, "quantity_min"),
        (NEEDS, {"needed_by_before": "soon"}, "needed_by"),
        (NEEDS, {"status": "pending"}, "status"),
    ],
)
def test_bad_filter_values_are_a_400_naming_the_parameter(
    url: str, params: dict[str, str], field: str, ctx: World, admin: Any
) -> None:
    response = admin.get(url, params)
    assert response.status_code == 400
    assert field in error_fields(response)


def test_need_filters_search_and_ordering(ctx: World, admin: Any) -> None:
    acid = f.MaterialFactory.create(name_en="Sulphuric acid", name_zh="硫酸", primary_class="8")
    n1 = make_need(
        ctx, quantity_kg=Decimal("100"), max_price_per_t=Decimal("800"), needed_by=date(2027, 1, 10)
    )
    n2 = make_need(
        ctx,
        material=acid,
        quantity_kg=Decimal("900"),
        max_price_per_t=Decimal("1500"),
        needed_by=date(2027, 3, 1),
        note="tank truck only",
    )
    n3 = make_need(ctx, quantity_kg=Decimal("400"), needed_by=date(2027, 2, 1), status="closed")
    make_need(ctx, owner="a2", material=acid)  # not ours: never listed

    def ids(**params: Any) -> list[int]:
        response = admin.get(NEEDS, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [n3.pk, n2.pk, n1.pk]
    assert ids(material=acid.pk) == [n2.pk]
    assert ids(hazard_class="8") == [n2.pk]
    assert ids(cas=ctx["material"].cas) == [n3.pk, n1.pk]
    assert ids(status="open") == [n2.pk, n1.pk]
    assert ids(enterprise=ctx["enterprises"]["a2"].pk) == []
    assert ids(park=ctx["parks"]["a"].pk) == [n3.pk, n2.pk, n1.pk]
    assert ids(price_min="1000") == [n2.pk]
    assert ids(price_max="1000") == [n1.pk]
    assert ids(quantity_min="300", quantity_max="500") == [n3.pk]
    assert ids(needed_by_after="2027-01-15", needed_by_before="2027-02-15") == [n3.pk]
    assert ids(search="硫酸") == [n2.pk]
    assert ids(search="tank truck") == [n2.pk]
    assert ids(ordering="needed_by") == [n1.pk, n3.pk, n2.pk]
    assert ids(ordering="-quantity_kg") == [n2.pk, n3.pk, n1.pk]


# --- Query counts -----------------------------------------------------------------------


def count_queries(client: Any, url: str, **params: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(queries.captured_queries), len(response.json()["results"])


def test_listing_list_queries_do_not_grow_with_the_page(ctx: World, api_client: Any) -> None:
    for i in range(12):
        f.ListingFactory.create(
            lot=f.LotFactory.create(zone=ctx["zones"]["a1"], material=ctx["material"])
        )
        f.ListingFactory.create(
            lot=f.LotFactory.create(zone=ctx["zones"]["b"], material=f.MaterialFactory.create()),
            status="published",
            visibility="region" if i % 2 else "all",
            published_at=timezone.now(),
        )
    client = api_client(ctx["users"]["viewer"])
    small, n_small = count_queries(client, LISTINGS, page_size=2)
    large, n_large = count_queries(client, LISTINGS, page_size=20)
    assert (n_small, n_large) == (2, 20)
    assert small == large
    assert large <= 5
    filtered, _ = count_queries(
        client, LISTINGS, page_size=20, search="Material", ordering="-price_per_t", price_min=1
    )
    assert filtered == large
    pk = Listing.objects.values_list("pk", flat=True).first()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{LISTINGS}{pk}/").status_code == 200
    assert len(queries.captured_queries) <= 3


def test_need_list_queries_do_not_grow_with_the_page(ctx: World, api_client: Any) -> None:
    subs = [f.MaterialFactory.create() for _ in range(3)]
    for i in range(22):
        need = make_need(ctx, delivery_zone=ctx["zones"]["a1"] if i % 2 else None)
        need.substitutes.set(subs[: i % 4])
    client = api_client(ctx["users"]["trader"])
    small, n_small = count_queries(client, NEEDS, page_size=2)
    large, n_large = count_queries(client, NEEDS, page_size=20)
    assert (n_small, n_large) == (2, 20)
    assert small == large
    assert large <= 5
    regulator = api_client(ctx["users"]["regulator"])
    assert count_queries(regulator, NEEDS, page_size=20)[0] <= 6  # + the park roles


def test_unknown_json_keys_are_refused_before_the_services(ctx: World, admin: Any) -> None:
    data = listing_body(ctx, status="published", seller=ctx["enterprises"]["a2"].pk)
    before = written()
    response = admin.post(LISTINGS, data, format="json")
    assert response.status_code == 400
    assert set(error_fields(response)) == {"status", "seller"}
    assert written() == before


def test_json_encoding_of_errors_is_plain(ctx: World, admin: Any) -> None:
    response = admin.post(LISTINGS, listing_body(ctx, quantity="0"), format="json")
    body = json.loads(response.content)
    assert body["error"]["status"] == 400
    assert body["error"]["code"] == "invalid"
    assert body["error"]["message"].startswith("quantity: ")


# --- Read serializers -------------------------------------------------------------------


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "UTC"])
def test_flat_read_serializers_render_exactly_as_drf_would(
    zone_name: str, ctx: World, api_client: Any
) -> None:
    """The compiled rendering of ListingSerializer and NeedSerializer is DRF's, value for
    value: Nones, decimals, dates, datetimes in the current time zone, substitutes."""
    no_cas = f.MaterialFactory.create(cas=None)
    make_listing(ctx, status="published", published_at=timezone.now(), note="n")
    make_listing(ctx, available_until=date(2027, 1, 1))
    f.ListingFactory.create(lot=f.LotFactory.create(zone=ctx["zones"]["a1"], material=no_cas))
    need = make_need(ctx, delivery_zone=ctx["zones"]["a1"], max_price_per_t=Decimal("12.5"))
    need.substitutes.set([no_cas])
    make_need(ctx, min_purity_pct=Decimal("99.5"), max_distance_km=Decimal("50"))
    scope = Scope(user=ctx["users"]["superuser"], is_superuser=True)
    cases = [
        (ListingSerializer, listing_list(scope=scope).only(*LISTING_READ_COLUMNS)),
        (NeedSerializer, need_list(scope=scope)),
    ]
    with timezone.override(zone_name):
        for serializer_class, queryset in cases:
            rows = list(queryset)
            assert len(rows) >= 2
            for row in rows:
                serializer = serializer_class(row)
                drf = serializers.ModelSerializer.to_representation(serializer, row)
                assert serializer.to_representation(row) == drf


@pytest.mark.parametrize("kind", ["listing", "need"])
def test_browsable_api_pages_render(kind: str, ctx: World, admin: Any) -> None:
    """The HTML pages build forms from the write serializers; they must not fail."""
    if kind == "listing":
        url, pk = LISTINGS, make_listing(ctx).pk
    else:
        need = make_need(ctx)
        need.substitutes.set([f.MaterialFactory.create()])
        url, pk = NEEDS, need.pk
    for path in (url, f"{url}{pk}/"):
        response = admin.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
