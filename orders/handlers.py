"""Outbox subscribers of orders. Idempotent, as the outbox requires: a redelivered event
finds the order already expired and changes nothing."""

from common.events import subscribe
from common.models import OutboxEvent
from orders.services import order_expire


@subscribe("reservation.")
def expire_order_of_reservation(event: OutboxEvent) -> None:
    """A reservation ran out (``reservation.expired``): its reserved order expires."""
    if event.topic != "reservation.expired":
        return
    reservation_id = event.payload.get("reservation_id")
    if reservation_id is not None:
        order_expire(reservation_id=int(reservation_id))
