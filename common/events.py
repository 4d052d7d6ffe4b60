"""Domain events through the outbox (see common.models): a declared catalogue of topics,
the subscribers that take them, and ``event_emit``.

Topics: each domain app declares its own in ``<app>/topics.py`` (loaded by its AppConfig),
each once, with a typed payload (a TypedDict) and whether people or partners may subscribe
to it (``public``) or it is internal. ``event_emit`` refuses an undeclared topic and a
payload that does not match its type.

``event_emit`` is called inside the service's transaction: the event row commits or rolls
back with the change it describes, and the fan-out is enqueued only after commit. Each
subscriber (``@subscriber("matching.rematch", topics=("listing.", ...), queue="matching")``)
gets its own delivery of the event, run and retried on its own (common.services), so one
failing subscriber never rolls back, delays or repeats another. Handlers must be
idempotent: delivery is at least once.
"""

import logging
import random
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin, get_type_hints, is_typeddict

from django.db import transaction
from kombu.exceptions import OperationalError

from common.appends import append_row
from common.models import OutboxEvent

logger = logging.getLogger(__name__)

# What publishing a task may raise when the broker cannot be reached (kombu wraps the
# transport's connection errors in OperationalError once its retries are spent).
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)


# --- The catalogue of topics ---------------------------------------------------------------

Check = Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SCALARS: dict[Any, Check] = {
    int: _is_int,
    float: _is_number,
    str: lambda v: isinstance(v, str),
    bool: lambda v: isinstance(v, bool),
    type(None): lambda v: v is None,
}


def _check_of(hint: Any) -> Check:
    """A light runtime check of one payload value against its type hint (JSON types only:
    int, float, str, bool, None, lists of them, unions and literals)."""
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin = get_origin(hint)
    if origin is list:
        (item,) = get_args(hint) or (Any,)
        each = _check_of(item)
        return lambda v: isinstance(v, list) and all(each(x) for x in v)
    if origin in (typing.Union, types.UnionType):
        options = [_check_of(arg) for arg in get_args(hint)]
        return lambda v: any(check(v) for check in options)
    if origin is Literal:
        allowed = get_args(hint)
        return lambda v: v in allowed
    if hint is Any:
        return lambda v: True
    raise TypeError(f"a topic's payload holds JSON types only, not {hint!r}")


@dataclass(frozen=True)
class Topic:
    """One declared kind of domain event: its name (``"order.confirmed"``), payload type
    (a TypedDict), version, what it means, and whether people or partners may subscribe to
    it (``public``: the notifications' catalogue) or it is internal."""

    name: str
    payload: type
    description: str
    version: int = 1
    public: bool = False
    _checks: dict[str, Check] = field(init=False, repr=False, compare=False)
    _required: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_typeddict(self.payload):
            raise TypeError(f"topic {self.name}: the payload type must be a TypedDict")
        hints = get_type_hints(self.payload)
        object.__setattr__(self, "_checks", {key: _check_of(h) for key, h in hints.items()})
        object.__setattr__(self, "_required", frozenset(self.payload.__required_keys__))  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return self.name

    def refusal(self, payload: Any) -> str | None:
        """Why ``payload`` does not match this topic's type, or None if it does."""
        if not isinstance(payload, dict):
            return "the payload is not a dict"
        checks = self._checks
        for key, value in payload.items():
            check = checks.get(key)
            if check is None:
                return f"unknown key {key!r}"
            if not check(value):
                return f"{key!r} is not {_hint_text(self.payload, key)}: {value!r}"
        if not self._required <= payload.keys():
            return f"missing {sorted(self._required - payload.keys())}"
        return None


def _hint_text(payload: type, key: str) -> str:
    return repr(get_type_hints(payload)[key]).replace("typing.", "")


_topics: dict[str, Topic] = {}


