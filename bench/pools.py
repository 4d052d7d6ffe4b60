"""Emergency draws from one joint stockpile under concurrency, on PostgreSQL.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_pools_bench \\
        .venv/bin/python bench/pools.py

The database is dropped, created and migrated, then one park is built through the
services: ``--members`` (8) enterprises, each with a trader, members of one pool (target
``--members`` × 20 t) in a shared warehouse's zone, each contributing ``--lots`` (5) lots of
2,000 kg with distinct expiry dates (80,000 kg in 40 lots by default).

Measured, with ``--clients`` (8) separate processes (each its own database connection, as
separate API workers would be), each drawing for one member:

1. for ``--seconds`` (10): emergency draws of 0.5 to 5 kg (``pools.services.pool_draw``,
   each its own transaction as the API makes it, granted at once first expiry first out):
   draws per second, and p50/p95/max of one draw from the call to its return, i.e. after
   its commit (the stock is the member's, its ledger rows and events written) and its
   after-commit publishing of the outbox fan-out. With ``--via api``, each draw is a
   ``POST /api/v1/pools/{id}/draw/`` with a knox Bearer token of the member's trader,
   through ``django.test.Client`` (the middleware, authentication, throttles, DRF's parsing,
   validation and rendering; no network), timed to the response; each client's first
   request (a GET of the pool) is untimed;
2. the drain: the clients draw 1 % of what is left each until the pool is empty. Every
   gram granted must come from what was held: granted in both phases = held at the start,
   the pool's lots all empty, and the ledger balanced (``ledger_discrepancies()``).

Then one draw again in this process, its SQL queries counted and grouped by table (why
a draw costs what it costs); ``--profile`` adds a cProfile of 200 draws in a row
(``var/bench-pools.prof``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import platform
import pstats
import random
import re
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.api import configure_environment, ensure_database  # noqa: E402

RESULTS_PATH = BASE_DIR / "var" / "bench-pools.json"
PROFILE_PATH = BASE_DIR / "var" / "bench-pools.prof"
SEED = 20261207
LOT_KG = Decimal(2000)


def build(*, members: int, lots: int) -> dict[str, Any]:
    """The bench world through the services; returns the ids the clients need."""
    from django.contrib.auth import get_user_model

    from access.models import Membership, ParkRole
    from access.roles import EnterpriseRole, ParkRoleKind
    from access.scope import SYSTEM, resolve_scope
    from inventory.models import Material, StorageZone, Warehouse
    from inventory.services import stock_receive
    from parks.models import Enterprise, Park
    from pools.models import RequestKind
    from pools.services import membership_decide, membership_request, pool_contribute, pool_create

    park = Park.objects.create(
        code="bench",
        name_zh="基准园区",
        name_en="Bench park",
        division_code="330211",
        latitude=Decimal("29.960000"),
        longitude=Decimal("121.710000"),
        area_mu=Decimal(10000),
    )
    from bench.match import _uscc

    user_model = get_user_model()
    operator = user_model.objects.create(username="bench-operator")
    ParkRole.objects.create(user=operator, park=park, role=ParkRoleKind.OPERATOR)
    warehouse = Warehouse.objects.create(
        code="bench-shared",
        name="Shared warehouse",
        park=park,
        owner=None,
        latitude=park.latitude,
        longitude=park.longitude,
    )
    zone = StorageZone.objects.create(
        warehouse=warehouse,
        code="S1",
        building="B1",
        capacity_kg=Decimal("1e9"),
        allowed_classes=["8"],
    )
    material = Material.objects.create(
        name_zh="氢氧化钠",
        name_en="Sodium hydroxide",
        cas="1310-73-2",
        primary_class="8",
        physical_state="solid",
    )
    pool = pool_create(
        actor=resolve_scope(operator),
        park=park,
        code="naoh",
        name="烧碱联储",
        material=material,
        target_kg=Decimal(members * 20_000),
        zones=[zone],
    )
    traders = []
    today = date.today()
    for i in range(members):
        enterprise = Enterprise.objects.create(
            uscc=_uscc(i),
            park=park,
            name_zh=f"基准企业 {i}",
            name_en=f"Bench enterprise {i}",
            latitude=park.latitude + Decimal(i) / 1000,
            longitude=park.longitude,
        )
        user = user_model.objects.create(username=f"bench-trader-{i}")
        Membership.objects.create(user=user, enterprise=enterprise, role=EnterpriseRole.TRADER)
        user = user_model.objects.select_related("membership__enterprise__park").get(pk=user.pk)
        scope = resolve_scope(user)
        request = membership_request(
            actor=scope, pool=pool, kind=RequestKind.JOIN, commitment_kg=Decimal(20_000)
        )
        membership_decide(actor=resolve_scope(operator), request=request, approve=True)
        for k in range(lots):
            lot = stock_receive(
                actor=SYSTEM,
                owner=enterprise,
                material=material,
                zone=zone,
                quantity_kg=LOT_KG,
                expires_on=today + timedelta(days=400 + 7 * (k * members + i)),
            )
            pool_contribute(actor=scope, pool=pool, lot=lot, quantity_kg=LOT_KG)
        traders.append(user.pk)
    return {"pool": pool.pk, "traders": traders, "held_kg": str(LOT_KG * members * lots)}


# --- Client processes ---------------------------------------------------------------------


def _client_setup() -> None:
    import django
    from django.db import connections

    django.setup()
    connections.close_all()


def _draw_loop(args: tuple[int, dict[str, Any], float, float, float]) -> dict[str, Any]:
    """Emergency draws of 0.5 to 5 kg until ``stop_at``: the latency of each (ms), what
    was granted, how many failed. With a ``period`` (s), each draw starts on the next
    tick of ``start_at + k * period``: every client draws at the same instant (bursts),
    instead of drawing again as soon as its last draw returned (saturation)."""
    from bench.orders import _api_scope
    from pools.models import Pool
    from pools.services import pool_draw

    client, world, start_at, stop_at, period = args
    rng = random.Random(SEED + client)
    trader = world["traders"][client % len(world["traders"])]
    actor = _api_scope(trader)
    pool = Pool.objects.get(pk=world["pool"])
    draw_once = _through_the_api(world, trader) if world.get("via") == "api" else None
    latencies: list[float] = []
    granted = Decimal(0)
    failed = 0
    errors: Counter[str] = Counter()
    while time.time() < start_at:
        time.sleep(0.001)
    tick = start_at
    while time.time() < stop_at:
        if period:
            tick += period
            while time.time() < tick:
                time.sleep(0.0005)
        quantity = Decimal(rng.randrange(500, 5001)) / 1000
        t = time.perf_counter()
        try:
            if draw_once is not None:
                granted_kg = draw_once(quantity, f"bench {client}")
            else:
                granted_kg = pool_draw(
                    actor=actor,
                    pool=pool,
                    quantity_kg=quantity,
                    severity="emergency",
                    reason=f"bench {client}",
                ).granted_kg
        except Exception as error:  # counted and named; a draw must not fail under load
            failed += 1
            errors[f"{type(error).__name__}: {str(error)[:120]}"] += 1
            continue
        latencies.append((time.perf_counter() - t) * 1000)
        granted += granted_kg
    return {
        "latencies": latencies,
        "granted": str(granted),
        "failed": failed,
        "errors": dict(errors),
    }


def _through_the_api(world: dict[str, Any], trader_id: int) -> Any:
    """A function drawing through ``POST /api/v1/pools/{id}/draw/`` with a knox Bearer token
    of the trader (``django.test.Client``: middleware, authentication, throttles, DRF's
    parsing, validation and rendering; no network); returns what was granted."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from knox.models import AuthToken

    _row, token = AuthToken.objects.create(user=get_user_model().objects.get(pk=trader_id))
    http = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/pools/{world['pool']}/draw/"
    # Untimed: the process's first request loads what every later one reuses (URL
    # resolvers, serializers, the schema of the error responses).
    first = http.get(f"/api/v1/pools/{world['pool']}/")
    assert first.status_code == 200, first.content[:200]

    def draw(quantity: Decimal, reason: str) -> Decimal:
        response = http.post(
            url,
            {"quantity_kg": str(quantity), "severity": "emergency", "reason": reason},
            content_type="application/json",
        )
        if response.status_code != 201:
            raise RuntimeError(f"{response.status_code} {response.content[:200]!r}")
        return Decimal(response.json()["granted_kg"])

    return draw


