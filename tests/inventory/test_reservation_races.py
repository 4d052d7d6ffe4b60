"""Reservations under concurrency, on PostgreSQL: threads released together by a barrier,
each on its own connection. Nothing is over-reserved, a reservation ends once, the expiry
sweep never waits for or overrides a confirmation, and the ledger balances afterwards."""

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from access.scope import SYSTEM
from inventory.exceptions import CapacityExceeded, InsufficientStock, ReservationNotHeld
from inventory.models import Reservation, StockLot, StockMovement
from inventory.services import (
    reservation_hold,
    reservation_release,
    reservations_expire_due,
    stock_adjust,
    stock_deliver,
    stock_dispatch,
    stock_reserve,
    stock_transfer,
)
from tests import factories as f
from tests.concurrency import run_concurrently
from tests.inventory.flows import held_kg, in_hours, quantities, reserve
from tests.ledger import assert_ledger_balanced

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]

THREADS = 16


def test_fifty_concurrent_reservations_never_over_reserve(
    world: dict[str, Any], receive: Any
) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    holder = world["enterprises"]["b"]

    results = run_concurrently(
        50,
        lambda i: stock_reserve(
            actor=SYSTEM,
            lot=StockLot.objects.get(pk=lot.pk),
            holder=holder,
            quantity_kg=Decimal(3),
            expires_at=None,
            reference=f"order:{i}",
        ),
    )

    made = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert len(made) == 33 and len(refused) == 17, results  # 33 × 3 = 99 ≤ 100 < 34 × 3
    assert quantities(lot) == (Decimal(100), Decimal(99))
    assert held_kg(lot) == Decimal(99)
    assert Reservation.objects.count() == 33
    assert_ledger_balanced()


