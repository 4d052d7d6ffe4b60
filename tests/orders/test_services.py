"""Orders' services: creation from a match and directly on a listing, what each step does
to the reservation, the lot, the listing and the need, receipt into a zone, the
shared-warehouse transfer, and expiry through the outbox. (Who may take which step from
which status: test_state_machine.py.)"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from access.scope import SYSTEM, resolve_scope
from common.exceptions import Conflict, DomainError, NotPermitted
from common.models import OutboxEvent
from inventory.exceptions import (
    CapacityExceeded,
    IncompatibleStorage,
    InsufficientStock,
    ZoneNotPermitted,
)
from inventory.models import MovementKind, Reservation, StockLot, StockMovement
from inventory.services import reservations_expire_due, stock_reserve
from marketplace.models import Listing, Need
from marketplace.services import (
    listing_create,
    listing_order,
    listing_unorder,
    listing_withdraw,
    need_close,
    need_order,
    need_unorder,
)
from matching.models import Match, MatchStatus
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus, OrderTransition
from orders.services import order_expire, order_from_match
from tests import factories as f
from tests.ledger import assert_ledger_balanced
from tests.orders.conftest import World, expire, from_match, order_in, place, take
from tests.outbox import deliver, redeliver

pytestmark = pytest.mark.django_db


def lot_kg(lot: StockLot) -> tuple[Decimal, Decimal]:
    lot.refresh_from_db()
    return lot.on_hand_kg, lot.reserved_kg


def reservation_of(order: Order) -> Reservation:
    return Reservation.objects.get(order=order)


def bought(order: Order) -> StockLot:
    """The buyer's lot of a received order."""
    assert order.buyer_lot is not None
    return order.buyer_lot


def ordered(obj: Listing | Need) -> Decimal:
    obj.refresh_from_db()
    return obj.ordered_kg


def state(deal: World) -> dict[str, Any]:
    """What a refused creation must leave as it was."""
    return {
        "orders": Order.objects.count(),
        "transitions": OrderTransition.objects.count(),
        "reservations": Reservation.objects.count(),
        "lots": list(StockLot.objects.order_by("pk").values("on_hand_kg", "reserved_kg")),
        "listings": list(Listing.objects.order_by("pk").values_list("ordered_kg", flat=True)),
        "needs": list(Need.objects.order_by("pk").values_list("ordered_kg", flat=True)),
        "matches": list(Match.objects.order_by("pk").values_list("status", flat=True)),
        "events": OutboxEvent.objects.count(),
    }


def topics_since(first_id: int) -> list[str]:
    return list(
        OutboxEvent.objects.filter(pk__gt=first_id).order_by("id").values_list("topic", flat=True)
    )


def last_event_id() -> int:
    last = OutboxEvent.objects.order_by("-id").first()
    return last.pk if last else 0


# --- The counters of the marketplace ------------------------------------------------------


def test_listing_and_need_counters_hold_and_give_back(deal: World) -> None:
    listing, need = deal["listing"], deal["need"]
    start = last_event_id()
    listing_order(listing=listing, quantity_kg=Decimal("200"))
    listing_order(listing=listing, quantity_kg=Decimal("300"))
    assert ordered(listing) == Decimal("500")
    with pytest.raises(Conflict) as refused:
        listing_order(listing=listing, quantity_kg=Decimal("0.001"))
    assert (refused.value.status_code, refused.value.field) == (409, "quantity")
    listing_unorder(listing=listing, quantity_kg=Decimal("500"))
    with pytest.raises(Conflict):
        listing_unorder(listing=listing, quantity_kg=Decimal("0.001"))
    assert ordered(listing) == 0
    need_order(need=need, quantity_kg=Decimal("400"))
    with pytest.raises(Conflict) as refused:
        need_order(need=need, quantity_kg=Decimal("1"))
    assert refused.value.field == "quantity"
    need_unorder(need=need, quantity_kg=Decimal("400"))
    with pytest.raises(Conflict):
        need_unorder(need=need, quantity_kg=Decimal("1"))
    assert ordered(need) == 0
    assert topics_since(start) == ["listing.updated"] * 3 + ["need.updated"] * 2
    with pytest.raises(DomainError):
        listing_order(listing=listing, quantity_kg=Decimal("-1"))


# --- From an agreed match -----------------------------------------------------------------


