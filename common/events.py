"""Domain events through the outbox (see common.models.OutboxEvent).

``event_emit`` is called inside the service's transaction: the event row commits or rolls
back with the change it describes, and delivery is enqueued only after commit. Handlers are
registered per topic prefix with ``@subscribe("stock.")`` and must be idempotent: the sweep
re-delivers an event whose dispatch did not finish.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

from common.models import OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(topic_prefix: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if handler not in _handlers[topic_prefix]:
            _handlers[topic_prefix].append(handler)
        return handler

    return register


def handlers_for(topic: str) -> list[Handler]:
    return [h for prefix, hs in _handlers.items() if topic.startswith(prefix) for h in hs]


def event_emit(*, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event in the current transaction; dispatch it after commit."""
    from common.tasks import outbox_dispatch

    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    transaction.on_commit(partial(outbox_dispatch.delay, event.pk))
    return event
