"""The JSON every channel sends of an event: a versioned envelope around its data.

    {"type": "order.confirmed", "version": 1, "id": "evt_1234",
     "occurred_at": "2026-12-07T09:30:00.123456+08:00", "data": {...}}

``data`` is the outbox payload of the event's public topic, as declared in its app's
``topics.py`` (docs/notifications.md lists them). The same event gives the same bytes on
every attempt, so a signature is over what the receiver reads.
"""

from typing import Any

import orjson
from django.utils import timezone

from common.models import OutboxEvent


def event_id(event_pk: int) -> str:
    return f"evt_{event_pk}"


def envelope(event: OutboxEvent) -> dict[str, Any]:
    return {
        "type": event.topic,
        "version": event.version,
        "id": event_id(event.pk),
        "occurred_at": timezone.localtime(event.created_at).isoformat(),
        "data": event.payload,
    }


def envelope_bytes(event: OutboxEvent) -> bytes:
    return orjson.dumps(envelope(event))
