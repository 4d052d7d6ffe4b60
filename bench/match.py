"""The matching engine on synthetic markets, on PostgreSQL.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_match_bench \\
        .venv/bin/python bench/match.py --sizes 1000,10000,100000

For each size N the database is dropped, created and migrated, and a market of N published
listings (each over its own stock lot with one receipt, so the ledger balances) and N open
needs is COPYed in: 30 parks in three regions, 20 enterprises per park, one warehouse each,
1,000 catalogue materials of which max(10, min(1000, N / 100)) are traded (so every market
has about 100 listings and 100 needs per material: a need cannot have 20 feasible listings
among 1 listing per material), pairs of materials accepting each other as substitutes on 5 %
of the needs. Prices, quantities, purities, dates, distances and visibilities are drawn so
that about a third of the pairs of a material are feasible. Fixed seed: the same market
every time.

Then it measures:

- **full rematch, end to end** (``run_full`` in this process: list components → per chunk
  lock, read, build arcs and solve, write proposals), three times from an empty proposal
  table (median) and three times again on unchanged data (nothing to write);
- **solve time**: the run's own ``solve_seconds`` (feasibility grid, costs and min-cost
  flow; the reads and writes are timed apart);
- **quality**: the proposals written against a greedy cheapest-first allocation over the
  same feasible arcs and against the optimum of an independent LP (scipy's HiGHS: maximise
  the quantity, then minimise the cost with the quantity fixed), component by component;
- **incremental rematch** of one material after a price change, ``--incremental`` times on
  random materials: p50 and p95;
- with ``--workers``, the full rematch fanned out to real Celery workers (Redis broker), one
  worker process against two.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
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

RESULTS_PATH = BASE_DIR / "var" / "bench-match.json"
SEED = 20261127
# Dates are drawn relative to today (in the project's time zone, as the engine reads them),
# so the same market is generated whatever day the bench runs.
TODAY = date.today()  # replaced by timezone.localdate() once Django is set up
NOW = datetime.now(UTC)
PARKS = 30
ENTERPRISES_PER_PARK = 20
MATERIALS = 1000
PER_MATERIAL = 100
# Three prefecture-level regions (division code, centre); parks spread ±0.15° around them.
REGIONS = (("330211", 29.96, 121.71), ("330902", 30.01, 122.11), ("330604", 30.05, 120.86))
CLASSES = (("", 30), ("3", 25), ("8", 15), ("6.1", 10), ("9", 10), ("2.1", 5), ("5.1", 5))
TARGET_E2E_S = 60.0
TARGET_INCREMENTAL_MS = 200.0
TARGET_REL_COST = 1e-6


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _coord(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def _cas(i: int) -> str:
    from common.identifiers import cas_check_digit

    body = f"{900000 + i}-{i % 100:02d}"
    return f"{body}-{cas_check_digit(body)}"


def _uscc(i: int) -> str:
    from common.identifiers import USCC_ALPHABET, uscc_check_char

    rng = random.Random(f"uscc-{i}")
    body = "91330200" + "".join(rng.choice(USCC_ALPHABET[:10]) for _ in range(9))
    return body + uscc_check_char(body)


# --- The market ---------------------------------------------------------------------------


@dataclass
class Market:
    size: int
    materials_traded: int
    build_s: float


def build_market(size: int) -> Market:
    """Parks, enterprises, warehouses and materials by the ORM; lots, receipts, listings
    and needs by COPY. Returns when VACUUM ANALYZE is done."""
    from django.db import connection, transaction

    from inventory.models import Material, StockLot, StockMovement, StorageZone, Warehouse
    from marketplace.models import Listing, Need
    from parks.models import Enterprise, Park

    started = time.perf_counter()
    rng = random.Random(SEED + size)
    traded = max(10, min(MATERIALS, size // PER_MATERIAL))
    with transaction.atomic():
        parks = []
        for p in range(PARKS):
            division, lat, lon = REGIONS[p % len(REGIONS)]
            parks.append(
                Park(
                    code=f"bench-{p:02d}",
                    name_zh=f"基准园区 {p}",
                    name_en=f"Bench park {p}",
                    division_code=division,
                    latitude=_coord(lat + rng.uniform(-0.15, 0.15)),
                    longitude=_coord(lon + rng.uniform(-0.15, 0.15)),
                    area_mu=Decimal(10000),
                )
            )
        Park.objects.bulk_create(parks)
        enterprises = []
        for p, park in enumerate(parks):
            for e in range(ENTERPRISES_PER_PARK):
                i = p * ENTERPRISES_PER_PARK + e
                enterprises.append(
                    Enterprise(
                        uscc=_uscc(i),
                        park=park,
                        name_zh=f"基准企业 {i}",
                        name_en=f"Bench enterprise {i}",
                        latitude=_coord(float(park.latitude) + rng.uniform(-0.03, 0.03)),
                        longitude=_coord(float(park.longitude) + rng.uniform(-0.03, 0.03)),
                    )
                )
        Enterprise.objects.bulk_create(enterprises)
        warehouses = Warehouse.objects.bulk_create(
            Warehouse(
                code=f"bench-w{e.pk}",
                name=f"Warehouse of {e.name_en}",
                park=e.park,
                owner=e,
                latitude=e.latitude,
                longitude=e.longitude,
            )
            for e in enterprises
        )
        zones = StorageZone.objects.bulk_create(
            StorageZone(warehouse=w, code="Z1", building="B1", capacity_kg=Decimal("1e12"))
            for w in warehouses
        )
        zone_of = {w.owner_id: z for w, z in zip(warehouses, zones, strict=True)}
        classes, weights = zip(*CLASSES, strict=True)
        materials = Material.objects.bulk_create(
            Material(
                name_zh=f"基准化学品 {i}",
                name_en=f"Bench chemical {i}",
                cas=_cas(i),
                primary_class=(cls := rng.choices(classes, weights)[0]),
                subsidiary_classes=[],
                physical_state="liquid" if cls in ("3", "8", "6.1") else "solid",
            )
            for i in range(MATERIALS)
        )
    active = materials[:traded]
    base_price = {m.pk: rng.uniform(3000, 30000) for m in active}

    lot_id = 1
    lots, receipts, listings = [], [], []
    for listing_id in range(1, size + 1):
        seller = rng.choice(enterprises)
        material = rng.choice(active)
        quantity = Decimal(round(_log_uniform(rng, 1000, 50000)))
        on_hand = quantity + Decimal(round(float(quantity) * rng.uniform(0, 0.2)))
        purity = None if rng.random() < 0.1 else Decimal(f"{rng.uniform(95, 99.9):.3f}")
        expires = None if rng.random() < 0.7 else TODAY + timedelta(days=rng.randint(10, 400))
        lots.append(
            (
                lot_id,
                material.pk,
                seller.pk,
                zone_of[seller.pk].pk,
                on_hand,
                Decimal(0),
                f"MB-{lot_id}",
                purity,
                "",
                None,
                expires,
                NOW,
                NOW,
            )
        )
        receipts.append((lot_id, lot_id, on_hand, "receipt", "bench", "", None, NOW))
        available_from = TODAY - timedelta(days=rng.randint(0, 30))
        if rng.random() < 0.1:
            available_from = TODAY + timedelta(days=rng.randint(1, 60))
        until = (
            None if rng.random() < 0.8 else available_from + timedelta(days=rng.randint(30, 200))
        )
        visibility = rng.choices(("park", "region", "all"), (20, 40, 40))[0]
        price = Decimal(f"{base_price[material.pk] * rng.uniform(0.85, 1.15):.2f}")
        listings.append(
            (
                listing_id,
                seller.pk,
                lot_id,
                material.pk,
                quantity,
                price,
                Decimal(0),
                available_from,
                until,
                visibility,
                "published",
                "",
                NOW,
                NOW,
                NOW,
            )
        )
        lot_id += 1

    needs: list[tuple[Any, ...]] = []
    substitutes: list[tuple[int, int, int]] = []
    for need_id in range(1, size + 1):
        buyer = rng.choice(enterprises)
        material = rng.choice(active)
        quantity = Decimal(round(_log_uniform(rng, 1000, 50000) * 0.85))
        max_price = (
            None
            if rng.random() < 0.3
            else Decimal(f"{base_price[material.pk] * rng.uniform(1.0, 1.3):.2f}")
        )
        min_purity = None if rng.random() < 0.6 else Decimal(f"{rng.uniform(95, 99):.3f}")
        max_distance = None if rng.random() < 0.5 else Decimal(f"{rng.uniform(30, 150):.2f}")
        zone = zone_of[buyer.pk].pk if rng.random() < 0.1 else None
        point_lat: Decimal | None = None if zone else Decimal(buyer.latitude)
        point_lon: Decimal | None = None if zone else Decimal(buyer.longitude)
        needs.append(
            (
                need_id,
                buyer.pk,
                material.pk,
                quantity,
                max_price,
                TODAY + timedelta(days=rng.randint(5, 90)),
                zone,
                point_lat,
                point_lon,
                max_distance,
                min_purity,
                "open",
                "",
                NOW,
                NOW,
            )
        )
        if rng.random() < 0.05:
            # Materials pair up (2k, 2k+1): grades of one chemical accepting each other.
            position = material.pk - active[0].pk
            if (position ^ 1) < traded:
                substitutes.append((len(substitutes) + 1, need_id, active[position ^ 1].pk))

    with transaction.atomic():
        copy_rows(StockLot, LOT_ROW_COLUMNS, lots)
        copy_rows(StockMovement, MOVEMENT_ROW_COLUMNS, receipts)
        copy_rows(Listing, LISTING_ROW_COLUMNS, listings)
        copy_rows(
            Need,
            (
                "id",
                "enterprise_id",
                "material_id",
                "quantity_kg",
                "max_price_per_t",
                "needed_by",
                "delivery_zone_id",
                "delivery_latitude",
                "delivery_longitude",
                "max_distance_km",
                "min_purity_pct",
                "status",
                "note",
                "created_at",
                "updated_at",
            ),
            needs,
        )
        copy_rows(Need.substitutes.through, ("id", "need_id", "material_id"), substitutes)
        for model in (StockLot, StockMovement, Listing, Need, Need.substitutes.through):
            reset_sequence(model)
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return Market(size=size, materials_traded=traded, build_s=time.perf_counter() - started)


# --- Baselines ----------------------------------------------------------------------------


@dataclass
class Quality:
    components: int = 0
    listings: int = 0
    needs: int = 0
    arcs: int = 0
    greedy_grams: int = 0
    greedy_micro_fen: int = 0
    lp_grams: float = 0.0
    lp_micro_fen: float = 0.0


def greedy(comp: Any, arcs: Any) -> tuple[int, int]:
    """Cheapest arc first, as much as both ends still allow."""
    supply_left = [comp.supply_grams[s.listing_id] for s in comp.supplies]
    demand_left = [comp.demand_grams[d.need_id] for d in comp.demands]
    order = sorted(range(len(arcs)), key=lambda k: (int(arcs.cost_fen[k]), k))
    grams = cost = 0
    for k in order:
        i, j = int(arcs.supply[k]), int(arcs.demand[k])
        x = min(supply_left[i], demand_left[j])
        if x:
            supply_left[i] -= x
            demand_left[j] -= x
            grams += x
            cost += x * int(arcs.cost_fen[k])
    return grams, cost


def lp_optimum(comp: Any, arcs: Any) -> tuple[float, float]:
    """Independent two-stage LP (scipy HiGHS): max Σx, then min Σcx with Σx fixed."""
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n_arcs = len(arcs)
    if n_arcs == 0:
        return 0.0, 0.0
    m, n = len(comp.supplies), len(comp.demands)
    rows = np.concatenate([arcs.supply, m + arcs.demand])
    cols = np.concatenate([np.arange(n_arcs), np.arange(n_arcs)])
    a_ub = coo_matrix((np.ones(2 * n_arcs), (rows, cols)), shape=(m + n, n_arcs)).tocsr()
    b_ub = np.array(
        [comp.supply_grams[s.listing_id] for s in comp.supplies]
        + [comp.demand_grams[d.need_id] for d in comp.demands],
        dtype=float,
    )
    first = linprog(-np.ones(n_arcs), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs-ds")
    quantity = -first.fun
    a2 = coo_matrix(
        (
            np.concatenate([np.ones(2 * n_arcs), -np.ones(n_arcs)]),
            (
                np.concatenate([rows, np.full(n_arcs, m + n)]),
                np.concatenate([cols, np.arange(n_arcs)]),
            ),
        ),
        shape=(m + n + 1, n_arcs),
    ).tocsr()
    b2 = np.append(b_ub, -quantity * (1 - 1e-12))
    second = linprog(
        arcs.cost_fen.astype(float), A_ub=a2, b_ub=b2, bounds=(0, None), method="highs-ds"
    )
    return float(second.x.sum()), float(second.fun)


def quality(*, with_lp: bool) -> Quality:
    from matching.arcs import build_arcs
    from matching.loading import components_all, load_components

    q = Quality()
    components = components_all()
    for start in range(0, len(components), 50):
        batch, _infos = load_components(components[start : start + 50], today=TODAY)
        for comp in batch:
            arcs = build_arcs(
                comp.supplies, comp.demands, today=TODAY, excluded=comp.excluded_pairs
            )
            q.components += 1
            q.listings += len(comp.supplies)
            q.needs += len(comp.demands)
            q.arcs += len(arcs)
            g, c = greedy(comp, arcs)
            q.greedy_grams += g
            q.greedy_micro_fen += c
            if with_lp:
                lg, lc = lp_optimum(comp, arcs)
                q.lp_grams += lg
                q.lp_micro_fen += lc
    return q


def proposals_totals() -> tuple[int, Fraction]:
    """Grams and exact cost (micro-fen) of the live proposals, from the database."""
    from matching.models import Match, MatchStatus

    grams = 0
    cost = Fraction(0)
    for qty, price, transport in Match.objects.filter(status=MatchStatus.PROPOSED).values_list(
        "quantity_kg", "price_per_t", "transport_per_t"
    ):
        g = int(qty * 1000)
        grams += g
        cost += g * int((price + transport) * 100)
    return grams, cost


# --- Runs ---------------------------------------------------------------------------------


def clear_proposals() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE matching_match, matching_matchrun, matching_pendingrematch CASCADE"
        )


def full_inline() -> dict[str, float]:
    from matching.models import RunTrigger
    from matching.services.runs import run_full

    started = time.perf_counter()
    run = run_full(trigger=RunTrigger.COMMAND)
    wall = time.perf_counter() - started
    if run.error:
        sys.exit(f"run #{run.pk} failed: {run.error}")
    return {
        "wall_s": wall,
        "read_s": run.read_seconds,
        "solve_s": run.solve_seconds,
        "write_s": run.write_seconds,
        "created": run.created,
        "kept": run.kept,
        "superseded": run.superseded,
        "components": run.components,
        "arcs": run.arcs,
        "matched_kg": float(run.matched_kg),
    }


def incremental(samples: int, *, seed: int) -> list[float]:
    """Change one listing's price, then time the rematch of its material (ms)."""
    from django.db.models import F

    from marketplace.models import Listing, ListingStatus
    from matching.models import RunTrigger
    from matching.services.runs import run_materials

    rng = random.Random(seed)
    material_ids = sorted(
        set(
            Listing.objects.filter(status=ListingStatus.PUBLISHED).values_list(
                "material_id", flat=True
            )
        )
    )
    times = []
    for _ in range(samples):
        material_id = rng.choice(material_ids)
        listing = (
            Listing.objects.filter(material_id=material_id, status=ListingStatus.PUBLISHED)
            .order_by("?")
            .first()
        )
        assert listing is not None
        Listing.objects.filter(pk=listing.pk).update(price_per_t=F("price_per_t") * Decimal("0.99"))
        started = time.perf_counter()
        run_materials(material_ids=[material_id], trigger=RunTrigger.COMMAND)
        times.append((time.perf_counter() - started) * 1000)
    return times


