"""Throughput of the REST list endpoints on PostgreSQL, next to a bare Django view.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_bench \\
        .venv/bin/python bench/api.py --listings 100000 --lots 200000 --requests 300

The first run creates the database, migrates it, loads the demo world (``seed_demo``) and
COPYs the bench rows in: stock lots with one receipt each (the ledger stays balanced) and
listings over them. Later runs reuse it while its size matches; ``--rebuild`` starts over.

Each case is served in-process by ``django.test.Client`` (no network, no WSGI server), one
request after another, as an enterprise admin of a demo enterprise with a knox Bearer
token. The bare views are plain Django functions mounted beside the project's urls: the
same tenant scope and filters, ``.values()`` of comparable columns, a 50-row slice, orjson.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import inspect
import itertools
import json
import os
import platform
import pstats
import random
import secrets
import statistics
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

if TYPE_CHECKING:
    from django.test import Client
    from django.urls import URLPattern, URLResolver

    from access.scope import Scope

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_PATH = BASE_DIR / "var" / "bench-api.json"

# The generated rows are deterministic: a fixed seed and a fixed "now" of the data set.
SEED = 20261127
DATA_NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
BENCH_BATCH_PREFIX = "BENCH-"

PAGES = (1, 2, 3, 4, 5)
PAGE_SIZE = 50
LISTING_FILTERS = "status=published&hazard_class=3"
LOT_HAZARD_CLASS = "3"
LOT_ON_HAND_MIN = 100
LOT_FILTERS = f"hazard_class={LOT_HAZARD_CLASS}&on_hand_min={LOT_ON_HAND_MIN}"
MAX_QUERIES = 5
MIN_THROUGHPUT_RATIO = 0.6

BARE_SKIPS = (
    "permission checks, "
    "content negotiation, filter-form validation, the count query, next/previous links, "
    "serializers"
)

# Columns of the bare views: those the read serializers show (the lots' available_kg is
# annotated).
LISTING_COLUMNS = (
    "id",
    "status",
    "visibility",
    "seller_id",
    "seller__name_zh",
    "seller__park_id",
    "seller__park__code",
    "lot_id",
    "material_id",
    "material__name_en",
    "material__name_zh",
    "material__cas",
    "material__primary_class",
    "lot__zone__warehouse_id",
    "lot__zone__warehouse__latitude",
    "lot__zone__warehouse__longitude",
    "quantity_kg",
    "min_order_kg",
    "price_per_t",
    "available_from",
    "available_until",
    "published_at",
    "created_at",
    "note",
)
LOT_COLUMNS = (
    "id",
    "material_id",
    "material__name_en",
    "material__name_zh",
    "material__cas",
    "material__primary_class",
    "owner_id",
    "owner__name_zh",
    "zone_id",
    "zone__code",
    "zone__warehouse_id",
    "zone__warehouse__code",
    "zone__warehouse__park_id",
    "zone__warehouse__park__code",
    "on_hand_kg",
    "reserved_kg",
    "batch_no",
    "purity_pct",
    "grade",
    "produced_on",
    "expires_on",
    "created_at",
    "updated_at",
)


# --- Environment and database -----------------------------------------------------------


def configure_environment() -> dict[str, Any]:
    """Check DATABASE_URL, set the settings the bench runs with; return the parsed URL."""
    import environ

    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        sys.exit(
            "bench/api.py measures PostgreSQL only. Set DATABASE_URL, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_bench "
            ".venv/bin/python bench/api.py"
        )
    if "bench" not in config["NAME"]:
        sys.exit(
            f"Database {config['NAME']!r}: the bench drops and refills its database, so its "
            "name must contain 'bench' (e.g. parkshare_bench)."
        )
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DEBUG"] = "false"  # DEBUG would record every query and slow each request
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    return config


def _admin_connection(config: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    )


def ensure_database(config: dict[str, Any], *, drop: bool = False) -> bool:
    """Create the bench database if it is missing (after dropping it, with ``drop``).

    True when it was created.
    """
    from psycopg import sql

    name = sql.Identifier(config["NAME"])
    with _admin_connection(config) as conn:
        if drop:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        print(f"created database {config['NAME']}")
        return True


def read_build_info() -> dict[str, Any]:
    """What the last build wrote on the database (its comment), or {}."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
        row = cursor.fetchone()
    try:
        info = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def write_build_info(info: dict[str, Any]) -> None:
    from django.db import connection
    from psycopg import sql

    with connection.cursor() as cursor:
        statement = sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), sql.Literal(json.dumps(info))
        )
        cursor.cursor.execute(statement)


def dataset_matches(info: dict[str, Any], *, lots: int, listings: int) -> bool:
    from inventory.models import StockLot
    from marketplace.models import Listing

    if info.get("lots") != lots or info.get("listings") != listings:
        return False
    bench_lots = StockLot.objects.filter(batch_no__startswith=BENCH_BATCH_PREFIX)
    bench_listings = Listing.objects.filter(lot__batch_no__startswith=BENCH_BATCH_PREFIX)
    return bench_lots.count() == lots and bench_listings.count() == listings


# --- Data set ---------------------------------------------------------------------------


