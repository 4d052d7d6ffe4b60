"""Writes of the platform layer: the outbox's fan-out, deliveries and sweep, and the save
of a row with a unique key that every app's services share."""

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model, ProtectedError, QuerySet, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from common.events import subscriber_named, subscribers_for
from common.exceptions import DomainError
from common.models import DeliveryStatus, OutboxDelivery, OutboxEvent

logger = logging.getLogger(__name__)


class DeliverySend(NamedTuple):
    """A delivery to send to its subscriber's queue, and the attempt it is sent for."""

    delivery_id: int
    attempt: int
    queue: str


def _lease() -> timedelta:
    """How long a delivery just sent is left to its task before the sweep sends it again
    (longer than a task may run)."""
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def _sends(rows: Iterable[tuple[int, int, str]]) -> list[DeliverySend]:
    sends = []
    for pk, attempts, name in rows:
        sub = subscriber_named(name)
        sends.append(DeliverySend(pk, attempts, sub.queue if sub is not None else "outbox"))
    return sends


def outbox_event_fan_out(*, event_id: int) -> list[DeliverySend]:
    """``outbox_events_fan_out`` of one event."""
    return outbox_events_fan_out(event_ids=[event_id])


def outbox_events_fan_out(*, event_ids: Sequence[int]) -> list[DeliverySend]:
    """Create the deliveries of the events not yet fanned out among ``event_ids``, one per
    subscriber taking each one's topic, and mark them fanned out, in one transaction (one
    bulk INSERT whatever the number of events); returns the pending deliveries to send.

    Locks the event rows (skipping those another worker holds: that one fans them out);
    an event already fanned out gets nothing. The deliveries are created with a lease
    (``due_at`` = now + OUTBOX_LEASE_SECONDS): the caller sends them after commit, and the
    sweep sends them again only if that send is lost.
    """
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(event_ids), fanned_out_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "topic")
        )
        if not events:
            return []
        now = timezone.now()
        due = now + _lease()
        rows = [
            OutboxDelivery(event_id=pk, subscriber=s.name, due_at=due)
            for pk, topic in events
            for s in subscribers_for(topic)
        ]
        if rows:
            OutboxDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        pks = [pk for pk, _topic in events]
        OutboxEvent.objects.filter(pk__in=pks).update(fanned_out_at=now)
        if not rows:
            return []
        return _sends(
            OutboxDelivery.objects.filter(event_id__in=pks, status=DeliveryStatus.PENDING)
            .order_by("id")
            .values_list("pk", "attempts", "subscriber")
        )


def outbox_delivery_run(*, delivery_id: int, attempt: int) -> bool | None:
    """Run one pending delivery's handler; True if done, False if it failed (and will be
    retried or is failed for good), None if it was not run now.

    Locks the delivery row (skipping it if another worker holds it). ``attempt`` is the
    number of attempts the delivery had when it was sent: a task sent twice for the same
    attempt (a lost lease, a redelivered message) runs once. The handler runs in a
    savepoint: if it raises, only its own writes roll back; the attempt is counted, the
    error kept and logged, and the next attempt scheduled in ``due_at`` (the subscriber's
    retry policy) or the delivery failed after its last attempt.
    """
    with transaction.atomic():
        delivery = (
            OutboxDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempt)
            .first()
        )
        if delivery is None:
            return None
        sub = subscriber_named(delivery.subscriber)
        now = timezone.now()
        delivery.attempts += 1
        try:
            if sub is None:
                raise LookupError(f"no subscriber named {delivery.subscriber}")
            with transaction.atomic():
                sub.handler(delivery.event)
        except Exception as exc:
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            final = sub is None or delivery.attempts >= sub.retry.max_attempts
            if final:
                delivery.status = DeliveryStatus.FAILED
            else:
                delivery.due_at = now + sub.retry.delay(delivery.attempts)  # type: ignore[union-attr]
            logger.warning(
                "outbox delivery %s: subscriber %s failed on event %s (%s), attempt %d%s",
                delivery.pk,
                delivery.subscriber,
                delivery.event_id,
                delivery.event.topic,
                delivery.attempts,
                ", failed for good"
                if final
                else f", next at {timezone.localtime(delivery.due_at):%Y-%m-%d %H:%M:%S}",
                exc_info=True,
            )
            delivery.save(update_fields=["attempts", "last_error", "status", "due_at"])
            return False
        delivery.status = DeliveryStatus.DONE
        delivery.done_at = now
        delivery.save(update_fields=["attempts", "status", "done_at"])
        return True


