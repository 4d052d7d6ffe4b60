"""An independent optimum of the matching problem, read from the database rows and the
scalar feasibility rules, solved as a MILP by scipy's HiGHS (the engine uses OR-Tools and
highspy directly). Used by the engine's invariant test and the demo's test."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from inventory.admission import ZonePicture, allowed_separation
from inventory.controls import Controls, PermitFacts
from inventory.hazards import HazardProfile, required_separation
from inventory.models import Permit, StockLot, StorageZone
from marketplace.models import Listing, Need
from matching.cost import to_grams
from matching.feasibility import DemandSide, SupplySide, check_pair


def _hazard(material: Any) -> HazardProfile:
    return material.hazard_profile


def independent_optimum(today: date, *, with_conflicts: bool = False) -> int:
    """The most grams any allocation can match, from the rows: a row per listing, need,
    lot and zone room, a semi-continuous arc per minimum order; ``with_conflicts`` adds a
    binary per (zone, dangerous material) and forbids two places in one warehouse that
    segregation keeps apart (the exact optimum; without it, an upper bound)."""
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
                min_purity_pct=need.min_purity_pct,
                max_distance_km=need.max_distance_km,
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
    # Columns: x per arc, y per minimum-order arc, w per place (a dangerous material into
    # a zone) when conflicts are modelled. Rows are built as (coefficients, lower, upper).
    k = len(arcs)
    moq_arcs = [a for a, (i, _j) in enumerate(arcs) if moq[i] >= 2]
    caps = [min(s_grams[i], d_grams[j]) for i, j in arcs]
    places: dict[tuple[int, HazardProfile], int] = {}
    place_of: dict[int, int] = {}
    if with_conflicts:
        for col, (i, j) in enumerate(arcs):
            zone_id, hazard = demands[j].delivery_zone_id, supplies[i].hazard
            if zone_id is not None and (hazard.classes or hazard.family):
                place_of[col] = places.setdefault(
                    (zone_id, hazard), k + len(moq_arcs) + len(places)
                )
    n = k + len(moq_arcs) + len(places)
    rows: list[tuple[dict[int, float], float, float]] = []
    for i in range(len(supplies)):
        rows.append(({c: 1 for c, (ii, _j) in enumerate(arcs) if ii == i}, -np.inf, s_grams[i]))
    for j in range(len(demands)):
        rows.append(({c: 1 for c, (_i, jj) in enumerate(arcs) if jj == j}, -np.inf, d_grams[j]))
    for lot_id in lots:
        cols = {c: 1.0 for c, (i, _j) in enumerate(arcs) if listings[i].lot_id == lot_id}
        rows.append((cols, -np.inf, lot_free[lot_id]))
    for zone_id in zones:
        cols = {c: 1.0 for c, (_i, j) in enumerate(arcs) if demands[j].delivery_zone_id == zone_id}
        rows.append((cols, -np.inf, room[zone_id]))
    for y, col in enumerate(moq_arcs):
        i, _j = arcs[col]
        rows.append(({col: 1, k + y: -moq[i]}, 0, np.inf))  # x − m·y ≥ 0
        rows.append(({col: 1, k + y: -caps[col]}, -np.inf, 0))  # x − u·y ≤ 0
    for col, w in place_of.items():
        rows.append(({col: 1, w: -caps[col]}, -np.inf, 0))  # x only where w is chosen
    zone_of = {z.pk: z for z in StorageZone.objects.filter(pk__in=zones)}
    for ((z1, h1), w1), ((z2, h2), w2) in combinations(places.items(), 2):
        one, two = zone_of[z1], zone_of[z2]
        if one.warehouse_id != two.warehouse_id:
            continue
        allowed = allowed_separation(same_zone=z1 == z2, same_building=one.building == two.building)
        if required_separation(h1, h2).separation > allowed:
            rows.append(({w1: 1, w2: 1}, -np.inf, 1))  # not both
    a = lil_matrix((len(rows), n))
    for r, (cols, _lo, _hi) in enumerate(rows):
        for c, v in cols.items():
            a[r, c] = v
    result = milp(
        c=np.concatenate([-np.ones(k), np.zeros(n - k)]),
        constraints=LinearConstraint(
            a.tocsr(), np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
        ),
        bounds=Bounds(np.zeros(n), np.array(caps + [1] * (n - k), dtype=float)),
        integrality=np.concatenate([np.zeros(k), np.ones(n - k)]),
        options={"mip_rel_gap": 0, "time_limit": 60},
    )
    assert result.success, result.message
    return round(-result.fun)