@override_settings(ORDER_HOLD_MINUTES=30)
def test_an_agreed_match_becomes_a_reserved_order(deal: World) -> None:
    match, lot = deal["match"], deal["lot"]
    start = last_event_id()
    before = timezone.now()
    order = from_match(deal)
    assert order.status == OrderStatus.RESERVED
    assert (order.seller, order.buyer) == (deal["seller"], deal["buyer"])
    assert (order.listing, order.need, order.match) == (deal["listing"], deal["need"], match)
    assert (order.lot, order.material) == (lot, deal["material"])
    assert order.quantity_kg == Decimal("300")
    assert (order.price_per_t, order.transport_per_t) == (match.price_per_t, match.transport_per_t)
    assert order.total_yuan == match.total_yuan
    assert order.created_by == deal["buyers"]["trader"]
    hold_until = order.hold_until
    assert hold_until is not None
    assert before + timedelta(minutes=30) <= hold_until <= timezone.now() + timedelta(minutes=30)
    reservation = reservation_of(order)
    assert (reservation.lot_id, reservation.holder_id) == (lot.pk, deal["buyer"].pk)
    assert reservation.quantity_kg == Decimal("300")
    assert reservation.status == "held"
    assert reservation.expires_at == order.hold_until
    assert reservation.reference == f"order:{order.pk}"
    assert lot_kg(lot) == (Decimal("1000"), Decimal("300"))
    assert ordered(deal["listing"]) == Decimal("300")
    assert ordered(deal["need"]) == Decimal("300")
    match.refresh_from_db()
    assert match.status == MatchStatus.ORDERED
    step = order.transitions.get()
    assert (step.from_status, step.to_status, step.actor) == ("", "reserved", order.created_by)
    assert topics_since(start) == [
        "listing.updated",
        "stock.changed",
        "need.updated",
        "order.reserved",
        "match.ordered",
    ]
    assert_ledger_balanced()


def test_order_events_carry_the_parties_and_terms(deal: World) -> None:
    """order.<status>: who the seller and buyer are, the terms as stored (decimal text),
    the status moved to and the match it was made from (None for a direct order)."""
    order = from_match(deal)
    take(deal, order, "confirm")
    events = list(
        OutboxEvent.objects.filter(topic__startswith="order.")
        .order_by("id")
        .values_list("topic", "payload")
    )
    terms = {
        "order_id": order.pk,
        "material_ids": [order.material_id],
        "seller_id": deal["seller"].pk,
        "buyer_id": deal["buyer"].pk,
        "material_id": order.material_id,
        "quantity_kg": str(Order.objects.get(pk=order.pk).quantity_kg),
        "price_per_t": str(Order.objects.get(pk=order.pk).price_per_t),
        "total_yuan": str(Order.objects.get(pk=order.pk).total_yuan),
        "match_id": deal["match"].pk,
    }
    assert events == [
        ("order.reserved", {**terms, "status": "reserved"}),
        ("order.confirmed", {**terms, "status": "confirmed"}),
    ]
    direct = place(deal, "7")
    payload = OutboxEvent.objects.filter(topic="order.reserved").latest("id").payload
    assert (payload["order_id"], payload["match_id"]) == (direct.pk, None)
    assert payload["quantity_kg"] == "7.000"  # as stored, whatever the caller gave


def test_the_seller_may_order_an_agreed_match_too(deal: World) -> None:
    order = order_from_match(actor=resolve_scope(deal["sellers"]["admin"]), match=deal["match"])
    assert order.buyer == deal["buyer"]
    assert order.created_by == deal["sellers"]["admin"]


def test_one_order_per_match(deal: World) -> None:
    from_match(deal)
    before = state(deal)
    with pytest.raises(Conflict) as refused:
        order_from_match(actor=resolve_scope(deal["sellers"]["trader"]), match=deal["match"])
    assert (refused.value.status_code, refused.value.field) == (409, "match")
    assert "already" in refused.value.message
    assert state(deal) == before


@pytest.mark.parametrize("status", ["proposed", "accepted", "declined", "superseded"])
def test_only_an_agreed_match_becomes_an_order(status: str, deal: World) -> None:
    Match.objects.filter(pk=deal["match"].pk).update(status=status)
    before = state(deal)
    with pytest.raises(Conflict) as refused:
        from_match(deal)
    assert (refused.value.status_code, refused.value.field) == (409, "match")
    assert state(deal) == before