def test_reservations_and_adjustments_share_the_stock(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")

    def step(i: int) -> Any:
        fresh = StockLot.objects.get(pk=lot.pk)
        if i % 2:
            return stock_adjust(actor=SYSTEM, lot=fresh, delta_kg=Decimal(-15))
        return reserve(fresh, "15")

    results = run_concurrently(THREADS, step)

    assert all(isinstance(r, StockLot | Reservation | InsufficientStock) for r in results)
    assert sum(not isinstance(r, InsufficientStock) for r in results) == 6  # 6 × 15 ≤ 100
    on_hand, reserved = quantities(lot)
    assert reserved == held_kg(lot) <= on_hand
    assert on_hand - reserved == Decimal(10)
    assert_ledger_balanced()


def test_dispatch_and_release_of_one_reservation_one_wins(
    world: dict[str, Any], receive: Any
) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    made = [reserve(lot, "10", holder=world["enterprises"]["b"]) for _ in range(THREADS // 2)]

    def step(i: int) -> Any:
        reservation = Reservation.objects.get(pk=made[i // 2].pk)
        if i % 2:
            return stock_dispatch(actor=SYSTEM, reservation=reservation)
        return reservation_release(actor=SYSTEM, reservation=reservation)

    results = run_concurrently(THREADS, step)

    for pair in range(THREADS // 2):
        release, dispatch = results[2 * pair], results[2 * pair + 1]
        won = [r for r in (release, dispatch) if not isinstance(r, ReservationNotHeld)]
        assert len(won) == 1, (release, dispatch)
        status = Reservation.objects.get(pk=made[pair].pk).status
        assert status == ("consumed" if isinstance(won[0], StockMovement) else "released")
    dispatched = sum(isinstance(r, StockMovement) for r in results)
    assert StockMovement.objects.filter(lot=lot, kind="dispatch").count() == dispatched
    assert quantities(lot) == (Decimal(1000) - 10 * dispatched, Decimal(0))
    assert_ledger_balanced()


def test_the_sweep_beside_confirmations_loses_nothing(world: dict[str, Any], receive: Any) -> None:
    """Four threads sweep (as if an hour had passed) while twelve confirm the reservations
    (hold until dispatch). Every reservation ends held without expiry, if its confirmation
    came first, or expired, if the sweep did; never both, never neither."""
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    made = [reserve(lot, "10", expires_at=in_hours(1)) for _ in range(48)]
    sweepers = 4
    confirmers = THREADS - sweepers
    swept: list[list[int]] = [[] for _ in range(sweepers)]
    confirmed: dict[int, bool] = {}

    def step(i: int) -> Any:
        if i < sweepers:
            while ids := reservations_expire_due(now=in_hours(2), limit=3):
                swept[i].extend(ids)
            return None
        for reservation in made[i - sweepers :: confirmers]:
            try:
                reservation_hold(actor=SYSTEM, reservation=reservation, expires_at=None)
            except ReservationNotHeld:
                confirmed[reservation.pk] = False
            else:
                confirmed[reservation.pk] = True
        return None

    results = run_concurrently(THREADS, step)

    assert results == [None] * THREADS, results
    expired = [pk for ids in swept for pk in ids]
    assert len(expired) == len(set(expired))  # no reservation expired twice
    stored = {r.pk: r for r in Reservation.objects.all()}
    assert len(confirmed) == len(made)
    for pk, won in confirmed.items():
        reservation = stored[pk]
        if won:
            assert (reservation.status, reservation.expires_at) == ("held", None), pk
            assert pk not in expired
        else:
            assert reservation.status == "expired" and pk in expired, pk
    assert set(expired) == {pk for pk, won in confirmed.items() if not won}
    held = sum(won for won in confirmed.values())
    assert quantities(lot) == (Decimal(1000), Decimal(10) * held)
    assert held_kg(lot) == Decimal(10) * held
    assert_ledger_balanced()


def test_the_sweep_skips_a_row_another_transaction_holds(
    world: dict[str, Any], receive: Any
) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    locked = reserve(lot, "10", expires_at=in_hours(1))
    free = reserve(lot, "20", expires_at=in_hours(1))
    holding, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Reservation.objects.select_for_update().filter(pk=locked.pk).get()
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        started = time.perf_counter()
        assert reservations_expire_due(now=in_hours(2)) == [free.pk]
        assert time.perf_counter() - started < 5  # skipped, not waited for
        assert Reservation.objects.get(pk=locked.pk).status == "held"
    finally:
        release.set()
        holder.join(timeout=30)
    assert reservations_expire_due(now=in_hours(2)) == [locked.pk]
    assert quantities(lot) == (Decimal(100), Decimal(0))
    assert_ledger_balanced()


def test_concurrent_deliveries_respect_zone_capacity(world: dict[str, Any]) -> None:
    zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, capacity_kg=1000)
    owner, material = world["enterprises"]["a1"], world["material"]

    results = run_concurrently(
        THREADS,
        lambda i: stock_deliver(
            actor=SYSTEM, owner=owner, material=material, zone=zone, quantity_kg=Decimal(150)
        ),
    )

    assert sum(isinstance(r, StockLot) for r in results) == 6
    assert sum(isinstance(r, CapacityExceeded) for r in results) == THREADS - 6
    assert sum(lot.on_hand_kg for lot in StockLot.objects.filter(zone=zone)) == Decimal(900)
    assert_ledger_balanced()


def test_concurrent_transfers_into_a_zone_respect_its_capacity(
    world: dict[str, Any], receive: Any
) -> None:
    """Sixteen reservations of 60 kg change owner into one zone of 500 kg: eight fit."""
    warehouse = world["zones"]["shared"].warehouse
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    lot = receive(zone=world["zones"]["shared"], material=world["material"], owner=a1)
    target = f.StorageZoneFactory.create(warehouse=warehouse, capacity_kg=500)
    made = [reserve(lot, "60", holder=a2) for _ in range(THREADS)]

    results = run_concurrently(
        THREADS,
        lambda i: stock_transfer(
            actor=SYSTEM,
            reservation=Reservation.objects.get(pk=made[i].pk),
            new_owner=a2,
            zone=target,
        ),
    )

    transferred = [r for r in results if isinstance(r, StockLot)]
    refused = [r for r in results if isinstance(r, CapacityExceeded)]
    assert len(transferred) == 8 and len(refused) == THREADS - 8, results  # 8 × 60 ≤ 500
    statuses = [Reservation.objects.get(pk=r.pk).status for r in made]
    assert statuses == ["consumed" if isinstance(r, StockLot) else "held" for r in results]
    in_target = sum(x.on_hand_kg for x in StockLot.objects.filter(zone=target))
    assert in_target == Decimal(480)
    assert quantities(lot) == (Decimal(1000) - 480, Decimal(60) * (THREADS - 8))
    assert held_kg(lot) == Decimal(60) * (THREADS - 8)
    assert_ledger_balanced()


def test_transfer_and_release_of_one_reservation_one_wins(
    world: dict[str, Any], receive: Any
) -> None:
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    lot = receive(zone=world["zones"]["shared"], material=world["material"], owner=a1)
    made = [reserve(lot, "100", holder=a2) for _ in range(THREADS // 2)]

    def step(i: int) -> Any:
        reservation = Reservation.objects.get(pk=made[i // 2].pk)
        if i % 2:
            return reservation_release(actor=SYSTEM, reservation=reservation)
        return stock_transfer(actor=SYSTEM, reservation=reservation, new_owner=a2)

    results = run_concurrently(THREADS, step)

    for pair in range(THREADS // 2):
        transfer, release = results[2 * pair], results[2 * pair + 1]
        status = Reservation.objects.get(pk=made[pair].pk).status
        if isinstance(transfer, StockLot):
            assert status == "consumed" and isinstance(release, ReservationNotHeld)
        else:
            assert isinstance(transfer, ReservationNotHeld), transfer
            assert status == "released" and isinstance(release, Reservation)
    moved = sum(isinstance(r, StockLot) for r in results)
    assert StockLot.objects.filter(owner=a2).count() == moved
    assert quantities(lot) == (Decimal(1000) - 100 * moved, Decimal(0))
    assert_ledger_balanced()
