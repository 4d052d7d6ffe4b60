"""The matching engine on synthetic markets, on PostgreSQL.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_match_bench \\
        .venv/bin/python bench/match.py --sizes 1000,10000,100000

For each size N the database is dropped, created and migrated, and a market of N published
listings and N open needs is COPYed in: 30 parks in three regions, 20 enterprises per park,
1,000 catalogue materials of which max(10, min(1000, N / 100)) are traded (so every market
has about 100 listings and 100 needs per material: a need cannot have 20 feasible listings
among 1 listing per material), pairs of materials accepting each other as substitutes on 5 %
of the needs. Prices, quantities, purities, dates, distances and visibilities are drawn so
that about a third of the pairs of a material are feasible. Fixed seed: the same market
every time.

Storage follows the admission rule (``inventory.admission``): every enterprise has a
warehouse of 2-4 zones in 1-2 buildings and every park a shared warehouse with a zone of each
licence; a zone is licensed for one group of classes (flammables 2.1/3/4.1, corrosives 8,
toxics 6.1, oxidizers 5.1, general 9; goods that are not dangerous need no licence). Each
listing's lot (one receipt each, so the ledger balances; 3 % of listings offer the lot of the
listing before them) sits in a zone of its seller, or of its park's shared warehouse, that
admits it beside what is already stored (licence, segregation: some corrosives are acids and
some toxics cyanides). 35 % of needs deliver into a zone of the buyer (10 % of those into the
park's shared warehouse), licensed for the material 85 % of the time when the buyer has one;
a zone's capacity is what it stores plus room: 1.2-4x what its needs ask, 0.25-0.9x in 30 %
of the zones (those bind). One traded material in ten is a controlled chemical (highly
toxic, explosive or drug precursor) and 40 % of enterprises hold permits (some expired, some
naming materials).

Then it measures:

- **full rematch, end to end** (``run_full`` in this process: list components → per chunk
  lock, read, build arcs and solve, write proposals), three times from an empty proposal
  table (median) and three times again on unchanged data (nothing to write);
- **solve time**: the run's own ``solve_seconds`` (feasibility grid, costs and min-cost
  flow; the reads and writes are timed apart);
- **admission**: after every full run, ``matching.audit.admission_violations()`` (licence,
  segregation, capacity: all must be 0), and the needs into zones that got proposals;
- **quality**: one more full run on unchanged data in which every component, as the
  engine solves it, is also solved by greedy cheapest-first and by an independent LP (scipy's
  HiGHS: maximise the quantity, then minimise the cost with the quantity fixed) on the arcs
  the engine built, with a row per listing, need, lot shared by several listings and delivery
  zone (its room as the engine saw it just before the component);
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
from collections import defaultdict
from dataclasses import asdict, dataclass, field
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
# The engine's feasibility grid is dense (listings × needs of a component, several arrays of
# 1-8 bytes a cell): beyond this a component would not fit in the machine's 24 GiB.
MAX_GRID_CELLS = 1_000_000_000


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

# Zone licences in coherent groups, as a park's safety report licenses them (a material that
# is not dangerous goods needs no licence), with how often a warehouse has such a zone.
ZONE_KINDS = (
    ("2.1,3,4.1", 35),  # flammables
    ("8", 20),  # corrosives
    ("6.1", 15),  # toxics
    ("5.1", 10),  # oxidizers
    ("9", 20),  # general
)
ZONED_NEEDS = 0.35  # of needs deliver into a zone ...
SHARED_ZONE_NEEDS = 0.1  # ... of which this share into a shared warehouse of the park
LICENSED_ZONE_PICK = 0.85  # a zoned need picks a zone licensed for its material this often
SHARED_WAREHOUSE_LOTS = 0.1  # lots stored in the park's shared warehouse
SHARED_LOTS = 0.03  # listings offering the lot of the listing before them
TIGHT_ZONES = 0.3  # zones with needs whose room is less than the needs ask
CONTROLLED_EVERY = 10  # one traded material in ten is a controlled chemical
PERMIT_HOLDERS = 0.4  # enterprises holding permits
EXPIRED_PERMITS = 0.15


@dataclass
class Market:
    size: int
    materials_traded: int
    build_s: float
    zones: int = 0
    shared_zones: int = 0
    lots_shared_by_listings: int = 0
    zoned_needs: int = 0
    shared_zone_needs: int = 0
    unlicensed_zone_needs: int = 0  # the zone is not licensed for the need's own material
    zones_asked: int = 0  # zones that needs deliver into
    zones_tight: int = 0  # of those, room (capacity - stock) < what their needs ask
    controlled_materials: int = 0
    controlled_needs: int = 0
    permits: int = 0
    permit_holders: int = 0


def _material_flags(position: int, traded: int) -> dict[str, Any]:
    """The controls of the ``position``-th catalogue material (only traded ones have any)."""
    if position >= traded or position % CONTROLLED_EVERY != 3:
        return {}
    kind = (position // CONTROLLED_EVERY) % 4
    if kind == 0:
        return {"highly_toxic": True}
    if kind == 1:
        return {"explosive_precursor": True}
    if kind == 2:
        return {"drug_precursor_category": 1}
    return {"drug_precursor_category": 2 + position % 2, "explosive_precursor": position % 3 == 0}


def _family(position: int, primary_class: str) -> str:
    """Some corrosives are acids and some toxics cyanides: never in one warehouse."""
    if primary_class == "8" and position % 3 == 0:
        return "acid"
    if primary_class == "6.1" and position % 3 == 1:
        return "cyanide"
    return ""


class _Placement:
    """Where stock may go: the zones' licences and the hazards stored so far, asked through
    the one admission rule (``inventory.admission``), as a receipt would be."""

    def __init__(self, zones: list[Any]) -> None:
        self.zone = {z.pk: z for z in zones}
        self.stored: dict[int, set[Any]] = {z.pk: set() for z in zones}
        self.of_warehouse: dict[int, list[int]] = {}
        for z in zones:
            self.of_warehouse.setdefault(z.warehouse_id, []).append(z.pk)
        self.version: dict[int, int] = dict.fromkeys(self.of_warehouse, 0)
        self._verdicts: dict[tuple[int, int, Any], bool] = {}

    def licensed(self, zone_id: int, profile: Any) -> bool:
        return set(profile.classes) <= set(self.zone[zone_id].allowed_classes)

    def admits(self, zone_id: int, profile: Any) -> bool:
        from inventory.admission import ZonePicture, admission_refusal

        zone = self.zone[zone_id]
        key = (zone_id, self.version[zone.warehouse_id], profile)
        verdict = self._verdicts.get(key)
        if verdict is None:
            in_zone = self.stored[zone_id]
            in_building: set[Any] = set()
            in_warehouse: set[Any] = set()
            for other in self.of_warehouse[zone.warehouse_id]:
                if other != zone_id:
                    same = self.zone[other].building == zone.building
                    (in_building if same else in_warehouse).update(self.stored[other])
            picture = ZonePicture(
                label=zone.code,
                licensed=frozenset(zone.allowed_classes),
                free_kg=Decimal("1e9"),
                in_zone=tuple(in_zone),
                in_building=tuple(in_building),
                in_warehouse=tuple(in_warehouse),
            )
            refusal = admission_refusal(picture=picture, incoming=profile, quantity_kg=Decimal(1))
            verdict = self._verdicts[key] = refusal is None
        return verdict

    def store(self, zone_id: int, profile: Any) -> None:
        if profile not in self.stored[zone_id]:
            self.stored[zone_id].add(profile)
            self.version[self.zone[zone_id].warehouse_id] += 1


def build_market(size: int) -> Market:
    """Parks, enterprises, warehouses, zones, materials and permits by the ORM; lots,
    receipts, listings and needs by COPY; then the zones' capacities from what is stored
    in them and what needs ask. Returns when VACUUM ANALYZE is done."""
    from django.db import connection, transaction

    from inventory.controls import PermitKind
    from inventory.hazards import HazardProfile
    from inventory.models import (
        Material,
        Permit,
        PhysicalState,
        StockLot,
        StockMovement,
        StorageZone,
        Warehouse,
    )
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
        # One warehouse per enterprise, and one shared warehouse (共享仓) per park.
        warehouses = Warehouse.objects.bulk_create(
            [
                *(
                    Warehouse(
                        code=f"bench-w{e.pk}",
                        name=f"Warehouse of {e.name_en}",
                        park=e.park,
                        owner=e,
                        latitude=e.latitude,
                        longitude=e.longitude,
                    )
                    for e in enterprises
                ),
                *(
                    Warehouse(
                        code=f"bench-shared-{p.pk}",
                        name=f"Shared warehouse of {p.name_en}",
                        park=p,
                        owner=None,
                        latitude=p.latitude,
                        longitude=p.longitude,
                    )
                    for p in parks
                ),
            ]
        )
        # Enterprise warehouses: 2-4 zones of different licences in 1-2 buildings; shared
        # ones: a zone of every licence in two buildings. Capacities are set further down.
        kinds = [kind for kind, _weight in ZONE_KINDS]
        kind_weights = [weight for _kind, weight in ZONE_KINDS]
        zone_rows = []
        for w in warehouses:
            if w.owner_id is None:
                picked, buildings = list(kinds), 2
            else:
                picked = []
                pool, zone_weights = list(kinds), list(kind_weights)
                for _ in range(rng.randint(2, 4)):
                    drawn = rng.choices(range(len(pool)), zone_weights)[0]
                    picked.append(pool.pop(drawn))
                    zone_weights.pop(drawn)
                buildings = rng.randint(1, 2)
            for position, kind in enumerate(picked):
                zone_rows.append(
                    StorageZone(
                        warehouse=w,
                        code=f"Z{position + 1}",
                        building=f"B{position % buildings + 1}",
                        capacity_kg=Decimal(0),
                        allowed_classes=kind.split(","),
                    )
                )
        zones = StorageZone.objects.bulk_create(zone_rows)
        classes, weights = zip(*CLASSES, strict=True)
        materials = Material.objects.bulk_create(
            Material(
                name_zh=f"基准化学品 {i}",
                name_en=f"Bench chemical {i}",
                cas=_cas(i),
                primary_class=(cls := rng.choices(classes, weights)[0]),
                subsidiary_classes=[],
                physical_state="liquid" if cls in ("3", "8", "6.1") else "solid",
                family=_family(i, cls),
                **_material_flags(i, traded),
            )
            for i in range(MATERIALS)
        )
        active = materials[:traded]
        controlled = [
            m
            for m in active
            if m.highly_toxic or m.explosive_precursor or m.drug_precursor_category
        ]
        # Permits: some enterprises hold one or two, some expired, some naming materials.
        permit_kinds = list(PermitKind.values)
        permits, permit_materials = [], []
        for holder in enterprises:
            if rng.random() >= PERMIT_HOLDERS:
                continue
            for permit_kind in rng.sample(permit_kinds, rng.randint(1, 2)):
                valid_from = TODAY - timedelta(days=rng.randint(30, 700))
                expires_on = (
                    TODAY - timedelta(days=rng.randint(1, 25))
                    if rng.random() < EXPIRED_PERMITS
                    else TODAY + timedelta(days=rng.randint(30, 1000))
                )
                named = (
                    rng.sample(controlled, min(len(controlled), rng.randint(1, 3)))
                    if controlled and rng.random() < 0.2
                    else []
                )
                permits.append(
                    Permit(
                        enterprise=holder,
                        kind=permit_kind,
                        number=f"BENCH-{holder.pk}-{permit_kind}",
                        valid_from=valid_from,
                        expires_on=expires_on,
                    )
                )
                permit_materials.append(named)
        Permit.objects.bulk_create(permits)
        Permit.materials.through.objects.bulk_create(
            Permit.materials.through(permit_id=p.pk, material_id=m.pk)
            for p, named in zip(permits, permit_materials, strict=True)
            for m in named
        )

    profile = {
        m.pk: HazardProfile(
            classes=(m.primary_class,) if m.primary_class else (),
            family=m.family,
            liquid=m.physical_state == PhysicalState.LIQUID,
            label=m.name_en,
        )
        for m in active
    }
    place = _Placement(zones)
    own_zones = {w.owner_id: place.of_warehouse[w.pk] for w in warehouses if w.owner_id}
    shared_zones = {w.park_id: place.of_warehouse[w.pk] for w in warehouses if not w.owner_id}
    stored_kg: dict[int, Decimal] = {z.pk: Decimal(0) for z in zones}
    base_price = {m.pk: rng.uniform(3000, 30000) for m in active}
    market = Market(size=size, materials_traded=traded, build_s=0.0)
    market.zones = len(zones)
    market.shared_zones = sum(len(z) for z in shared_zones.values())
    market.controlled_materials = len(controlled)
    market.permits = len(permits)
    market.permit_holders = len({p.enterprise_id for p in permits})

    lot_id = 0
    lots: list[tuple[Any, ...]] = []
    receipts: list[tuple[Any, ...]] = []
    listings: list[tuple[Any, ...]] = []
    for listing_id in range(1, size + 1):
        quantity = Decimal(round(_log_uniform(rng, 1000, 50000)))
        if lots and rng.random() < SHARED_LOTS:
            # A second listing of the lot before (another price or visibility); the two
            # together offer more than the lot holds.
            seller_id, material_id = lots[-1][2], lots[-1][1]
            market.lots_shared_by_listings += 1
        else:
            material = rng.choice(active)
            material_id = material.pk
            # A seller with a zone that admits the material (licence, segregation).
            while True:
                seller = rng.choice(enterprises)
                shared = rng.random() < SHARED_WAREHOUSE_LOTS
                candidates = shared_zones[seller.park_id] if shared else own_zones[seller.pk]
                admitting = [z for z in candidates if place.admits(z, profile[material_id])]
                if admitting:
                    break
            seller_id = seller.pk
            zone_id = rng.choice(admitting)
            place.store(zone_id, profile[material_id])
            on_hand = quantity + Decimal(round(float(quantity) * rng.uniform(0, 0.2)))
            stored_kg[zone_id] += on_hand
            purity = None if rng.random() < 0.1 else Decimal(f"{rng.uniform(95, 99.9):.3f}")
            expires = None if rng.random() < 0.7 else TODAY + timedelta(days=rng.randint(10, 400))
            lot_id += 1
            lots.append(
                (
                    lot_id,
                    material_id,
                    seller_id,
                    zone_id,
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
        price = Decimal(f"{base_price[material_id] * rng.uniform(0.85, 1.15):.2f}")
        listings.append(
            (
                listing_id,
                seller_id,
                lot_id,
                material_id,
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

    controlled_ids = {m.pk for m in controlled}
    asked_kg: dict[int, Decimal] = defaultdict(Decimal)
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
        zone: int | None = None
        if rng.random() < ZONED_NEEDS:
            shared = rng.random() < SHARED_ZONE_NEEDS
            candidates = shared_zones[buyer.park_id] if shared else own_zones[buyer.pk]
            licensed = [z for z in candidates if place.licensed(z, profile[material.pk])]
            # Mostly a zone licensed for the material; sometimes one that is not (refused).
            if licensed and rng.random() < LICENSED_ZONE_PICK:
                zone = rng.choice(licensed)
            else:
                zone = rng.choice(candidates)
            asked_kg[zone] += quantity
            market.zoned_needs += 1
            market.shared_zone_needs += shared
            market.unlicensed_zone_needs += not place.licensed(zone, profile[material.pk])
        market.controlled_needs += material.pk in controlled_ids
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

    # Capacity = what is stored + the room: for a zone that needs deliver into, a multiple
    # of what they ask (ample mostly, less than asked in TIGHT_ZONES of them); else 20-200 t.
    capacity: list[tuple[int, Decimal]] = []
    for zone_row in zones:
        asked = asked_kg.get(zone_row.pk, Decimal(0))
        if asked:
            tight = rng.random() < TIGHT_ZONES
            room = asked * Decimal(rng.uniform(0.25, 0.9) if tight else rng.uniform(1.2, 4))
            market.zones_asked += 1
            market.zones_tight += tight
        else:
            room = Decimal(rng.uniform(20_000, 200_000))
        capacity.append((zone_row.pk, stored_kg[zone_row.pk] + room.quantize(Decimal(1))))

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_storagezone AS z SET capacity_kg = v.capacity "
                "FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, capacity) WHERE z.id = v.id",
                [[pk for pk, _c in capacity], [c for _pk, c in capacity]],
            )
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
    market.build_s = time.perf_counter() - started
    return market


# --- Baselines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedLimits:
    """A component's shared limits as the engine found them just before solving it: each lot
    offered by several of its listings (grams it has free) and each delivery zone of its
    needs (the room the batch's earlier components left)."""

    lot_of: dict[int, int]  # listing -> lot, only for lots with several listings
    lot_grams: dict[int, int]
    zone_of: dict[int, int]  # need -> delivery zone
    zone_grams: dict[int, int]

    @classmethod
    def before_solve(cls, comp: Any) -> SharedLimits:
        listings_of_lot: dict[int, int] = defaultdict(int)
        for lot_id in comp.lot_of.values():
            listings_of_lot[lot_id] += 1
        shared = {lot_id for lot_id, n in listings_of_lot.items() if n > 1}
        free = comp.deliveries.free_grams if comp.deliveries is not None else {}
        zone_of = dict(comp.zone_of)
        return cls(
            lot_of={k: lot for k, lot in comp.lot_of.items() if lot in shared},
            lot_grams={lot: comp.shared_lot_grams[lot] for lot in shared},
            zone_of=zone_of,
            zone_grams={z: max(0, free[z]) for z in set(zone_of.values())},
        )

    def asked_beyond_room(self, comp: Any) -> int:
        """Zones whose needs in this component ask for more than the zone has room for."""
        asked: dict[int, int] = defaultdict(int)
        for need_id, zone_id in self.zone_of.items():
            asked[zone_id] += comp.demand_grams[need_id]
        return sum(1 for z, g in asked.items() if self.zone_grams[z] < g)


def greedy(comp: Any, arcs: Any, limits: SharedLimits) -> tuple[int, int]:
    """Cheapest arc first, as much as the listing, the need, a shared lot and the delivery
    zone still allow."""
    listing_ids = [s.listing_id for s in comp.supplies]
    need_ids = [d.need_id for d in comp.demands]
    supply_left = [comp.supply_grams[k] for k in listing_ids]
    demand_left = [comp.demand_grams[k] for k in need_ids]
    lot_left = dict(limits.lot_grams)
    zone_left = dict(limits.zone_grams)
    order = sorted(range(len(arcs)), key=lambda k: (int(arcs.cost_fen[k]), k))
    grams = cost = 0
    for k in order:
        i, j = int(arcs.supply[k]), int(arcs.demand[k])
        lot = limits.lot_of.get(listing_ids[i])
        zone = limits.zone_of.get(need_ids[j])
        x = min(
            supply_left[i],
            demand_left[j],
            lot_left[lot] if lot is not None else supply_left[i],
            zone_left[zone] if zone is not None else demand_left[j],
        )
        if x > 0:
            supply_left[i] -= x
            demand_left[j] -= x
            if lot is not None:
                lot_left[lot] -= x
            if zone is not None:
                zone_left[zone] -= x
            grams += x
            cost += x * int(arcs.cost_fen[k])
    return grams, cost


def lp_optimum(comp: Any, arcs: Any, limits: SharedLimits) -> tuple[float, float]:
    """Independent two-stage LP (scipy HiGHS): max Σx, then min Σcx with Σx fixed. One row
    per listing, per need, per lot shared by several listings (Σ over its listings ≤ what
    it has free) and per delivery zone (Σ into the zone ≤ its room as the engine saw it)."""
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n_arcs = len(arcs)
    if n_arcs == 0:
        return 0.0, 0.0
    listing_ids = [s.listing_id for s in comp.supplies]
    need_ids = [d.need_id for d in comp.demands]
    m = len(listing_ids)
    arc_ids = np.arange(n_arcs)
    rows = [arcs.supply, m + arcs.demand]
    cols = [arc_ids, arc_ids]
    bounds: list[int] = [comp.supply_grams[k] for k in listing_ids]
    bounds += [comp.demand_grams[k] for k in need_ids]
    for side, keys, of, grams in (
        (arcs.supply, listing_ids, limits.lot_of, limits.lot_grams),
        (arcs.demand, need_ids, limits.zone_of, limits.zone_grams),
    ):
        groups = sorted(grams)
        row_of = {g: len(bounds) + r for r, g in enumerate(groups)}
        bounds += [grams[g] for g in groups]
        node_row = np.array([row_of.get(of.get(k, -1), -1) for k in keys], dtype=np.int64)
        arc_row = node_row[side]
        rows.append(arc_row[arc_row >= 0])
        cols.append(arc_ids[arc_row >= 0])
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    height = len(bounds)
    a_ub = coo_matrix((np.ones(len(row)), (row, col)), shape=(height, n_arcs)).tocsr()
    b_ub = np.array(bounds, dtype=float)
    first = linprog(-np.ones(n_arcs), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs-ds")
    if first.status != 0:
        raise RuntimeError(f"LP stage 1: {first.message}")
    quantity = -first.fun
    a2 = coo_matrix(
        (
            np.concatenate([np.ones(len(row)), -np.ones(n_arcs)]),
            (np.concatenate([row, np.full(n_arcs, height)]), np.concatenate([col, arc_ids])),
        ),
        shape=(height + 1, n_arcs),
    ).tocsr()
    b2 = np.append(b_ub, -quantity * (1 - 1e-12))
    second = linprog(
        arcs.cost_fen.astype(float), A_ub=a2, b_ub=b2, bounds=(0, None), method="highs-ds"
    )
    if second.status != 0:
        raise RuntimeError(f"LP stage 2: {second.message}")
    return float(second.x.sum()), float(second.fun)


@dataclass
class Check:
    """A full run on unchanged data with every component checked as the engine solves it."""

    components: int = 0
    listings: int = 0
    needs: int = 0
    arcs: int = 0
    moq_components: int = 0  # solved by the MILP: the LP is then only the relaxed bound
    shared_lot_rows: int = 0
    zone_rows: int = 0
    zones_beyond_room: int = 0  # zone rows whose needs ask for more than its room
    engine_grams: int = 0
    engine_micro_fen: int = 0
    greedy_grams: int = 0
    greedy_micro_fen: int = 0
    lp_grams: float = 0.0
    lp_micro_fen: float = 0.0
    components_off: int = 0  # engine and LP differ by > 1 g or > TARGET_REL_COST
    # Pairs every other rule allows that the delivery zone (by check) or the buyer's
    # permits refuse: what the new rules take away.
    refused: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("licence", "capacity", "segregation", "permit"), 0)
    )
    check_s: float = 0.0