@pytest.mark.parametrize(
    "who", ["viewer", "keeper", "outsider", "regulator", "park_operator", "superuser"]
)
def test_only_the_parties_admins_and_traders_order_a_match(who: str, deal: World) -> None:
    actor = {
        "viewer": deal["buyers"]["viewer"],
        "keeper": deal["sellers"]["keeper"],
        "outsider": deal["users"]["park_b_admin"],
    }.get(who) or deal["users"][who]
    before = state(deal)
    with pytest.raises(NotPermitted):
        order_from_match(actor=resolve_scope(actor), match=deal["match"])
    assert state(deal) == before


def test_a_match_whose_stock_is_gone_is_refused_and_nothing_is_written(deal: World) -> None:
    # Someone else holds 800 of the lot's 1000 kg: the match's 300 kg are not there.
    stock_reserve(
        actor=SYSTEM,
        lot=deal["lot"],
        holder=deal["enterprises"]["b"],
        quantity_kg=Decimal("800"),
        expires_at=None,
    )
    before = state(deal)
    with pytest.raises(InsufficientStock) as refused:
        from_match(deal)
    assert (refused.value.status_code, refused.value.field) == (409, "quantity")
    assert state(deal) == before
    assert Match.objects.get(pk=deal["match"].pk).status == MatchStatus.AGREED


def test_a_withdrawn_listing_or_a_closed_need_is_not_ordered(deal: World) -> None:
    listing_withdraw(actor=SYSTEM, listing=deal["listing"])
    with pytest.raises(Conflict) as refused:
        from_match(deal)
    assert refused.value.field == "listing"
    Listing.objects.filter(pk=deal["listing"].pk).update(status="published")
    need_close(actor=SYSTEM, need=deal["need"])
    with pytest.raises(Conflict) as refused:
        from_match(deal)
    assert refused.value.field == "need"
    assert Match.objects.get(pk=deal["match"].pk).status == MatchStatus.AGREED


# --- Directly on a listing ----------------------------------------------------------------


def test_a_direct_order_at_the_listings_price(deal: World) -> None:
    order = place(deal, "150.5")
    assert (order.seller, order.buyer, order.need, order.match) == (
        deal["seller"],
        deal["buyer"],
        None,
        None,
    )
    assert order.quantity_kg == Decimal("150.5")
    assert (order.price_per_t, order.transport_per_t) == (Decimal("3000"), Decimal(0))
    assert order.total_yuan == Decimal("451.50")
    assert lot_kg(deal["lot"]) == (Decimal("1000"), Decimal("150.5"))
    assert ordered(deal["listing"]) == Decimal("150.5")
    assert ordered(deal["need"]) == 0
    assert order.reservation is not None
    assert order.reservation.reference == f"order:{order.pk}"


def test_an_enterprise_does_not_order_its_own_listing(deal: World) -> None:
    before = state(deal)
    with pytest.raises(DomainError) as refused:
        place(deal, actor=deal["sellers"]["trader"])
    assert (refused.value.status_code, refused.value.field) == (400, "listing")
    assert state(deal) == before


def test_a_listing_not_visible_to_the_buyer_is_refused(deal: World, receive: Any) -> None:
    # c (park C, another region) offers to its own park only.
    lot = receive(zone=deal["zones"]["c"], material=deal["material"], quantity="100")
    far = listing_create(
        actor=SYSTEM,
        seller=deal["enterprises"]["c"],
        lot=lot,
        quantity_kg=Decimal(100),
        price_per_t=Decimal(1000),
        available_from=date(2026, 1, 1),
        visibility="region",
        publish=True,
    )
    before = state(deal)
    with pytest.raises(NotPermitted) as refused:
        place(deal, "10", listing=far)
    assert refused.value.field == "listing"
    assert state(deal) == before
    far.visibility = "all"
    far.save(update_fields=["visibility"])
    assert place(deal, "10", listing=far).seller == deal["enterprises"]["c"]


def test_a_draft_or_ended_listing_is_refused(deal: World) -> None:
    Listing.objects.filter(pk=deal["listing"].pk).update(status="draft")
    with pytest.raises(Conflict) as refused:
        place(deal)
    assert refused.value.field == "listing"
    Listing.objects.filter(pk=deal["listing"].pk).update(
        status="published", available_until=timezone.localdate() - timedelta(days=1)
    )
    with pytest.raises(Conflict) as refused:
        place(deal)
    assert refused.value.field == "listing"


