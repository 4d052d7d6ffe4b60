"""The regulators' reports on PostgreSQL (issue 13): energy ingest, the energy and safety
reports (selectors, the reports API, the dashboard), the GB 18218 recompute, the rollup check.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_energy_bench \\
        .venv/bin/python bench/reports.py --readings 10000000

- Build (first run, or ``--rebuild``, which drops the database): migrate; ``--parks`` parks
  (20) of ``--enterprises`` enterprises (6) each, with an admin each and a regulator per
  park; ``--meters-per-enterprise`` meters (9: 5 electricity, 2 natural gas, 1 steam,
  1 diesel; 1,080 in all); a monthly output value per enterprise; then ``--readings``
  hourly readings (10 million: 9,260 hours of every meter, about 13 months up to the
  build's last hour) loaded in-process through ``energy.services.ingest.readings_ingest``
  (the API's code path: validation, INSERT ... ON CONFLICT, rollups, jump flags, one audit
  row per batch), batches of 10,000 rows, ``--load-processes`` (2) processes over
  disjoint enterprises. The load's rate is printed. Then ``VACUUM (ANALYZE)``.
- Safety rows (after the build, or on a database built before they were added: the
  readings are not rebuilt), in bulk, fixed seed, one transaction (rows written directly:
  the reads are measured, not the writes): every park brought to ``--safety-enterprises``
  (100) enterprises (its metered ones and more without meters), a warehouse each with its
  hazard unit (S, R and level now and at capacity; about a fifth major); per park
  ``--hazards`` (3,000) hidden hazards over inspections (one per five hazards) of the last
  year (a third rectified, deadlines spread over the year) and ``--incidents`` (300)
  incidents of every grade; the first park's first warehouse also holds ``--lots`` (200)
  lots of 20 materials with GB 18218 thresholds (each with its receipt: the ledger
  balances). Then ``ANALYZE`` of the tables written.
- HTTP ingest: gunicorn (``--http-workers`` sync workers, 3) on 127.0.0.1 serving the real
  API; ``--http-batches`` (40) batches, one per enterprise (its 9 meters for the 1,111
  hours before the loaded ones: 9,999 rows), each posted to
  ``POST /api/v1/energy-readings/batch/`` with a knox Bearer token of the enterprise's
  admin by one of ``--clients`` (4) threads; bodies serialized before the clock starts.
  Readings/s = all readings accepted / wall time from the first request to the last answer.
- Reports, in-process, a regulator of each park in turn, ``--reports`` (200) calls of each
  case after 20 untimed, the cases taking turns (a change of the machine's load falls on
  all alike): p50/p95, and the SQL queries of one more call per park:

  - ``energy.selectors.park_energy_series`` (12 months, monthly, both conventions in turn)
    and ``enterprise_energy_breakdown`` (the month of the last reading);
  - ``safety.selectors.park_safety_summary`` (the last 90 days) and
    ``enterprise_safety_breakdown`` (the last 365 days);
  - through ``django.test.Client`` (the whole middleware and DRF stack, no network), with a
    knox Bearer token of the regulator: ``GET /api/v1/reports/parks/{id}/monthly/?month=``
    (the monthly report, JSON: every section of the energy, safety and overview pages, of
    the last month the readings cover whole, else the last one; conventions in turn) and
    ``GET /api/v1/reports/parks/{id}/?section=safety-hazards`` (the last three months: the
    section reads ``park_safety_summary`` whole); signed in as the regulator (session),
    ``GET /reports/parks/{id}/`` (the dashboard's park page, HTML). Every answer must be a
    200, the JSON ones with rows (checked once per park before the clock starts).
- ``safety.services.major_hazards_recompute`` of the warehouse with the lots (what one
  ``stock.changed`` costs): ``--recomputes`` (100) after 5, each made to write (the unit's
  ``computed_at`` cleared before the clock starts).
- The rollup check (``energy.rollups.rollups_check``, what ``manage.py
  energy_rollup_check`` runs): result and time.

Writes ``var/bench-reports.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

RESULTS_PATH = BASE_DIR / "var" / "bench-reports.json"
CARRIERS = (
    ("electricity", "kWh", 5, 1500.0),
    ("natural_gas", "m3", 2, 300.0),
    ("steam", "kg", 1, 4000.0),
    ("diesel", "kg", 1, 20.0),
)
BATCH = 10_000
PARK_PREFIX = "bench-energy-"
SAFETY_SEED = 20261207
LOADED_ZONE = "SAFETY-BENCH"  # the zone of the warehouse whose recompute is timed
WARMUP = 20


def configure() -> dict[str, Any]:
    import environ

    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", "") or "bench" not in config.get("NAME", ""):
        sys.exit("bench/reports.py: set DATABASE_URL=postgres://.../<a name with 'bench'>")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ["THROTTLE_USER_WRITE"] = "100000/min"  # the clients would be throttled
    os.environ["THROTTLE_USER_READ"] = "100000/min"
    os.environ["THROTTLE_EXPENSIVE_LIST"] = "100000/min"  # the report endpoints' own rate
    return config


def ensure_database(config: dict[str, Any], *, drop: bool) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    ) as conn:
        name = sql.Identifier(config["NAME"])
        if drop:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _shape(hour_index: int, start: datetime) -> float:
    at = start + timedelta(hours=hour_index)
    local_hour = (at.hour + 8) % 24
    daily = 1.0 + 0.25 * math.sin((local_hour - 8) / 24 * 2 * math.pi)
    weekly = 0.85 if at.weekday() >= 5 else 1.0
    return daily * weekly


def build_world(*, parks: int, enterprises: int, meters_per: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from access.models import Membership, ParkRole
    from access.roles import EnterpriseRole, ParkRoleKind
    from access.scope import resolve_scope
    from energy.factors import factors_seed
    from energy.models import Meter
    from energy.services.meters import meter_create
    from parks.models import Enterprise, Park
    from tests.factories import make_uscc

    factors_seed()
    users = get_user_model().objects
    kinds = [(c, u, base) for c, u, n, base in CARRIERS for _ in range(n)][:meters_per]
    n = 0
    for p in range(parks):
        park = Park.objects.create(
            code=f"{PARK_PREFIX}{p:02d}",
            name_zh=f"能耗基准园区{p:02d}",
            name_en=f"Energy bench park {p:02d}",
            division_code="330211",
            latitude=Decimal("29.96"),
            longitude=Decimal("121.71"),
            area_mu=Decimal(10000),
        )
        regulator = users.create(username=f"{park.code}.regulator")
        ParkRole.objects.create(user=regulator, park=park, role=ParkRoleKind.REGULATOR)
        for e in range(enterprises):
            n += 1
            enterprise = Enterprise.objects.create(
                uscc=make_uscc(800_000 + n),
                park=park,
                name_zh=f"能耗基准企业{p:02d}-{e}",
                name_en=f"Energy bench enterprise {p:02d}-{e}",
                latitude=Decimal("29.96"),
                longitude=Decimal("121.71"),
            )
            admin = users.create(username=f"{park.code}-{e}.admin")
            Membership.objects.create(
                user=admin, enterprise=enterprise, role=EnterpriseRole.ENTERPRISE_ADMIN
            )
            scope = resolve_scope(admin)
            for i, (carrier, unit, _base) in enumerate(kinds):
                meter_create(
                    actor=scope,
                    enterprise=enterprise,
                    code=f"M-{i:02d}",
                    carrier=carrier,
                    unit=unit,
                )
    return {"meters": Meter.objects.count(), "enterprises": n}


def _outputs(first_month: date, months: int) -> None:
    import random

    from energy.models import OutputValue
    from parks.models import Enterprise

    rng = random.Random(7)
    rows = []
    for enterprise in Enterprise.objects.filter(park__code__startswith=PARK_PREFIX):
        base = rng.uniform(5e6, 8e7)
        month = first_month
        for _ in range(months):
            rows.append(
                OutputValue(
                    enterprise=enterprise,
                    month=month,
                    value_yuan=Decimal(f"{base * rng.uniform(0.9, 1.1):.2f}"),
                )
            )
            month = (month + timedelta(days=32)).replace(day=1)
    OutputValue.objects.bulk_create(rows, ignore_conflicts=True)  # bench data, not audited


def _batches_of(
    enterprise_id: int, first_hour: int, hours: int, start: datetime
) -> list[list[dict[str, Any]]]:
    """The readings of an enterprise's meters from ``first_hour`` for ``hours`` hours, in
    batches of at most BATCH rows (hour-major: every batch holds all meters)."""
    from energy.models import Meter

    meters = list(
        Meter.objects.filter(enterprise_id=enterprise_id)
        .order_by("code")
        .values_list("id", "carrier")
    )
    bases = {c: b for c, _u, _n, b in CARRIERS}
    per_batch = max(1, BATCH // max(1, len(meters)))
    out = []
    for h0 in range(first_hour, first_hour + hours, per_batch):
        rows = []
        for h in range(h0, min(h0 + per_batch, first_hour + hours)):
            at = start + timedelta(hours=h)
            shape = _shape(h, start)
            for meter_id, carrier in meters:
                wobble = 1 + ((meter_id * 7919 + h * 104729) % 1000 - 500) / 10000
                value = bases[carrier] * shape * wobble
                rows.append({"meter": meter_id, "at": at, "value": Decimal(f"{value:.3f}")})
        out.append(rows)
    return out


def _load_part(args: tuple[list[int], int, str]) -> tuple[int, float]:
    """A loading process: the readings of some enterprises, through readings_ingest."""
    enterprise_ids, hours, start_iso = args
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from access.scope import resolve_scope
    from energy.models import IngestSource
    from energy.services.ingest import readings_ingest

    start = datetime.fromisoformat(start_iso)
    accepted, busy = 0, 0.0
    for enterprise_id in enterprise_ids:
        admin = get_user_model().objects.get(membership__enterprise_id=enterprise_id)
        scope = resolve_scope(admin)
        for rows in _batches_of(enterprise_id, 0, hours, start):
            began = time.perf_counter()
            result = readings_ingest(actor=scope, rows=rows, source=IngestSource.LOAD)
            busy += time.perf_counter() - began
            accepted += result.accepted
    return accepted, busy


def _metered_enterprises() -> Any:
    """The bench's enterprises with meters, by id (the safety rows add some without)."""
    from parks.models import Enterprise

    return (
        Enterprise.objects.filter(park__code__startswith=PARK_PREFIX, meters__isnull=False)
        .distinct()
        .order_by("id")
    )