@dataclass
class World:
    """Where seed_demo put stock: the bench lots repeat its placements.

    Every (owner, zone, material) the demo received was admitted by ``stock_receive``
    (licence, segregation within the warehouse), so more lots of the same material in the
    same zone stay admissible; only capacity needs watching, through ``budget_kg``.
    """

    placements: dict[int, list[tuple[int, int, float]]]  # owner -> (zone, material, demo kg)
    budget_kg: dict[int, float]  # zone id -> capacity left for the bench lots
    price_per_t: dict[int, float]  # material id -> a demo listing's price, where one exists


def load_world() -> World:
    from django.db.models import Sum

    from inventory.hazards import Separation, required_separation
    from inventory.models import Material, StockLot, StorageZone
    from marketplace.models import Listing

    # A material that must be kept apart from itself was admitted once, not twice.
    alone = {
        m.pk
        for m in Material.objects.all()
        if required_separation(m.hazard_profile, m.hazard_profile).separation > Separation.DISTANCE
    }
    placements: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    demo_lots = (
        StockLot.objects.filter(owner__is_active=True, material__is_active=True, on_hand_kg__gt=0)
        .exclude(material_id__in=alone)
        .order_by("id")
        .values_list("owner_id", "zone_id", "material_id", "on_hand_kg")
    )
    for owner, zone, material, on_hand in demo_lots:
        placements[owner].append((zone, material, float(on_hand)))
    occupied = dict(
        StockLot.objects.values("zone_id")
        .annotate(total=Sum("on_hand_kg"))
        .values_list("zone_id", "total")
    )
    # Keep a tenth of every zone free, as a warehouse would.
    budget_kg = {
        zone: float(capacity) * 0.9 - float(occupied.get(zone) or 0)
        for zone, capacity in StorageZone.objects.values_list("id", "capacity_kg")
    }
    price_per_t = {
        material: float(price)
        for material, price in Listing.objects.order_by("id").values_list(
            "material_id", "price_per_t"
        )
    }
    if not placements:
        sys.exit("seed_demo made no stock lot to take placements from.")
    return World(dict(placements), budget_kg, price_per_t)


def generate_lots(
    world: World, *, count: int, first_id: int, rng: random.Random
) -> list[tuple[Any, ...]]:
    """Rows of StockLot: an owner, one of its demo placements, a quantity near the demo's."""
    owners = sorted(world.placements)
    picks: list[tuple[int, int, int]] = []
    raw: list[float] = []
    for _ in range(count):
        owner = rng.choice(owners)
        zone, material, demo_kg = rng.choice(world.placements[owner])
        picks.append((owner, zone, material))
        raw.append(demo_kg * rng.lognormvariate(0, 0.6))
    # Scale a zone's lots down where their sum would overflow the zone's free capacity.
    per_zone: dict[int, float] = defaultdict(float)
    for (_, zone, _), quantity in zip(picks, raw, strict=True):
        per_zone[zone] += quantity
    scale = {
        zone: max(0.0, min(1.0, world.budget_kg.get(zone, 0.0) / total))
        for zone, total in per_zone.items()
    }
    step = timedelta(days=365) / max(count, 1)
    start = DATA_NOW - timedelta(days=365)
    grades = ("", "", "industrial", "industrial", "reagent", "electronic")
    rows = []
    for index, ((owner, zone, material), quantity) in enumerate(zip(picks, raw, strict=True)):
        created = start + step * index
        produced = created.date() - timedelta(days=rng.randint(3, 240))
        expires = produced + timedelta(days=rng.randint(180, 1095)) if rng.random() < 0.4 else None
        purity = Decimal(f"{rng.uniform(95, 99.99):.2f}") if rng.random() < 0.6 else None
        # Whole kilograms, like a weighbridge ticket; one kilogram at least.
        on_hand = Decimal(max(1, round(quantity * scale[zone])))
        rows.append(
            (
                first_id + index,
                material,
                owner,
                zone,
                on_hand,
                Decimal(0),
                f"{BENCH_BATCH_PREFIX}{index:07d}",
                purity,
                rng.choice(grades),
                produced,
                expires,
                created,
                created,
            )
        )
    return rows


def generate_movements(
    lots: Sequence[tuple[Any, ...]], *, first_id: int
) -> Iterable[tuple[Any, ...]]:
    """One receipt per lot, of exactly its on-hand quantity."""
    for offset, lot in enumerate(lots):
        lot_id, on_hand, created = lot[0], lot[4], lot[11]
        yield (first_id + offset, lot_id, on_hand, "receipt", f"bench:{lot_id}", "", None, created)