def topic_declare(topic: Topic) -> Topic:
    """Add ``topic`` to the catalogue; a name is declared once."""
    if topic.name in _topics and _topics[topic.name] != topic:
        raise ValueError(f"topic {topic.name} is declared twice")
    _topics[topic.name] = topic
    return topic


def declare(
    name: str, payload: type, description: str, *, version: int = 1, public: bool = False
) -> Topic:
    """Declare a topic (``<app>/topics.py``)."""
    return topic_declare(
        Topic(name, payload=payload, description=description, version=version, public=public)
    )


def topics() -> list[Topic]:
    """The catalogue, by name."""
    return sorted(_topics.values(), key=lambda t: t.name)


def topic_named(name: str) -> Topic:
    try:
        return _topics[name]
    except KeyError:
        raise ValueError(f"undeclared topic {name!r} (declare it in its app's topics.py)") from None


def decimal_text(value: Decimal, places: int) -> str:
    """A quantity or price as a payload carries it: its text with the column's ``places``
    (``Decimal("1500")`` as ``"1500.000"`` for kilograms), whatever the caller held."""
    return f"{value:.{places}f}"


# --- Subscribers ---------------------------------------------------------------------------

Handler = Callable[[OutboxEvent], None]
BatchHandler = Callable[[list[OutboxEvent]], None]


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again: ``first`` seconds after the first failure,
    ``factor`` times longer after each next one, at most ``cap``, each delay varied by
    ``jitter`` (a fraction) so that retries of many deliveries spread out; failed after
    ``max_attempts``."""

    max_attempts: int = 10
    first: float = 10.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.2

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 for the first)."""
        base = min(self.cap, self.first * self.factor ** max(0, attempts - 1))
        spread = random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 (not crypto)
        return timedelta(seconds=base * spread)


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Subscriber:
    """A named consumer of events: its handler runs once per event of the topics it takes
    (a Topic or its name exactly, a prefix ending with "."), on its Celery queue.

    ``batch``, if given, takes several of its events at once (a list, in event order) and
    must do exactly what ``handler`` would do for each: deliveries sent together then run
    in one transaction (common.services.outbox_deliveries_run), and one that fails falls
    back to one at a time, so a bad event fails alone."""

    name: str
    topics: tuple[str, ...]
    handler: Handler
    queue: str = "outbox"
    retry: RetryPolicy = DEFAULT_RETRY
    batch: BatchHandler | None = None

    def takes(self, topic: str) -> bool:
        return any(topic.startswith(t) if t.endswith(".") else topic == t for t in self.topics)


_subscribers: dict[str, Subscriber] = {}