def full_with_workers(concurrency: int, broker: str) -> float:
    """Wall time of a full rematch fanned out to one worker process of ``concurrency``."""
    from matching.models import MatchRun, RunStatus, RunTrigger
    from matching.services.runs import run_full

    env = dict(os.environ, CELERY_BROKER_URL=broker)
    log = (BASE_DIR / "var" / "bench-match-worker.log").open("a")
    worker = subprocess.Popen(  # noqa: S603  -- this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench{concurrency}@%h",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from config.celery import app

        app.control.purge()  # nothing left over from an earlier bench
        deadline = time.time() + 60
        while not app.control.ping(timeout=1.0):
            if time.time() > deadline:
                sys.exit("the Celery worker did not answer within 60 s")
        started = time.perf_counter()
        run = run_full(trigger=RunTrigger.COMMAND, fan_out=True)
        while True:
            time.sleep(0.05)
            run = MatchRun.objects.get(pk=run.pk)
            if run.status != RunStatus.RUNNING:
                break
        wall = time.perf_counter() - started
        if run.error:
            sys.exit(f"run #{run.pk} failed: {run.error}")
        return wall
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_size(size: int, config: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import django
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    ensure_database(config, drop=True)
    django.setup()
    call_command("migrate", verbosity=0)
    market = build_market(size)
    print(
        f"\n== {size:,} listings × {size:,} needs, {market.materials_traded} materials traded "
        f"(built in {market.build_s:.1f} s)"
    )

    q = quality(with_lp=not args.no_lp)
    feasible_per_need = q.arcs / q.needs if q.needs else 0.0
    print(
        f"components {q.components}, feasible pairs {q.arcs:,}, "
        f"feasible listings per need {feasible_per_need:.1f}"
    )

    fresh = []
    for _ in range(args.repeat):
        clear_proposals()
        fresh.append(full_inline())
    unchanged = [full_inline() for _ in range(args.repeat)]
    f = sorted(fresh, key=lambda r: r["wall_s"])[len(fresh) // 2]
    u = sorted(unchanged, key=lambda r: r["wall_s"])[len(unchanged) // 2]
    print(
        f"full rematch, fresh:     wall {f['wall_s']:.2f} s (read {f['read_s']:.2f}, solve "
        f"{f['solve_s']:.2f}, write {f['write_s']:.2f}) → {f['created']:,} proposals; "
        f"wall / solve = {f['wall_s'] / f['solve_s']:.2f}"
    )
    print(
        f"full rematch, unchanged: wall {u['wall_s']:.2f} s (read {u['read_s']:.2f}, solve "
        f"{u['solve_s']:.2f}, write {u['write_s']:.2f}); kept {u['kept']:,}, created "
        f"{u['created']}, superseded {u['superseded']}; wall / solve = "
        f"{u['wall_s'] / u['solve_s']:.2f}"
    )

    grams, cost = proposals_totals()
    result: dict[str, Any] = {
        "size": size,
        "materials_traded": market.materials_traded,
        "build_s": market.build_s,
        "components": q.components,
        "feasible_pairs": q.arcs,
        "feasible_listings_per_need": feasible_per_need,
        "fresh": fresh,
        "unchanged": unchanged,
        "engine_t": grams / 1e6,
        "engine_cost_yuan": float(cost / 100_000_000),
        "greedy_t": q.greedy_grams / 1e6,
        "greedy_cost_yuan": q.greedy_micro_fen / 1e8,
    }
    print(f"engine  {grams / 1e6:,.3f} t at {float(cost) / 1e8:,.2f} CNY")
    print(
        f"greedy  {q.greedy_grams / 1e6:,.3f} t at {q.greedy_micro_fen / 1e8:,.2f} CNY "
        f"({(grams - q.greedy_grams) / 1e6:+,.3f} t to the engine)"
    )
    if not args.no_lp:
        rel = abs(float(cost) - q.lp_micro_fen) / q.lp_micro_fen if q.lp_micro_fen else 0.0
        result.update(lp_t=q.lp_grams / 1e6, lp_cost_yuan=q.lp_micro_fen / 1e8, lp_rel_cost=rel)
        print(
            f"LP opt  {q.lp_grams / 1e6:,.3f} t at {q.lp_micro_fen / 1e8:,.2f} CNY; engine "
            f"quantity {grams - q.lp_grams:+.1f} g, cost relative difference {rel:.2e} "
            f"(target ≤ {TARGET_REL_COST:g})"
        )

    times = incremental(args.incremental, seed=SEED + size)
    result["incremental_ms"] = {
        "p50": statistics.median(times),
        "p95": _pct(times, 0.95),
        "samples": len(times),
    }
    print(
        f"incremental rematch of one material: p50 {statistics.median(times):.1f} ms, "
        f"p95 {_pct(times, 0.95):.1f} ms over {len(times)} (target p50 ≤ "
        f"{TARGET_INCREMENTAL_MS:.0f} ms)"
    )

    if args.workers:
        walls = {}
        for concurrency in (1, 2):
            clear_proposals()
            walls[concurrency] = full_with_workers(concurrency, args.broker)
            print(
                f"full rematch fanned out, {concurrency} worker process(es): "
                f"{walls[concurrency]:.2f} s"
            )
        result["workers_s"] = walls
        print(f"2 workers / 1 worker: {walls[2] / walls[1]:.2f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--incremental", type=int, default=30)
    parser.add_argument("--no-lp", action="store_true", help="skip the LP optimum")
    parser.add_argument("--workers", action="store_true", help="also time 1 vs 2 workers")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--json", type=Path, default=RESULTS_PATH)
    args = parser.parse_args()
    config = configure_environment()
    os.environ.pop("CELERY_BROKER_URL", None)
    if args.workers:
        # The bench process sends the fan-out to the broker; its own runs stay in-process.
        os.environ["CELERY_BROKER_URL"] = args.broker
    global TODAY
    import django
    from django.utils import timezone

    django.setup()
    TODAY = timezone.localdate()
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "sizes": [bench_size(int(s), config, args) for s in args.sizes.split(",")],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
