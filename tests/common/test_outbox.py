"""The outbox seam: events commit with their change, are delivered after commit, retried by
the sweep, and (on Redis) travel through a real Celery worker."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common import events
from common.events import event_emit, subscribe
from common.models import OutboxEvent
from common.services import outbox_deliver, outbox_pending_ids
from common.tasks import outbox_sweep
from tests.workers import real_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def received() -> Any:
    got: list[int] = []

    def handler(event: OutboxEvent) -> None:
        got.append(event.pk)

    subscribe("test.")(handler)
    yield got
    events._handlers["test."].remove(handler)


def test_event_rolls_back_with_its_transaction(received: list[int]) -> None:
    def emit_then_fail() -> None:
        with transaction.atomic():
            event_emit(topic="test.rollback", payload={})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        emit_then_fail()
    assert not OutboxEvent.objects.exists()
    assert received == []


@pytest.fixture
def eager_tasks() -> Any:
    """Run tasks in-process for tests about transaction semantics, whatever the broker."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.mark.usefixtures("eager_tasks")
def test_event_is_delivered_after_commit_once(
    received: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit(topic="test.ok", payload={"a": 1})
        assert received == []  # nothing before commit
    assert received == [event.pk]
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.attempts == 1
    assert outbox_deliver(event_id=event.pk) is False  # already delivered: not again
    assert received == [event.pk]


@pytest.mark.usefixtures("eager_tasks")
def test_failing_handler_keeps_event_pending_and_sweep_retries() -> None:
    calls: list[int] = []

    def flaky(event: OutboxEvent) -> None:
        calls.append(event.pk)
        if len(calls) == 1:
            raise ConnectionError("webhook down")

    subscribe("flaky.")(flaky)
    try:
        event = OutboxEvent.objects.create(topic="flaky.x", payload={})
        assert outbox_deliver(event_id=event.pk) is False
        event.refresh_from_db()
        assert event.dispatched_at is None and event.attempts == 1
        assert "webhook down" in event.last_error
        OutboxEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
        assert outbox_pending_ids() == [event.pk]
        assert outbox_sweep() == 1
        event.refresh_from_db()
        assert event.dispatched_at is not None and calls == [event.pk, event.pk]
    finally:
        events._handlers["flaky."].remove(flaky)


def test_handlers_match_topic_prefixes(received: list[int]) -> None:
    assert events.handlers_for("test.anything")
    assert not events.handlers_for("other.anything")


@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_through_redis(received: list[int]) -> None:
    """With CELERY_BROKER_URL set, a real worker consumes the dispatch task from Redis."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a broker: run with CELERY_BROKER_URL=redis://... (see .ci/run)")
    with real_worker():
        with transaction.atomic():
            event = event_emit(topic="test.worker", payload={})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            event.refresh_from_db()
            if event.dispatched_at is not None:
                break
            time.sleep(0.1)
    assert event.dispatched_at is not None, "the worker did not deliver the event"
    assert received == [event.pk]
