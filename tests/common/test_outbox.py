"""The outbox: events commit with their change; after commit each subscriber gets its own
delivery, run, retried on its schedule and failed on its own; the sweep does what a lost
send left undone; an unreachable broker never fails or hangs the write; and (on Redis)
everything travels through a real Celery worker."""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypedDict

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from common import events
from common.events import RetryPolicy, declare, event_emit, event_emit_many, subscriber
from common.models import OutboxDelivery, OutboxEvent
from common.services import outbox_delivery_run, outbox_event_fan_out
from common.tasks import outbox_fanout, outbox_run, outbox_sweep
from tests.outbox import handled
from tests.workers import real_worker

pytestmark = pytest.mark.django_db


class Probe(TypedDict):
    n: int


PROBE = declare("test.probe", Probe, "A test's event.")
SIDE = declare("test.side", Probe, "A test handler's own write.")


@pytest.fixture(autouse=True)
def only_test_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry holds this module's subscribers only (the engine's stay out of it)."""
    monkeypatch.setattr(events, "_subscribers", {})


Calls = dict[str, list[int]]


@pytest.fixture
def calls() -> Calls:
    """Two subscribers of ``test.``: ``test.good`` writes an event of its own and returns,
    ``test.bad`` writes one and raises (three attempts: 10 s, then 20 s)."""
    got: Calls = {"test.good": [], "test.bad": []}

    @subscriber("test.good", topics=("test.probe",))
    def good(event: OutboxEvent) -> None:
        got["test.good"].append(event.pk)
        OutboxEvent.objects.create(topic=SIDE.name, payload={"n": 1})

    @subscriber("test.bad", topics=(PROBE,), retry=RetryPolicy(max_attempts=3, first=10))
    def bad(event: OutboxEvent) -> None:
        got["test.bad"].append(event.pk)
        OutboxEvent.objects.create(topic=SIDE.name, payload={"n": 2})
        raise ConnectionError("webhook down")

    return got


def recorder(name: str, got: list[tuple[str, int]]) -> Callable[[OutboxEvent], None]:
    def handler(event: OutboxEvent) -> None:
        got.append((name, event.pk))

    return handler


def delivery(event: OutboxEvent, name: str) -> OutboxDelivery:
    return OutboxDelivery.objects.get(event=event, subscriber=name)


def side_writes() -> list[int]:
    return [e.payload["n"] for e in OutboxEvent.objects.filter(topic=SIDE.name)]


def past_due(row: OutboxDelivery) -> None:
    OutboxDelivery.objects.filter(pk=row.pk).update(due_at=timezone.now() - timedelta(seconds=1))


def test_event_rolls_back_with_its_transaction(calls: Calls) -> None:
    def emit_then_fail() -> None:
        with transaction.atomic():
            event_emit(topic=PROBE, payload={"n": 1})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        emit_then_fail()
    assert not OutboxEvent.objects.exists()
    assert calls == {"test.good": [], "test.bad": []}


@pytest.mark.usefixtures("eager_tasks")
def test_each_subscriber_gets_the_event_once_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    got: list[tuple[str, int]] = []
    for name in ("test.one", "test.two"):
        subscriber(name, topics=("test.",))(recorder(name, got))
    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit(topic="test.probe", payload={"n": 1})
        assert got == []  # nothing before commit
    assert sorted(got) == [("test.one", event.pk), ("test.two", event.pk)]
    assert handled(event)
    for row in event.deliveries.all():
        assert (row.attempts, row.last_error) == (1, "")
        assert row.done_at is not None
    # Fanned out and done: neither a second fan-out nor a second run does anything.
    assert outbox_event_fan_out(event_id=event.pk) == []
    for row in event.deliveries.all():
        assert outbox_delivery_run(delivery_id=row.pk, attempt=0) is None
        assert outbox_delivery_run(delivery_id=row.pk, attempt=1) is None
    assert len(got) == 2


@pytest.mark.usefixtures("eager_tasks")
def test_a_failing_subscriber_neither_repeats_nor_rolls_back_another(
    calls: Calls, django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="common.services"):
        with django_capture_on_commit_callbacks(execute=True):
            event = event_emit(topic=PROBE, payload={"n": 7})
        sent = timezone.now()
    good, bad = delivery(event, "test.good"), delivery(event, "test.bad")
    assert (good.status, good.attempts, calls["test.good"]) == ("done", 1, [event.pk])
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert bad.last_error == "ConnectionError: webhook down"
    # The failing handler's own write rolled back (its savepoint), the other's stands.
    assert side_writes() == [1]
    first_wait = (bad.due_at - sent).total_seconds()
    assert 8 - 1 <= first_wait <= 12 + 1  # 10 s, give or take the jitter (20 %)
    [record] = [r for r in caplog.records if "test.bad" in r.getMessage()]
    assert f"event {event.pk}" in record.getMessage() and "attempt 1" in record.getMessage()
    assert record.exc_info is not None

    # Not due yet: the sweep leaves it alone.
    assert outbox_sweep() == 0
    assert delivery(event, "test.bad").attempts == 1

    # Due: the sweep sends it again; it fails again and waits twice as long.
    past_due(bad)
    assert outbox_sweep() == 1
    bad = delivery(event, "test.bad")
    second_wait = (bad.due_at - timezone.now()).total_seconds()
    assert (bad.status, bad.attempts) == ("pending", 2)
    assert 16 - 1 <= second_wait <= 24 + 1 and second_wait > first_wait

    # The third and last attempt fails it for good.
    past_due(bad)
    assert outbox_sweep() == 1
    bad = delivery(event, "test.bad")
    assert (bad.status, bad.attempts) == ("failed", 3)
    assert calls["test.bad"] == [event.pk] * 3
    last = [r for r in caplog.records if r.name == "common.services"][-1]
    assert "attempt 3, failed for good" in last.getMessage()
    past_due(bad)
    assert outbox_sweep() == 0  # a failed delivery is not sent again

    # Through all of it the other subscriber ran once.
    assert calls["test.good"] == [event.pk]
    assert delivery(event, "test.good").attempts == 1
    assert side_writes() == [1]


def test_a_delivery_sent_twice_for_one_attempt_runs_once(calls: Calls) -> None:
    event = OutboxEvent.objects.create(topic=PROBE.name, payload={"n": 1})
    sends = outbox_event_fan_out(event_id=event.pk)
    assert sorted((s.attempt, s.queue) for s in sends) == [(0, "outbox"), (0, "outbox")]
    good = delivery(event, "test.good")
    assert outbox_delivery_run(delivery_id=good.pk, attempt=0) is True
    assert outbox_delivery_run(delivery_id=good.pk, attempt=0) is None
    assert calls["test.good"] == [event.pk]
    # A failed attempt's duplicate does not run early: its retry waits for its time.
    bad = delivery(event, "test.bad")
    assert outbox_delivery_run(delivery_id=bad.pk, attempt=0) is False
    assert outbox_delivery_run(delivery_id=bad.pk, attempt=0) is None
    assert calls["test.bad"] == [event.pk]


@pytest.mark.usefixtures("eager_tasks")
def test_the_sweep_fans_out_an_event_whose_send_was_lost(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    got: list[int] = []
    subscriber("test.good", topics=(PROBE,))(lambda event: got.append(event.pk))
    with monkeypatch.context() as lost:
        lost.setattr(outbox_fanout, "delay", lambda *args, **kwargs: None)
        with django_capture_on_commit_callbacks(execute=True):
            event = event_emit(topic=PROBE, payload={"n": 1})
    assert not event.deliveries.exists()
    assert outbox_sweep() == 0  # younger than OUTBOX_FANOUT_GRACE_SECONDS: may be on its way
    OutboxEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.OUTBOX_FANOUT_GRACE_SECONDS + 1)
    )
    assert outbox_sweep() == 1
    assert handled(event) and got == [event.pk]


@pytest.mark.usefixtures("eager_tasks")
def test_the_sweep_sends_again_a_delivery_whose_run_was_lost(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    got: list[int] = []
    subscriber("test.good", topics=(PROBE,))(lambda event: got.append(event.pk))
    with monkeypatch.context() as lost:
        lost.setattr(outbox_run, "apply_async", lambda *args, **kwargs: None)
        with django_capture_on_commit_callbacks(execute=True):
            event = event_emit(topic=PROBE, payload={"n": 1})
    row = delivery(event, "test.good")
    assert row.status == "pending" and got == []
    # Its lease (more than a task may run) has not run out: it may still be running.
    lease = (row.due_at - timezone.now()).total_seconds()
    assert settings.OUTBOX_LEASE_SECONDS - 5 <= lease <= settings.OUTBOX_LEASE_SECONDS
    assert outbox_sweep() == 0
    past_due(row)
    assert outbox_sweep() == 1
    assert handled(event) and got == [event.pk]


@pytest.mark.usefixtures("eager_tasks")
def test_an_unreachable_broker_leaves_the_event_to_the_sweep(
    world: dict[str, Any],
    receive: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service's write stands when the after-commit send fails; the sweep sends it."""
    got: list[str] = []
    subscriber("test.stock", topics=("stock.",))(lambda event: got.append(event.topic))

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    with monkeypatch.context() as down, caplog.at_level(logging.WARNING, logger="common.events"):
        down.setattr(outbox_fanout, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            lot = receive(zone=world["zones"]["a1"], material=world["material"])
    event = OutboxEvent.objects.get(topic="stock.changed")
    assert event.payload["lot_ids"] == [lot.pk] and event.fanned_out_at is None
    assert "the sweep sends it" in caplog.text
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert outbox_sweep() == 1
    assert handled(event) and got == ["stock.changed"]


@pytest.mark.usefixtures("eager_tasks")
def test_many_events_each_reach_each_subscriber_once_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    got: list[tuple[str, int]] = []
    for name in ("test.one", "test.two"):
        subscriber(name, topics=("test.",))(recorder(name, got))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        written = event_emit_many(topic=PROBE, payloads=[{"n": n} for n in range(3)])
        assert got == []  # nothing before commit
    assert len(callbacks) == 1  # one callback for the batch
    assert sorted(got) == sorted((name, e.pk) for name in ("test.one", "test.two") for e in written)
    assert all(handled(e) for e in written)


@pytest.mark.usefixtures("eager_tasks")
def test_many_events_with_the_broker_down_are_left_to_the_sweep(
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first failed send stops the batch's sends (each would wait for the broker again):
    one warning, the events saved, the sweep sends them."""
    got: list[int] = []
    subscriber("test.one", topics=(PROBE,))(lambda event: got.append(event.pk))
    tries: list[int] = []

    def broker_down(event_id: int) -> None:
        tries.append(event_id)
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    with monkeypatch.context() as down, caplog.at_level(logging.WARNING, logger="common.events"):
        down.setattr(outbox_fanout, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            written = event_emit_many(topic=PROBE, payloads=[{"n": n} for n in range(3)])
    assert len(tries) == 1
    assert "(3): not sent to the broker" in caplog.text and "the sweep sends them" in caplog.text
    assert not OutboxEvent.objects.filter(topic=PROBE.name, fanned_out_at__isnull=False).exists()
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert outbox_sweep() == 3
    assert sorted(got) == [e.pk for e in written]


# --- PostgreSQL or SQLite with a broker: Redis and a real worker ----------------------------


def needs_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a broker: run with CELERY_BROKER_URL=redis://... (see .ci/run)")


def wait_for(done: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    return done()


@pytest.fixture
def worker() -> Iterator[None]:
    needs_broker()
    with real_worker():
        yield


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_real_worker_delivers_through_redis_on_each_subscribers_queue() -> None:
    got: list[tuple[str, int]] = []
    for name, queue in (("test.outbox", "outbox"), ("test.engine", "matching")):
        subscriber(name, topics=(PROBE,), queue=queue)(recorder(name, got))
    with transaction.atomic():
        event = event_emit(topic=PROBE, payload={"n": 1})
    assert wait_for(lambda: handled(event)), "the worker did not deliver the event"
    assert sorted(got) == [("test.engine", event.pk), ("test.outbox", event.pk)]


@pytest.fixture
def broker_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point the web process's task sends at another broker URL (Celery reads
    CELERY_BROKER_URL from the environment first); back to the real one afterwards."""
    from config.celery import app

    real = app.conf.broker_url

    def point(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    yield point
    point(real)


@pytest.mark.django_db(transaction=True)
def test_redis_unreachable_while_a_service_commits(
    world: dict[str, Any],
    receive: Callable[..., Any],
    broker_at: Callable[[str], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The write succeeds quickly with the broker at a closed port; the event is saved and,
    with Redis back, the sweep (on the worker) delivers it."""
    needs_broker()
    from config.celery import app

    got: list[int] = []
    subscriber("test.stock", topics=("stock.",))(lambda event: got.append(event.pk))
    real = app.conf.broker_url
    broker_at("redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="common.events"):
        started = time.monotonic()
        lot = receive(zone=world["zones"]["a1"], material=world["material"])
        took = time.monotonic() - started
    assert took < 3, f"the write took {took:.1f} s with the broker down"
    assert "the sweep sends it" in caplog.text
    event = OutboxEvent.objects.get(topic="stock.changed")
    assert event.payload["lot_ids"] == [lot.pk] and event.fanned_out_at is None

    broker_at(real)
    OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with real_worker():
        outbox_sweep.delay()
        assert wait_for(lambda: handled(event)), "the sweep did not deliver the event"
    assert got == [event.pk]


def test_celery_is_configured_for_at_least_once() -> None:
    from config.celery import app

    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    # Each queue bound by its own name: a task lands in one queue, not in all of them.
    names = ("default", "matching", "outbox", "notifications")
    assert {q.name: q.routing_key for q in conf.task_queues} == {name: name for name in names}
    assert conf.task_default_queue == "default"
    assert app.amqp.router.route({}, "common.tasks.outbox_fanout")["queue"].name == "outbox"
    assert app.amqp.router.route({}, "matching.tasks.matching_pending")["queue"].name == (
        "matching"
    )
    assert conf.broker_transport_options["socket_connect_timeout"] <= 2
    beat = conf.beat_schedule["outbox-sweep"]
    assert beat["task"] == "common.tasks.outbox_sweep" and beat["schedule"] <= 60


@pytest.mark.usefixtures("eager_tasks")
def test_events_written_together_are_fanned_out_and_run_in_batches(
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    """A rematch writes thousands of events at once: one fan-out task per
    OUTBOX_FANOUT_BATCH events and one run task per OUTBOX_RUN_BATCH deliveries of a
    queue, each delivery still run (and retried) on its own."""
    from common import tasks

    settings.OUTBOX_FANOUT_BATCH = 4
    settings.OUTBOX_RUN_BATCH = 3
    got: list[int] = []
    subscriber("test.one", topics=(PROBE,))(lambda event: got.append(event.pk))
    fanouts: list[Any] = []
    runs: list[int] = []
    real_fanout, real_many, real_one = (
        outbox_fanout.delay,
        tasks.outbox_run_many.apply_async,
        outbox_run.apply_async,
    )

    def fanout(ids: Any) -> Any:
        fanouts.append(ids)
        return real_fanout(ids)

    def run_many(args: Any, **kw: Any) -> Any:
        runs.append(len(args[0]))
        return real_many(args, **kw)

    def run_one(args: Any, **kw: Any) -> Any:
        runs.append(1)
        return real_one(args, **kw)

    monkeypatch.setattr(outbox_fanout, "delay", fanout)
    monkeypatch.setattr(tasks.outbox_run_many, "apply_async", run_many)
    monkeypatch.setattr(outbox_run, "apply_async", run_one)
    with django_capture_on_commit_callbacks(execute=True):
        written = event_emit_many(topic=PROBE, payloads=[{"n": n} for n in range(10)])
    assert [len(batch) if isinstance(batch, list) else 1 for batch in fanouts] == [4, 4, 2]
    assert runs == [3, 1, 3, 1, 2]  # per fan-out task: its deliveries in runs of 3
    assert sorted(got) == sorted(e.pk for e in written)
    assert all(handled(e) for e in written)


@pytest.mark.usefixtures("eager_tasks")
def test_a_batch_handler_takes_its_events_at_once_and_a_bad_one_fails_alone(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    """Deliveries sent together run in one transaction through the subscriber's batch
    handler; if it raises, each runs alone through the single handler, so the bad event
    fails and is retried on its own and the others are done."""
    settings.OUTBOX_RUN_BATCH = 50
    batches: list[list[int]] = []
    singles: list[int] = []

    def one(event: OutboxEvent) -> None:
        if event.payload["n"] == 3:
            raise ValueError("poison")
        singles.append(event.payload["n"])

    def many(events_: list[OutboxEvent]) -> None:
        batches.append([e.payload["n"] for e in events_])
        if any(e.payload["n"] == 3 for e in events_):
            raise ValueError("poison in the batch")

    subscriber("test.batched", topics=(PROBE,), batch=many)(one)
    with django_capture_on_commit_callbacks(execute=True):
        good = event_emit_many(topic=PROBE, payloads=[{"n": n} for n in (1, 2)])
    assert batches == [[1, 2]] and singles == []  # one batch, no single runs
    assert all(handled(e) for e in good)
    assert set(OutboxDelivery.objects.values_list("attempts", flat=True)) == {1}
    with django_capture_on_commit_callbacks(execute=True):
        mixed = event_emit_many(topic=PROBE, payloads=[{"n": n} for n in (3, 4, 5)])
    assert batches[-1] == [3, 4, 5]
    assert singles == [4, 5]  # the fallback, one by one
    poison = delivery(mixed[0], "test.batched")
    assert poison.status == "pending" and poison.attempts == 1 and "poison" in poison.last_error
    assert handled(mixed[1]) and handled(mixed[2])


def test_a_transaction_fans_out_its_events_in_one_task(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """Three events of one transaction: one fan-out task naming the three. An event of a
    savepoint rolled back is not fanned out (its row is gone); one written after a
    savepoint that held the transaction's first callback was rolled back still is."""
    sent: list[Any] = []
    monkeypatch.setattr(outbox_fanout, "delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = event_emit(topic=PROBE, payload={"n": 1})
        rest = event_emit_many(topic=PROBE, payloads=[{"n": 2}, {"n": 3}])
    assert len(callbacks) == 1
    assert sent == [[first.pk, *(e.pk for e in rest)]]

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                event_emit(topic=PROBE, payload={"n": 4})
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        kept = event_emit(topic=PROBE, payload={"n": 5})
    assert len(callbacks) == 1
    assert sent == [kept.pk]
    assert list(OutboxEvent.objects.filter(payload__n__in=[4, 5]).values_list("payload__n")) == [
        (5,)
    ]


def test_events_of_a_block_without_savepoint_join_the_enclosing_blocks_fanout(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """A service called in ``atomic(savepoint=False)`` shares its caller's fan-out; one
    with a savepoint of its own (released) has its own."""
    sent: list[Any] = []
    monkeypatch.setattr(outbox_fanout, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = event_emit(topic=PROBE, payload={"n": 1})
        with transaction.atomic(savepoint=False):
            inner = event_emit(topic=PROBE, payload={"n": 2})
        with transaction.atomic():
            own = event_emit(topic=PROBE, payload={"n": 3})
        last = event_emit(topic=PROBE, payload={"n": 4})
    assert len(callbacks) == 2
    assert sent == [[first.pk, inner.pk, last.pk], own.pk]