def count_refusals(comp: Any, *, today: date, into: dict[str, int]) -> None:
    """Add the component's pairs that only admission (by check) or only the permit rule
    refuses, with the zone pictures the engine solved it with."""
    import numpy as np

    from inventory.admission import admission_refusal
    from matching.arcs import MASKS, DemandArrays, Grid, SupplyArrays
    from matching.feasibility import ONE_GRAM

    if not comp.supplies or not comp.demands:
        return
    grid = Grid(
        s=SupplyArrays.of(comp.supplies),
        d=DemandArrays.of(comp.demands),
        today=today.toordinal(),
        supplies=comp.supplies,
        demands=comp.demands,
    )
    masks = {rule.__name__: rule(grid) for rule in MASKS}
    admitted = masks.pop("admitted_at_delivery")
    permitted = masks.pop("buyer_permitted")
    others = np.logical_and.reduce(list(masks.values()))
    into["permit"] += int((others & admitted & ~permitted).sum())
    checks: dict[tuple[Any, Any], str] = {}
    for i, j in zip(*np.nonzero(others & permitted & ~admitted), strict=True):
        key = (comp.supplies[i].hazard, comp.demands[j].delivery)
        check = checks.get(key)
        if check is None:
            refusal = admission_refusal(picture=key[1], incoming=key[0], quantity_kg=ONE_GRAM)
            check = checks[key] = refusal.check if refusal is not None else "none"
        into[check] = into.get(check, 0) + 1


