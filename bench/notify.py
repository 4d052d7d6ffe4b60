"""Webhook notifications end to end, on PostgreSQL and Redis with real worker processes.

Run from the top of the repository::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_notify_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/notify.py

The database (its name must contain "bench") is created and migrated if missing; each
phase starts from empty outbox and notification tables and purged queues. One park, a
seller with one enterprise admin (no e-mail address: no mail is sent) and a webhook endpoint
taking every event type, a buyer with one admin and no endpoint. Every event is an
``order.confirmed`` of the seller's, emitted with ``common.events.event_emit(_many)`` as the
order services emit it: each becomes an outbox fan-out, the ``notifications`` subscriber's
run (two in-app notifications, one webhook delivery) and a webhook send to a receiver in a
process of its own (asyncio, HTTP/1.1 keep-alive, 200 at once; it records each
``webhook-id`` with its time of receipt).

Workers: ``celery -A config worker -Q default,outbox,notifications --pool prefork
--concurrency 1``, one or two such processes (``--concurrency 1`` each, so that "two
workers" is two processes on the two cores, with the database, Redis and the receiver
sharing them), beat in the first one (``-B``) with the production sweep intervals.

Measured:

- throughput: ``--events`` (5,000) events committed ``--per-tx`` (100) at a time with
  ``event_emit_many``; from the first commit until every webhook delivery succeeded; with
  1 and with 2 worker processes, ``--runs`` (3) times each in turns (median printed);
- latency at light load: ``--light`` (200) events, each in its own transaction, one every
  50 ms; receipt time at the receiver minus the commit time (an ``on_commit`` callback
  registered before the event's own); p50/p95/max, with 2 worker processes;
- crash: ``--crash-events`` (10,000) events with 2 worker processes; when half were
  received, one worker is SIGKILLed (its whole process group) and started again; the
  sweeps (every 2 s, leases of 10 s) take over what it held. Printed: received = sent, the
  webhook-ids answered 2xx more than once, and those received after their success was
  recorded (must be 0).

``--concurrency`` sets the pool processes of each worker in the throughput phase (1).
``--receiver-delay-ms`` makes the receiver answer each request that much later (a partner's
endpoint is rarely 1 ms away). ``--profile`` runs the throughput phase once with one
worker running its tasks in its main process (``--pool solo``) under cProfile
(var/bench-notify-worker.prof; ``python -m pstats``).
Results are written to var/bench-notify.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.api import configure_environment, ensure_database  # noqa: E402

RESULTS_PATH = BASE_DIR / "var" / "bench-notify.json"
PROFILE_PATH = BASE_DIR / "var" / "bench-notify-worker.prof"

# --- the receiver (a process of its own) -----------------------------------------------


async def _serve(port: int, delay: float) -> None:
    """A minimal HTTP/1.1 server: every POST answered 200 (after ``delay`` seconds), its
    webhook-id and time of receipt kept; ``GET /records`` returns them (and ``?reset``
    forgets them)."""
    records: list[tuple[str, float]] = []
    ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                at = time.time()
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                if method == "POST":
                    if delay:
                        await asyncio.sleep(delay)
                    records.append((headers.get("webhook-id", ""), at))
                    writer.write(ok)
                else:
                    body = json.dumps(records).encode()
                    if "reset" in target:
                        records.clear()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        + f"content-length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


class ReceiverProcess:
    def __init__(self, *, delay_ms: int = 0) -> None:
        from tests.processes import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--receiver",
                str(self.port),
                "--receiver-delay-ms",
                str(delay_ms),
            ]
        )
        import httpx

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/records", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    def records(self, *, reset: bool = False) -> list[tuple[str, float]]:
        import httpx

        suffix = "?reset" if reset else ""
        answer = httpx.get(f"http://127.0.0.1:{self.port}/records{suffix}", timeout=30)
        return [(i, float(t)) for i, t in answer.json()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- the world, the events ---------------------------------------------------------------


def build(receiver_url: str) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from access.models import Membership
    from access.roles import EnterpriseRole
    from access.scope import SYSTEM
    from inventory.models import Material
    from notifications.models import WebhookEndpoint
    from notifications.services.webhooks import webhook_endpoint_create
    from parks.models import Enterprise, Park
    from tests.factories import make_uscc

    with transaction.atomic():
        park = Park.objects.filter(code="notify-bench").first()
        if park is None:
            park = Park.objects.create(
                code="notify-bench",
                name_zh="通知基准园区",
                name_en="Notify bench park",
                division_code="330211",
                latitude="29.960000",
                longitude="121.700000",
                area_mu="10000",
            )
            users = get_user_model().objects
            for n, name in enumerate(("seller", "buyer")):
                enterprise = Enterprise.objects.create(
                    uscc=make_uscc(9000 + n),
                    park=park,
                    name_zh=f"基准{name}",
                    name_en=f"Bench {name}",
                    latitude=park.latitude,
                    longitude=park.longitude,
                    industry="petrochemicals",
                )
                user = users.create_user(username=f"notify-bench-{name}", email="")
                Membership.objects.create(
                    user=user, enterprise=enterprise, role=EnterpriseRole.ENTERPRISE_ADMIN
                )
        seller, buyer = Enterprise.objects.filter(park=park).order_by("pk")
        material = Material.objects.order_by("pk").first()
        if material is None:
            material = Material.objects.create(name_zh="甲醇", name_en="Methanol")
        WebhookEndpoint.objects.filter(enterprise=seller).delete()
    endpoint, _secret = webhook_endpoint_create(actor=SYSTEM, enterprise=seller, url=receiver_url)
    return {
        "seller": seller.pk,
        "buyer": buyer.pk,
        "material": material.pk,
        "endpoint": endpoint.pk,
    }


def payload(world: dict[str, Any], order_id: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "material_ids": [world["material"]],
        "seller_id": world["seller"],
        "buyer_id": world["buyer"],
        "material_id": world["material"],
        "quantity_kg": "800.000",
        "price_per_t": "4200.00",
        "total_yuan": "3360.00",
        "status": "confirmed",
        "match_id": None,
    }


def reset_tables() -> None:
    from django.db import connection

    from config.celery import app

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE common_outboxevent, common_outboxdelivery, notifications_notification, "
            "notifications_maildelivery, notifications_webhookdelivery, "
            "notifications_webhookattempt RESTART IDENTITY CASCADE"
        )
        cursor.execute("VACUUM ANALYZE")
    app.control.purge()


def emit_many(world: dict[str, Any], *, count: int, per_tx: int) -> float:
    """Commit ``count`` events ``per_tx`` at a time; returns the time of the first commit."""
    from django.db import transaction

    from common.events import event_emit_many

    commits: list[float] = []
    for start in range(1, count + 1, per_tx):
        stop = min(start + per_tx, count + 1)
        with transaction.atomic():
            if not commits:  # runs at the commit, before the events' own sends
                transaction.on_commit(partial(_now_into, commits))
            event_emit_many(
                topic="order.confirmed",
                payloads=[payload(world, i) for i in range(start, stop)],
            )
    return commits[0]


def succeeded() -> int:
    from notifications.models import DeliveryState, WebhookDelivery

    return WebhookDelivery.objects.filter(status=DeliveryState.SUCCEEDED).count()


def wait_succeeded(count: int, *, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if succeeded() >= count:
            return time.time()
        time.sleep(0.05)
    raise RuntimeError(f"only {succeeded()} of {count} delivered in {timeout} s")


# --- workers -----------------------------------------------------------------------------


PRODUCTION_SWEEPS: dict[str, str | float] = {}
CRASH_SWEEPS: dict[str, str | float] = {
    "OUTBOX_SWEEP_EVERY_SECONDS": 2,
    "WEBHOOK_SWEEP_EVERY_SECONDS": 2,
    "OUTBOX_LEASE_SECONDS": 10,
    "WEBHOOK_LEASE_SECONDS": 10,
}


class Pool:
    """``n`` worker processes (prefork, one child each), beat in the first."""

    def __init__(
        self, n: int, *, sweeps: dict[str, str | float], profile: bool = False, concurrency: int = 1
    ):
        from django.db import connection

        from tests.processes import Worker, database_url, worker_env

        extra: dict[str, str | float] = {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "LOG_LEVEL": "WARNING",
            **sweeps,
        }
        env = worker_env(
            database_url=database_url(connection.settings_dict),
            broker_url=os.environ["CELERY_BROKER_URL"],
            **extra,
        )
        # Profiled: one worker running its tasks in its main process (--pool solo) under
        # cProfile, which writes its file at the worker's warm shutdown.
        python = ["-m", "cProfile", "-o", str(PROFILE_PATH)] if profile else []
        self.workers = [
            Worker(
                env=env,
                concurrency=concurrency,
                beat=(i == 0),
                name=f"bench{i}",
                pool="solo" if profile else "prefork",
                python=python,
            )
            for i in range(n)
        ]
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


# --- phases ------------------------------------------------------------------------------


def throughput(world: dict[str, Any], receiver: ReceiverProcess, *, n: int, args: Any) -> float:
    reset_tables()
    receiver.records(reset=True)
    pool = Pool(n, sweeps=PRODUCTION_SWEEPS, profile=args.profile, concurrency=args.concurrency)
    try:
        began = emit_many(world, count=args.events, per_tx=args.per_tx)
        ended = wait_succeeded(args.events, timeout=600)
    finally:
        pool.stop()
    received = {i for i, _ in receiver.records()}
    assert len(received) == args.events, f"{len(received)} received of {args.events}"
    return args.events / (ended - began)


def _now_into(stamps: list[float]) -> None:
    stamps.append(time.time())


def latency(world: dict[str, Any], receiver: ReceiverProcess, *, args: Any) -> dict[str, float]:
    from django.db import transaction

    from common.events import event_emit
    from notifications.models import WebhookEndpoint

    reset_tables()
    receiver.records(reset=True)
    pool = Pool(2, sweeps=PRODUCTION_SWEEPS)
    commits: dict[int, float] = {}
    try:
        time.sleep(1)
        for order_id in range(1, args.light + 1):
            began = time.monotonic()
            stamp: list[float] = []
            with transaction.atomic():
                # Runs at the commit, before the event's own after-commit send.
                transaction.on_commit(partial(_now_into, stamp))
                event = event_emit(topic="order.confirmed", payload=payload(world, order_id))
            commits[event.pk] = stamp[0]
            time.sleep(max(0.0, 0.05 - (time.monotonic() - began)))
        wait_succeeded(args.light, timeout=120)
    finally:
        pool.stop()
    endpoint = WebhookEndpoint.objects.get().pk
    received = dict(receiver.records())
    delays = sorted(
        (received[f"msg_{event}_{endpoint}"] - at) * 1000 for event, at in commits.items()
    )
    return {
        "p50_ms": statistics.median(delays),
        "p95_ms": delays[int(len(delays) * 0.95) - 1],
        "max_ms": delays[-1],
    }


def crash(world: dict[str, Any], receiver: ReceiverProcess, *, args: Any) -> dict[str, Any]:
    from notifications.models import WebhookDelivery

    reset_tables()
    receiver.records(reset=True)
    events = args.crash_events
    pool = Pool(2, sweeps=CRASH_SWEEPS)
    try:
        began = emit_many(world, count=events, per_tx=args.per_tx)
        while succeeded() < events // 2:
            time.sleep(0.02)
        victim = pool.workers[1]
        at_kill = succeeded()
        victim.kill()
        victim.start()
        ended = wait_succeeded(events, timeout=900)
    finally:
        pool.stop()
    records = receiver.records()
    answered = Counter(i for i, _ in records)
    delivered = {
        d.webhook_id: d.delivered_at.timestamp()
        for d in WebhookDelivery.objects.select_related(None).only(
            "event_id", "endpoint_id", "delivered_at"
        )
        if d.delivered_at is not None
    }
    after_success = sum(1 for i, at in records if at > delivered.get(i, float("inf")))
    twice = sorted(i for i, n in answered.items() if n > 1)
    return {
        "events": events,
        "succeeded_at_kill": at_kill,
        "received_unique": len(answered),
        "answers_2xx": len(records),
        "answered_twice": len(twice),
        "answered_twice_ids": twice[:20],
        "received_after_success": after_success,
        "seconds": round(ended - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--per-tx", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--light", type=int, default=200)
    parser.add_argument("--crash-events", type=int, default=10_000)
    parser.add_argument("--only", choices=["throughput", "latency", "crash"], action="append")
    parser.add_argument("--workers", type=int, action="append", help="throughput: 1 and/or 2")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="throughput: pool processes per worker"
    )
    parser.add_argument(
        "--receiver-delay-ms", type=int, default=0, help="the receiver answers after this long"
    )
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_serve(args.receiver, args.receiver_delay_ms / 1000))
        return

    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit(
            "bench/notify.py needs CELERY_BROKER_URL=redis://... (e.g. redis://127.0.0.1:6379/14)"
        )
    os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    config = configure_environment()
    ensure_database(config, drop=args.rebuild)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    phases = args.only or ["throughput", "latency", "crash"]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "command": " ".join(sys.argv),
    }
    receiver = ReceiverProcess(delay_ms=args.receiver_delay_ms)
    try:
        world = build(receiver.url)
        if args.profile:
            rate = throughput(world, receiver, n=1, args=args)
            print(f"profiled run, 1 worker: {rate:.0f} deliveries/s (profiling slows it)")
            print(f"profile: {PROFILE_PATH} (python -m pstats)")
            return
        if "throughput" in phases:
            counts = args.workers or [1, 2]
            rates: dict[int, list[float]] = {n: [] for n in counts}
            for run in range(args.runs):
                for n in counts:
                    rate = throughput(world, receiver, n=n, args=args)
                    rates[n].append(rate)
                    print(f"run {run + 1}: {n} worker process(es): {rate:.0f} deliveries/s")
            for n in counts:
                print(
                    f"throughput, {n} worker process(es), {args.events} events: median "
                    f"{statistics.median(rates[n]):.0f} deliveries/s "
                    f"({', '.join(f'{r:.0f}' for r in rates[n])})"
                )
            results["throughput"] = {
                str(n): {"runs": rates[n], "median": statistics.median(rates[n])} for n in counts
            }
        if "latency" in phases:
            lat = latency(world, receiver, args=args)
            print(
                f"latency, {args.light} events one every 50 ms, 2 workers: "
                f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, "
                f"max {lat['max_ms']:.0f} ms"
            )
            results["latency"] = lat
        if "crash" in phases:
            out = crash(world, receiver, args=args)
            print(
                f"crash, {out['events']} events, a worker SIGKILLed at {out['succeeded_at_kill']} "
                f"succeeded and restarted: received {out['received_unique']} of {out['events']}, "
                f"{out['answered_twice']} webhook-ids answered 2xx twice, "
                f"{out['received_after_success']} received after their success was recorded; "
                f"{out['seconds']} s in all"
            )
            results["crash"] = out
    finally:
        receiver.stop()
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
