"""Helpers of the reservation and stock-flow tests: reservations made through the service,
times relative to now, and the counts a refused service must leave unchanged."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from access.scope import SYSTEM, resolve_scope
from common.models import OutboxEvent
from inventory.models import Reservation, StockLot, StockMovement
from inventory.services import stock_reserve


def in_hours(hours: float) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def reserve(
    lot: StockLot,
    quantity: str | Decimal,
    *,
    holder: Any = None,
    expires_at: datetime | None = None,
    reference: str = "",
    actor: Any = None,
) -> Reservation:
    """Hold ``quantity`` kg of ``lot`` (for its owner unless ``holder`` is given), as the
    system unless ``actor`` (a user) is given."""
    return stock_reserve(
        actor=SYSTEM if actor is None else resolve_scope(actor),
        lot=lot,
        holder=holder or lot.owner,
        quantity_kg=Decimal(quantity),
        expires_at=expires_at,
        reference=reference,
    )


def written() -> dict[str, int]:
    """Rows a refused service must not have added."""
    return {
        "lots": StockLot.objects.count(),
        "movements": StockMovement.objects.count(),
        "reservations": Reservation.objects.count(),
        "events": OutboxEvent.objects.count(),
    }


def quantities(lot: StockLot) -> tuple[Decimal, Decimal]:
    """(on hand, reserved) of ``lot`` as stored now."""
    return StockLot.objects.filter(pk=lot.pk).values_list("on_hand_kg", "reserved_kg").get()


def held_kg(lot: StockLot) -> Decimal:
    return sum(
        (r.quantity_kg for r in Reservation.objects.filter(lot=lot, status="held")), Decimal(0)
    )