def checked_run(*, with_lp: bool) -> tuple[dict[str, Any], Check]:
    """A full rematch in this process in which each component, just before the engine's
    ``solve`` takes it, has its shared limits read (the room ``solve`` then consumes for the
    components after it), and after it is compared with greedy and the LP on the arcs the
    engine built. Not timed: the checks run inside the run."""
    from unittest import mock

    from matching.services import engine

    check = Check()
    original = engine.solve

    def solve_and_check(comp: Any, *, today: date) -> Any:
        limits = SharedLimits.before_solve(comp)
        solved = original(comp, today=today)
        started = time.perf_counter()
        arcs = solved.arcs
        check.components += 1
        check.listings += len(comp.supplies)
        check.needs += len(comp.demands)
        check.arcs += len(arcs)
        check.moq_components += int(solved.with_minimums)
        check.shared_lot_rows += len(limits.lot_grams)
        check.zone_rows += len(limits.zone_grams)
        check.zones_beyond_room += limits.asked_beyond_room(comp)
        check.engine_grams += solved.matched_grams
        check.engine_micro_fen += solved.cost_micro_fen
        g, c = greedy(comp, arcs, limits)
        check.greedy_grams += g
        check.greedy_micro_fen += c
        count_refusals(comp, today=today, into=check.refused)
        if with_lp:
            lg, lc = lp_optimum(comp, arcs, limits)
            check.lp_grams += lg
            check.lp_micro_fen += lc
            off_cost = abs(solved.cost_micro_fen - lc) > TARGET_REL_COST * max(lc, 1.0)
            check.components_off += int(abs(solved.matched_grams - lg) > 1 or off_cost)
        check.check_s += time.perf_counter() - started
        return solved

    with mock.patch.object(engine, "solve", solve_and_check):
        run = full_inline()
    return run, check


