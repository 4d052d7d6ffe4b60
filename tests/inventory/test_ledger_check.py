"""The ledger check (inventory.selectors.ledger_discrepancies, ``manage.py ledger_check``):
balanced after every kind of stock flow; each kind of discrepancy, planted on purpose,
reported with its lot; one query whatever the size of the ledger."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from access.scope import SYSTEM
from inventory.models import MovementKind, Reservation, StockLot, StockMovement
from inventory.selectors import Discrepancy, ledger_discrepancies
from inventory.services import (
    reservation_release,
    reservations_expire_due,
    stock_adjust,
    stock_deliver,
    stock_dispatch,
    stock_move,
    stock_transfer,
)
from tests import factories as f
from tests.inventory.flows import in_hours, reserve

pytestmark = pytest.mark.django_db

LOT_CHECKS = ("lot_on_hand_gte_0", "lot_reserved_gte_0", "lot_reserved_lte_on_hand")


@contextmanager
def lot_checks_off() -> Iterator[None]:
    """Let quantities break the lots' check constraints (the last guard), as only a bug or
    a hand-edited database could. PostgreSQL drops them inside the test's transaction,
    which rolls back; SQLite ignores CHECK constraints on this connection meanwhile."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses to run while deferred foreign-key checks are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for name in LOT_CHECKS:
                cursor.execute(f"ALTER TABLE inventory_stocklot DROP CONSTRAINT {name}")
            yield
        else:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def run_check(*args: str) -> str:
    out = StringIO()
    call_command("ledger_check", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def lot(world: dict[str, Any], receive: Any) -> StockLot:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")


# --- balanced ---------------------------------------------------------------------------------


def test_an_empty_database_is_balanced(db: None) -> None:
    assert ledger_discrepancies() == []
    assert run_check().startswith("ledger balanced: 0 lots, 0 movements, 0 reservations checked in")


def test_every_stock_flow_keeps_the_ledger_balanced(world: dict[str, Any], receive: Any) -> None:
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    shared, material = world["zones"]["shared"], world["material"]
    own = receive(zone=world["zones"]["a1"], material=material, quantity="1000")
    stored = receive(zone=shared, material=material, quantity="500", owner=a1)
    stock_adjust(actor=SYSTEM, lot=own, delta_kg=Decimal("-0.1"))
    stock_move(actor=SYSTEM, lot=own, to_zone=shared, quantity_kg=Decimal("0.2"))
    stock_dispatch(actor=SYSTEM, reservation=reserve(own, "0.3", holder=world["enterprises"]["b"]))
    stock_deliver(
        actor=SYSTEM,
        owner=world["enterprises"]["b"],
        material=material,
        zone=world["zones"]["b"],
        quantity_kg=Decimal("0.3"),
        source_lot=own,
    )
    reservation_release(actor=SYSTEM, reservation=reserve(own, "7"))
    reserve(own, "5", expires_at=in_hours(1))
    reservations_expire_due(now=in_hours(2))
    stock_transfer(actor=SYSTEM, reservation=reserve(stored, "123.456", holder=a2), new_owner=a2)
    reserve(stored, "100", holder=a2)  # still held

    assert ledger_discrepancies() == []
    output = run_check()
    lots, movements = StockLot.objects.count(), StockMovement.objects.count()
    assert output.startswith(
        f"ledger balanced: {lots} lots, {movements} movements, 5 reservations checked in "
    )
    assert output.rstrip().endswith(" s")


def test_sums_of_many_small_movements_balance(lot: StockLot) -> None:
    # On SQLite the sums are floating point: 0.1 + 0.2 is not 0.3 there.
    for delta in ("0.1", "0.2", "0.3", "-0.6", "0.001", "0.7", "-0.701") * 5:
        stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal(delta))
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(100)
    assert ledger_discrepancies() == []


def test_the_check_is_one_query_whatever_the_size(
    world: dict[str, Any], receive: Any, django_assert_num_queries: Any
) -> None:
    for _ in range(5):
        stocked = receive(zone=world["zones"]["a1"], material=world["material"], quantity="10")
        reserve(stocked, "1")
    with django_assert_num_queries(1):
        assert ledger_discrepancies() == []
    with django_assert_num_queries(1):
        assert ledger_discrepancies(lot_ids=[stocked.pk]) == []
    with django_assert_num_queries(0):
        assert ledger_discrepancies(lot_ids=[]) == []


# --- planted discrepancies -------------------------------------------------------------------


