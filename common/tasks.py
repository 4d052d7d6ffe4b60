"""Thin Celery tasks of the platform layer: take ids, call a service.

The outbox: ``outbox_fanout`` (after the commit of one event, or of a batch of events
written together) creates their deliveries and sends them to each subscriber's queue: one
``outbox_run`` for a single delivery, one ``outbox_run_many`` per OUTBOX_RUN_BATCH of a
queue's deliveries otherwise (a full rematch writes thousands of events at once: one task
each would cost more than the work). ``outbox_sweep`` (beat) does what a lost or failed
send left undone.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from common.events import BROKER_ERRORS
from common.idempotency import idempotency_keys_purge
from common.services import (
    DeliverySend,
    outbox_deliveries_claim_due,
    outbox_deliveries_run,
    outbox_delivery_run,
    outbox_events_fan_out,
    outbox_events_unfanned,
)

logger = logging.getLogger(__name__)


def deliveries_send(sends: Iterable[DeliverySend]) -> None:
    """Send the deliveries' runs to their subscribers' queues (in eager mode: run them now),
    batched per queue. A broker error is logged: the deliveries' lease runs out and the
    sweep sends them."""
    by_queue: dict[str, list[DeliverySend]] = defaultdict(list)
    for send in sends:
        by_queue[send.queue].append(send)
    size = settings.OUTBOX_RUN_BATCH
    for queue, queued in by_queue.items():
        for start in range(0, len(queued), size):
            batch = queued[start : start + size]
            try:
                if len(batch) == 1:
                    outbox_run.apply_async((batch[0].delivery_id, batch[0].attempt), queue=queue)
                else:
                    pairs = [[s.delivery_id, s.attempt] for s in batch]
                    outbox_run_many.apply_async((pairs,), queue=queue)
            except BROKER_ERRORS as exc:
                logger.warning(
                    "outbox deliveries %s..: not sent to the broker (%s); the sweep sends them",
                    batch[0].delivery_id,
                    exc,
                )
                return


@shared_task(name="common.tasks.outbox_fanout")
def outbox_fanout(event_ids: int | list[int]) -> int:
    """One delivery per subscriber of the event (or of each event of a batch), sent once
    the fan-out committed (its own transaction: tasks run in autocommit)."""
    ids = [event_ids] if isinstance(event_ids, int) else event_ids
    sends = outbox_events_fan_out(event_ids=ids)
    deliveries_send(sends)
    return len(sends)


@shared_task(name="common.tasks.outbox_run")
def outbox_run(delivery_id: int, attempt: int) -> bool | None:
    """Run one delivery (sent with the number of attempts it had: a duplicate is a no-op)."""
    return outbox_delivery_run(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="common.tasks.outbox_run_many")
def outbox_run_many(pairs: list[list[int]]) -> int:
    """Run a batch of deliveries of one queue (common.services.outbox_deliveries_run: a
    subscriber with a batch handler takes its share at once, the others one by one; a
    duplicate is a no-op); returns how many were done."""
    return outbox_deliveries_run(pairs=[(d, a) for d, a in pairs])


@shared_task(name="common.tasks.outbox_sweep")
def outbox_sweep() -> int:
    """Fan out the events whose after-commit fan-out was lost, and send the deliveries that
    are due (a retry's time, or a lost send); returns how many of both."""
    unfanned = outbox_events_unfanned(
        older_than=timedelta(seconds=settings.OUTBOX_FANOUT_GRACE_SECONDS)
    )
    size = settings.OUTBOX_FANOUT_BATCH
    for start in range(0, len(unfanned), size):
        outbox_fanout(unfanned[start : start + size])  # here: the sweep runs on the outbox queue
    due = outbox_deliveries_claim_due()
    deliveries_send(due)
    return len(unfanned) + len(due)


@shared_task(name="common.tasks.idempotency_purge")
def idempotency_purge() -> int:
    """Delete the Idempotency-Key rows older than IDEMPOTENCY_KEY_TTL_HOURS (hourly)."""
    return idempotency_keys_purge()
