"""Writes of the platform layer: outbox delivery."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.events import handlers_for
from common.models import OutboxEvent

logger = logging.getLogger(__name__)


def outbox_deliver(*, event_id: int) -> bool:
    """Run the handlers of one pending event and mark it dispatched.

    Locks the event row (skipping it if another worker holds it), so one event is
    delivered by one worker at a time. Returns False if it was not delivered now. A
    failing handler rolls the delivery back; the error is kept and the sweep retries.
    """
    try:
        with transaction.atomic():
            event = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(pk=event_id, dispatched_at__isnull=True)
                .first()
            )
            if event is None:
                return False
            for handler in handlers_for(event.topic):
                handler(event)
            event.dispatched_at = timezone.now()
            event.attempts += 1
            event.last_error = ""
            event.save(update_fields=["dispatched_at", "attempts", "last_error"])
            return True
    except Exception as exc:
        logger.exception("outbox event %s failed", event_id)
        OutboxEvent.objects.filter(pk=event_id).update(
            attempts=F("attempts") + 1, last_error=repr(exc)[:2000]
        )
        return False


def outbox_pending_ids(
    *, older_than: timedelta = timedelta(seconds=30), limit: int = 1000
) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
