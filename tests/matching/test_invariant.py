"""The engine's invariant on random worlds: every proposal it makes can be ordered and
received, and it matches as much as an independent optimum allows.

Hypothesis draws small worlds — buyers' zones with licences, capacities and stock in one or
two buildings; sellers' lots shared by several listings, some expired, some with minimum
orders; needs with substitutes, past dates, price limits; controlled chemicals and permits
— and the engine rematches them. Then:

1. ``matching.audit`` finds no live match its zone would refuse;
2. every proposal is accepted by both sides, ordered, confirmed, dispatched and received
   into the need's zone through the real services (no step may fail);
3. the matched quantity equals the optimum of an independent MILP (scipy's HiGHS) built
   here from the database rows and the scalar feasibility rules: a row per listing, need,
   lot and zone room, a semi-continuous arc per minimum order. Where two materials that
   segregation keeps apart could both be delivered into one warehouse, the best choice
   between them is a combinatorial problem the flow network does not model (the engine
   takes the first component's and stays admissible), so there the optimum is an upper
   bound: the engine matches no more.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from inventory.admission import ZonePicture, allowed_separation
from inventory.controls import Controls, PermitFacts, PermitKind
from inventory.exceptions import CapacityExceeded, IncompatibleStorage
from inventory.hazards import HazardProfile, required_separation
from inventory.models import Permit, StockLot, StorageZone
from inventory.services import stock_receive
from marketplace.models import Listing, Need
from marketplace.services import listing_create, need_create
from matching.audit import admission_violations
from matching.cost import to_grams
from matching.feasibility import DemandSide, SupplySide, check_pair
from matching.models import Match, MatchStatus, RunTrigger
from matching.services.decisions import match_accept
from matching.services.runs import run_materials
from orders.services import order_confirm, order_dispatch, order_from_match, order_receive
from tests import factories as f

World = dict[str, Any]

KINDS: dict[str, dict[str, Any]] = {
    "plain": {"primary_class": "", "physical_state": "liquid"},
    "flammable": {"primary_class": "3", "un_number": "1294", "physical_state": "liquid"},
    "acid": {"primary_class": "8", "family": "acid", "physical_state": "liquid"},
    "oxidizer": {"primary_class": "5.1", "physical_state": "solid"},
    "cyanide": {
        "primary_class": "6.1",
        "family": "cyanide",
        "physical_state": "solid",
        "highly_toxic": True,
    },
}
LICENCES = ["3", "8", "5.1", "6.1"]


@dataclass(frozen=True)
class ZoneSpec:
    building: str
    licensed: tuple[str, ...]
    capacity_kg: int
    stock: tuple[int, int] | None  # (material index, kg)


@dataclass(frozen=True)
class LotSpec:
    seller: str
    material: int
    kg: int
    expired: bool
    listings: tuple[tuple[int, int, int], ...]  # (kg, price, minimum order)


@dataclass(frozen=True)
class NeedSpec:
    buyer: str
    material: int
    substitutes: tuple[int, ...]
    kg: int
    zone: int | None  # index among the buyer's zones; None: a delivery point
    max_price: int | None
    passed: bool


@dataclass(frozen=True)
class WorldSpec:
    kinds: tuple[str, ...]  # one per material
    zones: dict[str, tuple[ZoneSpec, ...]]  # buyer -> its zones (one warehouse)
    lots: tuple[LotSpec, ...]
    needs: tuple[NeedSpec, ...]
    permits: frozenset[str]  # buyers holding a safe-use licence


@st.composite
def worlds(draw: st.DrawFn) -> WorldSpec:
    kinds = tuple(draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=2, max_size=3)))
    n = len(kinds)
    material = st.integers(0, n - 1)
    zones = {
        buyer: tuple(
            ZoneSpec(
                building=draw(st.sampled_from(["B1", "B2"])),
                licensed=tuple(draw(st.lists(st.sampled_from(LICENCES), unique=True, min_size=1))),
                capacity_kg=draw(st.sampled_from([300, 800, 2000, 8000])),
                stock=draw(st.none() | st.tuples(material, st.sampled_from([50, 200]))),
            )
            for _ in range(draw(st.integers(1, 2)))
        )
        for buyer in ("b", "c")
    }
    lots = tuple(
        LotSpec(
            seller=draw(st.sampled_from(["a1", "a2"])),
            material=draw(material),
            kg=draw(st.sampled_from([400, 1000, 2500])),
            expired=draw(st.booleans()) and draw(st.booleans()),
            listings=tuple(
                (
                    draw(st.sampled_from([300, 600, 1000, 2500])),
                    draw(st.sampled_from([1000, 2000, 3000])),
                    draw(st.sampled_from([0, 0, 0, 200, 500])),
                )
                for _ in range(draw(st.integers(1, 2)))
            ),
        )
        for _ in range(draw(st.integers(2, 5)))
    )
    needs = []
    for _ in range(draw(st.integers(2, 6))):
        buyer = draw(st.sampled_from(["b", "c"]))
        m = draw(material)
        alike = [j for j in range(n) if j != m and kinds[j] == kinds[m]]
        needs.append(
            NeedSpec(
                buyer=buyer,
                material=m,
                substitutes=tuple(draw(st.lists(st.sampled_from(alike), unique=True)))
                if alike
                else (),
                kg=draw(st.sampled_from([100, 500, 1200, 3000])),
                zone=draw(st.integers(0, len(zones[buyer]) - 1))
                if draw(st.integers(0, 4))
                else None,
                max_price=draw(st.none() | st.just(2500)),
                passed=draw(st.integers(0, 9)) == 0,
            )
        )
    permits = frozenset(draw(st.sets(st.sampled_from(["b", "c"]))))
    return WorldSpec(kinds, zones, lots, tuple(needs), permits)


# --- building the world -------------------------------------------------------------------


def _people(world: World) -> dict[str, dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {}
    for key in ("a1", "a2", "b", "c"):
        enterprise = world["enterprises"][key]
        people[key] = {
            role: f.MembershipFactory.create(enterprise=enterprise, role=role).user
            for role in ("trader", "warehouse_keeper")
        }
    return people


def build(spec: WorldSpec, world: World) -> dict[str, Any]:
    today = date.today()
    ents = world["enterprises"]
    materials = [f.MaterialFactory.create(**KINDS[k]) for k in spec.kinds]
    zones: dict[str, list[StorageZone]] = {}
    for buyer, specs in spec.zones.items():
        warehouse = f.WarehouseFactory.create(owner=ents[buyer])
        zones[buyer] = []
        for z in specs:
            zone = f.StorageZoneFactory.create(
                warehouse=warehouse,
                building=z.building,
                allowed_classes=list(z.licensed),
                capacity_kg=Decimal(z.capacity_kg),
            )
            zones[buyer].append(zone)
            if z.stock is not None:
                # A zone that refuses the stock stays empty.
                with contextlib.suppress(IncompatibleStorage, CapacityExceeded):
                    stock_receive(
                        actor=None,
                        owner=ents[buyer],
                        material=materials[z.stock[0]],
                        zone=zone,
                        quantity_kg=Decimal(z.stock[1]),
                    )
    for lot_spec in spec.lots:
        # Each lot in a warehouse of its own: sellers' segregation is not under test.
        zone = f.StorageZoneFactory.create(
            warehouse=f.WarehouseFactory.create(owner=ents[lot_spec.seller])
        )
        lot = stock_receive(
            actor=None,
            owner=ents[lot_spec.seller],
            material=materials[lot_spec.material],
            zone=zone,
            quantity_kg=Decimal(lot_spec.kg),
            expires_on=today if lot_spec.expired else today + timedelta(days=90),
        )
        for kg, price, minimum in lot_spec.listings:
            listing_create(
                actor=None,
                seller=ents[lot_spec.seller],
                lot=lot,
                quantity_kg=Decimal(min(kg, lot_spec.kg)),
                price_per_t=Decimal(price),
                min_order_kg=Decimal(min(minimum, kg, lot_spec.kg)),
                available_from=today - timedelta(days=1),
                visibility="all",
                publish=True,
            )
    for need_spec in spec.needs:
        place: dict[str, Any] = {
            "delivery_latitude": Decimal("29.950000"),
            "delivery_longitude": Decimal("121.710000"),
        }
        if need_spec.zone is not None:
            place = {"delivery_zone": zones[need_spec.buyer][need_spec.zone]}
        need = need_create(
            actor=None,
            enterprise=ents[need_spec.buyer],
            material=materials[need_spec.material],
            quantity_kg=Decimal(need_spec.kg),
            needed_by=today + timedelta(days=30),
            max_price_per_t=None if need_spec.max_price is None else Decimal(need_spec.max_price),
            substitutes=[materials[j] for j in need_spec.substitutes],
            **place,
        )
        if need_spec.passed:
            Need.objects.filter(pk=need.pk).update(needed_by=today - timedelta(days=1))
    for buyer in spec.permits:
        Permit.objects.create(
            enterprise=ents[buyer],
            kind=PermitKind.SAFE_USE_LICENCE,
            number=f"AQSY-{buyer}",
            valid_from=today - timedelta(days=30),
            expires_on=today + timedelta(days=300),
        )
    return {"materials": materials, "zones": zones}


# --- the independent optimum --------------------------------------------------------------


def _hazard(material: Any) -> HazardProfile:
    return material.hazard_profile


def independent_optimum(today: date) -> int:
    """The most grams any allocation can match (see the module doc), from the rows."""
    listings = list(
        Listing.objects.filter(status="published").select_related(
            "lot__material", "lot__zone__warehouse", "seller__park"
        )
    )
    needs = list(
        Need.objects.filter(status="open")
        .select_related("enterprise__park", "delivery_zone__warehouse", "material")
        .prefetch_related("substitutes")
    )
    permits: dict[int, tuple[PermitFacts, ...]] = defaultdict(tuple)
    for p in Permit.objects.all():
        permits[p.enterprise_id] += (PermitFacts(p.kind, frozenset(), p.valid_from, p.expires_on),)
    stock: dict[int, list[tuple[StorageZone, HazardProfile]]] = defaultdict(list)
    on_hand: dict[int, Decimal] = defaultdict(Decimal)
    for lot in StockLot.objects.filter(on_hand_kg__gt=0).select_related("zone", "material"):
        stock[lot.zone.warehouse_id].append((lot.zone, _hazard(lot.material)))
        on_hand[lot.zone_id] += lot.on_hand_kg

    def picture(zone: StorageZone) -> ZonePicture:
        around: dict[str, list[HazardProfile]] = {"zone": [], "building": [], "warehouse": []}
        for other, hazard in stock[zone.warehouse_id]:
            if other.pk == zone.pk:
                around["zone"].append(hazard)
            elif other.building == zone.building:
                around["building"].append(hazard)
            else:
                around["warehouse"].append(hazard)
        return ZonePicture(
            label=str(zone),
            licensed=frozenset(zone.allowed_classes),
            free_kg=zone.capacity_kg - on_hand[zone.pk],
            in_zone=tuple(around["zone"]),
            in_building=tuple(around["building"]),
            in_warehouse=tuple(around["warehouse"]),
        )

    supplies = [
        SupplySide(
            listing_id=x.pk,
            seller_id=x.seller_id,
            seller_park_id=x.seller.park_id,
            seller_region_code=x.seller.park.region_code,
            material_id=x.material_id,
            price_per_t=x.price_per_t,
            quantity_kg=min(x.quantity_kg, x.lot.on_hand_kg - x.lot.reserved_kg),
            min_order_kg=x.min_order_kg,
            available_from=x.available_from,
            available_until=x.available_until,
            visibility=x.visibility,
            purity_pct=x.lot.purity_pct,
            expires_on=x.lot.expires_on,
            warehouse_latitude=x.lot.zone.warehouse.latitude,
            warehouse_longitude=x.lot.zone.warehouse.longitude,
            hazard=_hazard(x.lot.material),
            controls=Controls.of(x.lot.material),
        )
        for x in listings
    ]
    demands = []
    for need in needs:
        zone = need.delivery_zone
        if zone is not None:
            latitude, longitude = zone.warehouse.latitude, zone.warehouse.longitude
        else:
            assert need.delivery_latitude is not None and need.delivery_longitude is not None
            latitude, longitude = need.delivery_latitude, need.delivery_longitude
        demands.append(
            DemandSide(
                need_id=need.pk,
                enterprise_id=need.enterprise_id,
                park_id=need.enterprise.park_id,
                region_code=need.enterprise.park.region_code,
                material_id=need.material_id,
                substitute_ids=frozenset(s.pk for s in need.substitutes.all()),
                quantity_kg=need.quantity_kg,
                max_price_per_t=need.max_price_per_t,
                needed_by=need.needed_by,
                delivery_latitude=latitude,
                delivery_longitude=longitude,
                delivery_zone_id=zone.pk if zone else None,
                delivery=picture(zone) if zone else None,
                permits=permits[need.enterprise_id],
            )
        )
    arcs = [
        (i, j)
        for i, s in enumerate(supplies)
        for j, d in enumerate(demands)
        if not check_pair(s, d, today=today)
    ]
    if not arcs:
        return 0
    s_grams = [to_grams(s.quantity_kg) for s in supplies]
    d_grams = [to_grams(d.quantity_kg) for d in demands]
    moq = [min(to_grams(s.min_order_kg), s_grams[i]) for i, s in enumerate(supplies)]
    lots = sorted({x.lot_id for x in listings})
    zones = sorted({d.delivery_zone_id for d in demands if d.delivery_zone_id is not None})
    lot_free = {x.lot_id: to_grams(x.lot.on_hand_kg - x.lot.reserved_kg) for x in listings}
    room = {
        d.delivery_zone_id: max(0, to_grams(d.delivery.free_kg))
        for d in demands
        if d.delivery is not None and d.delivery_zone_id is not None
    }
    k = len(arcs)
    moq_arcs = [a for a, (i, _j) in enumerate(arcs) if moq[i] >= 2]
    n_moq = len(moq_arcs)
    rows = len(supplies) + len(demands) + len(lots) + len(zones) + 2 * n_moq
    a = lil_matrix((rows, k + n_moq))
    upper = np.zeros(rows)
    lower = np.full(rows, -np.inf)
    for col, (i, j) in enumerate(arcs):
        a[i, col] = 1
        a[len(supplies) + j, col] = 1
        a[len(supplies) + len(demands) + lots.index(listings[i].lot_id), col] = 1
        zone_id = demands[j].delivery_zone_id
        if zone_id is not None:
            a[len(supplies) + len(demands) + len(lots) + zones.index(zone_id), col] = 1
    upper[: len(supplies)] = s_grams
    upper[len(supplies) : len(supplies) + len(demands)] = d_grams
    base = len(supplies) + len(demands)
    upper[base : base + len(lots)] = [lot_free[x] for x in lots]
    upper[base + len(lots) : base + len(lots) + len(zones)] = [room[z] for z in zones]
    caps = [min(s_grams[i], d_grams[j]) for i, j in arcs]
    row = base + len(lots) + len(zones)
    for y, col in enumerate(moq_arcs):
        i, _j = arcs[col]
        a[row, col], a[row, k + y] = 1, -moq[i]  # x − m·y ≥ 0
        lower[row], upper[row] = 0, np.inf
        a[row + 1, col], a[row + 1, k + y] = 1, -caps[col]  # x − u·y ≤ 0
        row += 2
    result = milp(
        c=np.concatenate([-np.ones(k), np.zeros(n_moq)]),
        constraints=LinearConstraint(a.tocsr(), lower, upper),
        bounds=Bounds(np.zeros(k + n_moq), np.array(caps + [1] * n_moq, dtype=float)),
        integrality=np.concatenate([np.zeros(k), np.ones(n_moq)]),
        options={"mip_rel_gap": 0, "time_limit": 30},
    )
    assert result.success, result.message
    return round(-result.fun)


def may_conflict(spec: WorldSpec, built: dict[str, Any]) -> bool:
    """Whether two materials that segregation keeps apart could both be delivered into one
    buyer's warehouse as the needs place them (then the optimum is only an upper bound)."""
    materials = built["materials"]
    for buyer, zones in built["zones"].items():
        wanted = [
            (zones[n.zone], _hazard(materials[m]))
            for n in spec.needs
            if n.buyer == buyer and n.zone is not None
            for m in (n.material, *n.substitutes)
        ]
        for (z1, h1), (z2, h2) in combinations(wanted, 2):
            allowed = allowed_separation(
                same_zone=z1.pk == z2.pk, same_building=z1.building == z2.building
            )
            if required_separation(h1, h2).separation > allowed:
                return True
    return False