@pytest.mark.parametrize("who", ["viewer", "keeper"])
def test_only_admins_and_traders_place_orders(who: str, deal: World) -> None:
    with pytest.raises(NotPermitted):
        place(deal, actor=deal["buyers"][who])
    for outsider in ("regulator", "park_operator", "superuser"):
        with pytest.raises(NotPermitted):
            place(deal, actor=deal["users"][outsider])
    assert Order.objects.count() == 0


def test_the_minimum_order_binds_until_less_is_left(deal: World) -> None:
    Listing.objects.filter(pk=deal["listing"].pk).update(min_order_kg=Decimal("150"))
    # The agreed match holds 300 of the 500 kg: 200 kg are left to order directly.
    with pytest.raises(DomainError) as refused:
        place(deal, "149.999")
    assert (refused.value.status_code, refused.value.field) == (400, "quantity")
    assert "at least the minimum of 150" in refused.value.message
    place(deal, "150")
    # 50 kg are left, less than the minimum: only all of it may be ordered.
    with pytest.raises(DomainError) as refused:
        place(deal, "40")
    assert "order all 50" in refused.value.message
    assert place(deal, "50").quantity_kg == Decimal("50")
    assert ordered(deal["listing"]) == Decimal("200")


def test_no_more_than_the_listing_has_left(deal: World) -> None:
    # 500 kg offered, 300 kg agreed by the match (not yet an order): 200 kg left.
    with pytest.raises(Conflict) as refused:
        place(deal, "200.001")
    assert (refused.value.status_code, refused.value.field) == (409, "quantity")
    assert "200" in refused.value.message
    place(deal, "200")
    before = state(deal)
    with pytest.raises(Conflict) as refused:
        place(deal, "1")
    assert refused.value.field == "quantity"
    assert state(deal) == before
    # The match's order takes its own 300 kg: the listing is fully ordered, not more.
    from_match(deal)
    assert ordered(deal["listing"]) == Decimal("500")


def test_a_lot_short_of_unreserved_stock_is_409_and_nothing_is_written(deal: World) -> None:
    stock_reserve(
        actor=SYSTEM,
        lot=deal["lot"],
        holder=deal["enterprises"]["b"],
        quantity_kg=Decimal("650"),
        expires_at=None,
    )
    # 350 kg unreserved, of which the agreed match promises 300: 50 kg may be ordered.
    before = state(deal)
    with pytest.raises(InsufficientStock) as refused:
        place(deal, "60")
    assert (refused.value.status_code, refused.value.field) == (409, "quantity")
    assert state(deal) == before
    assert place(deal, "50").quantity_kg == Decimal("50")


@pytest.mark.parametrize("kg", ["0", "-5", "1e13"])
def test_a_quantity_out_of_bounds_is_refused(kg: str, deal: World) -> None:
    with pytest.raises(DomainError) as refused:
        place(deal, kg)
    assert refused.value.field == "quantity"
    assert Order.objects.count() == 0


# --- What each step does to the stock -----------------------------------------------------


def test_confirm_holds_the_reservation_until_dispatch(deal: World) -> None:
    order = from_match(deal)
    order = take(deal, order, "confirm", reason="  drums ready  ")
    assert order.hold_until is None
    reservation = reservation_of(order)
    assert (reservation.status, reservation.expires_at) == ("held", None)
    assert order.transitions.latest("id").reason == "drums ready"
    assert lot_kg(deal["lot"]) == (Decimal("1000"), Decimal("300"))
    # A held reservation never expires.
    assert reservations_expire_due(now=timezone.now() + timedelta(days=365)) == []


@pytest.mark.parametrize(
    ("action", "path"), [("reject", ()), ("cancel", ()), ("cancel", ("confirm",))]
)
def test_reject_and_cancel_give_everything_back(
    action: str, path: tuple[str, ...], deal: World
) -> None:
    order = from_match(deal)
    for step in path:
        order = take(deal, order, step)
    order = take(deal, order, action, reason="price changed")
    assert order.status == {"reject": "rejected", "cancel": "cancelled"}[action]
    reservation = reservation_of(order)
    assert reservation.status == "released"
    assert lot_kg(deal["lot"]) == (Decimal("1000"), Decimal("0"))
    assert ordered(deal["listing"]) == 0
    assert ordered(deal["need"]) == 0
    # The order ended without delivery: its match is released (the engine may propose anew).
    assert Match.objects.get(pk=deal["match"].pk).status == MatchStatus.RELEASED
    assert order.transitions.latest("id").reason == "price changed"
    assert StockMovement.objects.filter(reference=order.reference).count() == 0


