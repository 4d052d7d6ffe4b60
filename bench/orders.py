"""Reservations, order lifecycles and the ledger check, on PostgreSQL.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_orders_bench \\
        .venv/bin/python bench/orders.py

The database is dropped, created and migrated, then filled by the ORM and COPY: one park,
20 seller and 20 buyer enterprises each with a warehouse, 1,000 published listings over
1,000 lots of one material, and (for the ledger check) 100,000 more lots carrying
1,000,000 movements in all, every lot's on-hand equal to the sum of its movements.

Measured, each with ``--clients`` (8) separate processes (each its own database
connection, as separate API workers would be), for ``--seconds`` (10) each:

- reservations per second on ONE hot lot (``stock_reserve`` of 1 kg), and spread over the
  1,000 lots; the hot lot must end with exactly as much reserved as was granted;
- full order lifecycles per second (place → confirm → dispatch → receive → complete, each
  a service call in its own transaction as the API makes them), on random listings;
- ``ledger_discrepancies()`` over the whole database (1M+ movements): median of 3.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.api import (  # noqa: E402
    LISTING_ROW_COLUMNS,
    LOT_ROW_COLUMNS,
    MOVEMENT_ROW_COLUMNS,
    configure_environment,
    copy_rows,
    ensure_database,
    reset_sequence,
)

RESULTS_PATH = BASE_DIR / "var" / "bench-orders.json"
SEED = 20261127
SELLERS = 20
BUYERS = 20
LISTINGS = 1000
LEDGER_LOTS = 100_000
LEDGER_MOVEMENTS = 1_000_000


def build(*, ledger_movements: int) -> dict[str, Any]:
    """The bench world; returns ids the clients need."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from access.models import Membership
    from access.roles import EnterpriseRole
    from inventory.models import Material, StockLot, StockMovement, StorageZone, Warehouse
    from marketplace.models import Listing
    from parks.models import Enterprise, Park

    now = datetime.now(UTC)
    with transaction.atomic():
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

        enterprises = Enterprise.objects.bulk_create(
            Enterprise(
                uscc=_uscc(i),
                park=park,
                name_zh=f"基准企业 {i}",
                name_en=f"Bench enterprise {i}",
                latitude=Decimal("29.960000") + Decimal(i) / 1000,
                longitude=Decimal("121.710000"),
            )
            for i in range(SELLERS + BUYERS)
        )
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"bench{i}") for i in range(len(enterprises))
        )
        Membership.objects.bulk_create(
            Membership(user=u, enterprise=e, role=EnterpriseRole.ENTERPRISE_ADMIN)
            for u, e in zip(users, enterprises, strict=True)
        )
        warehouses = Warehouse.objects.bulk_create(
            Warehouse(
                code=f"bench-w{e.pk}",
                name=f"Warehouse {e.pk}",
                park=park,
                owner=e,
                latitude=e.latitude,
                longitude=e.longitude,
            )
            for e in enterprises
        )
        zones = StorageZone.objects.bulk_create(
            StorageZone(
                warehouse=w,
                code="Z1",
                building="B1",
                capacity_kg=Decimal("1e12"),
                allowed_classes=["3"],
            )
            for w in warehouses
        )
        material = Material.objects.create(
            name_zh="基准溶剂",
            name_en="Bench solvent",
            cas="64-17-5",
            primary_class="3",
            physical_state="liquid",
        )
    sellers, buyers = enterprises[:SELLERS], enterprises[SELLERS:]
    zone_of = {w.owner_id: z.pk for w, z in zip(warehouses, zones, strict=True)}

    # 1,000 trading lots with their listings, then the ledger lots; one receipt per lot,
    # the rest of the ledger's movements as adjustments that sum to the lot's on-hand.
    lots, movements, listings = [], [], []
    movement_id = 1
    per_lot = max(1, -(-(ledger_movements - LISTINGS) // LEDGER_LOTS))  # rounded up
    for lot_id in range(1, LISTINGS + LEDGER_LOTS + 1):
        seller = sellers[lot_id % SELLERS]
        trading = lot_id <= LISTINGS
        on_hand = Decimal(1_000_000) if trading else Decimal(per_lot * 10)
        lots.append(
            (
                lot_id,
                material.pk,
                seller.pk,
                zone_of[seller.pk],
                on_hand,
                Decimal(0),
                f"OB-{lot_id}",
                None,
                "",
                None,
                None,
                now,
                now,
            )
        )
        steps = 1 if trading else per_lot
        for k in range(steps):
            kind = "receipt" if k == 0 else "adjustment"
            movements.append((movement_id, lot_id, on_hand / steps, kind, "bench", "", None, now))
            movement_id += 1
        if trading:
            listings.append(
                (
                    lot_id,
                    seller.pk,
                    lot_id,
                    material.pk,
                    Decimal(1_000_000),
                    Decimal("5000.00"),
                    Decimal(0),
                    now.date() - timedelta(days=1),
                    None,
                    "all",
                    "published",
                    "",
                    now,
                    now,
                    now,
                )
            )
    with transaction.atomic():
        copy_rows(StockLot, LOT_ROW_COLUMNS, lots)
        copy_rows(StockMovement, MOVEMENT_ROW_COLUMNS, movements)
        copy_rows(Listing, LISTING_ROW_COLUMNS, listings)
        for model in (StockLot, StockMovement, Listing):
            reset_sequence(model)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return {
        "hot_lot": 1,
        "lots": list(range(1, LISTINGS + 1)),
        "buyers": [
            (u.pk, e.pk, zone_of[e.pk]) for u, e in zip(users[SELLERS:], buyers, strict=True)
        ],
        "sellers": {e.pk: u.pk for u, e in zip(users[:SELLERS], sellers, strict=True)},
        "movements": len(movements),
    }


# --- Client processes ---------------------------------------------------------------------


def _client_setup() -> None:
    import django
    from django.db import connections

    django.setup()
    connections.close_all()


def _api_scope(user_id: int) -> Any:
    """The caller's Scope as an API request has it: the user loaded as token authentication
    loads it (with the membership, its enterprise and park in the same query: common.auth),
    resolved once (``access.scope.request_scope``) and handed to every service call."""
    from django.contrib.auth import get_user_model

    from access.scope import resolve_scope

    user = get_user_model().objects.select_related("membership__enterprise__park").get(pk=user_id)
    return resolve_scope(user)


def _reserve_loop(args: tuple[int, dict[str, Any], bool, float, float]) -> tuple[int, int]:
    """Reserve 1 kg again and again until ``stop_at``; (granted, refused)."""

    from inventory.exceptions import InsufficientStock
    from inventory.models import StockLot
    from inventory.services import stock_reserve
    from parks.models import Enterprise

    client, world, hot, start_at, stop_at = args
    rng = random.Random(SEED + client)
    user_id, buyer_id, _zone = world["buyers"][client % len(world["buyers"])]
    actor = _api_scope(user_id)
    holder = Enterprise.objects.get(pk=buyer_id)
    lots = {lot.pk: lot for lot in StockLot.objects.filter(pk__in=world["lots"])}
    granted = refused = 0
    expires = datetime.now(UTC) + timedelta(hours=1)
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < stop_at:
        lot = lots[world["hot_lot"] if hot else rng.choice(world["lots"])]
        try:
            stock_reserve(
                actor=actor,
                lot=lot,
                holder=holder,
                quantity_kg=Decimal(1),
                expires_at=expires,
                reference=f"bench:{client}",
            )
            granted += 1
        except InsufficientStock:
            refused += 1
    return granted, refused


def _lifecycle_loop(args: tuple[int, dict[str, Any], float, float]) -> tuple[int, int]:
    """Full order lifecycles until ``stop_at``; (completed, failed)."""

    from inventory.models import StorageZone
    from marketplace.models import Listing
    from orders.services import (
        order_complete,
        order_confirm,
        order_dispatch,
        order_place,
        order_receive,
    )

    client, world, start_at, stop_at = args
    rng = random.Random(SEED + 100 + client)
    buyer_user_id, _buyer_id, zone_id = world["buyers"][client % len(world["buyers"])]
    buyer = _api_scope(buyer_user_id)
    zone = StorageZone.objects.get(pk=zone_id)
    sellers = {e: _api_scope(u) for e, u in world["sellers"].items()}
    listings = list(Listing.objects.filter(pk__in=world["lots"]))
    done = failed = 0
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < stop_at:
        listing = rng.choice(listings)
        seller = sellers[listing.seller_id]
        try:
            order = order_place(actor=buyer, listing=listing, quantity_kg=Decimal(10))
            order = order_confirm(actor=seller, order=order)
            order = order_dispatch(actor=seller, order=order)
            order = order_receive(actor=buyer, order=order, zone=zone)
            order_complete(actor=buyer, order=order)
            done += 1
        except Exception:  # counted; a lifecycle must not fail under load
            failed += 1
    return done, failed


def _run_clients(fn: Any, argsets: list[Any]) -> list[Any]:
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(argsets), initializer=_client_setup) as pool:
        return pool.map(fn, argsets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ledger-movements", type=int, default=LEDGER_MOVEMENTS)
    parser.add_argument("--json", type=Path, default=RESULTS_PATH)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()
    config = configure_environment()
    # As in production, the services only enqueue their after-commit tasks (outbox
    # delivery, rematches) on the broker; no worker runs them during the bench, and the
    # queue is purged at the end.
    os.environ["CELERY_BROKER_URL"] = args.broker

    import django
    from django.core.management import call_command
    from django.db import connection, connections

    ensure_database(config, drop=True)
    django.setup()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    world = build(ledger_movements=args.ledger_movements)
    print(
        f"built in {time.perf_counter() - started:.1f} s: {LISTINGS:,} listings, "
        f"{world['movements']:,} movements"
    )
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "clients": args.clients,
        "seconds": args.seconds,
    }

    for name, hot in (("hot_lot", True), ("spread", False)):
        start_at = time.time() + 3  # after every process has set up
        stop_at = start_at + args.seconds
        counts = _run_clients(
            _reserve_loop, [(c, world, hot, start_at, stop_at) for c in range(args.clients)]
        )
        granted = sum(g for g, _ in counts)
        refused = sum(r for _, r in counts)
        results[f"reservations_{name}"] = {
            "granted": granted,
            "refused": refused,
            "per_s": granted / args.seconds,
        }
        print(
            f"reservations, {name.replace('_', ' ')}: {granted / args.seconds:,.0f}/s "
            f"({granted:,} granted, {refused} refused, {args.clients} clients)"
        )
        if hot:
            from inventory.models import StockLot

            django.setup()
            lot = StockLot.objects.get(pk=world["hot_lot"])
            assert lot.reserved_kg == granted, (lot.reserved_kg, granted)
            print(f"  hot lot reserved {lot.reserved_kg} kg = granted: no over- or under-count")

    start_at = time.time() + 3
    stop_at = start_at + args.seconds
    counts = _run_clients(
        _lifecycle_loop, [(c, world, start_at, stop_at) for c in range(args.clients)]
    )
    done = sum(d for d, _ in counts)
    failed = sum(f for _, f in counts)
    results["lifecycles"] = {"completed": done, "failed": failed, "per_s": done / args.seconds}
    print(
        f"order lifecycles: {done / args.seconds:,.1f}/s ({done:,} completed, {failed} "
        f"failed, {args.clients} clients)"
    )

    from inventory.selectors import ledger_discrepancies

    connections.close_all()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        found = ledger_discrepancies()
        times.append(time.perf_counter() - t)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM inventory_stockmovement")
        movements = cursor.fetchone()[0]
    results["ledger_check"] = {
        "movements": movements,
        "median_s": statistics.median(times),
        "discrepancies": len(found),
    }
    print(
        f"ledger_check over {movements:,} movements: {statistics.median(times):.2f} s "
        f"(median of 3), {len(found)} discrepancies"
    )
    from config.celery import app

    app.control.purge()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
