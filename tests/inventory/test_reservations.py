"""Reservations: reserve, release, hold (confirm) and the expiry sweep, with their refusals,
their events and the lot's reserved stock; the beat task that runs the sweep."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.scope import SYSTEM, resolve_scope
from common.exceptions import DomainError
from common.models import OutboxEvent
from config.celery import app as celery_app
from inventory import tasks
from inventory.exceptions import InsufficientStock, ReservationNotHeld
from inventory.models import Reservation, ReservationStatus, StockLot
from inventory.services import (
    reservation_hold,
    reservation_release,
    reservations_expire_due,
    stock_adjust,
    stock_reserve,
)
from tests.inventory.flows import held_kg, in_hours, quantities, reserve, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(world: dict[str, Any], receive: Any) -> StockLot:
    """100 kg of a1's in its own warehouse."""
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")


def events(topic: str) -> list[dict[str, Any]]:
    return list(
        OutboxEvent.objects.filter(topic=topic).order_by("id").values_list("payload", flat=True)
    )


# --- stock_reserve ---------------------------------------------------------------------------


def test_reserve_holds_stock_for_the_holder(world: dict[str, Any], lot: StockLot) -> None:
    before = events("stock.changed")
    expires = in_hours(2)
    reservation = stock_reserve(
        actor=resolve_scope(world["users"]["trader"]),
        lot=lot,
        holder=world["enterprises"]["b"],
        quantity_kg=Decimal("30.5"),
        expires_at=expires,
        reference="order:12",
    )
    stored = Reservation.objects.get(pk=reservation.pk)
    assert (stored.lot, stored.holder, stored.quantity_kg) == (
        lot,
        world["enterprises"]["b"],
        Decimal("30.500"),
    )
    assert (stored.status, stored.expires_at, stored.reference) == ("held", expires, "order:12")
    assert stored.created_by == world["users"]["trader"]
    assert (stored.closed_at, stored.close_reason) == (None, "")
    assert quantities(lot) == (Decimal(100), Decimal("30.5"))
    assert lot.movements.count() == 1  # a reservation moves no stock: no ledger row
    assert events("stock.changed") == [
        *before,
        {"lot_ids": [lot.pk], "material_ids": [lot.material_id]},
    ]


def test_reserve_takes_only_unreserved_stock(lot: StockLot) -> None:
    reserve(lot, "70")
    reserve(lot, "29.999")
    before = written()
    with pytest.raises(InsufficientStock) as info:
        reserve(lot, "0.002")
    assert (info.value.status_code, info.value.field, info.value.code) == (
        409,
        "quantity",
        "insufficient_stock",
    )
    assert written() == before
    reserve(lot, "0.001")
    assert quantities(lot) == (Decimal(100), Decimal(100))
    # Reserved stock is not there to adjust away either.
    with pytest.raises(InsufficientStock):
        stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-0.001"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity_kg": Decimal(0)}, "quantity"),
        ({"quantity_kg": Decimal(-1)}, "quantity"),
        ({"quantity_kg": Decimal("10000000001")}, "quantity"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "expires_at"),
        ({"expires_at": timezone.now().replace(tzinfo=None) + timedelta(days=1)}, "expires_at"),
        ({"reference": "x" * 65}, "reference"),
    ],
)
def test_reserve_refuses_bad_input(
    world: dict[str, Any], lot: StockLot, changes: dict[str, Any], field: str
) -> None:
    arguments = {
        "actor": SYSTEM,
        "lot": lot,
        "holder": world["enterprises"]["b"],
        "quantity_kg": Decimal(1),
        "expires_at": None,
        "reference": "",
        **changes,
    }
    before = written()
    with pytest.raises(DomainError) as info:
        stock_reserve(**arguments)
    assert (info.value.field, info.value.status_code) == (field, 400)
    assert written() == before


def test_reserve_with_a_stale_lot_object_reads_the_database(lot: StockLot) -> None:
    stale = StockLot.objects.get(pk=lot.pk)
    reserve(lot, "60")
    with pytest.raises(InsufficientStock):
        reserve(stale, "41")  # the object says 0 kg reserved; the database says 60
    reserve(stale, "40")
    assert quantities(lot) == (Decimal(100), Decimal(100))


# --- reservation_release ---------------------------------------------------------------------


def test_release_returns_the_quantity(world: dict[str, Any], lot: StockLot) -> None:
    kept = reserve(lot, "20")
    reservation = reserve(lot, "30", holder=world["enterprises"]["b"], reference="order:3")
    before = events("stock.changed")
    released = reservation_release(
        actor=resolve_scope(world["users"]["trader"]),
        reservation=reservation,
        reason="order cancelled",
    )
    assert released.status == ReservationStatus.RELEASED
    assert released.close_reason == "order cancelled"
    assert released.closed_at is not None
    assert reservation.status == "released"  # the caller's object is refreshed too
    assert quantities(lot) == (Decimal(100), Decimal(20))
    assert Reservation.objects.get(pk=kept.pk).status == "held"
    assert events("stock.changed") == [
        *before,
        {"lot_ids": [lot.pk], "material_ids": [lot.material_id]},
    ]


def test_release_twice_is_a_conflict_on_status(lot: StockLot) -> None:
    reservation = reserve(lot, "30")
    stale = Reservation.objects.get(pk=reservation.pk)
    reservation_release(actor=SYSTEM, reservation=reservation)
    before = written()
    with pytest.raises(ReservationNotHeld) as info:
        reservation_release(actor=SYSTEM, reservation=stale)  # it still says "held"
    assert (info.value.status_code, info.value.field) == (409, "status")
    assert "released" in info.value.message
    assert written() == before
    assert quantities(lot) == (Decimal(100), Decimal(0))


