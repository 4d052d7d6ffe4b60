"""REST API v1 of orders: who reads which, creation from a match and on a listing, each
step as an action, bad input, filters and query counts."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.models import OutboxEvent
from inventory.models import Reservation, StockLot
from marketplace.models import Listing
from orders.models import Order, OrderStatus, OrderTransition
from tests import factories as f
from tests.orders.conftest import World, order_in, place

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def error_fields(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["fields"]


def post(client: Any, url: str, data: Any = None, **kwargs: Any) -> Any:
    return client.post(url, data if data is not None else {}, format="json", **kwargs)


def act(client: Any, order: Order, action: str, data: Any = None) -> Any:
    return post(client, f"{ORDERS}{order.pk}/{action}/", data)


def snapshot() -> dict[str, Any]:
    return {
        "orders": list(Order.objects.order_by("pk").values()),
        "transitions": OrderTransition.objects.count(),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "lots": list(StockLot.objects.order_by("pk").values("on_hand_kg", "reserved_kg")),
        "events": OutboxEvent.objects.count(),
    }


def user(deal: World, who: str) -> Any:
    side, _, role = who.partition(".")
    if side in ("seller", "buyer"):
        return deal[f"{side}s"][role]
    return deal["users"][who]


def client_of(deal: World, api_client: Any, who: str) -> Any:
    return api_client(user(deal, who))


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("seller.trader", True),
        ("seller.viewer", True),
        ("buyer.keeper", True),
        ("buyer.viewer", True),
        ("park_b_admin", False),
        ("park_operator", True),
        ("regulator", True),
        ("regulator_c", False),
        ("superuser", True),
    ],
)
def test_orders_are_read_by_the_parties_and_their_parks_staff(
    who: str, sees: bool, deal: World, api_client: Any
) -> None:
    order = place(deal)
    client = client_of(deal, api_client, who)
    listed = {row["id"] for row in client.get(ORDERS).json()["results"]}
    assert (order.pk in listed) == sees
    response = client.get(f"{ORDERS}{order.pk}/")
    assert response.status_code == (200 if sees else 404)


def test_an_order_as_read(deal: World, api_client: Any) -> None:
    order = place(deal, "150")
    client = client_of(deal, api_client, "buyer.trader")
    body = client.get(f"{ORDERS}{order.pk}/").json()
    assert body["status"] == "reserved"
    assert (body["seller"], body["buyer"]) == (deal["seller"].pk, deal["buyer"].pk)
    assert body["seller_name_zh"] == deal["seller"].name_zh
    assert body["buyer_name_en"] == deal["buyer"].name_en
    assert (body["material"], body["material_cas"]) == (deal["material"].pk, deal["material"].cas)
    assert (body["listing"], body["need"], body["match"]) == (deal["listing"].pk, None, None)
    assert (body["lot"], body["buyer_lot"], body["delivery_zone"]) == (deal["lot"].pk, None, None)
    assert body["quantity_kg"] == "150.000"
    assert (body["price_per_t"], body["transport_per_t"], body["total_yuan"]) == (
        "3000.00",
        "0.00",
        "450.00",
    )
    assert (body["reservation"], body["reservation_status"]) == (order.reservation_id, "held")
    assert body["hold_until"] is not None
    assert body["shared_transfer"] is False
    assert body["transitions"] == [
        {
            "from_status": "",
            "to_status": "reserved",
            "actor": deal["buyers"]["trader"].pk,
            "actor_username": deal["buyers"]["trader"].username,
            "at": body["transitions"][0]["at"],
            "reason": "",
        }
    ]
    listed = client.get(ORDERS).json()["results"][0]
    assert "transitions" not in listed
    assert listed == {k: v for k, v in body.items() if k != "transitions"}


def count_queries(client: Any, url: str, **params: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    results = response.json().get("results")
    return len(queries.captured_queries), len(results) if results is not None else 1


@pytest.mark.parametrize(("who", "limit"), [("buyer.trader", 3), ("regulator", 5)])
def test_list_queries_do_not_grow_with_the_page(
    who: str, limit: int, deal: World, api_client: Any
) -> None:
    for _ in range(6):
        order_in(deal, OrderStatus.CONFIRMED, kg="10")
    client = client_of(deal, api_client, who)
    small, n_small = count_queries(client, ORDERS, page_size=2)
    large, n_large = count_queries(client, ORDERS, page_size=6)
    assert (n_small, n_large) == (2, 6)
    assert small == large <= limit
    filtered, _ = count_queries(
        client, ORDERS, page_size=6, status="confirmed", material=deal["material"].pk
    )
    assert filtered == large
    # One order with its steps: the token, (the parks' enterprises,) the order, its steps.
    detail, _ = count_queries(client, f"{ORDERS}{Order.objects.first().pk}/")  # type: ignore[union-attr]
    assert detail <= limit


# --- creating -----------------------------------------------------------------------------


def test_order_an_agreed_match(deal: World, api_client: Any) -> None:
    client = client_of(deal, api_client, "seller.trader")
    response = post(client, ORDERS, {"match": deal["match"].pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["match"], body["need"]) == (
        "reserved",
        deal["match"].pk,
        deal["need"].pk,
    )
    assert body["quantity_kg"] == "300.000"
    assert len(body["transitions"]) == 1
    again = post(client_of(deal, api_client, "buyer.admin"), ORDERS, {"match": deal["match"].pk})
    assert again.status_code == 409
    assert "match" in error_fields(again)


def test_order_directly_from_a_listing(deal: World, api_client: Any) -> None:
    client = client_of(deal, api_client, "buyer.trader")
    response = post(
        client, ORDERS, {"listing": deal["listing"].pk, "quantity": "0.12", "unit": "t"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["quantity_kg"], body["total_yuan"], body["need"]) == ("120.000", "360.00", None)
    # Without a unit, the material's default (kg).
    response = post(client, ORDERS, {"listing": deal["listing"].pk, "quantity": "5"})
    assert response.json()["quantity_kg"] == "5.000"
    # In litres, with the material's density (0.8 kg/L).
    response = post(client, ORDERS, {"listing": deal["listing"].pk, "quantity": "10", "unit": "L"})
    assert response.json()["quantity_kg"] == "8.000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"listing": "LISTING", "quantity": "-5"}, "quantity"),
        ({"listing": "LISTING", "quantity": "0"}, "quantity"),
        ({"listing": "LISTING", "quantity": "1e20"}, "quantity"),
        ({"listing": "LISTING", "quantity": "abc"}, "quantity"),
        ({"listing": "LISTING", "quantity": "5", "unit": "bbl"}, "unit"),
        ({"listing": "LISTING"}, "quantity"),
        ({"listing": 999999, "quantity": "5"}, "listing"),
        ({"listing": "FAR", "quantity": "5"}, "listing"),  # another park's, not visible
        ({"listing": "DRAFT", "quantity": "5"}, "listing"),  # another enterprise's draft
        ({"listing": "x", "quantity": "5"}, "listing"),
        ({"match": 999999}, "match"),
        ({"match": "OTHERS"}, "match"),  # a match between other enterprises
        ({"match": "MATCH", "quantity": "5"}, "quantity"),
        ({"match": "MATCH", "listing": "LISTING"}, "non_field_errors"),
        ({}, "non_field_errors"),
        ({"listing": "LISTING", "quantity": "5", "price_per_t": "1"}, "price_per_t"),
        ({"listing": "LISTING", "quantity": "5", "buyer": 1}, "buyer"),
    ],
)
def test_bad_input_is_a_400_on_the_field_and_writes_nothing(
    body: dict[str, Any], field: str, deal: World, api_client: Any, receive: Any
) -> None:
    far_lot = receive(zone=deal["zones"]["c"], material=deal["material"], quantity="100")
    far = f.ListingFactory.create(lot=far_lot, status="published", visibility="park")
    draft_lot = receive(zone=deal["zones"]["b"], material=deal["material"], quantity="100")
    draft = f.ListingFactory.create(lot=draft_lot, status="draft", visibility="all")
    others = f.MatchFactory.create(
        listing=far, need=f.NeedFactory.create(enterprise=deal["enterprises"]["b"])
    )
    names = {
        "LISTING": deal["listing"].pk,
        "FAR": far.pk,
        "DRAFT": draft.pk,
        "MATCH": deal["match"].pk,
        "OTHERS": others.pk,
    }
    data = {k: names.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = snapshot()
    response = post(client_of(deal, api_client, "buyer.trader"), ORDERS, data)
    assert response.status_code == 400, response.content
    assert field in error_fields(response), response.json()
    assert snapshot() == before


def test_domain_refusals_name_their_field(deal: World, api_client: Any) -> None:
    client = client_of(deal, api_client, "buyer.trader")
    # 300 kg of the 500 kg listing are agreed: 201 kg are too many.
    response = post(client, ORDERS, {"listing": deal["listing"].pk, "quantity": "201"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "quantity" in error_fields(response)
    own = post(
        client_of(deal, api_client, "seller.trader"),
        ORDERS,
        {"listing": deal["listing"].pk, "quantity": "5"},
    )
    assert own.status_code == 400
    assert "listing" in error_fields(own)
    Listing.objects.filter(pk=deal["listing"].pk).update(min_order_kg=Decimal(50))
    small = post(client, ORDERS, {"listing": deal["listing"].pk, "quantity": "49"})
    assert small.status_code == 400
    assert "quantity" in error_fields(small)
    assert Order.objects.count() == 0


def test_malformed_json_is_a_400(deal: World, api_client: Any) -> None:
    client = client_of(deal, api_client, "buyer.trader")
    response = client.post(ORDERS, data='{"listing": ', content_type="application/json")
    assert response.status_code == 400
    assert "body" in error_fields(response)
    order = place(deal)
    response = client.post(
        f"{ORDERS}{order.pk}/cancel/", data="{oops", content_type="application/json"
    )
    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED


@pytest.mark.parametrize("who", ["buyer.keeper", "buyer.viewer", "regulator", "park_operator"])
def test_who_may_not_place_orders_gets_403(who: str, deal: World, api_client: Any) -> None:
    response = post(
        client_of(deal, api_client, who), ORDERS, {"listing": deal["listing"].pk, "quantity": "5"}
    )
    assert response.status_code == 403
    assert Order.objects.count() == 0


# --- steps --------------------------------------------------------------------------------


def test_the_whole_way_through_the_api(deal: World, api_client: Any) -> None:
    seller_trader = client_of(deal, api_client, "seller.trader")
    seller_keeper = client_of(deal, api_client, "seller.keeper")
    buyer_keeper = client_of(deal, api_client, "buyer.keeper")
    buyer_trader = client_of(deal, api_client, "buyer.trader")
    order_id = post(buyer_trader, ORDERS, {"match": deal["match"].pk}).json()["id"]
    order = Order.objects.get(pk=order_id)
    body = act(seller_trader, order, "confirm", {"reason": "ready on Monday"}).json()
    assert (body["status"], body["hold_until"], body["reservation_status"]) == (
        "confirmed",
        None,
        "held",
    )
    assert body["transitions"][-1]["reason"] == "ready on Monday"
    body = act(seller_keeper, order, "dispatch").json()
    assert (body["status"], body["reservation_status"]) == ("dispatched", "consumed")
    zone = deal["zones"]["a2"]
    body = act(buyer_keeper, order, "receive", {"zone": zone.pk}).json()
    assert (body["status"], body["delivery_zone"]) == ("received", zone.pk)
    assert StockLot.objects.get(pk=body["buyer_lot"]).owner == deal["buyer"]
    body = act(buyer_trader, order, "complete").json()
    assert body["status"] == "completed"
    assert [t["to_status"] for t in body["transitions"]] == [
        "reserved",
        "confirmed",
        "dispatched",
        "received",
        "completed",
    ]


def test_transfer_in_the_shared_warehouse(deal: World, api_client: Any) -> None:
    order = order_in(deal, OrderStatus.CONFIRMED, listing=deal["shared_listing"])
    client = client_of(deal, api_client, "buyer.keeper")
    body = act(client, order, "transfer").json()
    assert (body["status"], body["shared_transfer"]) == ("received", True)
    assert body["delivery_zone"] == deal["zones"]["shared"].pk
    other = order_in(deal, OrderStatus.CONFIRMED, listing=deal["shared_listing"])
    zone = deal["shared_zone_2"]
    body = act(client, other, "transfer", {"zone": zone.pk}).json()
    assert body["delivery_zone"] == zone.pk
    private = order_in(deal, OrderStatus.CONFIRMED)
    response = act(client, private, "transfer", {"zone": None})
    assert response.status_code == 409
    assert "lot" in error_fields(response)


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("buyer.trader", "confirm", 403),  # the seller's step
        ("seller.trader", "cancel", 403),  # the buyer's step
        ("seller.keeper", "confirm", 403),  # a keeper does not confirm
        ("buyer.trader", "receive", 403),  # a trader does not receive
        ("seller.viewer", "reject", 403),
        ("regulator", "confirm", 403),
        ("park_operator", "confirm", 403),
        ("superuser", "confirm", 403),  # not a party
        ("park_b_admin", "confirm", 404),  # another enterprise's order
        ("regulator_c", "cancel", 403),  # read-only before anything is looked up
        ("seller.keeper", "dispatch", 409),  # reserved, not confirmed
        ("buyer.trader", "complete", 409),
    ],
)
def test_refused_steps(who: str, action: str, status: int, deal: World, api_client: Any) -> None:
    order = place(deal)
    data = {"zone": deal["zones"]["a2"].pk} if action == "receive" else None
    before = snapshot()
    response = act(client_of(deal, api_client, who), order, action, data)
    assert response.status_code == status, response.content
    if status == 409:
        assert "status" in error_fields(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("cancel", {"reason": "x" * 501}, "reason"),
        ("cancel", {"reason": 5, "why": "x"}, "why"),
        ("cancel", {"quantity": "5"}, "quantity"),
    ],
)
def test_bad_step_input(
    action: str, data: dict[str, Any], field: str, deal: World, api_client: Any
) -> None:
    order = place(deal)
    before = snapshot()
    response = act(client_of(deal, api_client, "buyer.trader"), order, action, data)
    assert response.status_code == 400
    assert field in error_fields(response)
    assert snapshot() == before


def test_a_reason_of_exactly_500_characters_is_taken(deal: World, api_client: Any) -> None:
    order = place(deal)
    response = act(
        client_of(deal, api_client, "seller.trader"), order, "reject", {"reason": "因" * 500}
    )
    assert response.status_code == 200
    assert response.json()["transitions"][-1]["reason"] == "因" * 500


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        (None, "required"),
        ("c", "does not exist"),  # another park's enterprise's zone
        ("a1", "does not exist"),  # the seller's own zone: not one a2 stores in
        ("tiny", "free"),  # a zone of a2's without the room
    ],
)
def test_receipt_refusals_are_400_on_zone(
    zone: str | None, message: str, deal: World, api_client: Any
) -> None:
    order = order_in(deal, OrderStatus.DISPATCHED)
    tiny = f.StorageZoneFactory.create(
        warehouse=deal["zones"]["a2"].warehouse, capacity_kg=Decimal(1)
    )
    data: dict[str, Any] = {}
    if zone == "tiny":
        data = {"zone": tiny.pk}
    elif zone is not None:
        data = {"zone": deal["zones"][zone].pk}
    before = snapshot()
    response = act(client_of(deal, api_client, "buyer.keeper"), order, "receive", data)
    assert response.status_code == 400, response.content
    assert message in error_fields(response)["zone"][0]
    assert snapshot() == before


# --- filters ------------------------------------------------------------------------------


def test_filters(deal: World, api_client: Any, receive: Any) -> None:
    reserved = place(deal, "10")
    confirmed = order_in(deal, OrderStatus.CONFIRMED, kg="10")
    cancelled = order_in(deal, OrderStatus.CANCELLED, kg="10")
    # a2 sells to a1 too: a2 is the seller there.
    other_material = f.MaterialFactory.create()
    lot = receive(zone=deal["zones"]["a2"], material=other_material, quantity="100")
    listing = f.ListingFactory.create(lot=lot, status="published", quantity_kg=Decimal(100))
    sold = place(deal, "10", listing=listing, actor=deal["sellers"]["trader"])
    client = client_of(deal, api_client, "buyer.trader")

    def ids(**params: Any) -> set[int]:
        response = client.get(ORDERS, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {reserved.pk, confirmed.pk, cancelled.pk, sold.pk}
    assert ids(status=["reserved", "confirmed"]) == {reserved.pk, confirmed.pk, sold.pk}
    assert ids(status="cancelled") == {cancelled.pk}
    assert ids(role="buyer") == {reserved.pk, confirmed.pk, cancelled.pk}
    assert ids(role="seller") == {sold.pk}
    assert ids(material=other_material.pk) == {sold.pk}
    assert ids(listing=f"{deal['listing'].pk},{listing.pk}") == {
        reserved.pk,
        confirmed.pk,
        cancelled.pk,
        sold.pk,
    }
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert ids(created_after=tomorrow.isoformat()) == set()
    assert len(ids(created_after="2020-01-01T00:00:00+08:00")) == 4
    assert ids(ordering="total_yuan") == ids()
    # Park staff take no side.
    regulator = client_of(deal, api_client, "regulator")
    assert regulator.get(ORDERS, {"role": "seller"}).json()["results"] == []
    for bad in ({"status": "lost"}, {"role": "broker"}, {"created_after": "soon"}):
        response = client.get(ORDERS, bad)
        assert response.status_code == 400
        assert set(error_fields(response)) == set(bad)


# --- the schema and the browsable API -----------------------------------------------------


def test_the_schema_documents_the_steps_and_bodies(deal: World, api_client: Any) -> None:
    client = client_of(deal, api_client, "buyer.viewer")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    steps = ("confirm", "reject", "cancel", "dispatch", "receive", "transfer", "complete")
    for step in steps:
        operation = paths[f"/api/v1/orders/{{id}}/{step}/"]["post"]
        assert set(operation["responses"]) >= {"200", "403", "409"}, step
    create = paths["/api/v1/orders/"]["post"]
    assert set(create["responses"]) >= {"201", "409"}
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(components[body.rsplit("/", 1)[1]]["properties"]) == {
        "match",
        "listing",
        "quantity",
        "unit",
    }
    receive = paths["/api/v1/orders/{id}/receive/"]["post"]["requestBody"]
    ref = receive["content"]["application/json"]["schema"]["$ref"]
    assert components[ref.rsplit("/", 1)[1]]["required"] == ["zone"]
    assert set(components["OrderStatusEnum"]["enum"]) == set(OrderStatus.values)
    params = {p["name"] for p in paths["/api/v1/orders/"]["get"]["parameters"]}
    assert params >= {"status", "role", "material", "listing", "created_after", "ordering"}


@pytest.mark.parametrize("who", ["buyer.trader", "regulator"])
def test_browsable_api_pages_render(who: str, deal: World, api_client: Any) -> None:
    order = place(deal)
    client = client_of(deal, api_client, who)
    for path in (ORDERS, f"{ORDERS}{order.pk}/"):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/html")
