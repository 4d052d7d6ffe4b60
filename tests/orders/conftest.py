"""A deal to order on: a1 (park A) sells, a2 (park A) buys, each with one user per role.

a1 holds 1000 kg in its own warehouse and 600 kg in park A's shared warehouse (共享仓),
each offered by a published listing (500 kg and 400 kg, park visibility). a2 needs 400 kg
and has agreed to buy 300 kg of the private listing through a match.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from inventory.models import StockLot
from marketplace.services import listing_create, need_create
from matching.models import Match
from orders.models import Order, OrderStatus
from orders.services import (
    order_cancel,
    order_complete,
    order_confirm,
    order_dispatch,
    order_from_match,
    order_place,
    order_receive,
    order_reject,
    order_transfer,
)
from tests import factories as f

World = dict[str, Any]
ROLES = ("admin", "trader", "keeper", "viewer")


@pytest.fixture(autouse=True)
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stay pending: what they trigger (rematches) is the engine's, tested there; the
    expiry handler is called by the tests that need it. Only matters where commits happen
    (the PostgreSQL races)."""
    from common.tasks import outbox_fanout

    monkeypatch.setattr(outbox_fanout, "delay", lambda *args, **kwargs: None)


@pytest.fixture
def deal(world: World, receive: Any) -> World:
    ents, zones, users, material = (
        world["enterprises"],
        world["zones"],
        world["users"],
        world["material"],
    )
    seller, buyer = ents["a1"], ents["a2"]
    lot = receive(zone=zones["a1"], material=material, quantity="1000", batch_no="B-1")
    shared_lot = receive(zone=zones["shared"], material=material, quantity="600", owner=seller)

    def offer(on: StockLot, kg: str, **kwargs: Any) -> Any:
        return listing_create(
            actor=SYSTEM,
            seller=seller,
            lot=on,
            quantity_kg=Decimal(kg),
            price_per_t=Decimal("3000"),
            available_from=date(2026, 1, 1),
            publish=True,
            **kwargs,
        )

    listing = offer(lot, "500")
    shared_listing = offer(shared_lot, "400")
    need = need_create(
        actor=SYSTEM,
        enterprise=buyer,
        material=material,
        quantity_kg=Decimal("400"),
        needed_by=date(2027, 6, 30),
        delivery_zone=zones["a2"],
    )
    match = f.MatchFactory.create(
        listing=listing, need=need, quantity_kg=Decimal("300"), status="agreed"
    )
    shared_zone_2 = f.StorageZoneFactory.create(warehouse=zones["shared"].warehouse, code="S2")
    seller_users = {
        "admin": users["enterprise_admin"],
        "trader": users["trader"],
        "keeper": users["warehouse_keeper"],
        "viewer": users["viewer"],
    }
    buyer_users = {"admin": users["other_admin"]}
    for role, key in (("trader", "trader"), ("warehouse_keeper", "keeper"), ("viewer", "viewer")):
        buyer_users[key] = f.MembershipFactory.create(enterprise=buyer, role=role).user
    return {
        **world,
        "seller": seller,
        "buyer": buyer,
        "lot": lot,
        "shared_lot": shared_lot,
        "listing": listing,
        "shared_listing": shared_listing,
        "need": need,
        "match": match,
        "shared_zone_2": shared_zone_2,
        "sellers": seller_users,
        "buyers": buyer_users,
    }


def place(deal: World, kg: str = "100", *, listing: Any = None, actor: Any = None) -> Order:
    """A direct order by a2's trader (or ``actor``) on the private listing (or ``listing``)."""
    return order_place(
        actor=resolve_scope(actor or deal["buyers"]["trader"]),
        listing=listing or deal["listing"],
        quantity_kg=Decimal(kg),
    )


def from_match(deal: World, match: Match | None = None) -> Order:
    return order_from_match(
        actor=resolve_scope(deal["buyers"]["trader"]), match=match or deal["match"]
    )


def take(deal: World, order: Order, action: str, actor: Any = None, **kwargs: Any) -> Order:
    """Take ``action`` on ``order`` as the side's default user (or ``actor``, a user)."""
    seller, buyer = deal["sellers"], deal["buyers"]
    default = {
        "confirm": seller["trader"],
        "reject": seller["trader"],
        "cancel": buyer["trader"],
        "dispatch": seller["keeper"],
        "receive": buyer["keeper"],
        "transfer": buyer["keeper"],
        "complete": buyer["trader"],
    }
    if action not in default:
        raise AssertionError(action)
    scope = resolve_scope(actor or default[action])
    if action == "confirm":
        return order_confirm(actor=scope, order=order, **kwargs)
    if action == "reject":
        return order_reject(actor=scope, order=order, **kwargs)
    if action == "cancel":
        return order_cancel(actor=scope, order=order, **kwargs)
    if action == "dispatch":
        return order_dispatch(actor=scope, order=order)
    if action == "receive":
        zone = kwargs.pop("zone", deal["zones"]["a2"])
        return order_receive(actor=scope, order=order, zone=zone)
    if action == "transfer":
        return order_transfer(actor=scope, order=order, **kwargs)
    assert action == "complete"
    return order_complete(actor=scope, order=order)


# The steps that take a new (reserved) order to each status.
PATHS: dict[str, tuple[str, ...]] = {
    OrderStatus.RESERVED: (),
    OrderStatus.CONFIRMED: ("confirm",),
    OrderStatus.DISPATCHED: ("confirm", "dispatch"),
    OrderStatus.RECEIVED: ("confirm", "dispatch", "receive"),
    OrderStatus.COMPLETED: ("confirm", "dispatch", "receive", "complete"),
    OrderStatus.CANCELLED: ("cancel",),
    OrderStatus.REJECTED: ("reject",),
}


def order_in(deal: World, status: str, *, kg: str = "100", listing: Any = None) -> Order:
    """A direct order taken to ``status`` through the services (expired: by the sweep)."""
    order = place(deal, kg, listing=listing)
    if status == OrderStatus.EXPIRED:
        return expire(order)
    for action in PATHS[status]:
        order = take(deal, order, action)
    assert order.status == status
    return order


def expire(order: Order) -> Order:
    """Let the order's reservation run out: the inventory's sweep, then the event's
    handler (as the outbox would deliver it)."""
    from django.utils import timezone

    from common.models import OutboxEvent
    from inventory.services import reservations_expire_due
    from tests.outbox import deliver

    later = timezone.now() + timedelta(days=1)
    expired = reservations_expire_due(now=later)
    assert order.reservation_id in expired
    event = OutboxEvent.objects.get(
        topic="reservation.expired", payload__reservation_id=order.reservation_id
    )
    assert deliver(event)
    order.refresh_from_db()
    return order