# --- the invariant ------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_proposal_can_be_ordered_and_received_and_the_quantity_is_optimal(
    world: World,
) -> None:
    people = _people(world)
    seen = {"proposals": 0, "exact": 0}

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(spec=worlds())
    def check(spec: WorldSpec) -> None:
        with transaction.atomic():
            built = build(spec, world)
            today = date.today()
            run_materials(
                material_ids=[m.pk for m in built["materials"]], trigger=RunTrigger.COMMAND
            )
            proposals = list(Match.objects.filter(status=MatchStatus.PROPOSED).order_by("id"))
            matched = sum(to_grams(x.quantity_kg) for x in proposals)
            optimum = independent_optimum(today)
            if may_conflict(spec, built):
                assert matched <= optimum
            else:
                assert matched == optimum
                seen["exact"] += 1
            assert admission_violations().total == 0
            for match in proposals:
                seller = people[_key(world, match.seller_id)]
                buyer = people[_key(world, match.buyer_id)]
                match_accept(actor=seller["trader"], match=match)
                match = match_accept(actor=buyer["trader"], match=match)
                assert match.status == MatchStatus.AGREED
                zone = Need.objects.get(pk=match.need_id).delivery_zone
                if zone is None:
                    continue  # a delivery point: the receipt chooses a zone
                order = order_from_match(actor=buyer["trader"], match=match)
                order = order_confirm(actor=seller["trader"], order=order)
                order = order_dispatch(actor=seller["warehouse_keeper"], order=order)
                order = order_receive(actor=buyer["warehouse_keeper"], order=order, zone=zone)
                assert order.status == "received"
                seen["proposals"] += 1
            transaction.set_rollback(True)

    check()
    # The worlds were not all trivial: proposals were received, optima compared exactly.
    assert seen["proposals"] >= 20
    assert seen["exact"] >= 20


def _key(world: World, enterprise_id: int) -> str:
    return next(k for k, e in world["enterprises"].items() if e.pk == enterprise_id)