def subscriber(
    name: str,
    *,
    topics: tuple[Topic | str, ...],
    queue: str = "outbox",
    retry: RetryPolicy = DEFAULT_RETRY,
    batch: BatchHandler | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated handler as the subscriber ``name`` (a stable name: its
    deliveries are stored under it)."""

    def register(handler: Handler) -> Handler:
        subscriber_add(
            Subscriber(
                name,
                topics=tuple(str(t) for t in topics),
                handler=handler,
                queue=queue,
                retry=retry,
                batch=batch,
            )
        )
        return handler

    return register


def subscriber_add(sub: Subscriber) -> Subscriber:
    known = _subscribers.get(sub.name)
    if known is not None and known.handler.__qualname__ != sub.handler.__qualname__:
        raise ValueError(f"subscriber {sub.name} is registered twice")
    _subscribers[sub.name] = sub
    return sub


def subscriber_remove(name: str) -> None:
    """Unregister a subscriber (tests)."""
    _subscribers.pop(name, None)


def subscribers() -> list[Subscriber]:
    return sorted(_subscribers.values(), key=lambda s: s.name)


def subscribers_for(topic: str) -> list[Subscriber]:
    return [s for s in _subscribers.values() if s.takes(topic)]


def subscriber_named(name: str) -> Subscriber | None:
    return _subscribers.get(name)


# --- Emitting ------------------------------------------------------------------------------


def event_emit(*, topic: Topic | str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event of a declared topic in the current transaction; fan it out to its
    subscribers after commit (``common.tasks.outbox_fanout``).

    Refuses (ValueError) an undeclared topic and (TypeError) a payload that does not match
    the topic's type. If the broker cannot be reached after commit, the error is logged and
    the event waits for the sweep: the service's write stands.
    """
    declared = topic if isinstance(topic, Topic) else topic_named(topic)
    refusal = declared.refusal(payload)
    if refusal is not None:
        raise TypeError(f"payload of {declared.name}: {refusal}")
    event = OutboxEvent(topic=declared.name, version=declared.version, payload=payload)
    append_row(event, then=lambda row: _fanout_on_commit([row.pk]))
    return event


def event_emit_many(*, topic: Topic | str, payloads: list[dict[str, Any]]) -> list[OutboxEvent]:
    """Write one event of a declared topic per payload in the current transaction (one bulk
    INSERT), and fan them out after commit (one ``on_commit`` sending one ``outbox_fanout``
    per OUTBOX_FANOUT_BATCH events). Each payload is checked as ``event_emit`` checks it,
    all before any row is written; an empty list writes nothing. A broker that cannot be
    reached after commit is logged once and the sweep sends the events, as for
    ``event_emit``.
    """
    declared = topic if isinstance(topic, Topic) else topic_named(topic)
    for payload in payloads:
        refusal = declared.refusal(payload)
        if refusal is not None:
            raise TypeError(f"payload of {declared.name}: {refusal}")
    if not payloads:
        return []
    events = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(topic=declared.name, version=declared.version, payload=payload)
            for payload in payloads
        ]
    )
    _fanout_on_commit([e.pk for e in events])
    return events


class _FanoutOnCommit:
    """The after-commit fan-out of the events an atomic block writes: one callback
    collecting their ids, so that a service emitting three events sends one task, not
    three."""

    def __init__(self) -> None:
        self.event_ids: list[int] = []
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        _fanout_many_after_commit(self.event_ids)


# How many of the latest on-commit callbacks are searched for the block's own.
_FANOUT_LOOKBACK = 16


def _fanout_on_commit(event_ids: list[int]) -> None:
    """Fan ``event_ids`` out after the current transaction commits, with the other events
    written in the same atomic block (same savepoints: a service and the services it calls
    in ``atomic(savepoint=False)``). The block's callback is found among the
    connection's on-commit callbacks; Django drops it with its savepoint if that is rolled
    back, and the next event registers a new one."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # An atomic block without a savepoint of its own stands as None among the ids.
        here = set(connection.savepoint_ids) - {None}
        for savepoints, callback, _robust in connection.run_on_commit[-_FANOUT_LOOKBACK:]:
            if (
                isinstance(callback, _FanoutOnCommit)
                and not callback.sent
                and savepoints - {None} == here
            ):
                callback.event_ids.extend(event_ids)
                return
    batch = _FanoutOnCommit()
    batch.event_ids.extend(event_ids)
    transaction.on_commit(batch)


def _fanout_many_after_commit(event_ids: list[int]) -> None:
    """Send the events' fan-out in batches; at the first broker error stop and leave the
    rest to the sweep (each further send would wait for the broker's timeout again)."""
    from django.conf import settings

    from common.tasks import outbox_fanout

    size = settings.OUTBOX_FANOUT_BATCH
    for start in range(0, len(event_ids), size):
        batch = event_ids[start : start + size]
        try:
            outbox_fanout.delay(batch if len(batch) > 1 else batch[0])
        except BROKER_ERRORS as exc:
            if len(event_ids) == 1:
                logger.warning(
                    "outbox event %s: not sent to the broker (%s); the sweep sends it",
                    event_ids[0],
                    exc,
                )
                return
            logger.warning(
                "outbox events %s..%s (%d): not sent to the broker (%s); the sweep sends them",
                batch[0],
                event_ids[-1],
                len(event_ids) - start,
                exc,
            )
            return
