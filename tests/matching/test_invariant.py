"""The engine's invariant on random worlds: every proposal it makes can be ordered and
received, and it matches as much as an independent optimum allows.

Hypothesis draws small worlds — buyers' zones with licences, capacities and stock in one or
two buildings; sellers' lots shared by several listings, some expired, some with minimum
orders; needs with substitutes, past dates, price limits; controlled chemicals and permits
— and the engine rematches them. Then:

1. ``matching.audit`` finds no live match its zone would refuse;
2. every proposal is accepted by both sides, ordered, confirmed, dispatched and received
   into the need's zone through the real services (no step may fail);
3. the matched quantity equals the optimum of an independent MILP (scipy's HiGHS,
   ``tests/matching/optimum.py``) built from the database rows and the scalar feasibility
   rules: a row per listing, need, lot and zone room, a semi-continuous arc per minimum
   order, and a binary per (zone, dangerous material) with two places that segregation
   keeps apart in one warehouse never both chosen.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.scope import SYSTEM, resolve_scope
from inventory.controls import PermitKind
from inventory.exceptions import CapacityExceeded, IncompatibleStorage
from inventory.models import Permit, StorageZone
from inventory.services import stock_receive
from marketplace.models import Need
from marketplace.services import listing_create, need_create
from matching.audit import admission_violations
from matching.cost import to_grams
from matching.models import Match, MatchStatus, RunTrigger
from matching.services.decisions import match_accept
from matching.services.runs import run_materials
from orders.services import order_confirm, order_dispatch, order_from_match, order_receive
from tests import factories as f
from tests.matching.optimum import independent_optimum

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
                        actor=SYSTEM,
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
            actor=SYSTEM,
            owner=ents[lot_spec.seller],
            material=materials[lot_spec.material],
            zone=zone,
            quantity_kg=Decimal(lot_spec.kg),
            expires_on=today if lot_spec.expired else today + timedelta(days=90),
        )
        for kg, price, minimum in lot_spec.listings:
            listing_create(
                actor=SYSTEM,
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
            actor=SYSTEM,
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


# --- the invariant ------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_proposal_can_be_ordered_and_received_and_the_quantity_is_optimal(
    world: World,
) -> None:
    people = _people(world)
    seen = {"proposals": 0}

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
            assert matched == independent_optimum(today, with_conflicts=True)
            assert admission_violations().total == 0
            for match in proposals:
                seller = people[_key(world, match.seller_id)]
                buyer = people[_key(world, match.buyer_id)]
                match_accept(actor=resolve_scope(seller["trader"]), match=match)
                match = match_accept(actor=resolve_scope(buyer["trader"]), match=match)
                assert match.status == MatchStatus.AGREED
                zone = Need.objects.get(pk=match.need_id).delivery_zone
                if zone is None:
                    continue  # a delivery point: the receipt chooses a zone
                order = order_from_match(actor=resolve_scope(buyer["trader"]), match=match)
                order = order_confirm(actor=resolve_scope(seller["trader"]), order=order)
                order = order_dispatch(actor=resolve_scope(seller["warehouse_keeper"]), order=order)
                order = order_receive(
                    actor=resolve_scope(buyer["warehouse_keeper"]), order=order, zone=zone
                )
                assert order.status == "received"
                seen["proposals"] += 1
            transaction.set_rollback(True)

    check()
    # The worlds were not all trivial: proposals were ordered and received.
    assert seen["proposals"] >= 20


def _key(world: World, enterprise_id: int) -> str:
    return next(k for k, e in world["enterprises"].items() if e.pk == enterprise_id)