def test_dispatch_receive_complete_move_the_stock_once(deal: World) -> None:
    order = take(deal, from_match(deal), "confirm")
    order = take(deal, order, "dispatch")
    assert order.status == OrderStatus.DISPATCHED
    assert lot_kg(deal["lot"]) == (Decimal("700"), Decimal("0"))
    assert reservation_of(order).status == "consumed"
    out = StockMovement.objects.get(reference=order.reference)
    assert (out.lot_id, out.kind, out.quantity_kg) == (
        deal["lot"].pk,
        MovementKind.DISPATCH,
        Decimal("-300"),
    )
    assert out.actor == deal["sellers"]["keeper"]
    # The listing keeps its order: the 300 kg are sold, not offered again.
    assert ordered(deal["listing"]) == Decimal("300")

    zone = deal["zones"]["a2"]
    order = take(deal, order, "receive", zone=zone)
    assert (order.status, order.delivery_zone, order.shared_transfer) == ("received", zone, False)
    lot = bought(order)
    assert (lot.owner, lot.zone, lot.material) == (deal["buyer"], zone, deal["material"])
    assert (lot.on_hand_kg, lot.reserved_kg, lot.batch_no) == (
        Decimal("300"),
        Decimal("0"),
        "B-1",
    )
    kinds = list(
        StockMovement.objects.filter(reference=order.reference)
        .order_by("id")
        .values_list("kind", "quantity_kg")
    )
    assert kinds == [
        (MovementKind.DISPATCH, Decimal("-300")),
        (MovementKind.DELIVERY, Decimal("300")),
    ]

    order = take(deal, order, "complete")
    assert order.status == OrderStatus.COMPLETED
    steps = list(order.transitions.order_by("id").values_list("from_status", "to_status"))
    assert steps == [
        ("", "reserved"),
        ("reserved", "confirmed"),
        ("confirmed", "dispatched"),
        ("dispatched", "received"),
        ("received", "completed"),
    ]
    assert_ledger_balanced()


# --- Receipt into a zone ------------------------------------------------------------------


def dispatched(deal: World, kg: str = "100") -> Order:
    return order_in(deal, OrderStatus.DISPATCHED, kg=kg)


def assert_receipt_refused(deal: World, order: Order, zone: Any, error: type[Exception]) -> None:
    before = state(deal)
    with pytest.raises(error) as refused:
        take(deal, order, "receive", zone=zone)
    assert refused.value.field == "zone"  # type: ignore[attr-defined]
    assert 400 <= refused.value.status_code < 500  # type: ignore[attr-defined]
    assert state(deal) == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DISPATCHED


def test_receipt_beyond_the_zones_capacity_is_refused(deal: World) -> None:
    order = dispatched(deal, "100")
    small = f.StorageZoneFactory.create(
        warehouse=deal["zones"]["a2"].warehouse, capacity_kg=Decimal("99.999")
    )
    assert_receipt_refused(deal, order, small, CapacityExceeded)
    fits = f.StorageZoneFactory.create(
        warehouse=deal["zones"]["a2"].warehouse, capacity_kg=Decimal("100")
    )
    assert bought(take(deal, order, "receive", zone=fits)).zone == fits


def test_receipt_next_to_an_incompatible_material_is_refused(deal: World, receive: Any) -> None:
    # The buyer's zone holds an oxidizer; a flammable liquid may not join it (IMDG 5.1 / 3).
    flammable = f.MaterialFactory.create(primary_class="3", un_number="1090")
    oxidizer = f.MaterialFactory.create(primary_class="5.1", physical_state="solid")
    zone = deal["zones"]["a2"]
    receive(zone=zone, material=oxidizer, quantity="50")
    lot = receive(zone=deal["zones"]["a1"], material=flammable, quantity="500")
    listing = listing_create(
        actor=SYSTEM,
        seller=deal["seller"],
        lot=lot,
        quantity_kg=Decimal(500),
        price_per_t=Decimal(5000),
        available_from=date(2026, 1, 1),
        publish=True,
    )
    order = order_in(deal, OrderStatus.DISPATCHED, listing=listing)
    assert_receipt_refused(deal, order, zone, IncompatibleStorage)


