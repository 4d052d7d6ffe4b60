"""Webhooks under real worker processes (PostgreSQL, Redis, ``celery worker`` prefork with
beat): a worker SIGKILLed in the middle of a burst and another started, the broker gone
while services commit events and back, and the retry schedule run by the sweeps.

Each test starts a Redis of its own on a free port (tests.processes), points this process's
Celery app at it (the services' after-commit sends) and starts the workers on the live test
database. Skipped on SQLite and without a broker (CELERY_BROKER_URL).
"""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

from access.scope import resolve_scope
from common.events import event_emit
from common.models import OutboxEvent
from notifications.models import DeliveryState, WebhookAttempt, WebhookDelivery
from notifications.services.webhooks import webhook_endpoint_create
from tests.notifications.helpers import order_data
from tests.notifications.receiver import Receiver, receiving
from tests.processes import PrivateRedis, Worker, celery_broker, database_url, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]

World = dict[str, Any]

# Short sweeps and leases, so that what a crash leaves is picked up within seconds.
FAST: dict[str, str | float] = {
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
    "OUTBOX_SWEEP_EVERY_SECONDS": 1,
    "OUTBOX_FANOUT_GRACE_SECONDS": 2,
    "OUTBOX_LEASE_SECONDS": 5,
    "WEBHOOK_SWEEP_EVERY_SECONDS": 1,
    "NOTIFY_SEND_GRACE_SECONDS": 3,
    "WEBHOOK_LEASE_SECONDS": 4,
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a broker: run with CELERY_BROKER_URL=redis://... (see .ci/run)")
    with PrivateRedis() as server, celery_broker(server.url):
        yield server


@pytest.fixture
def workers(redis: PrivateRedis) -> Iterator[Callable[..., Worker]]:
    """Start workers on the live test database and this test's Redis; all are stopped at
    the end (before the database is flushed)."""
    started: list[Worker] = []

    def start(**extra: str | float) -> Worker:
        env = worker_env(
            database_url=database_url(connection.settings_dict),
            broker_url=redis.url,
            **{**FAST, **extra},
        )
        worker = Worker(env=env, name=f"w{len(started)}")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


def seller_endpoint(world: World, receiver: Receiver) -> None:
    webhook_endpoint_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        url=receiver.url,
    )


def emit_orders(world: World, *, count: int, per_transaction: int, first: int = 1) -> None:
    """``count`` order.confirmed events of a1's, committed ``per_transaction`` at a time."""
    for start in range(first, first + count, per_transaction):
        with transaction.atomic():
            for order_id in range(start, min(start + per_transaction, first + count)):
                event_emit(
                    topic="order.confirmed",
                    payload=order_data(world, "confirmed", order_id=order_id),
                )


def wait_all_succeeded(events: int, *, timeout: float, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = WebhookDelivery.objects.filter(status=DeliveryState.SUCCEEDED).count()
        if done == events:
            return
        time.sleep(0.25)
    states = Counter(WebhookDelivery.objects.values_list("status", flat=True))
    unfanned = OutboxEvent.objects.filter(fanned_out_at=None).count()
    logs = "\n".join(w.log()[-2000:] for w in workers)
    pytest.fail(f"not all delivered in {timeout} s: {states}, {unfanned} not fanned out\n{logs}")


def check_delivered_once_after_success(receiver: Receiver) -> Counter[str]:
    """Every delivery succeeded and was received with a 2xx; none was sent again after its
    success was recorded. Returns the 2xx count per webhook-id."""
    delivered: dict[str, datetime] = {}
    for delivery in WebhookDelivery.objects.all():
        assert delivery.status == DeliveryState.SUCCEEDED
        assert delivery.delivered_at is not None
        delivered[delivery.webhook_id] = delivery.delivered_at
    with receiver.lock:
        received = list(receiver.received)
    answered = Counter(r.headers["webhook-id"] for r in received if 200 <= r.status < 300)
    assert set(answered) == set(delivered), "a delivery recorded as sent was not received"
    for request in received:
        recorded = delivered[request.headers["webhook-id"]].timestamp()
        # The receiver notes the time before it answers; the sender records the success
        # after the answer: a request later than that came after the success was recorded.
        assert request.at <= recorded, f"{request.headers['webhook-id']} sent after success"
    return answered


def test_a_worker_killed_mid_burst_loses_nothing(
    world: World, workers: Callable[..., Worker]
) -> None:
    events = 300
    with receiving() as receiver:
        seller_endpoint(world, receiver)
        first = workers()
        emit_orders(world, count=events, per_transaction=10)
        deadline = time.monotonic() + 60
        while len(receiver.ids()) < events // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        at_kill = len(receiver.ids())
        assert at_kill < events, "the burst was over before the kill: nothing to prove"
        first.kill()
        second = workers()
        wait_all_succeeded(events, timeout=90, workers=[first, second])
        time.sleep(2)  # a late duplicate would land here (the sweeps run every second)
        answered = check_delivered_once_after_success(receiver)
    assert len(answered) == events
    twice = {webhook_id: n for webhook_id, n in answered.items() if n > 1}
    attempts = WebhookAttempt.objects.count()
    # A kill between the receiver's 2xx and the commit of its result leaves the delivery
    # pending: it is sent again when its lease runs out (at least once). Measured, shown.
    print(
        f"\n{events} deliveries, worker killed after {at_kill} received: "
        f"{sum(answered.values())} 2xx answers, {len(twice)} webhook-ids answered twice "
        f"{sorted(twice)[:10]}, {attempts} attempts recorded"
    )


def test_the_broker_down_while_services_commit(
    world: World, redis: PrivateRedis, workers: Callable[..., Worker]
) -> None:
    events = 20
    with receiving() as receiver:
        seller_endpoint(world, receiver)
        worker = workers()
        redis.stop()
        slowest = 0.0
        for order_id in range(1, events + 1):
            began = time.monotonic()
            emit_orders(world, count=1, per_transaction=1, first=order_id)
            slowest = max(slowest, time.monotonic() - began)
        assert OutboxEvent.objects.filter(fanned_out_at=None).count() == events
        assert slowest < 2.5, f"a write waited {slowest:.2f} s for the broker"
        redis.start()  # the same port, empty: every send was lost
        wait_all_succeeded(events, timeout=90, workers=[worker])
        answered = check_delivered_once_after_success(receiver)
    print(f"\nbroker down: {events} commits, the slowest {slowest:.3f} s; all delivered after")
    assert len(answered) == events


def test_500_timeout_200_on_the_schedule_under_the_real_worker(
    world: World, workers: Callable[..., Worker]
) -> None:
    with receiving() as receiver:
        receiver.script.extend([500, ("sleep", 1.5), 200])
        seller_endpoint(world, receiver)
        workers(WEBHOOK_RETRY_SCHEDULE_SECONDS="1,1,1", WEBHOOK_TIMEOUT_READ=0.5)
        emit_orders(world, count=1, per_transaction=1)
        wait_all_succeeded(1, timeout=60, workers=[])
        delivery = WebhookDelivery.objects.get()
        time.sleep(2)  # nothing more is sent after the success
        statuses = [r.status for r in receiver.received]
        ids = {r.headers["webhook-id"] for r in receiver.received}
    assert delivery.attempts == 3
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.status_code for a in log] == [500, None, 200]
    assert "timed out" in log[1].error.lower() or "timeout" in log[1].error.lower()
    # The receiver answers the slow request 200 after 1.5 s, once the sender gave up.
    assert sorted(statuses) == [200, 200, 500]
    assert ids == {delivery.webhook_id}