def test_release_refuses_a_long_reason(lot: StockLot) -> None:
    reservation = reserve(lot, "30")
    with pytest.raises(DomainError) as info:
        reservation_release(actor=SYSTEM, reservation=reservation, reason="x" * 256)
    assert info.value.field == "reason"
    assert Reservation.objects.get(pk=reservation.pk).status == "held"


# --- reservation_hold -----------------------------------------------------------------------


def test_hold_changes_the_expiry_and_writes_no_event(lot: StockLot) -> None:
    reservation = reserve(lot, "30", expires_at=in_hours(1))
    before = written()
    later = in_hours(48)
    assert reservation_hold(actor=SYSTEM, reservation=reservation, expires_at=later).expires_at == (
        later
    )
    held = reservation_hold(actor=SYSTEM, reservation=reservation, expires_at=None)
    assert (held.status, held.expires_at) == ("held", None)
    assert written() == before
    assert quantities(lot) == (Decimal(100), Decimal(30))


def test_hold_refuses_a_closed_reservation_and_a_past_time(lot: StockLot) -> None:
    reservation = reserve(lot, "30", expires_at=in_hours(1))
    with pytest.raises(DomainError) as info:
        reservation_hold(
            actor=SYSTEM, reservation=reservation, expires_at=timezone.now() - timedelta(1)
        )
    assert info.value.field == "expires_at"
    reservation_release(actor=SYSTEM, reservation=reservation)
    with pytest.raises(ReservationNotHeld) as conflict:
        reservation_hold(actor=SYSTEM, reservation=reservation, expires_at=None)
    assert conflict.value.field == "status"


# --- reservations_expire_due -----------------------------------------------------------------


def test_the_sweep_expires_only_due_held_reservations(world: dict[str, Any], lot: StockLot) -> None:
    due = reserve(lot, "10", expires_at=in_hours(1), reference="order:1")
    not_yet = reserve(lot, "11", expires_at=in_hours(3))
    until_dispatch = reserve(lot, "12", expires_at=None)
    released = reserve(lot, "13", expires_at=in_hours(1))
    reservation_release(actor=SYSTEM, reservation=released)
    stock_events = len(events("stock.changed"))

    assert reservations_expire_due(now=in_hours(2)) == [due.pk]

    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: "expired",
        not_yet.pk: "held",
        until_dispatch.pk: "held",
        released.pk: "released",
    }
    due.refresh_from_db()
    assert (due.close_reason, due.closed_at is not None) == ("expired", True)
    assert quantities(lot) == (Decimal(100), Decimal(23))
    assert held_kg(lot) == Decimal(23)
    assert events("reservation.expired") == [
        {
            "reservation_id": due.pk,
            "reference": "order:1",
            "material_ids": [lot.material_id],
            "owner_id": lot.owner_id,
            "holder_id": due.holder_id,
            "quantity_kg": "10.000",
        }
    ]
    assert len(events("stock.changed")) == stock_events + 1
    assert events("stock.changed")[-1] == {
        "lot_ids": [lot.pk],
        "material_ids": [lot.material_id],
    }
    # Nothing is due any more: a second run changes nothing.
    before = written()
    assert reservations_expire_due(now=in_hours(2)) == []
    assert written() == before


def test_the_sweep_works_in_batches_oldest_first(
    world: dict[str, Any], lot: StockLot, receive: Any
) -> None:
    other = receive(zone=world["zones"]["a1"], material=world["material"], quantity="50")
    made = [reserve(lot if i % 2 else other, "5", expires_at=in_hours(1)) for i in range(5)]
    ids = [r.pk for r in made]
    assert reservations_expire_due(now=in_hours(2), limit=2) == ids[:2]
    assert reservations_expire_due(now=in_hours(2), limit=2) == ids[2:4]
    assert reservations_expire_due(now=in_hours(2), limit=2) == ids[4:]
    assert quantities(lot) == (Decimal(100), Decimal(0))
    assert quantities(other) == (Decimal(50), Decimal(0))
    payloads = events("stock.changed")[-3:]
    assert [p["lot_ids"] for p in payloads] == [
        sorted([lot.pk, other.pk]),
        sorted([lot.pk, other.pk]),
        [other.pk],
    ]


def test_the_beat_task_expires_everything_due(
    lot: StockLot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "EXPIRE_BATCH", 2)  # several batches in one run
    made = [reserve(lot, "5", expires_at=in_hours(1)) for _ in range(5)]
    keep = reserve(lot, "5", expires_at=in_hours(1))
    # Due now: an hour ago. Only the expiry is set, no quantity: the ledger still holds.
    Reservation.objects.filter(pk__in=[r.pk for r in made]).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    assert tasks.reservations_expire() == 5
    assert Reservation.objects.get(pk=keep.pk).status == "held"
    assert quantities(lot) == (Decimal(100), Decimal(5))
    schedule = settings.CELERY_BEAT_SCHEDULE["reservations-expire"]
    assert schedule == {"task": "inventory.tasks.reservations_expire", "schedule": 60.0}
    assert "inventory.tasks.reservations_expire" in celery_app.tasks


# --- the model's own guards ------------------------------------------------------------------


def test_the_database_refuses_empty_and_half_closed_reservations(
    world: dict[str, Any], lot: StockLot
) -> None:
    holder = world["enterprises"]["b"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(lot=lot, holder=holder, quantity_kg=Decimal(0))
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            lot=lot, holder=holder, quantity_kg=Decimal(1), status="released"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            lot=lot, holder=holder, quantity_kg=Decimal(1), closed_at=timezone.now()
        )