def generate_listings(
    world: World, lots: Sequence[tuple[Any, ...]], *, count: int, first_id: int, rng: random.Random
) -> list[tuple[Any, ...]]:
    """Listings over the lots: seller = lot owner, ~80 % published, visibilities spread."""
    materials = sorted({lot[1] for lot in lots})
    base_price = {m: world.price_per_t.get(m) or rng.uniform(800, 25_000) for m in materials}
    if count <= len(lots):
        chosen = sorted(rng.sample(range(len(lots)), count))
    else:
        chosen = sorted(rng.randrange(len(lots)) for _ in range(count))
    statuses = rng.choices(("published", "draft", "withdrawn"), weights=(80, 12, 8), k=count)
    visibilities = rng.choices(("park", "region", "all"), weights=(40, 35, 25), k=count)
    notes = ("", "", "", "", "Tank truck pick-up only.", "COA on request.", "散装，可分批提货")
    rows = []
    for offset, lot_index in enumerate(chosen):
        lot = lots[lot_index]
        lot_id, material, owner, on_hand, lot_created = lot[0], lot[1], lot[2], lot[4], lot[11]
        created = min(lot_created + timedelta(hours=rng.uniform(1, 24 * 30)), DATA_NOW)
        # Whole kilograms, never more than the lot holds.
        quantity = Decimal(max(1, int(on_hand * Decimal(rng.uniform(0.2, 1.0)))))
        min_order = Decimal(int(quantity * Decimal(rng.choice((0, 0, 0.05, 0.1, 0.25)))))
        price = Decimal(f"{base_price[material] * rng.uniform(0.85, 1.15):.2f}")
        available_from = created.date() + timedelta(days=rng.randint(0, 14))
        available_until = (
            available_from + timedelta(days=rng.randint(30, 365)) if rng.random() < 0.6 else None
        )
        status = statuses[offset]
        published_at = (
            created + timedelta(minutes=rng.uniform(1, 2880)) if status != "draft" else None
        )
        rows.append(
            (
                first_id + offset,
                owner,
                lot_id,
                material,
                quantity,
                price,
                min_order,
                available_from,
                available_until,
                visibilities[offset],
                status,
                rng.choice(notes),
                published_at,
                created,
                published_at or created,
            )
        )
    return rows


# Column orders of the rows the bench generators build (bench/api.py, match.py, orders.py).
LOT_ROW_COLUMNS = (
    "id",
    "material_id",
    "owner_id",
    "zone_id",
    "on_hand_kg",
    "reserved_kg",
    "batch_no",
    "purity_pct",
    "grade",
    "produced_on",
    "expires_on",
    "created_at",
    "updated_at",
)
MOVEMENT_ROW_COLUMNS = (
    "id",
    "lot_id",
    "quantity_kg",
    "kind",
    "reference",
    "note",
    "actor_id",
    "created_at",
)
LISTING_ROW_COLUMNS = (
    "id",
    "seller_id",
    "lot_id",
    "material_id",
    "quantity_kg",
    "price_per_t",
    "min_order_kg",
    "available_from",
    "available_until",
    "visibility",
    "status",
    "note",
    "published_at",
    "created_at",
    "updated_at",
)