def outbox_deliveries_run(*, pairs: Sequence[tuple[int, int]]) -> int:
    """Run a batch of pending deliveries (``(delivery id, attempts when sent)`` each), as
    ``outbox_delivery_run`` runs one; returns how many are done.

    The deliveries of a subscriber with a batch handler (common.events.Subscriber.batch)
    are locked together (skipping any another worker holds, and any whose attempts moved
    on: a duplicate send) and handled in one savepoint of one transaction, then marked
    done with one UPDATE. If the batch handler raises, nothing of it stands and each of
    its deliveries is run alone, so one bad event fails (and is retried) on its own. The
    others are run one at a time."""
    expected = dict(pairs)
    singles: list[tuple[int, int]] = []
    done = 0
    names = dict(
        OutboxDelivery.objects.filter(
            pk__in=list(expected), status=DeliveryStatus.PENDING
        ).values_list("pk", "subscriber")
    )
    grouped: dict[str, tuple[Callable[[list[OutboxEvent]], None], list[int]]] = {}
    for pk, name in names.items():
        sub = subscriber_named(name)
        if sub is not None and sub.batch is not None:
            grouped.setdefault(name, (sub.batch, []))[1].append(pk)
        else:
            singles.append((pk, expected[pk]))
    for batch, ids in grouped.values():
        ran = _run_batch(batch, ids, expected)
        if ran is None:
            singles += [(pk, expected[pk]) for pk in ids]
        else:
            done += ran
    for pk, attempt in sorted(singles):
        done += bool(outbox_delivery_run(delivery_id=pk, attempt=attempt))
    return done


def _run_batch(
    batch: Callable[[list[OutboxEvent]], None], ids: list[int], expected: dict[int, int]
) -> int | None:
    """Handle ``ids`` with ``batch`` in one transaction; the number done, or None if the
    handler raised (then nothing of it stands)."""
    with transaction.atomic():
        rows = [
            d
            for d in OutboxDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(pk__in=ids, status=DeliveryStatus.PENDING)
            .order_by("event_id")
            if d.attempts == expected[d.pk]
        ]
        if not rows:
            return 0
        try:
            with transaction.atomic():
                batch([d.event for d in rows])
        except Exception:
            logger.warning(
                "outbox deliveries %s..: the batch of %d failed; each is run alone",
                rows[0].pk,
                len(rows),
                exc_info=True,
            )
            return None
        OutboxDelivery.objects.filter(pk__in=[d.pk for d in rows]).update(
            status=DeliveryStatus.DONE, done_at=timezone.now(), attempts=F("attempts") + 1
        )
        return len(rows)


def outbox_events_unfanned(
    *, older_than: timedelta = timedelta(seconds=30), limit: int = 1000
) -> list[int]:
    """Events not fanned out ``older_than`` after they were written (their after-commit
    fan-out was lost, or the broker was down)."""
    cutoff = timezone.now() - older_than
    return list(
        OutboxEvent.objects.filter(fanned_out_at__isnull=True, created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_deliveries_claim_due(*, limit: int = 1000) -> list[DeliverySend]:
    """The pending deliveries whose ``due_at`` has passed (a retry's time, or a lease that
    ran out), leased again (``due_at`` moved on) so that the next sweep does not send them
    again while they run; returns them to send after commit."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("pk", "attempts", "subscriber")[:limit]
        )
        if rows:
            OutboxDelivery.objects.filter(pk__in=[pk for pk, *_ in rows]).update(
                due_at=now + _lease()
            )
    return _sends(rows)


def outbox_drain(*, subscribers: Sequence[str], limit: int = 100_000) -> int:
    """Fan out every event not yet fanned out and run the pending deliveries of
    ``subscribers`` now, in this process, whatever their due time; returns the deliveries
    run. For a command that must show the effects of its own events before it returns (the
    demo's seed: its proposals in the traders' notifications), with or without workers:
    deliveries are idempotent, a worker that took one first makes this run a no-op for
    it. Other subscribers' deliveries are left to their workers."""
    unfanned = list(
        OutboxEvent.objects.filter(fanned_out_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for start in range(0, len(unfanned), 500):
        outbox_events_fan_out(event_ids=unfanned[start : start + 500])
    ran = 0
    pending = (
        OutboxDelivery.objects.filter(status=DeliveryStatus.PENDING, subscriber__in=subscribers)
        .order_by("id")
        .values_list("pk", "attempts")[:limit]
    )
    for pk, attempts in list(pending):
        ran += outbox_delivery_run(delivery_id=pk, attempt=attempts) is not None
    return ran


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


def delete_unreferenced(obj: Model, *, field: str, message: str) -> None:
    """Delete ``obj`` in a savepoint of the caller's transaction, or refuse with a
    DomainError naming ``field`` when rows that keep history point at it (a PROTECT or
    RESTRICT foreign key: the lots of a zone, the lots of a material). The savepoint keeps
    the caller's transaction usable."""
    try:
        with transaction.atomic():
            obj.delete()
    except (ProtectedError, RestrictedError):
        raise DomainError(message, field=field) from None


def refuse_unchangeable(changes: dict[str, Any], changeable: tuple[str, ...]) -> None:
    """A DomainError naming the first field of ``changes`` that a service does not change."""
    refused = sorted(set(changes) - set(changeable))
    if refused:
        raise DomainError(_("Not changeable."), field=refused[0])
