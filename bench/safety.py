"""The safety figures the reports read, at 20 parks, on PostgreSQL.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_safety_bench \\
        .venv/bin/python bench/safety.py

The database is dropped, created and migrated, then filled in bulk (fixed seed; rows
written directly, the figures being what is measured, not the writes): ``--parks`` (20)
parks with ``--enterprises`` (100) enterprises each, one regulator per park, per park
``--hazards`` (3,000) hidden hazards over inspections of the last year (a third rectified,
deadlines spread over the year), ``--incidents`` (300) incidents of every grade, and a
warehouse per enterprise whose unit has S, R and level (a fifth of them major); one
warehouse also holds ``--lots`` (200) lots of 20 materials with thresholds (each with its
receipt: the ledger balances).

Measured in-process, ``--calls`` (300) calls after 30 untimed ones, the parks taken in turn,
each by its own regulator: ``park_safety_summary`` over the last 90 days and
``enterprise_safety_breakdown`` over the year (p50, p95, SQL queries per call); and
``major_hazards_recompute`` of the warehouse with the lots (what a ``stock.changed`` costs).
Writes ``var/bench-safety.json``.
"""

from __future__ import annotations

import argparse
import json
import os
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

from bench.api import configure_environment, ensure_database  # noqa: E402

RESULTS_PATH = BASE_DIR / "var" / "bench-safety.json"
SEED = 20261207