def load(*, hours: int, start: datetime, processes: int) -> dict[str, Any]:
    from django.db import connection

    ids = list(_metered_enterprises().values_list("id", flat=True))
    parts = [(ids[i::processes], hours, start.isoformat()) for i in range(processes)]
    connection.close()
    began = time.perf_counter()
    with get_context("fork").Pool(processes) as pool:
        results = pool.map(_load_part, parts)
    elapsed = time.perf_counter() - began
    accepted = sum(r[0] for r in results)
    return {
        "readings": accepted,
        "seconds": round(elapsed, 1),
        "readings_per_s": round(accepted / elapsed),
        "processes": processes,
    }


def build_safety(*, enterprises: int, hazards: int, incidents: int, lots: int) -> dict[str, int]:
    """The safety rows of the bench's parks, in bulk (see the module); the caller holds the
    transaction. Returns the rows written by kind."""
    import random

    from django.utils import timezone

    from inventory.data.gb18218 import grade_for
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
    from tests.factories import make_uscc

    rng = random.Random(SAFETY_SEED)
    today = timezone.localdate()
    now = timezone.now()
    written = dict.fromkeys(
        ("enterprises", "inspections", "hidden_hazards", "incidents", "hazard_units", "lots"), 0
    )
    n = 0
    for p, park in enumerate(Park.objects.filter(code__startswith=PARK_PREFIX).order_by("code")):
        members = list(Enterprise.objects.filter(park=park).order_by("pk"))
        extra = Enterprise.objects.bulk_create(
            [
                Enterprise(
                    uscc=make_uscc(900_000 + n + i),
                    park=park,
                    name_zh=f"安全基准企业{p:02d}-{i}",
                    name_en=f"Safety bench enterprise {p:02d}-{i}",
                    latitude=park.latitude,
                    longitude=park.longitude,
                )
                for i in range(max(0, enterprises - len(members)))
            ]
        )
        n += len(extra)
        members += extra
        inspections = Inspection.objects.bulk_create(
            [
                Inspection(
                    park=park,
                    enterprise=rng.choice(members),
                    inspected_on=today - timedelta(days=rng.randrange(365)),
                )
                for _ in range(max(1, hazards // 5))
            ]
        )
        found = []
        for _ in range(hazards):
            inspection = rng.choice(inspections)
            deadline = inspection.inspected_on + timedelta(days=rng.randrange(7, 60))
            rectified = None
            if rng.random() < 0.33:
                rectified = inspection.inspected_on + timedelta(days=rng.randrange(1, 50))
                rectified = min(rectified, today)
            found.append(
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
        HiddenHazard.objects.bulk_create(found, batch_size=2000)
        happened = []
        for _ in range(incidents):
            deaths = rng.choice((0, 0, 0, 0, 1, 3, 12))
            injuries = rng.choice((0, 1, 2, 5, 11, 60))
            loss = Decimal(rng.randrange(0, 120_000_000))
            happened.append(
                Incident(
                    park=park,
                    enterprise=rng.choice(members),
                    occurred_at=now - timedelta(days=rng.randrange(365)),
                    description="事故",
                    deaths=deaths,
                    serious_injuries=injuries,
                    direct_loss_yuan=loss,
                    grade=incident_grade(deaths, injuries, loss),
                )
            )
        Incident.objects.bulk_create(happened, batch_size=2000)
        warehouses = Warehouse.objects.bulk_create(
            [
                Warehouse(
                    code=f"{park.code}-w{e.pk}",
                    name="仓库",
                    park=park,
                    owner=e,
                    latitude=park.latitude,
                    longitude=park.longitude,
                )
                for e in members
            ]
        )
        units = []
        for warehouse in warehouses:
            s = Decimal(rng.random() * 5).quantize(Decimal("0.0001"))
            r = (s * Decimal(rng.choice((1, 2, 4, 8)))).quantize(Decimal("0.0001"))
            units.append(
                HazardUnit(
                    warehouse=warehouse,
                    park=park,
                    s=s,
                    r=r,
                    level=grade_for(r) if s >= 1 else None,
                    s_at_capacity=s * 2,
                    r_at_capacity=r * 2,
                    level_at_capacity=grade_for(r * 2) if s * 2 >= 1 else None,
                    computed_at=now,
                )
            )
        HazardUnit.objects.bulk_create(units)
        written["enterprises"] += len(extra)
        written["inspections"] += len(inspections)
        written["hidden_hazards"] += len(found)
        written["incidents"] += len(happened)
        written["hazard_units"] += len(units)
        if p == 0:
            zone = StorageZone.objects.create(
                warehouse=warehouses[0],
                code=LOADED_ZONE,
                capacity_kg=Decimal("1e9"),
                allowed_classes=[],
            )
            materials = Material.objects.bulk_create(
                [
                    Material(
                        name_zh=f"安全基准物料{m}",
                        name_en=f"Safety bench material {m}",
                        gb18218_threshold_t=Decimal(rng.choice((5, 10, 50, 500))),
                    )
                    for m in range(20)
                ]
            )
            held = StockLot.objects.bulk_create(
                [
                    StockLot(
                        material=rng.choice(materials),
                        owner=warehouses[0].owner,
                        zone=zone,
                        on_hand_kg=Decimal(rng.randrange(100, 5000)),
                    )
                    for _ in range(lots)
                ]
            )
            StockMovement.objects.bulk_create(
                [
                    StockMovement(lot=lot, quantity_kg=lot.on_hand_kg, kind=MovementKind.RECEIPT)
                    for lot in held
                ]
            )
            written["lots"] = len(held)
    return written


def _analyze_safety() -> None:
    """ANALYZE the tables the safety rows went into (the planner sees them at once)."""
    from django.db import connection

    from inventory.models import Material, StockLot, StockMovement, StorageZone, Warehouse
    from parks.models import Enterprise
    from safety.models import HazardUnit, HiddenHazard, Incident, Inspection

    models: list[Any] = [Enterprise, Inspection, HiddenHazard, Incident, Warehouse, HazardUnit]
    models += [StorageZone, Material, StockLot, StockMovement]
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ingest(
    *, clients: int, batches: int, workers: int, first_hour: int, start: datetime
) -> dict[str, Any]:
    """``batches`` batches, one per enterprise (its meters for the hours from
    ``first_hour``: 10,000 rows or just under), each posted with its admin's token, by
    ``clients`` threads taking the next batch as they finish one."""
    import queue

    import httpx
    import orjson
    from django.contrib.auth import get_user_model
    from django.db import connection
    from knox.models import AuthToken

    enterprises = list(_metered_enterprises()[:batches])
    jobs: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
    sent = 0
    for enterprise in enterprises:
        admin = get_user_model().objects.get(membership__enterprise=enterprise)
        token = AuthToken.objects.create(user=admin)[1]
        hours = BATCH // enterprise.meters.count()
        (rows,) = _batches_of(enterprise.pk, first_hour, hours, start)
        body = orjson.dumps({"readings": [{**r, "value": str(r["value"])} for r in rows]})
        jobs.put((token, body, len(rows)))
        sent += len(rows)
    connection.close()
    port = _free_port()
    env = {**os.environ, "CONN_MAX_AGE": "600"}
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    answers: list[tuple[float, dict[str, Any]]] = []
    errors: list[str] = []
    try:
        for _ in range(150):  # until gunicorn listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)

        def client() -> None:
            with httpx.Client(base_url=base, timeout=120) as http:
                while True:
                    try:
                        token, body, _n = jobs.get_nowait()
                    except queue.Empty:
                        return
                    began = time.perf_counter()
                    answer = http.post(
                        "/api/v1/energy-readings/batch/",
                        content=body,
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                        },
                    )
                    took = time.perf_counter() - began
                    if answer.status_code != 200:
                        errors.append(f"{answer.status_code} {answer.text[:200]}")
                        continue
                    answers.append((took, answer.json()))

        threads = [threading.Thread(target=client) for _ in range(clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(30)
    accepted = sum(a["accepted"] for _t, a in answers)
    latencies = sorted(t for t, _a in answers) or [0.0]
    return {
        "clients": clients,
        "gunicorn_workers": workers,
        "batches": len(answers),
        "errors": errors[:5],
        "readings_sent": sent,
        "accepted": accepted,
        "duplicates": sum(a["duplicates"] for _t, a in answers),
        "refused": sum(len(a["refused"]) for _t, a in answers),
        "seconds": round(elapsed, 2),
        "readings_per_s": round(accepted / elapsed),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "batch_max_ms": round(latencies[-1] * 1000, 1),
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


Case = Callable[[int], Any]


def _rounds(cases: dict[str, Case], *, calls: int, warmup: int) -> dict[str, dict[str, float]]:
    """``warmup`` untimed then ``calls`` timed calls of every case, the cases taking turns
    (call i of each case, then call i + 1 of each)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(warmup + calls):
        for name, case in cases.items():
            began = time.perf_counter()
            case(i)
            took = time.perf_counter() - began
            if i >= warmup:
                times[name].append(took)
    return {name: _percentiles(samples) for name, samples in times.items()}


def _query_counts(cases: dict[str, Case], *, calls: int) -> dict[str, list[int]]:
    """The distinct numbers of SQL queries of ``calls`` more calls of every case, untimed
    (recording the queries costs time)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: dict[str, set[int]] = {name: set() for name in cases}
    for i in range(calls):
        for name, case in cases.items():
            with CaptureQueriesContext(connection) as captured:
                case(i)
            counts[name].add(len(captured.captured_queries))
    return {name: sorted(found) for name, found in counts.items()}


def _answer(response: Any, what: str) -> Any:
    """``response`` if it is a 200; the bench stops on anything else (a figure of an error
    page would be no figure)."""
    if response.status_code != 200:
        sys.exit(f"{what}: {response.status_code} {response.content[:300]!r}")
    return response


def _check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"bench/reports.py: {what}")


CASES = {
    "park_energy_series_12_months": "energy.selectors.park_energy_series, 12 months",
    "enterprise_energy_breakdown_1_month": "energy.selectors.enterprise_energy_breakdown, 1 month",
    "park_safety_summary_90_days": "safety.selectors.park_safety_summary, 90 days",
    "enterprise_safety_breakdown_year": "safety.selectors.enterprise_safety_breakdown, 365 days",
    "api_monthly_report": "GET /api/v1/reports/parks/{id}/monthly/?month= (JSON)",
    "api_safety_summary": "GET /api/v1/reports/parks/{id}/?section=safety-hazards (JSON)",
    "dashboard_park_page": "GET /reports/parks/{id}/ (HTML)",
}


def reports(*, calls: int, last_month: date, report_month: date) -> dict[str, Any]:
    """The report cases (see the module), a regulator of each park in turn."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone
    from knox.models import AuthToken

    from access.scope import resolve_scope
    from energy.selectors import enterprise_energy_breakdown, park_energy_series
    from parks.models import Park
    from reports.pages import monthly_sections
    from reports.periods import add_months
    from safety.selectors import enterprise_safety_breakdown, park_safety_summary

    parks = list(Park.objects.filter(code__startswith=PARK_PREFIX).order_by("code"))
    regulators = [get_user_model().objects.get(username=f"{p.code}.regulator") for p in parks]
    scopes = [resolve_scope(user) for user in regulators]
    tokens = [AuthToken.objects.create(user=user) for user in regulators]
    api = [Client(HTTP_AUTHORIZATION=f"Bearer {token}") for _row, token in tokens]
    dashboard = [Client() for _user in regulators]
    for client, user in zip(dashboard, regulators, strict=True):
        client.force_login(user)
    first = (last_month - timedelta(days=330)).replace(day=1)
    month_end = (last_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    today = timezone.localdate()
    this_month = today.replace(day=1)
    safety_query = (
        f"section=safety-hazards&start={add_months(this_month, -2):%Y-%m}&end={this_month:%Y-%m}"
    )

    def turn(i: int) -> tuple[int, str]:
        """The park of call i and its convention: each park takes both in turn."""
        k = i % len(parks)
        return k, ("equivalent", "equal_value")[(i // len(parks)) % 2]

    def energy_series(i: int) -> Any:
        k, convention = turn(i)
        return park_energy_series(
            scope=scopes[k],
            park_id=parks[k].pk,
            start=first,
            end=month_end,
            granularity="month",
            convention=convention,
        )

    def energy_breakdown(i: int) -> Any:
        k, convention = turn(i)
        return enterprise_energy_breakdown(
            scope=scopes[k],
            park_id=parks[k].pk,
            start=last_month,
            end=month_end,
            convention=convention,
        )

    def safety_summary(i: int) -> Any:
        k, _convention = turn(i)
        return park_safety_summary(
            scope=scopes[k], park_id=parks[k].pk, start=today - timedelta(days=90), end=today
        )

    def safety_breakdown(i: int) -> Any:
        k, _convention = turn(i)
        return enterprise_safety_breakdown(
            scope=scopes[k], park_id=parks[k].pk, start=today - timedelta(days=365), end=today
        )

    def api_monthly(i: int) -> Any:
        k, convention = turn(i)
        url = (
            f"/api/v1/reports/parks/{parks[k].pk}/monthly/"
            f"?month={report_month:%Y-%m}&convention={convention}"
        )
        return _answer(api[k].get(url), url)

    def api_safety(i: int) -> Any:
        k, _convention = turn(i)
        url = f"/api/v1/reports/parks/{parks[k].pk}/?{safety_query}"
        return _answer(api[k].get(url), url)

    def dashboard_page(i: int) -> Any:
        k, _convention = turn(i)
        url = f"/reports/parks/{parks[k].pk}/"
        return _answer(dashboard[k].get(url), url)

    cases: dict[str, Case] = dict(
        zip(
            CASES,
            (
                energy_series,
                energy_breakdown,
                safety_summary,
                safety_breakdown,
                api_monthly,
                api_safety,
                dashboard_page,
            ),
            strict=True,
        )
    )
    # The answers, checked once per park before the clock starts: 200s with figures.
    monthly_keys = [section.key for section in monthly_sections()]
    sizes: dict[str, list[int]] = {"api_monthly_report": [], "api_safety_summary": []}
    sizes["dashboard_park_page"] = []
    for k, park in enumerate(parks):
        answer = api_monthly(k)
        report = {s["key"]: s for s in answer.json()["sections"]}
        _check(list(report) == monthly_keys, f"monthly report sections {list(report)}")
        trend = report["energy-trend"]["rows"]
        _check(
            sum(float(row["tce"]) for row in trend) > 0,
            f"no energy in the monthly report of {park.code} for {report_month:%Y-%m}",
        )
        hazards = report["safety-hazards"]["rows"]
        _check(
            sum(row["open"] + row["overdue"] for row in hazards) > 0,
            f"no hidden hazards in the monthly report of {park.code}",
        )
        sizes["api_monthly_report"].append(len(answer.content))
        answer = api_safety(k)
        sections = answer.json()["sections"]
        _check([s["key"] for s in sections] == ["safety-hazards"], "the safety section")
        _check(
            sum(row["open"] + row["overdue"] for row in sections[0]["rows"]) > 0,
            f"no hidden hazards in the safety summary of {park.code}",
        )
        sizes["api_safety_summary"].append(len(answer.content))
        answer = dashboard_page(k)
        page = answer.content.decode()
        _check(park.name_zh in page or park.name_en in page, f"the dashboard page of {park.code}")
        sizes["dashboard_park_page"].append(len(answer.content))
    timed = _rounds(cases, calls=calls, warmup=WARMUP)
    queries = _query_counts(cases, calls=len(parks))
    series = energy_series(0)
    summary = safety_summary(0)
    AuthToken.objects.filter(pk__in=[row.pk for row, _token in tokens]).delete()
    for client in dashboard:
        client.logout()
    return {
        "calls": calls,
        "warmup": WARMUP,
        "parks": len(parks),
        "report_month": f"{report_month:%Y-%m}",
        "safety_query": safety_query,
        "cases": {name: {**timed[name], "queries": queries[name]} for name in cases},
        "answer_bytes_median": {
            name: round(statistics.median(found)) for name, found in sizes.items()
        },
        "sample": {
            "park": series.park_id,
            "convention": series.convention,
            "months": len(series.periods),
            "total_tce": str(series.total_tce),
            "last_month_tce": str(series.periods[-1].tce),
            "last_month_intensity": str(series.periods[-1].intensity),
            "last_month_yoy_pct": str(series.periods[-1].yoy_pct),
            "hazards_open_general": summary.hazards.open_general,
            "hazards_overdue_major": summary.hazards.overdue_major,
            "incidents_90_days": sum(g.count for g in summary.incidents),
            "major_hazard_units": len(summary.major_hazard_units),
        },
    }


def recompute(*, calls: int, warmup: int = 5) -> dict[str, Any]:
    """``major_hazards_recompute`` of the warehouse with the lots, made to write each time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.models import StockLot, StorageZone
    from safety.models import HazardUnit
    from safety.services import major_hazards_recompute

    zone = StorageZone.objects.get(code=LOADED_ZONE, warehouse__park__code__startswith=PARK_PREFIX)
    unit = HazardUnit.objects.filter(warehouse_id=zone.warehouse_id)
    samples = []
    for i in range(warmup + calls):
        unit.update(computed_at=None)  # else an unchanged unit is not written
        began = time.perf_counter()
        changed = major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
        took = time.perf_counter() - began
        _check(len(changed) == 1, "the recompute wrote no unit")
        if i >= warmup:
            samples.append(took)
    unit.update(computed_at=None)
    with CaptureQueriesContext(connection) as captured:
        major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    return {
        **_percentiles(samples),
        "calls": calls,
        "queries": len(captured.captured_queries),
        "lots": StockLot.objects.filter(zone=zone).count(),
    }


def _print_cases(found: dict[str, Any]) -> None:
    print(
        f"reports: {found['calls']} calls of each case after {found['warmup']} untimed, "
        f"a regulator of each of {found['parks']} parks in turn; monthly report of "
        f"{found['report_month']}, safety summary ?{found['safety_query']}"
    )
    width = max(len(label) for label in CASES.values())
    for name, label in CASES.items():
        row = found["cases"][name]
        queries = "/".join(str(q) for q in row["queries"])
        print(
            f"  {label:<{width}}  p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms"
            f"  max {row['max_ms']:8.2f} ms  {queries} queries"
        )
    print("  answers (bytes, median):", found["answer_bytes_median"])
    print("  sample:", found["sample"])


def _record_build(name: str, built: dict[str, Any]) -> None:
    """What the database holds, in its comment (a later run reuses it)."""
    from django.db import connection

    info = json.dumps(built)
    literal = "'" + info.replace("'", "''") + "'"
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE {connection.ops.quote_name(name)} IS {literal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--parks", type=int, default=20)
    parser.add_argument("--enterprises", type=int, default=6)
    parser.add_argument("--meters-per-enterprise", type=int, default=9)
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--http-batches", type=int, default=40)
    parser.add_argument("--http-workers", type=int, default=3)
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--safety-enterprises", type=int, default=100)
    parser.add_argument("--hazards", type=int, default=3000)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--lots", type=int, default=200)
    parser.add_argument("--recomputes", type=int, default=100)
    parser.add_argument("--rebuild", action="store_true")
    options = parser.parse_args()
    config = configure()

    import logging

    import django

    logging.getLogger("httpx").setLevel(logging.WARNING)
    ensure_database(config, drop=options.rebuild)
    django.setup()
    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per sign-in and sign-out
    from django.core.management import call_command
    from django.db import connection, transaction

    from energy.models import Meter, Reading
    from energy.rollups import rollups_check
    from parks.models import Enterprise
    from reports.periods import add_months
    from safety.models import HazardUnit, HiddenHazard, Incident

    call_command("migrate", verbosity=0)
    # The dashboard names its static files through the manifest, as in production (DEBUG
    # off): collected into STATIC_ROOT, a few seconds.
    call_command("collectstatic", interactive=False, verbosity=0)
    meters_total = options.parks * options.enterprises * options.meters_per_enterprise
    hours = math.ceil(options.readings / meters_total)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    start = end - timedelta(hours=hours)
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds")}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
        (comment,) = cursor.fetchone() or (None,)
    built = json.loads(comment) if comment else None
    if built is None or built.get("readings") != options.readings:
        if Meter.objects.exists():
            sys.exit("The database holds another build: run with --rebuild.")
        began = time.perf_counter()
        build_world(
            parks=options.parks,
            enterprises=options.enterprises,
            meters_per=options.meters_per_enterprise,
        )
        _outputs(start.date().replace(day=1), hours // (24 * 28) + 3)
        print(f"world built in {time.perf_counter() - began:.1f} s: {Meter.objects.count()} meters")
        results["load"] = load(hours=hours, start=start, processes=options.load_processes)
        print("in-process load:", results["load"])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        built = {"readings": options.readings, "start": start.isoformat(), "hours": hours}
        _record_build(config["NAME"], built)
    # The safety rows, on a build without them (a build made before they were added too:
    # its readings stay).
    safety = {
        "enterprises": options.safety_enterprises,
        "hazards": options.hazards,
        "incidents": options.incidents,
        "lots": options.lots,
    }
    if built.get("safety") != safety:
        if HazardUnit.objects.filter(park__code__startswith=PARK_PREFIX).exists():
            sys.exit("The database holds safety rows of other sizes: run with --rebuild.")
        began = time.perf_counter()
        with transaction.atomic():  # all or nothing, the build's record with them
            results["safety_build"] = build_safety(
                enterprises=options.safety_enterprises,
                hazards=options.hazards,
                incidents=options.incidents,
                lots=options.lots,
            )
            built = {**built, "safety": safety}
            _record_build(config["NAME"], built)
        _analyze_safety()
        results["safety_build"]["seconds"] = round(time.perf_counter() - began, 1)
        print("safety rows built:", results["safety_build"])
    results["safety_rows"] = {
        "enterprises": Enterprise.objects.filter(park__code__startswith=PARK_PREFIX).count(),
        "hidden_hazards": HiddenHazard.objects.filter(park__code__startswith=PARK_PREFIX).count(),
        "incidents": Incident.objects.filter(park__code__startswith=PARK_PREFIX).count(),
        "hazard_units": HazardUnit.objects.filter(park__code__startswith=PARK_PREFIX).count(),
    }
    print("safety rows:", results["safety_rows"])
    start = datetime.fromisoformat(built["start"])
    hours = built["hours"]
    results["readings_before_http"] = Reading.objects.count()
    print("readings:", results["readings_before_http"])
    # The HTTP batches go just before everything loaded so far: new readings, in the past,
    # on every run (a re-run goes a further 1,111 hours back).
    per_batch_hours = BATCH // options.meters_per_enterprise
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(at) FROM energy_reading")
        (earliest,) = cursor.fetchone()
    first_hour = int((earliest - start).total_seconds() // 3600) - per_batch_hours
    results["http_ingest"] = http_ingest(
        clients=options.clients,
        batches=options.http_batches,
        workers=options.http_workers,
        first_hour=first_hour,
        start=start,
    )
    print("HTTP ingest:", results["http_ingest"])
    last_month = (start + timedelta(hours=hours)).date().replace(day=1)
    # The monthly report: of the last month the readings cover whole, else of the last one.
    before = add_months(last_month, -1)
    report_month = before if start.date() < before else last_month
    results["reports"] = reports(
        calls=options.reports, last_month=last_month, report_month=report_month
    )
    _print_cases(results["reports"])
    results["recompute"] = recompute(calls=options.recomputes)
    print("major_hazards_recompute of one warehouse:", results["recompute"])
    began = time.perf_counter()
    check = rollups_check()
    results["rollup_check"] = {
        "ok": check.ok,
        "meter_days": check.meter_days,
        "enterprise_days": check.enterprise_days,
        "enterprise_months": check.enterprise_months,
        "mismatches": check.mismatches,
        "seconds": round(time.perf_counter() - began, 1),
        "readings": Reading.objects.count(),
    }
    print("rollup check:", results["rollup_check"])
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written to {RESULTS_PATH}")


if __name__ == "__main__":
    main()
