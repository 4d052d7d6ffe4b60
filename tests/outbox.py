"""Delivering outbox events by hand, as the outbox's tasks would (common.tasks), for tests
whose events stay pending (no commit, or their fan-out switched off)."""

from common.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from common.services import outbox_delivery_run, outbox_event_fan_out


def deliver(event: OutboxEvent) -> bool:
    """Fan ``event`` out (if it was not), then run each of its pending deliveries now, in
    this process; True if it has deliveries and every one is done."""
    outbox_event_fan_out(event_id=event.pk)
    pending = OutboxDelivery.objects.filter(event=event, status=DeliveryStatus.PENDING)
    for pk, attempts in pending.order_by("id").values_list("pk", "attempts"):
        outbox_delivery_run(delivery_id=pk, attempt=attempts)
    statuses = set(OutboxDelivery.objects.filter(event=event).values_list("status", flat=True))
    return statuses == {DeliveryStatus.DONE}


def redeliver(event: OutboxEvent) -> bool:
    """Deliver ``event`` again, as after a lost acknowledgement (at least once)."""
    OutboxDelivery.objects.filter(event=event).update(status=DeliveryStatus.PENDING)
    return deliver(event)


def handled(event: OutboxEvent) -> bool:
    """``event`` was fanned out and every one of its deliveries is done."""
    event.refresh_from_db()
    return (
        event.fanned_out_at is not None
        and not event.deliveries.exclude(status=DeliveryStatus.DONE).exists()
    )