def admission_check() -> dict[str, int]:
    """``matching.audit.admission_violations`` as counts."""
    from matching.audit import admission_violations

    v = admission_violations()

    def count(value: Any) -> int:
        return value if isinstance(value, int) else len(value)

    return {
        "checked": v.checked,
        "zones": v.zones,
        "licence": count(v.licence),
        "segregation": count(v.segregation),
        "capacity": count(v.capacity),
        "total": v.total,
    }


def deliveries_served() -> dict[str, int]:
    """Needs into zones and how many got proposals; zones whose room (capacity − stock)
    is less than their open needs ask, and zones the live proposals fill to the kilogram."""
    from django.db.models import Sum

    from inventory.models import StorageZone
    from marketplace.models import Need, NeedStatus
    from matching.models import LIVE, Match

    zoned = Need.objects.filter(status=NeedStatus.OPEN, delivery_zone__isnull=False)
    live = Match.objects.filter(status__in=LIVE, need__delivery_zone__isnull=False)
    room = {
        pk: capacity - on_hand
        for pk, capacity, on_hand in StorageZone.objects.annotate(
            on_hand=Sum("lots__on_hand_kg", default=Decimal(0))
        ).values_list("pk", "capacity_kg", "on_hand")
    }
    asked = dict(zoned.values_list("delivery_zone_id").annotate(kg=Sum("quantity_kg")).order_by())
    proposed = dict(
        live.values_list("need__delivery_zone_id").annotate(kg=Sum("quantity_kg")).order_by()
    )
    return {
        "zoned_needs": zoned.count(),
        "zoned_needs_served": live.values("need_id").distinct().count(),
        "zones_asked": len(asked),
        "zones_asked_beyond_room": sum(1 for z, kg in asked.items() if room[z] < kg),
        "zones_served": len(proposed),
        "zones_filled": sum(1 for z, kg in proposed.items() if room[z] - kg < 1),
    }