def test_receipt_into_an_unlicensed_zone_is_refused(deal: World, receive: Any) -> None:
    corrosive = f.MaterialFactory.create(primary_class="8", un_number="1789")
    lot = receive(zone=deal["zones"]["a1"], material=corrosive, quantity="500")
    listing = listing_create(
        actor=SYSTEM,
        seller=deal["seller"],
        lot=lot,
        quantity_kg=Decimal(500),
        price_per_t=Decimal(800),
        available_from=date(2026, 1, 1),
        publish=True,
    )
    order = order_in(deal, OrderStatus.DISPATCHED, listing=listing)
    flammables_only = f.StorageZoneFactory.create(
        warehouse=deal["zones"]["a2"].warehouse, allowed_classes=["3"]
    )
    assert_receipt_refused(deal, order, flammables_only, IncompatibleStorage)
    assert take(deal, order, "receive").status == OrderStatus.RECEIVED


@pytest.mark.parametrize("whose", ["a1", "b", "c"])
def test_receipt_into_a_zone_the_buyer_may_not_use_is_refused(whose: str, deal: World) -> None:
    # The seller's own zone, another park's enterprise's, another park's shared one.
    order = dispatched(deal)
    assert_receipt_refused(deal, order, deal["zones"][whose], ZoneNotPermitted)


def test_receipt_into_the_parks_shared_warehouse(deal: World) -> None:
    order = take(deal, dispatched(deal), "receive", zone=deal["zones"]["shared"])
    assert bought(order).owner == deal["buyer"]
    assert order.delivery_zone == deal["zones"]["shared"]


# --- The shared warehouse (共享仓) ----------------------------------------------------------


def shared_confirmed(deal: World, kg: str = "100") -> Order:
    return order_in(deal, OrderStatus.CONFIRMED, kg=kg, listing=deal["shared_listing"])


def test_transfer_in_place_changes_the_owner_not_the_zone(deal: World) -> None:
    order = shared_confirmed(deal, "100")
    zone = deal["zones"]["shared"]
    occupied = sum(StockLot.objects.filter(zone=zone).values_list("on_hand_kg", flat=True))
    order = take(deal, order, "transfer")
    assert (order.status, order.shared_transfer, order.delivery_zone) == ("received", True, zone)
    lot = bought(order)
    assert (lot.owner, lot.zone, lot.on_hand_kg) == (deal["buyer"], zone, Decimal(100))
    assert lot_kg(deal["shared_lot"]) == (Decimal("500"), Decimal("0"))
    assert sum(StockLot.objects.filter(zone=zone).values_list("on_hand_kg", flat=True)) == occupied
    kinds = sorted(
        StockMovement.objects.filter(reference=order.reference).values_list("kind", "quantity_kg")
    )
    assert kinds == [
        (MovementKind.TRANSFER_IN, Decimal("100")),
        (MovementKind.TRANSFER_OUT, Decimal("-100")),
    ]
    assert reservation_of(order).status == "consumed"
    assert order.transitions.latest("id").from_status == "confirmed"
    assert take(deal, order, "complete").status == "completed"


def test_transfer_to_another_zone_of_the_shared_warehouse(deal: World) -> None:
    order = shared_confirmed(deal, "100")
    other = deal["shared_zone_2"]
    order = take(deal, order, "transfer", zone=other)
    assert (order.delivery_zone, bought(order).zone) == (other, other)


def test_transfer_to_a_zone_without_room_is_refused(deal: World) -> None:
    order = shared_confirmed(deal, "100")
    tight = f.StorageZoneFactory.create(
        warehouse=deal["zones"]["shared"].warehouse, capacity_kg=Decimal("50")
    )
    before = state(deal)
    with pytest.raises(CapacityExceeded) as refused:
        take(deal, order, "transfer", zone=tight)
    assert refused.value.field == "zone"
    assert state(deal) == before


def test_transfer_to_a_zone_of_another_warehouse_is_refused(deal: World) -> None:
    order = shared_confirmed(deal)
    with pytest.raises(DomainError) as refused:
        take(deal, order, "transfer", zone=deal["zones"]["a2"])
    assert (refused.value.status_code, refused.value.field) == (400, "zone")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


