"""Races on PostgreSQL: two steps of one order taken at once (exactly one wins, the ledger
stays balanced), two orders of one match, and many direct orders on one listing that
never exceed it. Each thread has its own connection (tests/concurrency.py)."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from common.exceptions import DomainError
from inventory.models import StockLot
from marketplace.models import Listing
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus, OrderTransition
from orders.services import order_from_match, order_place
from tests.concurrency import run_concurrently
from tests.ledger import assert_ledger_balanced
from tests.orders.conftest import World, order_in, take

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]

# Pairs of steps from one status that exclude each other: after either, the other is no
# longer allowed. (Confirm then cancel would both succeed, one after the other.)
PAIRS = [
    (OrderStatus.RESERVED, "confirm", "reject"),
    (OrderStatus.RESERVED, "reject", "cancel"),
    (OrderStatus.CONFIRMED, "dispatch", "cancel"),
    (OrderStatus.CONFIRMED, "transfer", "cancel"),
    (OrderStatus.CONFIRMED, "dispatch", "transfer"),
    (OrderStatus.DISPATCHED, "receive", "receive"),
    (OrderStatus.RECEIVED, "complete", "complete"),
]


@pytest.mark.parametrize(("status", "first", "second"), PAIRS)
def test_two_steps_of_one_order_one_wins(status: str, first: str, second: str, deal: World) -> None:
    steps = (first, second)
    # Two different users of the right side where the step is the same.
    actors: list[Any] = [None, None]
    if first == second:
        side = "sellers" if first in ("confirm", "reject", "dispatch") else "buyers"
        actors = [deal[side]["admin"], None]
    for _ in range(3):
        order = order_in(deal, status, kg="50", listing=deal["shared_listing"])

        def step(i: int, pk: int = order.pk) -> Order:
            return take(deal, Order.objects.get(pk=pk), steps[i], actor=actors[i])

        results = run_concurrently(2, step)
        won = [r for r in results if isinstance(r, Order)]
        lost = [r for r in results if not isinstance(r, Order)]
        assert len(won) == 1, results
        assert len(lost) == 1 and isinstance(lost[0], DomainError), results
        assert isinstance(lost[0], InvalidTransition) or lost[0].field == "status", lost[0]
        order.refresh_from_db()
        assert order.status == won[0].status
        assert OrderTransition.objects.filter(order=order, from_status=status).count() == 1
        assert_ledger_balanced()


def test_two_orders_of_one_match_one_wins(deal: World) -> None:
    actors = (deal["buyers"]["trader"], deal["sellers"]["trader"])
    results = run_concurrently(
        2, lambda i: order_from_match(actor=resolve_scope(actors[i]), match=deal["match"])
    )
    assert sum(isinstance(r, Order) for r in results) == 1, results
    assert Order.objects.filter(match=deal["match"]).count() == 1
    deal["listing"].refresh_from_db()
    assert deal["listing"].ordered_kg == Decimal("300")
    lot = StockLot.objects.get(pk=deal["lot"].pk)
    assert lot.reserved_kg == Decimal("300")
    assert_ledger_balanced()


def test_twenty_direct_orders_never_exceed_the_listing(deal: World) -> None:
    # The shared listing offers 400 kg of a 600 kg lot; 20 buyers' orders of 35 kg each:
    # 11 fit (385 kg), the rest are refused on quantity.
    listing = deal["shared_listing"]
    buyer = deal["buyers"]["trader"]
    results = run_concurrently(
        20,
        lambda i: order_place(
            actor=resolve_scope(buyer),
            listing=Listing.objects.get(pk=listing.pk),
            quantity_kg=Decimal(35),
        ),
    )
    won = [r for r in results if isinstance(r, Order)]
    lost = [r for r in results if not isinstance(r, Order)]
    assert len(won) == 11, results
    assert all(isinstance(r, DomainError) and r.field == "quantity" for r in lost), lost
    listing.refresh_from_db()
    assert listing.ordered_kg == Decimal(385) <= listing.quantity_kg
    lot = StockLot.objects.get(pk=deal["shared_lot"].pk)
    assert (lot.on_hand_kg, lot.reserved_kg) == (Decimal(600), Decimal(385))
    assert_ledger_balanced()


def test_orders_and_cancellations_at_once_keep_the_counters(deal: World) -> None:
    listing = deal["shared_listing"]
    placed = [order_in(deal, OrderStatus.RESERVED, kg="40", listing=listing) for _ in range(5)]
    buyer = deal["buyers"]["trader"]

    def work(i: int) -> Any:
        if i < 5:
            return take(deal, Order.objects.get(pk=placed[i].pk), "cancel")
        return order_place(
            actor=resolve_scope(buyer),
            listing=Listing.objects.get(pk=listing.pk),
            quantity_kg=Decimal(40),
        )

    results = run_concurrently(10, work)
    assert all(isinstance(r, Order) for r in results[:5]), results
    live = Order.objects.filter(listing=listing).exclude(status=OrderStatus.CANCELLED)
    held = sum(o.quantity_kg for o in live)
    listing.refresh_from_db()
    assert listing.ordered_kg == held <= listing.quantity_kg
    assert StockLot.objects.get(pk=deal["shared_lot"].pk).reserved_kg == held
    assert_ledger_balanced()
