"""The notifications' outbox subscriber: every event of a catalogued type becomes its
in-app notifications, mail deliveries and webhook deliveries (notifications.services.
fanout), on the ``notifications`` queue, so that a full rematch never delays them. Its
retries span a day: the fan-out writes only rows, so it fails only when the database
does."""

from common.events import RetryPolicy, subscriber
from common.models import OutboxEvent
from notifications.catalogue import EVENT_TYPES
from notifications.services.fanout import event_fan_out, events_fan_out

NOTIFY_RETRY = RetryPolicy(max_attempts=30, first=5.0, factor=2.0, cap=3600.0)


def notify_many(events: list[OutboxEvent]) -> None:
    """A batch of events at once (a rematch's proposals, a burst of order steps): the
    audiences, choices and endpoints read once for all of them."""
    events_fan_out(events=events)


@subscriber(
    "notifications",
    topics=tuple(EVENT_TYPES),
    queue="notifications",
    retry=NOTIFY_RETRY,
    batch=notify_many,
)
def notify(event: OutboxEvent) -> None:
    event_fan_out(event=event)