def controlled_served() -> dict[str, int]:
    """Needs and live proposals of controlled materials, and those whose buyer holds no
    valid permit covering the material (``inventory.controls.permit_refusal``)."""
    from django.db.models import Q

    from inventory.controls import Controls, permit_refusal
    from inventory.models import Material
    from inventory.selectors import permits_of
    from marketplace.models import Need, NeedStatus
    from matching.models import LIVE, Match

    controls = {
        m.pk: Controls.of(m)
        for m in Material.objects.filter(
            Q(highly_toxic=True) | Q(explosive_precursor=True) | Q(drug_precursor_category__gt=0)
        )
    }
    needs = list(
        Need.objects.filter(status=NeedStatus.OPEN, material_id__in=controls).values_list(
            "enterprise_id", "material_id"
        )
    )
    proposals = list(
        Match.objects.filter(status__in=LIVE, material_id__in=controls).values_list(
            "buyer_id", "material_id"
        )
    )
    permits = permits_of({b for b, _m in needs + proposals}, valid_on=TODAY)

    def permitted(buyer_id: int, material_id: int) -> bool:
        refusal = permit_refusal(
            material_id=material_id,
            controls=controls[material_id],
            permits=permits[buyer_id],
            today=TODAY,
        )
        return refusal is None

    return {
        "materials": len(controls),
        "needs": len(needs),
        "needs_permitted": sum(permitted(b, m) for b, m in needs),
        "proposals": len(proposals),
        "proposals_unpermitted": sum(not permitted(b, m) for b, m in proposals),
    }


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