@pytest.mark.ledger_unbalanced
def test_on_hand_that_disagrees_with_the_movements(
    world: dict[str, Any], lot: StockLot, receive: Any
) -> None:
    fine = receive(zone=world["zones"]["a1"], material=world["material"], quantity="5")
    StockLot.objects.filter(pk=lot.pk).update(on_hand_kg=Decimal("90.5"))
    bare = f.LotFactory.create(zone=world["zones"]["a1"], on_hand_kg=Decimal(7))  # no receipt
    assert ledger_discrepancies() == [
        Discrepancy(lot.pk, "on_hand_vs_movements", Decimal("100.000"), Decimal("90.500")),
        Discrepancy(bare.pk, "on_hand_vs_movements", Decimal("0.000"), Decimal("7.000")),
    ]
    assert ledger_discrepancies(lot_ids=[fine.pk]) == []
    assert [d.lot_id for d in ledger_discrepancies(lot_ids=[bare.pk, fine.pk])] == [bare.pk]


@pytest.mark.ledger_unbalanced
def test_reserved_that_disagrees_with_the_reservations(
    world: dict[str, Any], lot: StockLot
) -> None:
    reservation = reserve(lot, "30")
    reserve(lot, "20")
    # The reservation is closed behind the services' back: the lot still counts it.
    Reservation.objects.filter(pk=reservation.pk).update(
        status="released", closed_at=timezone.now()
    )
    assert ledger_discrepancies() == [
        Discrepancy(lot.pk, "reserved_vs_reservations", Decimal("20.000"), Decimal("50.000"))
    ]


@pytest.mark.ledger_unbalanced
def test_reserved_over_on_hand(lot: StockLot) -> None:
    reserve(lot, "100")
    with lot_checks_off():
        # A movement and the lot agree (90 kg), but 100 kg stay reserved.
        StockMovement.objects.create(
            lot=lot, quantity_kg=Decimal(-10), kind=MovementKind.ADJUSTMENT
        )
        StockLot.objects.filter(pk=lot.pk).update(on_hand_kg=Decimal(90))
        assert ledger_discrepancies() == [
            Discrepancy(lot.pk, "reserved_over_on_hand", Decimal("90.000"), Decimal("100.000"))
        ]


@pytest.mark.ledger_unbalanced
def test_negative_on_hand(lot: StockLot) -> None:
    with lot_checks_off():
        StockMovement.objects.create(
            lot=lot, quantity_kg=Decimal(-150), kind=MovementKind.ADJUSTMENT
        )
        StockLot.objects.filter(pk=lot.pk).update(on_hand_kg=Decimal(-50))
        found = ledger_discrepancies()
    assert found == [
        Discrepancy(lot.pk, "negative_on_hand", Decimal(0), Decimal("-50.000")),
        # Nothing is reserved, yet that is more than a negative stock on hand.
        Discrepancy(lot.pk, "reserved_over_on_hand", Decimal("-50.000"), Decimal("0.000")),
    ]


@pytest.mark.ledger_unbalanced
def test_negative_reserved(lot: StockLot) -> None:
    with lot_checks_off():
        StockLot.objects.filter(pk=lot.pk).update(reserved_kg=Decimal("-0.001"))
        found = ledger_discrepancies()
    assert found == [
        Discrepancy(lot.pk, "negative_reserved", Decimal(0), Decimal("-0.001")),
        Discrepancy(lot.pk, "reserved_vs_reservations", Decimal("0.000"), Decimal("-0.001")),
    ]


@pytest.mark.ledger_unbalanced
def test_the_command_lists_each_discrepancy_and_fails(
    world: dict[str, Any], lot: StockLot, receive: Any
) -> None:
    other = receive(zone=world["zones"]["a1"], material=world["material"], quantity="10")
    StockLot.objects.filter(pk=lot.pk).update(on_hand_kg=Decimal(90))
    StockLot.objects.filter(pk=other.pk).update(reserved_kg=Decimal(4))
    out = StringIO()
    with pytest.raises(CommandError, match=r"ledger unbalanced: 2 discrepancies in 2 of 2 lots"):
        call_command("ledger_check", stdout=out)
    assert out.getvalue().splitlines() == [
        f"lot {lot.pk}: on_hand_vs_movements: expected 100.000, actual 90.000",
        f"lot {other.pk}: reserved_vs_reservations: expected 0.000, actual 4.000",
    ]
    # One lot at a time, as an operator would look closer.
    with pytest.raises(CommandError, match="1 discrepancies in 1 of 1 lots"):
        call_command("ledger_check", "--lot", str(other.pk), stdout=StringIO())


def test_the_command_checks_one_lot(world: dict[str, Any], lot: StockLot) -> None:
    reserve(lot, "1", expires_at=timezone.now() + timedelta(hours=1))
    assert run_check("--lot", str(lot.pk)).startswith(
        "ledger balanced: 1 lots, 1 movements, 1 reservations checked in "
    )
