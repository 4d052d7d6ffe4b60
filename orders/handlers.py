"""Outbox subscribers of orders. Idempotent, as the outbox requires: a redelivered event
finds the order already expired and changes nothing."""

from common.events import subscriber
from common.models import OutboxEvent
from inventory.topics import RESERVATION_EXPIRED
from orders.services import order_expire


@subscriber("orders.expire", topics=(RESERVATION_EXPIRED,))
def expire_order_of_reservation(event: OutboxEvent) -> None:
    """A reservation ran out (``reservation.expired``): its reserved order expires."""
    reservation_id = event.payload.get("reservation_id")
    if reservation_id is not None:
        order_expire(reservation_id=int(reservation_id))