def build(args: argparse.Namespace) -> tuple[list[Any], int]:
    """The bench rows, in bulk; returns the parks' regulators and the loaded warehouse."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from access.models import ParkRole
    from access.roles import ParkRoleKind
    from bench.match import _uscc
    from inventory.models import (
        Material,
        MovementKind,
        StockLot,
        StockMovement,
        StorageZone,
        Warehouse,
    )
    from parks.models import Enterprise, Park
    from safety.grading import incident_grade
    from safety.models import HazardUnit, HiddenHazard, Incident, Inspection

    rng = random.Random(SEED)
    today = timezone.localdate()
    users = get_user_model().objects
    regulators = []
    n = 0
    loaded = 0
    for p in range(args.parks):
        park = Park.objects.create(
            code=f"bench-{p}",
            name_zh=f"基准园区{p}",
            name_en=f"Bench park {p}",
            division_code="330211",
            latitude=Decimal("29.960000"),
            longitude=Decimal("121.710000"),
            area_mu=Decimal(10000),
        )
        regulator = users.create(username=f"bench-regulator-{p}")
        ParkRole.objects.create(user=regulator, park=park, role=ParkRoleKind.REGULATOR)
        regulators.append(regulator)
        enterprises = Enterprise.objects.bulk_create(
            [
                Enterprise(
                    uscc=_uscc(n + i),
                    park=park,
                    name_zh=f"企业{p}-{i}",
                    name_en=f"Enterprise {p}-{i}",
                    latitude=park.latitude,
                    longitude=park.longitude,
                )
                for i in range(args.enterprises)
            ]
        )
        n += args.enterprises
        inspections = Inspection.objects.bulk_create(
            [
                Inspection(
                    park=park,
                    enterprise=rng.choice(enterprises),
                    inspected_on=today - timedelta(days=rng.randrange(365)),
                )
                for _ in range(args.hazards // 5)
            ]
        )
        hazards = []
        for _ in range(args.hazards):
            inspection = rng.choice(inspections)
            deadline = inspection.inspected_on + timedelta(days=rng.randrange(7, 60))
            rectified = None
            if rng.random() < 0.33:
                rectified = inspection.inspected_on + timedelta(days=rng.randrange(1, 50))
                rectified = min(rectified, today)
            hazards.append(
                HiddenHazard(
                    inspection=inspection,
                    park=park,
                    enterprise_id=inspection.enterprise_id,
                    description="隐患",
                    grade=rng.choice(("general", "general", "general", "major")),
                    found_on=inspection.inspected_on,
                    deadline=deadline,
                    rectified_on=rectified,
                )
            )
        HiddenHazard.objects.bulk_create(hazards, batch_size=2000)
        incidents = []
        for _ in range(args.incidents):
            deaths = rng.choice((0, 0, 0, 0, 1, 3, 12))
            injuries = rng.choice((0, 1, 2, 5, 11, 60))
            loss = Decimal(rng.randrange(0, 120_000_000))
            incidents.append(
                Incident(
                    park=park,
                    enterprise=rng.choice(enterprises),
                    occurred_at=datetime.now(UTC) - timedelta(days=rng.randrange(365)),
                    description="事故",
                    deaths=deaths,
                    serious_injuries=injuries,
                    direct_loss_yuan=loss,
                    grade=incident_grade(deaths, injuries, loss),
                )
            )
        Incident.objects.bulk_create(incidents, batch_size=2000)
        warehouses = Warehouse.objects.bulk_create(
            [
                Warehouse(
                    code=f"bench-{p}-{e.pk}",
                    name="仓库",
                    park=park,
                    owner=e,
                    latitude=park.latitude,
                    longitude=park.longitude,
                )
                for e in enterprises
            ]
        )
        units = []
        for warehouse in warehouses:
            s = Decimal(rng.random() * 5).quantize(Decimal("0.0001"))
            r = (s * Decimal(rng.choice((1, 2, 4, 8)))).quantize(Decimal("0.0001"))
            level = None if s < 1 else (1 if r >= 100 else 2 if r >= 50 else 3 if r >= 10 else 4)
            units.append(
                HazardUnit(
                    warehouse=warehouse,
                    park=park,
                    s=s,
                    r=r,
                    level=level,
                    s_at_capacity=s * 2,
                    r_at_capacity=r * 2,
                    computed_at=timezone.now(),
                )
            )
        HazardUnit.objects.bulk_create(units)
        if p == 0:
            loaded = warehouses[0].pk
            zone = StorageZone.objects.create(
                warehouse=warehouses[0], code="Z1", capacity_kg=Decimal("1e9"), allowed_classes=[]
            )
            materials = Material.objects.bulk_create(
                [
                    Material(
                        name_zh=f"物料{m}",
                        name_en=f"Bench material {m}",
                        gb18218_threshold_t=Decimal(rng.choice((5, 10, 50, 500))),
                    )
                    for m in range(20)
                ]
            )
            lots = StockLot.objects.bulk_create(
                [
                    StockLot(
                        material=rng.choice(materials),
                        owner=enterprises[0],
                        zone=zone,
                        on_hand_kg=Decimal(rng.randrange(100, 5000)),
                    )
                    for _ in range(args.lots)
                ]
            )
            StockMovement.objects.bulk_create(
                [
                    StockMovement(lot=lot, quantity_kg=lot.on_hand_kg, kind=MovementKind.RECEIPT)
                    for lot in lots
                ]
            )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return regulators, loaded


def timed(fn: Any, calls: int, warmup: int = 30) -> dict[str, Any]:
    from django.db import connection, reset_queries

    for i in range(warmup):
        fn(i)
    samples = []
    connection.force_debug_cursor = True
    queries = []
    for i in range(calls):
        reset_queries()
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
        queries.append(len(connection.queries))
    connection.force_debug_cursor = False
    samples.sort()
    return {
        "calls": calls,
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "queries": sorted(set(queries)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parks", type=int, default=20)
    parser.add_argument("--enterprises", type=int, default=100)
    parser.add_argument("--hazards", type=int, default=3000)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--lots", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    config = configure_environment()
    ensure_database(config, drop=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    regulators, loaded = build(args)
    built_s = time.perf_counter() - started

    from django.utils import timezone

    from access.scope import resolve_scope
    from safety.selectors import enterprise_safety_breakdown, park_safety_summary
    from safety.services import major_hazards_recompute

    scopes = [
        (resolve_scope(u), next(iter(resolve_scope(u).regulated_park_ids))) for u in regulators
    ]
    today = timezone.localdate()

    def summary(i: int) -> None:
        scope, park_id = scopes[i % len(scopes)]
        park_safety_summary(scope=scope, park_id=park_id, start=today - timedelta(90), end=today)

    def breakdown(i: int) -> None:
        scope, park_id = scopes[i % len(scopes)]
        enterprise_safety_breakdown(
            scope=scope, park_id=park_id, start=today - timedelta(365), end=today
        )

    def recompute(i: int) -> None:
        from safety.models import HazardUnit

        HazardUnit.objects.filter(pk=loaded).update(computed_at=None)  # force the write
        major_hazards_recompute(warehouse_ids=[loaded])

    results = {
        "machine": {"cpus": os.cpu_count()},
        "rows": {
            "parks": args.parks,
            "enterprises": args.parks * args.enterprises,
            "hidden_hazards": args.parks * args.hazards,
            "incidents": args.parks * args.incidents,
            "hazard_units": args.parks * args.enterprises,
            "lots_in_recomputed_warehouse": args.lots,
        },
        "build_s": round(built_s, 1),
        "park_safety_summary_90_days": timed(summary, args.calls),
        "enterprise_safety_breakdown_year": timed(breakdown, args.calls),
        "major_hazards_recompute_one_warehouse": timed(recompute, min(args.calls, 100), 5),
    }
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