def copy_rows(model: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY rows into ``model``'s table through Django's psycopg connection; the row count.

    Columns left out that have a model default get it, as an ORM insert would. Fails before
    writing if the model has a required column without a default that ``columns`` leave
    out (the schema moved on and the generator has not).
    """
    from django.db import connection
    from django.db.models import NOT_PROVIDED
    from psycopg import sql

    fields = [f for f in model._meta.concrete_fields if f.column not in columns]
    defaults = [(f.column, f.get_default()) for f in fields if f.has_default()]
    missing = [
        f.column
        for f in fields
        if not f.null and not f.has_default() and f.db_default is NOT_PROVIDED
    ]
    if missing:
        sys.exit(f"bench/api.py fills no {model.__name__} column {missing}: update its generator.")
    names = [*columns, *(column for column, _value in defaults)]
    tail = tuple(value for _column, value in defaults)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row + tail)
            written += 1
    return written


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return int(model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def reset_sequence(model: Any) -> None:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608  -- model metadata
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )


def build_dataset(*, lots: int, listings: int) -> dict[str, Any]:
    """seed_demo, then the bench lots, receipts and listings by COPY; VACUUM ANALYZE."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from inventory.models import StockLot, StockMovement
    from marketplace.models import Listing

    timings: dict[str, float] = {}
    started = time.perf_counter()
    call_command("seed_demo", verbosity=0)
    timings["seed_demo_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    rng = random.Random(SEED)
    world = load_world()
    lot_rows = generate_lots(world, count=lots, first_id=_next_id(StockLot), rng=rng)
    listing_rows = generate_listings(
        world, lot_rows, count=listings, first_id=_next_id(Listing), rng=rng
    )
    timings["generate_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    with transaction.atomic():
        copy_rows(StockLot, LOT_ROW_COLUMNS, lot_rows)
        copy_rows(
            StockMovement,
            MOVEMENT_ROW_COLUMNS,
            generate_movements(lot_rows, first_id=_next_id(StockMovement)),
        )
        copy_rows(Listing, LISTING_ROW_COLUMNS, listing_rows)
    for model in (StockLot, StockMovement, Listing):
        reset_sequence(model)
    timings["copy_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    with connection.cursor() as cursor:  # autocommit: VACUUM may not run in a transaction
        cursor.execute("VACUUM (ANALYZE)")
    timings["vacuum_analyze_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    return {k: round(v, 2) for k, v in timings.items()}


def check_ledger() -> int:
    """Lots whose on-hand differs from the sum of their movements (0 when balanced)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM inventory_stocklot l
            LEFT JOIN (SELECT lot_id, sum(quantity_kg) AS total
                       FROM inventory_stockmovement GROUP BY lot_id) m ON m.lot_id = l.id
            WHERE l.on_hand_kg <> coalesce(m.total, 0)
            """
        )
        row = cursor.fetchone()
    return int(row[0]) if row else -1


# --- Bare views -------------------------------------------------------------------------

# Kept for the set-up code that resolves the bench user once; the bare views themselves
# authenticate every request, as any view serving tenant data must.
_bare_scope: Scope | None = None


def _caller_scope(request: HttpRequest) -> Scope | None:
    """The caller's scope from its Bearer token: one query, as in the API."""
    from access.scope import resolve_scope
    from common.auth import BearerTokenAuthentication

    found = BearerTokenAuthentication().authenticate(request)
    return resolve_scope(found[0]) if found else None


def _slice(request: HttpRequest) -> tuple[int, int]:
    page = max(int(request.GET.get("page", "1")), 1)
    size = min(max(int(request.GET.get("page_size", str(PAGE_SIZE))), 1), 500)
    return (page - 1) * size, page * size


def _json(rows: list[dict[str, Any]]) -> HttpResponse:
    # Decimals as strings, like the API (COERCE_DECIMAL_TO_STRING).
    return HttpResponse(
        orjson.dumps({"results": rows}, default=str), content_type="application/json"
    )


def bare_listings(request: HttpRequest) -> HttpResponse:
    """The listings page with the API's scope and filters, without DRF."""
    from marketplace.selectors import listing_list

    scope = _caller_scope(request)
    if scope is None:
        return HttpResponseBadRequest(b"no scope")
    qs = listing_list(scope=scope)
    if status := request.GET.get("status"):
        qs = qs.filter(status=status)
    if hazard_class := request.GET.get("hazard_class"):
        qs = qs.filter(material__primary_class=hazard_class)
    start, stop = _slice(request)
    return _json(list(qs.order_by("-id").values(*LISTING_COLUMNS)[start:stop]))


def bare_lots(request: HttpRequest) -> HttpResponse:
    """The lots page with the API's scope and filters, without DRF.

    ``hazard_class`` matches the primary class or a subsidiary one, as the API's filter does.
    """
    from django.db.models import F, Q, TextField
    from django.db.models.functions import Cast

    from inventory.selectors import lot_list

    scope = _caller_scope(request)
    if scope is None:
        return HttpResponseBadRequest(b"no scope")
    qs = lot_list(scope=scope)
    if hazard_class := request.GET.get("hazard_class"):
        qs = qs.alias(subsidiary_text=Cast("material__subsidiary_classes", TextField())).filter(
            Q(material__primary_class=hazard_class)
            | Q(subsidiary_text__contains=f'"{hazard_class}"')
        )
    if on_hand_min := request.GET.get("on_hand_min"):
        qs = qs.filter(on_hand_kg__gte=Decimal(on_hand_min))
    start, stop = _slice(request)
    rows = qs.order_by("-id").values(*LOT_COLUMNS, available_kg=F("on_hand_kg") - F("reserved_kg"))
    return _json(list(rows[start:stop]))


def __getattr__(name: str) -> Any:
    """``urlpatterns`` of the bench urlconf: the project's urls and the bare views.

    Built on first use, after ``django.setup()``; the bench points ROOT_URLCONF here.
    """
    if name == "urlpatterns":
        from django.urls import include, path

        patterns: list[URLPattern | URLResolver] = [
            path("bench/listings/", bare_listings),
            path("bench/lots/", bare_lots),
            path("", include("config.urls")),
        ]
        return patterns
    raise AttributeError(name)


def choose_caller() -> Any:
    """The Membership to call as: the enterprise admin whose enterprise has the most lots
    that the lot filter matches (ties to the lowest id), so that every measured page is
    full."""
    from django.db.models import Count, Q

    from access.models import Membership
    from access.roles import EnterpriseRole
    from inventory.models import StockLot

    admins = Membership.objects.filter(
        role=EnterpriseRole.ENTERPRISE_ADMIN, enterprise__is_active=True
    ).select_related("user", "enterprise__park")
    matching = dict(
        StockLot.objects.filter(
            Q(material__primary_class=LOT_HAZARD_CLASS)
            | Q(material__subsidiary_classes__contains=[LOT_HAZARD_CLASS]),
            on_hand_kg__gte=LOT_ON_HAND_MIN,
            owner_id__in=admins.values("enterprise_id"),
        )
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    if not matching:
        sys.exit("No enterprise admin whose enterprise holds lots the lot filter matches.")
    enterprise_id = max(matching, key=lambda pk: (matching[pk], -pk))
    return admins.filter(enterprise_id=enterprise_id).order_by("user_id").first()


# --- Measurement ------------------------------------------------------------------------


@dataclass
class CaseResult:
    name: str
    paths: list[str]
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    queries_per_request: list[int]
    rows: list[int]


def _rows_of(body: bytes) -> list[dict[str, Any]]:
    data = orjson.loads(body)
    return data["results"] if isinstance(data, dict) else data


def _get(client: Client, headers: dict[str, str], name: str, path: str) -> Any:
    response = client.get(path, headers=headers)
    if response.status_code != 200:
        sys.exit(f"{name}: {path} answered {response.status_code}: {response.content[:500]!r}")
    return response


def run_cases(
    client: Client,
    headers: dict[str, str],
    cases: dict[str, list[str]],
    *,
    requests: int,
    warmup: int,
    rounds: int = 10,
) -> dict[str, CaseResult]:
    """Measure each case's ``requests`` sequential requests, pages in turn.

    The cases take turns in ``rounds`` blocks, so that a change in the machine's load while
    the bench runs falls on all of them alike rather than on whichever ran last.
    Throughput is requests over the summed latencies of the case.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for name, paths in cases.items():
        for index in range(warmup):
            _get(client, headers, name, paths[index % len(paths)])
    queries: dict[str, list[int]] = {}
    rows: dict[str, list[int]] = {}
    for name, paths in cases.items():
        queries[name], rows[name] = [], []
        for path in paths:
            with CaptureQueriesContext(connection) as captured:
                response = _get(client, headers, name, path)
            queries[name].append(len(captured.captured_queries))
            rows[name].append(len(_rows_of(response.content)))
    latencies: dict[str, list[float]] = {name: [] for name in cases}
    bounds = [requests * r // rounds for r in range(rounds + 1)]
    for start, stop in itertools.pairwise(bounds):
        for name, paths in cases.items():
            for index in range(start, stop):
                path = paths[index % len(paths)]
                mark = time.perf_counter()
                response = client.get(path, headers=headers)
                latencies[name].append(time.perf_counter() - mark)
                if response.status_code != 200:
                    sys.exit(f"{name}: {path} answered {response.status_code}")
    results = {}
    for name, paths in cases.items():
        times = latencies[name]
        seconds = sum(times)
        results[name] = CaseResult(
            name=name,
            paths=paths,
            requests=requests,
            seconds=round(seconds, 3),
            requests_per_s=round(requests / seconds, 1),
            p50_ms=round(statistics.median(times) * 1000, 2),
            p95_ms=round(statistics.quantiles(times, n=20)[18] * 1000, 2),
            mean_ms=round(statistics.fmean(times) * 1000, 2),
            queries_per_request=queries[name],
            rows=rows[name],
        )
    return results


def count_queries(client: Client, headers: dict[str, str], path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, headers=headers)
    if response.status_code != 200:
        sys.exit(f"{path} answered {response.status_code}: {response.content[:500]!r}")
    return len(captured.captured_queries)


def query_constancy(
    client: Client, headers: dict[str, str], base: str, filters: str
) -> dict[str, int]:
    """Queries of page 1 and page 5, and of page_size 10 and 50, of one endpoint."""
    variants = {
        "page=1&page_size=50": f"{base}?page=1&page_size=50&{filters}",
        "page=5&page_size=50": f"{base}?page=5&page_size=50&{filters}",
        "page=1&page_size=10": f"{base}?page=1&page_size=10&{filters}",
    }
    return {label: count_queries(client, headers, path) for label, path in variants.items()}


def same_rows(client: Client, headers: dict[str, str], api: str, bare: str) -> bool:
    """The API and the bare view return the same ids in the same order."""
    api_ids = [row["id"] for row in _rows_of(client.get(api, headers=headers).content)]
    bare_ids = [row["id"] for row in _rows_of(client.get(bare, headers=headers).content)]
    return api_ids == bare_ids


# Functions whose cumulative time the profile breakdown reports (file suffix, name).
PROFILE_PARTS = (
    ("DRF view dispatch (all below)", "rest_framework/views.py", "dispatch"),
    ("  initial: authentication + permissions", "rest_framework/views.py", "initial"),
    ("    authentication (token, user, membership)", "rest_framework/request.py", "_authenticate"),
    (
        "  filter_queryset (django-filter, ordering)",
        "rest_framework/generics.py",
        "filter_queryset",
    ),
    ("  paginate_queryset (count + page)", "pagination.py", "paginate_queryset"),
    ("    COUNT query (QuerySet.count)", "django/db/models/query.py", "count"),
    ("    page query, rows -> model instances", "django/db/models/query.py", "_fetch_all"),
    ("  serializer .data", "rest_framework/serializers.py", "data"),
    ("  renderer (orjson)", "common/renderers.py", "render"),
    ("SQL execute, all queries (DB + wire)", "django/db/backends/utils.py", "_execute"),
)


# Methods timed without a profiler (label, class, method): cumulative wall time of the
# outermost call, so nested and recursive calls are not counted twice. PAGINATION stands for
# the project's DEFAULT_PAGINATION_CLASS.
PAGINATION = "pagination"
TIMED_PARTS = (
    ("DRF view dispatch (all below)", "rest_framework.views.APIView", "dispatch"),
    ("  initial: authentication + permissions", "rest_framework.views.APIView", "initial"),
    ("    authentication (token query)", "common.auth.BearerTokenAuthentication", "authenticate"),
    ("  get_queryset (selector)", "access.api.ScopedViewSetMixin", "get_queryset"),
    ("  filter_queryset", "rest_framework.generics.GenericAPIView", "filter_queryset"),
    ("  paginate_queryset", PAGINATION, "paginate_queryset"),
    ("    COUNT query (QuerySet.count)", "django.db.models.query.QuerySet", "count"),
    ("  serializer", "rest_framework.serializers.ListSerializer", "to_representation"),
    ("  paginated response (links)", PAGINATION, "get_paginated_response"),
    ("  renderer (orjson)", "common.renderers.ORJSONRenderer", "render"),
    ("SQL round trips, all queries", "django.db.backends.utils.CursorWrapper", "_execute"),
)


def _timed(original: Any, label: str, totals: dict[str, float]) -> Any:
    depth = 0

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal depth
        if depth:
            return original(*args, **kwargs)
        depth += 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - started
            depth -= 1

    return wrapper


def time_parts(
    client: Client, headers: dict[str, str], paths: list[str], *, requests: int
) -> dict[str, float]:
    """Wall time per request of the parts in TIMED_PARTS, without a profiler's overhead."""
    totals = dict.fromkeys((label for label, *_ in TIMED_PARTS), 0.0)
    from rest_framework.settings import api_settings

    patched = []
    for label, path, method in TIMED_PARTS:
        if path == PAGINATION:
            cls = api_settings.DEFAULT_PAGINATION_CLASS
        else:
            module, _, class_name = path.rpartition(".")
            cls = getattr(importlib.import_module(module), class_name)
        own = method in vars(cls)
        original = inspect.getattr_static(cls, method)
        if isinstance(original, property):
            setattr(cls, method, property(_timed(original.fget, label, totals)))
        else:
            setattr(cls, method, _timed(original, label, totals))
        patched.append((cls, method, original, own))
    try:
        started = time.perf_counter()
        for index in range(requests):
            client.get(paths[index % len(paths)], headers=headers)
        elapsed = time.perf_counter() - started
    finally:
        for cls, method, original, own in reversed(patched):
            if own:
                setattr(cls, method, original)
            else:
                delattr(cls, method)
    parts = {"request, total (client to response)": elapsed}
    for label, seconds in totals.items():
        parts[label] = seconds
        if label == "    COUNT query (QuerySet.count)":
            page = totals["  paginate_queryset"] - seconds
            parts["    page query + model instances (the rest)"] = page
    return {label: round(seconds / requests * 1000, 3) for label, seconds in parts.items()}


def profile_endpoint(
    client: Client, headers: dict[str, str], name: str, paths: list[str], *, requests: int
) -> dict[str, Any]:
    """cProfile of ``requests`` requests; the cumulative time of the parts above, per request.

    cProfile slows Python code (not the database) by a factor of about two: compare the
    parts with each other, and with the unprofiled latency.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    started = time.perf_counter()
    for index in range(requests):
        client.get(paths[index % len(paths)], headers=headers)
    total = time.perf_counter() - started
    profiler.disable()
    path = BASE_DIR / "var" / f"bench-api-{name}.prof"
    profiler.dump_stats(path)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(
        profiler
    ).stats  # type: ignore[attr-defined]

    def per_request(seconds: float) -> float:
        return round(seconds / requests * 1000, 3)

    parts: dict[str, float] = {}
    for label, suffix, function in PROFILE_PARTS:
        # The outermost match: same-named wrappers (ListSerializer.data calls
        # Serializer.data) are nested, and their cumulative times include each other.
        cumulative = max(
            (v[3] for k, v in raw.items() if k[0].endswith(suffix) and k[2] == function),
            default=0.0,
        )
        parts[label] = per_request(cumulative)

    def row(key: tuple[str, int, str], value: tuple[int, int, float, float, Any]) -> dict[str, Any]:
        return {
            "function": f"{'/'.join(Path(key[0]).parts[-2:])}:{key[1]}({key[2]})",
            "calls_per_request": round(value[1] / requests, 1),
            "cumulative_ms": per_request(value[3]),
            "own_ms": per_request(value[2]),
        }

    view_ms = parts["DRF view dispatch (all below)"]
    inside_view = [(k, v) for k, v in raw.items() if per_request(v[3]) < view_ms]
    by_cumulative = sorted(inside_view, key=lambda item: item[1][3], reverse=True)[:25]
    by_own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:15]
    return {
        "requests": requests,
        "ms_per_request_under_profiler": per_request(total),
        "parts_ms_per_request": parts,
        "top_cumulative_inside_view": [row(k, v) for k, v in by_cumulative],
        "top_own_time": [row(k, v) for k, v in by_own],
        "file": str(path.relative_to(BASE_DIR)),
    }


def explain_requests(client: Client, headers: dict[str, str], path: str) -> list[dict[str, Any]]:
    """Each SQL query of one request, with PostgreSQL's planning and execution times."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path, headers=headers)
    explained = []
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query["sql"])
            row = cursor.fetchone()
        plan = row[0][0] if row else {}
        if isinstance(plan, str):
            plan = json.loads(plan)[0]
        explained.append(
            {
                "sql": query["sql"],
                "planning_ms": plan.get("Planning Time"),
                "execution_ms": plan.get("Execution Time"),
                "top_node": plan.get("Plan", {}).get("Node Type"),
            }
        )
    return explained


# --- Report -----------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_table(results: dict[str, Any]) -> None:
    cases: dict[str, CaseResult] = results["cases"]
    print()
    print(
        f"{'case':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}"
        f"{'queries/req':>14}{'rows':>14}   target"
    )
    for key in ("listings_api", "listings_bare", "lots_api", "lots_bare"):
        case = cases[key]
        queries = "/".join(map(str, sorted(set(case.queries_per_request))))
        rows = "/".join(map(str, sorted(set(case.rows))))
        target = ""
        if key.endswith("_api"):
            constant = len(set(case.queries_per_request)) == 1
            ok = constant and max(case.queries_per_request) <= MAX_QUERIES
            target = f"queries constant and <= {MAX_QUERIES}: {_mark(ok)}"
        print(
            f"{key:<16}{case.requests_per_s:>9.1f}{case.p50_ms:>9.2f}{case.p95_ms:>9.2f}"
            f"{case.mean_ms:>9.2f}{queries:>14}{rows:>14}   {target}"
        )
    for endpoint in ("listings", "lots"):
        ratio = results["ratios"][endpoint]
        ok = ratio >= MIN_THROUGHPUT_RATIO
        print(
            f"{endpoint + ' API/bare':<16}{ratio:>9.2f}{'':>55}   "
            f"throughput >= {MIN_THROUGHPUT_RATIO}: {_mark(ok)}"
        )
    print()
    for endpoint, counts in results["query_constancy"].items():
        values = ", ".join(f"{label}: {n}" for label, n in counts.items())
        same = len(set(counts.values())) == 1
        print(f"queries of {endpoint}: {values} -> {'constant' if same else 'NOT constant'}")
    for endpoint, same in results["same_rows"].items():
        print(
            f"{endpoint}: API and bare view return the same page-1 ids: {'yes' if same else 'NO'}"
        )
    print(f"bare views skip: {BARE_SKIPS}")
    print(
        f"pages {PAGES[0]}-{PAGES[-1]} in turn, page_size={PAGE_SIZE}, the four cases taking "
        "turns in 10 rounds; rows = rows per page; req/s = requests / summed latency."
    )


def _server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


# --- Main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--listings", type=int, default=100_000, help="bench listings")
    parser.add_argument("--lots", type=int, default=200_000, help="bench stock lots")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per case")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile both APIs (var/*.prof), EXPLAIN"
    )
    args = parser.parse_args(argv)
    if args.lots < 1 or args.listings < 0 or args.requests < 2:
        parser.error("--lots >= 1, --listings >= 0 and --requests >= 2 are needed")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    global _bare_scope
    args = parse_args(argv)
    config = configure_environment()
    created = ensure_database(config)

    import django

    # whitenoise warns once that collectstatic has not run; static files are not measured.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.test.utils import override_settings
    from knox.models import AuthToken

    from access.scope import resolve_scope

    call_command("migrate", verbosity=0, interactive=False)
    build: dict[str, Any] = read_build_info()
    if args.rebuild or not dataset_matches(build, lots=args.lots, listings=args.listings):
        print(f"building the data set: {args.lots} lots, {args.listings} listings ...", flush=True)
        if not created:
            connections.close_all()
            ensure_database(config, drop=True)
            call_command("migrate", verbosity=0, interactive=False)
        timings = build_dataset(lots=args.lots, listings=args.listings)
        build = {"lots": args.lots, "listings": args.listings, "seed": SEED, **timings}
        write_build_info(build)
        print(f"built in {timings['total_s']:.1f} s ({timings})", flush=True)
        built_now = True
    else:
        print(f"reusing the data set ({build})", flush=True)
        built_now = False
    unbalanced = check_ledger()
    if unbalanced:
        sys.exit(f"{unbalanced} lots disagree with their ledger: rebuild with --rebuild.")

    caller = choose_caller()
    enterprise_id = caller.enterprise_id
    user = get_user_model().objects.get(pk=caller.user_id)
    token_row, token = AuthToken.objects.create(user=user, expiry=timedelta(hours=2))
    headers = {"Authorization": f"Bearer {token}"}
    _bare_scope = resolve_scope(user)
    print(
        f"calling as {user.get_username()} (enterprise_admin of {caller.enterprise} "
        f"#{enterprise_id}, park {caller.enterprise.park.code})",
        flush=True,
    )

    listing_api = [
        f"/api/v1/listings/?page_size={PAGE_SIZE}&page={p}&{LISTING_FILTERS}" for p in PAGES
    ]
    listing_bare = [
        f"/bench/listings/?page_size={PAGE_SIZE}&page={p}&{LISTING_FILTERS}" for p in PAGES
    ]
    lot_api = [f"/api/v1/lots/?page_size={PAGE_SIZE}&page={p}&{LOT_FILTERS}" for p in PAGES]
    lot_bare = [f"/bench/lots/?page_size={PAGE_SIZE}&page={p}&{LOT_FILTERS}" for p in PAGES]

    load_before = os.getloadavg()
    client = Client()
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    try:
        with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=hosts):
            cases = run_cases(
                client,
                headers,
                {
                    "listings_api": listing_api,
                    "listings_bare": listing_bare,
                    "lots_api": lot_api,
                    "lots_bare": lot_bare,
                },
                requests=args.requests,
                warmup=args.warmup,
            )
            constancy = {
                "/api/v1/listings/": query_constancy(
                    client, headers, "/api/v1/listings/", LISTING_FILTERS
                ),
                "/api/v1/lots/": query_constancy(client, headers, "/api/v1/lots/", LOT_FILTERS),
            }
            same = {
                "listings": same_rows(client, headers, listing_api[0], listing_bare[0]),
                "lots": same_rows(client, headers, lot_api[0], lot_bare[0]),
            }
            profile = explain = timed = None
            if args.profile:
                profile = {
                    "listings_api": profile_endpoint(
                        client, headers, "listings", listing_api, requests=100
                    ),
                    "lots_api": profile_endpoint(client, headers, "lots", lot_api, requests=100),
                }
                timed = {
                    "listings_api": time_parts(client, headers, listing_api, requests=100),
                    "lots_api": time_parts(client, headers, lot_api, requests=100),
                }
                explain = {
                    "listings_api_page_1": explain_requests(client, headers, listing_api[0]),
                    "lots_api_page_1": explain_requests(client, headers, lot_api[0]),
                }
    finally:
        token_row.delete()

    ratios = {
        "listings": round(
            cases["listings_api"].requests_per_s / cases["listings_bare"].requests_per_s, 3
        ),
        "lots": round(cases["lots_api"].requests_per_s / cases["lots_bare"].requests_per_s, 3),
    }
    results: dict[str, Any] = {
        "cases": cases,
        "ratios": ratios,
        "query_constancy": constancy,
        "same_rows": same,
    }
    print_table(results)
    print(
        f"load average (1 min): {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"on {os.cpu_count()} cpus"
    )

    targets_met = all(
        len(set(cases[k].queries_per_request)) == 1
        and max(cases[k].queries_per_request) <= MAX_QUERIES
        for k in ("listings_api", "lots_api")
    ) and all(r >= MIN_THROUGHPUT_RATIO for r in ratios.values())
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": _server_version(),
        "cpus": os.cpu_count(),
        # Other work on the machine skews the figures; compare with the cpu count.
        "load_average_1_5_15_min": {"before": load_before, "after": os.getloadavg()},
        "database": config["NAME"],
        "dataset": {**build, "built_in_this_run": built_now},
        "caller": {
            "user": user.get_username(),
            "enterprise_id": enterprise_id,
            "role": "enterprise_admin",
        },
        "requests_per_case": args.requests,
        "warmup_per_case": args.warmup,
        "pages": list(PAGES),
        "page_size": PAGE_SIZE,
        "bare_view_skips": BARE_SKIPS,
        "targets": {
            "max_queries": MAX_QUERIES,
            "min_api_bare_throughput_ratio": MIN_THROUGHPUT_RATIO,
        },
        "targets_met": targets_met,
        "cases": {key: asdict(case) for key, case in cases.items()},
        "api_bare_throughput_ratio": ratios,
        "query_constancy": constancy,
        "same_rows_as_bare": same,
        "timed_parts_ms_per_request": timed,
        "profile": profile,
        "explain": explain,
    }
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_bytes(orjson.dumps(output, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"\nwritten to {RESULTS_PATH.relative_to(BASE_DIR)}")
    if timed:
        print("\nwhere the API's time goes (ms/request, timed without a profiler, 100 requests):")
        print(f"  {'':<46}{'listings':>10}{'lots':>10}")
        for label in timed["listings_api"]:
            listings_ms, lots_ms = timed["listings_api"][label], timed["lots_api"][label]
            print(f"  {label:<46}{listings_ms:>10.2f}{lots_ms:>10.2f}")
    for name, report in (profile or {}).items():
        print(
            f"\nprofile of {name} ({report['requests']} requests, "
            f"{report['ms_per_request_under_profiler']} ms/request under cProfile), ms/request:"
        )
        for label, ms in report["parts_ms_per_request"].items():
            print(f"  {ms:>8.2f}  {label}")
        print("  top cumulative inside the view (ms/request, calls/request):")
        for row in report["top_cumulative_inside_view"]:
            print(
                f"  {row['cumulative_ms']:>8.2f} {row['calls_per_request']:>8}  {row['function']}"
            )
        print("  top own time (ms/request, calls/request):")
        for row in report["top_own_time"]:
            print(f"  {row['own_ms']:>8.2f} {row['calls_per_request']:>8}  {row['function']}")
    if explain:
        for name, queries in explain.items():
            print(f"\nqueries of {name} (ms: planning / execution):")
            for query in queries:
                times = f"{query['planning_ms']} / {query['execution_ms']}"
                print(f"  {times:<24} {query['top_node']:<12} {query['sql'][:90]}...")


if __name__ == "__main__":
    main()