def _drain_loop(args: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    """Draw 1 % of what is left (at least 1 kg) until a draw is granted nothing."""
    from bench.orders import _api_scope
    from pools.models import Pool
    from pools.services import pool_draw, pool_held_kg

    client, world = args
    actor = _api_scope(world["traders"][client % len(world["traders"])])
    pool = Pool.objects.get(pk=world["pool"])
    granted = Decimal(0)
    draws = 0
    while True:
        quantity = max(Decimal(1), (pool_held_kg(pool) / 100).quantize(Decimal("0.001")))
        draw = pool_draw(
            actor=actor, pool=pool, quantity_kg=quantity, severity="emergency", reason="drain"
        )
        draws += 1
        if draw.granted_kg == 0:
            return {"granted": str(granted), "draws": draws}
        granted += draw.granted_kg


def _run_clients(fn: Any, argsets: list[Any]) -> list[Any]:
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(argsets), initializer=_client_setup) as pool:
        return pool.map(fn, argsets)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _one_draw_queries(world: dict[str, Any]) -> dict[str, Any]:
    """One draw's SQL queries, counted and grouped by statement and table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.orders import _api_scope
    from pools.models import Pool
    from pools.services import pool_draw

    actor = _api_scope(world["traders"][0])
    pool = Pool.objects.get(pk=world["pool"])
    with CaptureQueriesContext(connection) as ctx:
        draw = pool_draw(
            actor=actor, pool=pool, quantity_kg=Decimal(1), severity="emergency", reason="count"
        )
    groups: Counter[str] = Counter()
    for query in ctx.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
        groups[f"{verb} {table.group(1) if table else ''}".strip()] += 1
    total_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
    return {
        "queries": len(ctx.captured_queries),
        "by_kind": dict(groups),
        "sql_ms": total_ms,
        "granted_kg": str(draw.granted_kg),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--lots", type=int, default=5, help="lots of 2,000 kg per member")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--burst-period", type=float, default=0.25, help="seconds between bursts of draws"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS_PATH)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/10")
    parser.add_argument(
        "--via",
        choices=("service", "api"),
        default="service",
        help="draw by calling pools.services.pool_draw, or through the REST API",
    )
    args = parser.parse_args()
    config = configure_environment()
    # The clients draw far faster than a person would: no rate limit in the way.
    os.environ["THROTTLE_USER_WRITE"] = "1000000/min"
    os.environ["THROTTLE_USER_READ"] = "1000000/min"
    # As in production, a draw's events are enqueued on the broker after commit; no worker
    # runs them during the bench, and the queue is purged at the end.
    os.environ["CELERY_BROKER_URL"] = args.broker

    import django
    from django.core.management import call_command

    ensure_database(config, drop=True)
    django.setup()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    world = build(members=args.members, lots=args.lots)
    world["via"] = args.via
    held_at_start = Decimal(world["held_kg"])
    print(
        f"built in {time.perf_counter() - started:.1f} s: one pool, {args.members} members, "
        f"{args.members * args.lots} lots, {held_at_start:,} kg held"
    )
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "clients": args.clients,
        "via": args.via,
        "seconds": args.seconds,
        "held_at_start_kg": str(held_at_start),
    }

    for mode, period in (("saturation", 0.0), ("bursts", args.burst_period)):
        start_at = time.time() + 3  # after every process has set up
        stop_at = start_at + args.seconds
        runs = _run_clients(
            _draw_loop, [(c, world, start_at, stop_at, period) for c in range(args.clients)]
        )
        latencies = [ms for r in runs for ms in r["latencies"]]
        failed = sum(r["failed"] for r in runs)
        granted = sum((Decimal(r["granted"]) for r in runs), Decimal(0))
        p50, p95 = _percentile(latencies, 0.50), _percentile(latencies, 0.95)
        results[mode] = {
            "count": len(latencies),
            "failed": failed,
            "per_s": len(latencies) / args.seconds,
            "p50_ms": p50,
            "p95_ms": p95,
            "max_ms": max(latencies),
            "mean_ms": statistics.fmean(latencies),
            "granted_kg": str(granted),
            "errors": dict(sum((Counter(r["errors"]) for r in runs), Counter())),
        }
        how = (
            "each client drawing again as soon as its draw returned"
            if not period
            else f"all clients drawing at the same instant every {period * 1000:.0f} ms"
        )
        print(
            f"{mode} ({how}): {len(latencies) / args.seconds:,.1f} draws/s "
            f"({len(latencies):,} granted, {failed} failed, {args.clients} clients); one draw "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms "
            f"({'meets' if p50 <= 50 else 'MISSES'} the p50 <= 50 ms target); "
            f"{granted:,} kg granted"
        )
        for error, count in results[mode]["errors"].items():
            print(f"  failed {count} x {error}")
    granted = sum(
        (Decimal(results[mode]["granted_kg"]) for mode in ("saturation", "bursts")), Decimal(0)
    )

    django.setup()
    results["one_draw"] = _one_draw_queries(world)
    one = results["one_draw"]
    granted += Decimal(one["granted_kg"])
    print(
        f"one draw: {one['queries']} SQL queries ({one['sql_ms']:.1f} ms in the database "
        f"from this process): {one['by_kind']}"
    )
    if args.profile:
        from bench.orders import _api_scope
        from pools.models import Pool
        from pools.services import pool_draw

        actor = _api_scope(world["traders"][0])
        pool = Pool.objects.get(pk=world["pool"])
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        for _ in range(200):
            granted += pool_draw(
                actor=actor, pool=pool, quantity_kg=Decimal(1), severity="emergency", reason="p"
            ).granted_kg
        profiler.disable()
        elapsed = (time.perf_counter() - t) / 200 * 1000
        PROFILE_PATH.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(PROFILE_PATH)
        print(f"profile: 200 draws in a row, {elapsed:.1f} ms each; written to {PROFILE_PATH}")
        pstats.Stats(str(PROFILE_PATH)).sort_stats("cumulative").print_stats(25)

    drained = _run_clients(_drain_loop, [(c, world) for c in range(args.clients)])
    drained_kg = sum((Decimal(r["granted"]) for r in drained), Decimal(0))
    granted += drained_kg

    from inventory.selectors import ledger_discrepancies
    from pools.models import Pool
    from pools.services import pool_held_kg

    pool = Pool.objects.get(pk=world["pool"])
    held_at_end = pool_held_kg(pool)
    found = ledger_discrepancies()
    results["check"] = {
        "drain_draws": sum(r["draws"] for r in drained),
        "granted_kg": str(granted),
        "held_at_end_kg": str(held_at_end),
        "never_more_than_held": granted == held_at_start and held_at_end == 0,
        "ledger_discrepancies": len(found),
    }
    print(
        f"never more than held: {granted:,} kg granted in all of {held_at_start:,} kg held, "
        f"{held_at_end} kg left after the drain ({sum(r['draws'] for r in drained)} draws); "
        f"ledger: {len(found)} discrepancies"
    )
    assert granted == held_at_start, (granted, held_at_start)
    assert held_at_end == 0, held_at_end
    assert found == [], found

    from config.celery import app

    app.control.purge()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
