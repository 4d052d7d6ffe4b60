"""Writes of the platform layer: outbox delivery, and the save of a row with a unique key
that every app's services share."""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from common.events import handlers_for
from common.exceptions import DomainError
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


def save_unique(
    obj: Model,
    *,
    clash: QuerySet[Any],
    field: str,
    message: str,
    update_fields: Iterable[str] | None = None,
) -> None:
    """Save ``obj`` (insert or update) in a savepoint of the caller's transaction.

    Serializers and forms check uniqueness before the service runs, but a concurrent insert
    of the same key can still win the race. If the database refuses the row and ``clash``
    (the rows ``obj`` would collide with) now finds one, the refusal is a DomainError
    naming ``field``: a 400 like the early check, not a 409 or a 500. The savepoint keeps
    the caller's transaction usable. Any other IntegrityError is raised as it is.
    """
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError:
        if clash.exists():
            raise DomainError(message, field=field) from None
        raise


def refuse_unchangeable(changes: dict[str, Any], changeable: tuple[str, ...]) -> None:
    """A DomainError naming the first field of ``changes`` that a service does not change."""
    refused = sorted(set(changes) - set(changeable))
    if refused:
        raise DomainError(_("Not changeable."), field=refused[0])
