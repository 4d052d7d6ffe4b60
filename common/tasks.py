"""Thin Celery tasks of the platform layer: take ids, call a service.

The outbox: ``outbox_fanout`` (one per event, after its commit) creates the event's
deliveries and sends one ``outbox_run`` per delivery to its subscriber's queue;
``outbox_sweep`` (beat) does what a lost or failed send left undone.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from common.events import BROKER_ERRORS
from common.idempotency import idempotency_keys_purge
from common.services import (
    DeliverySend,
    outbox_deliveries_claim_due,
    outbox_delivery_run,
    outbox_event_fan_out,
    outbox_events_unfanned,
)

logger = logging.getLogger(__name__)


def deliveries_send(sends: Iterable[DeliverySend]) -> None:
    """Send each delivery's run to its subscriber's queue (in eager mode: run it now). A
    broker error is logged: the delivery's lease runs out and the sweep sends it."""
    for send in sends:
        try:
            outbox_run.apply_async((send.delivery_id, send.attempt), queue=send.queue)
        except BROKER_ERRORS as exc:
            logger.warning(
                "outbox delivery %s: not sent to the broker (%s); the sweep sends it",
                send.delivery_id,
                exc,
            )
            return


@shared_task(name="common.tasks.outbox_fanout")
def outbox_fanout(event_id: int) -> int:
    """One delivery per subscriber of the event, each sent once the fan-out committed (the
    service's own transaction: tasks run in autocommit)."""
    sends = outbox_event_fan_out(event_id=event_id)
    deliveries_send(sends)
    return len(sends)


@shared_task(name="common.tasks.outbox_run")
def outbox_run(delivery_id: int, attempt: int) -> bool | None:
    """Run one delivery (sent with the number of attempts it had: a duplicate is a no-op)."""
    return outbox_delivery_run(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="common.tasks.outbox_sweep")
def outbox_sweep() -> int:
    """Fan out the events whose after-commit fan-out was lost, and send the deliveries that
    are due (a retry's time, or a lost send); returns how many of both."""
    unfanned = outbox_events_unfanned(
        older_than=timedelta(seconds=settings.OUTBOX_FANOUT_GRACE_SECONDS)
    )
    for event_id in unfanned:
        outbox_fanout(event_id)  # here, not queued: the sweep runs on the outbox queue
    due = outbox_deliveries_claim_due()
    deliveries_send(due)
    return len(unfanned) + len(due)


@shared_task(name="common.tasks.idempotency_purge")
def idempotency_purge() -> int:
    """Delete the Idempotency-Key rows older than IDEMPOTENCY_KEY_TTL_HOURS (hourly)."""
    return idempotency_keys_purge()
