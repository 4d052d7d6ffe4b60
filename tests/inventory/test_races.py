"""Concurrent stock changes on PostgreSQL: no lost update, constraints hold."""

from decimal import Decimal
from typing import Any

import pytest

from inventory.exceptions import CapacityExceeded, InsufficientStock
from inventory.models import StockLot
from inventory.services import stock_adjust, stock_move, stock_receive
from tests import factories as f
from tests.concurrency import run_concurrently
from tests.ledger import assert_ledger_balanced

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]

THREADS = 16


def test_concurrent_decrements_never_oversell(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    StockLot.objects.filter(pk=lot.pk).update(reserved_kg=Decimal("20"))

    results = run_concurrently(
        THREADS,
        lambda i: stock_adjust(
            actor=None, lot=StockLot.objects.get(pk=lot.pk), delta_kg=Decimal("-10")
        ),
    )

    ok = [r for r in results if isinstance(r, StockLot)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert len(ok) == 8 and len(refused) == THREADS - 8, results
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal("20") and lot.reserved_kg == Decimal("20")
    assert_ledger_balanced()


def test_concurrent_increments_lose_no_update(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")

    results = run_concurrently(
        THREADS,
        lambda i: stock_adjust(
            actor=None, lot=StockLot.objects.get(pk=lot.pk), delta_kg=Decimal("2.5")
        ),
    )

    assert all(isinstance(r, StockLot) for r in results), results
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal("100") + THREADS * Decimal("2.5")
    assert_ledger_balanced()


def test_concurrent_receipts_respect_zone_capacity(world: dict[str, Any]) -> None:
    zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, capacity_kg=1000)
    owner, material = world["enterprises"]["a1"], world["material"]

    results = run_concurrently(
        THREADS,
        lambda i: stock_receive(
            actor=None, owner=owner, material=material, zone=zone, quantity_kg=Decimal("150")
        ),
    )

    assert sum(isinstance(r, StockLot) for r in results) == 6
    assert sum(isinstance(r, CapacityExceeded) for r in results) == THREADS - 6
    assert sum(lot.on_hand_kg for lot in StockLot.objects.filter(zone=zone)) == Decimal("900")
    assert_ledger_balanced()


def test_moves_and_decrements_of_one_lot_conserve_stock(
    world: dict[str, Any], receive: Any
) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    target = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse)

    def step(i: int) -> Any:
        fresh = StockLot.objects.get(pk=lot.pk)
        if i % 2:
            return stock_move(actor=None, lot=fresh, to_zone=target, quantity_kg=Decimal("15"))
        return stock_adjust(actor=None, lot=fresh, delta_kg=Decimal("-15"))

    results = run_concurrently(THREADS, step)

    succeeded = sum(isinstance(r, StockLot) for r in results)
    assert succeeded == 6  # 6 × 15 = 90 ≤ 100 < 7 × 15
    assert all(isinstance(r, StockLot | InsufficientStock) for r in results), results
    moved = sum(t.on_hand_kg for t in StockLot.objects.filter(zone=target))
    lot.refresh_from_db()
    adjusted_away = Decimal(100) - lot.on_hand_kg - moved
    assert lot.on_hand_kg == Decimal(10)
    assert adjusted_away + moved == Decimal(90)
    assert_ledger_balanced()