def full_inline() -> dict[str, Any]:
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
        "cost_yuan": float(run.cost_yuan),
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


def _violations_line(label: str, v: dict[str, int]) -> None:
    print(
        f"  admission check after {label}: {v['checked']:,} live matches into {v['zones']:,} "
        f"zones; licence {v['licence']}, segregation {v['segregation']}, capacity "
        f"{v['capacity']} (target 0)"
    )


def _checked(label: str) -> dict[str, Any]:
    run = full_inline()
    run["violations"] = admission_check()
    _violations_line(label, run["violations"])
    return run


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
        f"(built in {market.build_s:.1f} s)\n"
        f"zones {market.zones:,} ({market.shared_zones} in shared warehouses); needs into a "
        f"zone {market.zoned_needs:,} ({market.shared_zone_needs:,} shared, "
        f"{market.unlicensed_zone_needs:,} into a zone not licensed for their material); zones "
        f"asked into {market.zones_asked:,}, of which {market.zones_tight:,} with less room "
        f"than asked; lots offered by two listings {market.lots_shared_by_listings:,}; "
        f"controlled materials {market.controlled_materials} ({market.controlled_needs:,} "
        f"needs), {market.permits} permits held by {market.permit_holders} enterprises"
    )

    from marketplace.models import Listing, Need
    from matching.loading import components_all

    components = components_all()
    largest = max(components, key=len)
    grid = (
        Listing.objects.filter(material_id__in=largest).count()
        * Need.objects.filter(material_id__in=largest).count()
    )
    print(
        f"components {len(components)}, the largest of {len(largest)} materials "
        f"({grid:,} listing × need cells in its feasibility grid)"
    )
    if grid > MAX_GRID_CELLS:
        print(
            f"  SKIPPED: the engine builds a dense grid per component; {grid:,} cells is "
            f"beyond what this machine holds (> {MAX_GRID_CELLS:,})"
        )
        return {
            "size": size,
            "market": asdict(market),
            "components": len(components),
            "largest_component_materials": len(largest),
            "largest_component_cells": grid,
            "skipped": "largest component too large for the dense feasibility grid",
        }

    fresh = []
    for n in range(args.repeat):
        clear_proposals()
        fresh.append(_checked(f"fresh run {n + 1}"))
    unchanged = [_checked(f"unchanged run {n + 1}") for n in range(args.repeat)]
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

    checked, q = checked_run(with_lp=not args.no_lp)
    checked["violations"] = admission_check()
    _violations_line("the checked run", checked["violations"])
    feasible_per_need = q.arcs / q.needs if q.needs else 0.0
    print(
        f"components {q.components}, feasible pairs {q.arcs:,}, feasible listings per need "
        f"{feasible_per_need:.1f}; rows of shared lots {q.shared_lot_rows}, of delivery zones "
        f"{q.zone_rows:,} ({q.zones_beyond_room:,} asked beyond their room); components with "
        f"minimum orders {q.moq_components}"
    )
    print(
        "pairs only the new rules refuse: zone licence {licence:,}, zone room {capacity:,}, "
        "segregation {segregation:,}, buyer's permit {permit:,}".format_map(q.refused)
    )
    served = deliveries_served()
    print(
        f"needs into a zone {served['zoned_needs']:,}, with proposals "
        f"{served['zoned_needs_served']:,}; zones asked into {served['zones_asked']:,}, room < "
        f"asked {served['zones_asked_beyond_room']:,}; zones with proposals "
        f"{served['zones_served']:,}, filled to their room {served['zones_filled']:,}"
    )
    controlled = controlled_served()
    print(
        f"controlled materials {controlled['materials']}: needs {controlled['needs']:,} "
        f"({controlled['needs_permitted']:,} of buyers with a valid permit covering it), "
        f"proposals {controlled['proposals']:,}, to buyers without one "
        f"{controlled['proposals_unpermitted']} (target 0)"
    )

    grams, cost = proposals_totals()
    if (grams, cost) != (q.engine_grams, Fraction(q.engine_micro_fen)):
        print(
            f"  ODD: the proposals in the database ({grams} g, {float(cost)} µfen) are not the "
            f"engine's solutions ({q.engine_grams} g, {q.engine_micro_fen} µfen)"
        )
    result: dict[str, Any] = {
        "size": size,
        "market": asdict(market),
        "materials_traded": market.materials_traded,
        "build_s": market.build_s,
        "components": q.components,
        "feasible_pairs": q.arcs,
        "feasible_listings_per_need": feasible_per_need,
        "fresh": fresh,
        "unchanged": unchanged,
        "checked_run": checked,
        "check": asdict(q),
        "deliveries": served,
        "controlled": controlled,
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
        rel_cost = abs(float(cost) - q.lp_micro_fen) / q.lp_micro_fen if q.lp_micro_fen else 0.0
        rel_qty = abs(grams - q.lp_grams) / q.lp_grams if q.lp_grams else 0.0
        result.update(
            lp_t=q.lp_grams / 1e6,
            lp_cost_yuan=q.lp_micro_fen / 1e8,
            lp_rel_quantity=rel_qty,
            lp_rel_cost=rel_cost,
            lp_components_off=q.components_off,
        )
        print(
            f"LP opt  {q.lp_grams / 1e6:,.3f} t at {q.lp_micro_fen / 1e8:,.2f} CNY; engine "
            f"quantity {grams - q.lp_grams:+.1f} g (relative {rel_qty:.2e}), cost relative "
            f"difference {rel_cost:.2e} (target ≤ {TARGET_REL_COST:g}); components off "
            f"{q.components_off}"
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
        worker_violations = {}
        for concurrency in (1, 2):
            clear_proposals()
            walls[concurrency] = full_with_workers(concurrency, args.broker)
            print(
                f"full rematch fanned out, {concurrency} worker process(es): "
                f"{walls[concurrency]:.2f} s"
            )
            worker_violations[concurrency] = admission_check()
            _violations_line(f"{concurrency} worker process(es)", worker_violations[concurrency])
        result["workers_s"] = walls
        result["workers_violations"] = worker_violations
        print(f"2 workers / 1 worker: {walls[2] / walls[1]:.2f}")
    return result


#: Outbox events the engine wrote, whose delivery after commit was left out of the timing.
EVENTS_DEFERRED = [0]


def defer_outbox_delivery() -> None:
    """Time the engine, not its consumers. With a broker, what follows a run's commit is a
    few task sends (one fan-out per OUTBOX_FANOUT_BATCH events, common.events) and the
    fan-out, notifications and webhooks run on workers (measured by bench/notify.py). In
    this process tasks would run eagerly, inline after each commit, so the sends are
    counted instead of run; the events are still written in the run's transaction (timed)."""
    from common import events

    def counted(event_ids: list[int] | int) -> None:
        EVENTS_DEFERRED[0] += len(event_ids) if isinstance(event_ids, list) else 1

    events._fanout_many_after_commit = counted


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
    defer_outbox_delivery()
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "sizes": [bench_size(int(s), config, args) for s in args.sizes.split(",")],
    }
    print(f"\noutbox events written by the runs (delivered asynchronously): {EVENTS_DEFERRED[0]}")
    results["outbox_events_deferred"] = EVENTS_DEFERRED[0]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
