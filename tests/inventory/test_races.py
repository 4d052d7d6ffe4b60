"""Concurrent stock changes on PostgreSQL: no lost update, constraints hold. Also the
catalogue services that race with them or with each other: zone changes against receipts,
lot details against adjustments, duplicate codes."""

import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM
from common.exceptions import DomainError
from inventory.exceptions import CapacityExceeded, InsufficientStock
from inventory.models import StockLot, StorageZone, Warehouse
from inventory.selectors import zone_occupancy_kg
from inventory.services import (
    lot_update_details,
    stock_adjust,
    stock_move,
    stock_receive,
    stock_reserve,
    warehouse_create,
    zone_create,
    zone_update,
)
from tests import factories as f
from tests.concurrency import run_concurrently
from tests.ledger import assert_ledger_balanced

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]

THREADS = 16


def test_concurrent_decrements_never_oversell(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    stock_reserve(
        actor=SYSTEM, lot=lot, holder=lot.owner, quantity_kg=Decimal("20"), expires_at=None
    )

    results = run_concurrently(
        THREADS,
        lambda i: stock_adjust(
            actor=SYSTEM, lot=StockLot.objects.get(pk=lot.pk), delta_kg=Decimal("-10")
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
            actor=SYSTEM, lot=StockLot.objects.get(pk=lot.pk), delta_kg=Decimal("2.5")
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
            actor=SYSTEM, owner=owner, material=material, zone=zone, quantity_kg=Decimal("150")
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
            return stock_move(actor=SYSTEM, lot=fresh, to_zone=target, quantity_kg=Decimal("15"))
        return stock_adjust(actor=SYSTEM, lot=fresh, delta_kg=Decimal("-15"))

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


def test_lowering_a_zones_capacity_while_receipts_arrive(world: dict[str, Any]) -> None:
    """Every receipt holds a zone object loaded before the change; none is admitted on the
    capacity it read instead of the one zone_update set under the warehouse lock."""
    zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, capacity_kg=1000)
    owner, material = world["enterprises"]["a1"], world["material"]
    loaded = [StorageZone.objects.get(pk=zone.pk) for _ in range(THREADS)]

    def step(i: int) -> Any:
        if i == THREADS // 2:
            return zone_update(actor=SYSTEM, zone=loaded[i], capacity_kg=Decimal(500))
        time.sleep(0.01)  # most receipts come just after the change: the stale-read case
        return stock_receive(
            actor=SYSTEM, owner=owner, material=material, zone=loaded[i], quantity_kg=Decimal(100)
        )

    results = run_concurrently(THREADS, step)

    assert all(isinstance(r, StockLot | StorageZone | CapacityExceeded) for r in results), results
    zone.refresh_from_db()
    occupied = Decimal(zone_occupancy_kg(zone_id=zone.pk))
    assert occupied <= zone.capacity_kg
    received = sum(isinstance(r, StockLot) for r in results)
    assert occupied == received * Decimal(100)
    assert zone.capacity_kg == (
        Decimal(500) if isinstance(results[THREADS // 2], StorageZone) else 1000
    )
    assert_ledger_balanced()


def test_lot_details_and_adjustments_of_one_lot_lose_nothing(
    world: dict[str, Any], receive: Any
) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")

    def step(i: int) -> Any:
        loaded = StockLot.objects.get(pk=lot.pk)
        if i % 2:
            return lot_update_details(actor=SYSTEM, lot=loaded, batch_no=f"B-{i}", grade="tech")
        return stock_adjust(actor=SYSTEM, lot=loaded, delta_kg=Decimal(1))

    results = run_concurrently(THREADS, step)

    assert all(isinstance(r, StockLot) for r in results), results
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(100) + THREADS // 2
    assert lot.grade == "tech"
    assert lot.batch_no in {f"B-{i}" for i in range(1, THREADS, 2)}
    assert_ledger_balanced()


def test_concurrent_creates_of_one_warehouse_code(world: dict[str, Any]) -> None:
    results = run_concurrently(
        THREADS,
        lambda i: warehouse_create(
            actor=SYSTEM,
            park=world["parks"]["a"],
            owner=world["enterprises"]["a1"],
            code="wh-raced",
            name=f"Store {i}",
            latitude=Decimal("29.95"),
            longitude=Decimal("121.71"),
        ),
    )

    assert sum(isinstance(r, Warehouse) for r in results) == 1
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == THREADS - 1, results
    assert {r.field for r in refused} == {"code"}
    assert {r.status_code for r in refused} == {400}
    assert Warehouse.objects.filter(code="wh-raced").count() == 1


def test_concurrent_creates_of_one_zone_code(world: dict[str, Any]) -> None:
    warehouse = world["zones"]["a1"].warehouse

    results = run_concurrently(
        THREADS,
        lambda i: zone_create(
            actor=SYSTEM, warehouse=warehouse, code="Z-RACED", capacity_kg=Decimal(1000)
        ),
    )

    assert sum(isinstance(r, StorageZone) for r in results) == 1
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == THREADS - 1, results
    assert {r.field for r in refused} == {"code"}
    assert StorageZone.objects.filter(warehouse=warehouse, code="Z-RACED").count() == 1


def test_expiry_changes_racing_on_one_lot_keep_expiry_after_production(
    world: dict[str, Any], receive: Any
) -> None:
    """Half the threads move production late, half move expiry early: each is fine alone,
    together they would cross. The lot's lock lets only one kind through."""
    lot = receive(
        zone=world["zones"]["a1"],
        material=world["material"],
        produced_on=date(2026, 1, 1),
        expires_on=date(2027, 1, 1),
    )

    def step(i: int) -> Any:
        loaded = StockLot.objects.get(pk=lot.pk)
        if i % 2:
            return lot_update_details(actor=SYSTEM, lot=loaded, produced_on=date(2026, 9, 1))
        return lot_update_details(actor=SYSTEM, lot=loaded, expires_on=date(2026, 6, 1))

    results = run_concurrently(THREADS, step)

    assert all(isinstance(r, StockLot | DomainError) for r in results), results
    assert any(isinstance(r, DomainError) for r in results)
    lot.refresh_from_db()
    assert lot.produced_on is not None and lot.expires_on is not None
    assert lot.expires_on >= lot.produced_on
