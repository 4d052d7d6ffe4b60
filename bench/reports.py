"""The regulators' reports on PostgreSQL: energy part (issue 13).

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
- HTTP ingest: gunicorn (``--http-workers`` sync workers, 3) on 127.0.0.1 serving the real
  API; ``--http-batches`` (40) batches, one per enterprise (its 9 meters for the 1,111
  hours before the loaded ones: 9,999 rows), each posted to
  ``POST /api/v1/energy-readings/batch/`` with a knox Bearer token of the enterprise's
  admin by one of ``--clients`` (4) threads; bodies serialized before the clock starts.
  Readings/s = all readings accepted ÷ wall time from the first request to the last answer.
- Reports: ``energy.selectors.park_energy_series`` (12 months, monthly, both conventions in
  turn) for a regulator of each park in turn, ``--reports`` (200) calls after 20 untimed:
  p50/p95; the same for ``enterprise_energy_breakdown`` of the last full month.
  (The HTTP report endpoints are the ``reports`` app's, not on this branch.)
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
            code=f"bench-energy-{p:02d}",
            name_zh=f"能耗基准园区{p:02d}",
            name_en=f"Energy bench park {p:02d}",
            division_code="330211",
            latitude=Decimal("29.96"),
            longitude=Decimal("121.71"),
            area_mu=Decimal(10000),
        )
        regulator = users.create(username=f"bench-energy-{p:02d}.regulator")
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
            admin = users.create(username=f"bench-energy-{p:02d}-{e}.admin")
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
    for enterprise in Enterprise.objects.filter(park__code__startswith="bench-energy-"):
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


def load(*, hours: int, start: datetime, processes: int) -> dict[str, Any]:
    from django.db import connection

    from parks.models import Enterprise

    ids = list(
        Enterprise.objects.filter(park__code__startswith="bench-energy-")
        .order_by("id")
        .values_list("id", flat=True)
    )
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

    from parks.models import Enterprise

    enterprises = list(
        Enterprise.objects.filter(park__code__startswith="bench-energy-").order_by("id")[:batches]
    )
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


def reports(*, calls: int, last_month: date) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from access.scope import resolve_scope
    from energy.selectors import enterprise_energy_breakdown, park_energy_series
    from parks.models import Park

    parks = list(Park.objects.filter(code__startswith="bench-energy-").order_by("code"))
    regulators = [
        resolve_scope(get_user_model().objects.get(username=f"{p.code}.regulator")) for p in parks
    ]
    first = (last_month - timedelta(days=330)).replace(day=1)
    month_end = (last_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    series_times: list[float] = []
    breakdown_times: list[float] = []
    sample: Any = None
    for i in range(calls + 20):
        scope, park = regulators[i % len(parks)], parks[i % len(parks)]
        convention = ("equivalent", "equal_value")[i % 2]
        began = time.perf_counter()
        series = park_energy_series(
            scope=scope,
            park_id=park.pk,
            start=first,
            end=month_end,
            granularity="month",
            convention=convention,
        )
        took = time.perf_counter() - began
        began = time.perf_counter()
        enterprise_energy_breakdown(
            scope=scope, park_id=park.pk, start=last_month, end=month_end, convention=convention
        )
        took_breakdown = time.perf_counter() - began
        if i >= 20:
            series_times.append(took)
            breakdown_times.append(took_breakdown)
        sample = series
    return {
        "park_energy_series_12_months": _percentiles(series_times),
        "enterprise_energy_breakdown_1_month": _percentiles(breakdown_times),
        "calls": calls,
        "sample": {
            "park": sample.park_id,
            "convention": sample.convention,
            "months": len(sample.periods),
            "total_tce": str(sample.total_tce),
            "last_month_tce": str(sample.periods[-1].tce),
            "last_month_intensity": str(sample.periods[-1].intensity),
            "last_month_yoy_pct": str(sample.periods[-1].yoy_pct),
        },
    }


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
    parser.add_argument("--rebuild", action="store_true")
    options = parser.parse_args()
    config = configure()

    import logging

    import django

    logging.getLogger("httpx").setLevel(logging.WARNING)
    ensure_database(config, drop=options.rebuild)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from energy.models import Meter, Reading
    from energy.rollups import rollups_check

    call_command("migrate", verbosity=0)
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
            info = json.dumps(
                {"readings": options.readings, "start": start.isoformat(), "hours": hours}
            )
            literal = "'" + info.replace("'", "''") + "'"
            cursor.execute(
                f"COMMENT ON DATABASE {connection.ops.quote_name(config['NAME'])} IS {literal}"
            )
        built = json.loads(info)
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
    results["reports"] = reports(calls=options.reports, last_month=last_month)
    print("reports:", json.dumps(results["reports"], indent=1))
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