def test_transfer_is_refused_for_a_private_warehouse(deal: World) -> None:
    order = order_in(deal, OrderStatus.CONFIRMED)  # the seller's own warehouse
    before = state(deal)
    with pytest.raises(Conflict) as refused:
        take(deal, order, "transfer")
    assert (refused.value.status_code, refused.value.field) == (409, "lot")
    assert state(deal) == before


# --- Expiry -------------------------------------------------------------------------------


def test_an_unconfirmed_order_expires_through_the_outbox(deal: World) -> None:
    order = from_match(deal)
    order = expire(order)
    assert order.status == OrderStatus.EXPIRED
    assert order.hold_until is None
    assert reservation_of(order).status == "expired"
    assert lot_kg(deal["lot"]) == (Decimal("1000"), Decimal("0"))
    assert ordered(deal["listing"]) == 0
    assert ordered(deal["need"]) == 0
    step = order.transitions.latest("id")
    assert (step.from_status, step.to_status, step.actor) == ("reserved", "expired", None)
    assert "ran out" in step.reason
    assert OutboxEvent.objects.filter(topic="order.expired").count() == 1
    # Redelivered, the event changes nothing.
    assert order_expire(reservation_id=reservation_of(order).pk) is None
    event = OutboxEvent.objects.get(topic="reservation.expired")
    assert redeliver(event)
    assert ordered(deal["listing"]) == 0
    assert OrderTransition.objects.filter(order=order).count() == 2
    assert OutboxEvent.objects.filter(topic="order.expired").count() == 1


def test_a_confirmed_order_does_not_expire(deal: World) -> None:
    order = take(deal, from_match(deal), "confirm")
    assert order_expire(reservation_id=reservation_of(order).pk) is None
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


def test_a_reservation_of_no_order_is_left_alone(deal: World) -> None:
    other = stock_reserve(
        actor=SYSTEM,
        lot=deal["lot"],
        holder=deal["buyer"],
        quantity_kg=Decimal(1),
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    assert order_expire(reservation_id=other.pk) is None


def test_confirming_after_the_hold_time_is_refused(deal: World) -> None:
    order = from_match(deal)
    Order.objects.filter(pk=order.pk).update(hold_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidTransition) as refused:
        take(deal, order, "confirm")
    assert refused.value.field == "status"
    assert reservation_of(order).expires_at is not None


def test_confirming_a_reservation_the_sweep_expired_is_refused(deal: World) -> None:
    order = from_match(deal)
    reservations_expire_due(now=timezone.now() + timedelta(days=1))  # the handler has not run
    Order.objects.filter(pk=order.pk).update(hold_until=timezone.now() + timedelta(hours=1))
    with pytest.raises(Conflict) as refused:
        take(deal, order, "confirm")
    assert refused.value.field == "status"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED


def test_cancelling_between_the_sweep_and_the_handler(deal: World) -> None:
    order = from_match(deal)
    reservations_expire_due(now=timezone.now() + timedelta(days=1))
    order = take(deal, order, "cancel")
    assert order.status == OrderStatus.CANCELLED
    assert reservation_of(order).status == "expired"
    assert ordered(deal["listing"]) == 0
    # The expiry event then finds the order closed.
    event = OutboxEvent.objects.get(topic="reservation.expired")
    assert deliver(event)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert ordered(deal["listing"]) == 0


def test_an_over_long_reason_is_refused(deal: World) -> None:
    order = from_match(deal)
    with pytest.raises(DomainError) as refused:
        take(deal, order, "reject", reason="x" * 501)
    assert (refused.value.status_code, refused.value.field) == (400, "reason")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED


def test_a_direct_order_and_a_match_order_on_one_lot_balance(deal: World) -> None:
    a = order_in(deal, OrderStatus.COMPLETED, kg="120")
    b = take(deal, from_match(deal), "reject")
    c = order_in(deal, OrderStatus.DISPATCHED, kg="80")
    assert {a.status, b.status, c.status} == {"completed", "rejected", "dispatched"}
    assert lot_kg(deal["lot"]) == (Decimal("800"), Decimal("0"))
    assert ordered(deal["listing"]) == Decimal("200")
    assert_ledger_balanced()
