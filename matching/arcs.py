"""The feasible arcs of a component and their costs, computed for all pairs at once.

``matching.feasibility`` states each rule as a plain function of one pair: that is the
reference, and what explains a refusal. A component of 100 listings and 100 needs has
10,000 pairs, a full rematch millions, so the engine evaluates the same rules as numpy
masks over the whole listing × need grid, one mask function per rule, under the same name.
``tests/matching/test_arcs.py`` checks every mask against its scalar rule on generated
pairs, so the two cannot drift apart.

Everything compared or priced is an integer here: grams, fen, fen per tonne, metres and
thousandths of a percent, and dates as ordinals, so a mask agrees with the Decimal rule
exactly. Distances are the haversine of ``matching.cost.great_circle_km`` rounded half up
to the metre; the transport cost per tonne is rate (fen per t·km) × metres / 1000 rounded
half up to the fen, equal to the Decimal computation of ``unit_cost_per_t``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from inventory.admission import ZonePicture
from inventory.controls import Controls, PermitFacts
from inventory.hazards import HazardProfile
from matching.cost import EARTH_RADIUS_KM, to_fen, transport_rate
from matching.feasibility import (
    VISIBLE_IN_PARK,
    VISIBLE_IN_REGION,
    VISIBLE_TO_ALL,
    DemandSide,
    SupplySide,
    admitted_at_delivery,
    buyer_permitted,
)

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
NO_LIMIT = np.iinfo(np.int64).max
NO_DATE = date.max.toordinal()

_VISIBILITY = {VISIBLE_IN_PARK: 0, VISIBLE_IN_REGION: 1, VISIBLE_TO_ALL: 2}


def _ints(values: Sequence[int]) -> Ints:
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _milli(value: Decimal | None, *, missing: int) -> int:
    """Thousandths (purity %, km → m): exact for the three decimals the columns hold."""
    return missing if value is None else int(value.scaleb(3).to_integral_value())


def _region(code: str) -> int:
    return int(code) if code.isdigit() else -1


@dataclass(frozen=True)
class SupplyArrays:
    listing_id: Ints
    seller_id: Ints
    park_id: Ints
    region: Ints
    material_id: Ints
    price_fen: Ints
    purity_milli: Ints  # -1 when not stated
    expires: Ints  # ordinal; NO_DATE when none
    available_from: Ints
    available_until: Ints  # ordinal; NO_DATE when open-ended
    visibility: Ints  # 0 park, 1 region, 2 all, 3 unknown
    rate_fen: Ints  # transport fen per t·km
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    hazard: tuple[HazardProfile, ...]

    @classmethod
    def of(cls, supplies: Sequence[SupplySide]) -> SupplyArrays:
        return cls(
            listing_id=_ints([s.listing_id for s in supplies]),
            seller_id=_ints([s.seller_id for s in supplies]),
            park_id=_ints([s.seller_park_id for s in supplies]),
            region=_ints([_region(s.seller_region_code) for s in supplies]),
            material_id=_ints([s.material_id for s in supplies]),
            price_fen=_ints([to_fen(s.price_per_t) for s in supplies]),
            purity_milli=_ints([_milli(s.purity_pct, missing=-1) for s in supplies]),
            expires=_ints(
                [s.expires_on.toordinal() if s.expires_on else NO_DATE for s in supplies]
            ),
            available_from=_ints([s.available_from.toordinal() for s in supplies]),
            available_until=_ints(
                [s.available_until.toordinal() if s.available_until else NO_DATE for s in supplies]
            ),
            visibility=_ints([_VISIBILITY.get(s.visibility, 3) for s in supplies]),
            rate_fen=_ints([to_fen(transport_rate(s.hazard)) for s in supplies]),
            lat=np.array([float(s.warehouse_latitude) for s in supplies], dtype=np.float64),
            lon=np.array([float(s.warehouse_longitude) for s in supplies], dtype=np.float64),
            hazard=tuple(s.hazard for s in supplies),
        )


@dataclass(frozen=True)
class DemandArrays:
    need_id: Ints
    enterprise_id: Ints
    park_id: Ints
    region: Ints
    needed_by: Ints
    min_purity_milli: Ints  # -1 when none
    max_price_fen: Ints  # NO_LIMIT when none
    max_distance_m: Ints  # NO_LIMIT when none
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    accepted: tuple[frozenset[int], ...]  # the material and its substitutes
    delivery: tuple[ZonePicture | None, ...]  # None: a delivery point

    @classmethod
    def of(cls, demands: Sequence[DemandSide]) -> DemandArrays:
        return cls(
            need_id=_ints([d.need_id for d in demands]),
            enterprise_id=_ints([d.enterprise_id for d in demands]),
            park_id=_ints([d.park_id for d in demands]),
            region=_ints([_region(d.region_code) for d in demands]),
            needed_by=_ints([d.needed_by.toordinal() for d in demands]),
            min_purity_milli=_ints([_milli(d.min_purity_pct, missing=-1) for d in demands]),
            max_price_fen=_ints(
                [
                    NO_LIMIT if d.max_price_per_t is None else to_fen(d.max_price_per_t)
                    for d in demands
                ]
            ),
            max_distance_m=_ints([_milli(d.max_distance_km, missing=NO_LIMIT) for d in demands]),
            lat=np.array([float(d.delivery_latitude) for d in demands], dtype=np.float64),
            lon=np.array([float(d.delivery_longitude) for d in demands], dtype=np.float64),
            accepted=tuple(frozenset({d.material_id, *d.substitute_ids}) for d in demands),
            delivery=tuple(d.delivery for d in demands),
        )


@dataclass
class Grid:
    """The two sides of one component, and what rules share (distances, today)."""

    s: SupplyArrays
    d: DemandArrays
    today: int
    supplies: Sequence[SupplySide]
    demands: Sequence[DemandSide]
    _metres: Ints | None = None

    @property
    def metres(self) -> Ints:
        """Great-circle distance of every pair, whole metres rounded half up."""
        if self._metres is None:
            phi1 = np.radians(self.s.lat)[:, None]
            phi2 = np.radians(self.d.lat)[None, :]
            d_lambda = np.radians(self.d.lon[None, :] - self.s.lon[:, None])
            h = (
                np.sin((phi2 - phi1) / 2) ** 2
                + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2) ** 2
            )
            km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
            self._metres = np.floor(km * 1000 + 0.5).astype(np.int64)
        return self._metres


# --- One mask per rule (same names as matching.feasibility) -------------------------------


def same_material_or_substitute(g: Grid) -> Mask:
    materials = np.unique(g.s.material_id)
    mask = np.zeros((len(g.s.material_id), len(g.d.need_id)), dtype=bool)
    for m in materials.tolist():
        accepts = np.fromiter((m in a for a in g.d.accepted), dtype=bool, count=len(g.d.accepted))
        mask[g.s.material_id == m] = accepts
    return mask


def purity_meets_need(g: Grid) -> Mask:
    need = g.d.min_purity_milli[None, :]
    have = g.s.purity_milli[:, None]
    return (need < 0) | ((have >= 0) & (have >= need))


def not_expired_before_need(g: Grid) -> Mask:
    return g.s.expires[:, None] >= g.d.needed_by[None, :]


def available_by_need_date(g: Grid) -> Mask:
    open_window = (g.s.available_until >= g.today)[:, None]
    return (g.s.available_from[:, None] <= g.d.needed_by[None, :]) & open_window


def price_within_limit(g: Grid) -> Mask:
    return g.s.price_fen[:, None] <= g.d.max_price_fen[None, :]


def distance_within_limit(g: Grid) -> Mask:
    return g.metres <= g.d.max_distance_m[None, :]


def visible_to_buyer(g: Grid) -> Mask:
    vis = g.s.visibility[:, None]
    same_region = g.s.region[:, None] == g.d.region[None, :]
    same_park = g.s.park_id[:, None] == g.d.park_id[None, :]
    return (vis == 2) | ((vis == 1) & same_region) | ((vis == 0) & same_park)


def different_enterprises(g: Grid) -> Mask:
    return g.s.seller_id[:, None] != g.d.enterprise_id[None, :]


def lot_not_expired(g: Grid) -> Mask:
    return np.broadcast_to((g.s.expires > g.today)[:, None], (len(g.s.expires), len(g.d.need_id)))


def need_date_not_passed(g: Grid) -> Mask:
    return np.broadcast_to(
        (g.d.needed_by >= g.today)[None, :], (len(g.s.expires), len(g.d.need_id))
    )


def admitted_at_delivery_mask(g: Grid) -> Mask:
    """The scalar rule (the one admission rule of ``inventory.admission``) evaluated once
    per distinct (material hazards, delivery zone picture) pair."""
    s_keys: dict[HazardProfile, int] = {}
    s_index = _ints([s_keys.setdefault(h, len(s_keys)) for h in g.s.hazard])
    d_keys: dict[ZonePicture | None, int] = {}
    d_index = _ints([d_keys.setdefault(p, len(d_keys)) for p in g.d.delivery])
    table = np.ones((len(s_keys), len(d_keys)), dtype=bool)
    probe_s = {h: g.supplies[i] for i, h in reversed(list(enumerate(g.s.hazard)))}
    probe_d = {p: g.demands[j] for j, p in reversed(list(enumerate(g.d.delivery)))}
    for picture, dj in d_keys.items():
        if picture is None:
            continue  # a delivery point: admission is checked at receipt
        for h, si in s_keys.items():
            table[si, dj] = (
                admitted_at_delivery(probe_s[h], probe_d[picture], today=date.min) is None
            )
    return table[s_index[:, None], d_index[None, :]]


admitted_at_delivery_mask.__name__ = "admitted_at_delivery"


def buyer_permitted_mask(g: Grid) -> Mask:
    """The scalar rule once per distinct (controlled material, buyer's permits) pair; a
    material under no control passes everywhere."""
    s_keys: dict[tuple[int, Controls] | None, int] = {None: 0}
    s_index = _ints(
        [
            s_keys.setdefault((s.material_id, s.controls), len(s_keys)) if s.controls.any else 0
            for s in g.supplies
        ]
    )
    if len(s_keys) == 1:
        return np.ones((len(g.supplies), len(g.demands)), dtype=bool)
    d_keys: dict[tuple[PermitFacts, ...], int] = {}
    d_index = _ints([d_keys.setdefault(d.permits, len(d_keys)) for d in g.demands])
    table = np.ones((len(s_keys), len(d_keys)), dtype=bool)
    probe_s = {(s.material_id, s.controls): s for s in reversed(g.supplies) if s.controls.any}
    probe_d = {d.permits: d for d in reversed(g.demands)}
    today = date.fromordinal(g.today)
    for key, si in s_keys.items():
        if key is None:
            continue
        for permits, dj in d_keys.items():
            refusal = buyer_permitted(probe_s[key], probe_d[permits], today=today)
            table[si, dj] = refusal is None
    return table[s_index[:, None], d_index[None, :]]


buyer_permitted_mask.__name__ = "buyer_permitted"

MASKS: tuple[Callable[[Grid], Mask], ...] = (
    same_material_or_substitute,
    purity_meets_need,
    lot_not_expired,
    need_date_not_passed,
    not_expired_before_need,
    available_by_need_date,
    price_within_limit,
    distance_within_limit,
    visible_to_buyer,
    different_enterprises,
    buyer_permitted_mask,
    admitted_at_delivery_mask,
)


@dataclass(frozen=True)
class Arcs:
    """The feasible pairs of a component: indexes into its supplies and demands, and the
    delivered cost per tonne (price + transport) in fen."""

    supply: Ints
    demand: Ints
    metres: Ints
    price_fen: Ints
    rate_fen: Ints  # transport fen per t·km of the listing's material
    transport_fen: Ints
    feasible_per_demand: Ints  # how many listings could serve each need

    @property
    def cost_fen(self) -> Ints:
        return self.price_fen + self.transport_fen

    def __len__(self) -> int:
        return len(self.supply)


def feasible_mask(grid: Grid) -> Mask:
    mask = np.ones((len(grid.s.listing_id), len(grid.d.need_id)), dtype=bool)
    for rule in MASKS:
        mask &= rule(grid)
        if not mask.any():
            break
    return mask


def _block(
    supplies: Sequence[SupplySide],
    demands: Sequence[DemandSide],
    *,
    today: date,
    excluded: set[tuple[int, int]] | frozenset[tuple[int, int]],
) -> tuple[Ints, Ints, Ints, Ints, Ints]:
    """The feasible pairs of one block (local indexes), with metres, price and rate."""
    grid = Grid(
        s=SupplyArrays.of(supplies),
        d=DemandArrays.of(demands),
        today=today.toordinal(),
        supplies=supplies,
        demands=demands,
    )
    mask = feasible_mask(grid)
    if excluded:
        row = {lid: i for i, lid in enumerate(grid.s.listing_id.tolist())}
        col = {nid: j for j, nid in enumerate(grid.d.need_id.tolist())}
        for listing_id, need_id in excluded:
            if listing_id in row and need_id in col:
                mask[row[listing_id], col[need_id]] = False
    si, dj = np.nonzero(mask)
    return (
        si.astype(np.int64),
        dj.astype(np.int64),
        grid.metres[si, dj],
        grid.s.price_fen[si],
        grid.s.rate_fen[si],
    )


def build_arcs(
    supplies: Sequence[SupplySide],
    demands: Sequence[DemandSide],
    *,
    today: date,
    excluded: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
) -> Arcs:
    """Feasible (supply, demand) index pairs, less the ``excluded`` (listing, need) pairs,
    sorted by (supply, demand).

    A listing can only serve a need that accepts its material, so the grid is built per
    block: the listings of one material against the needs accepting it. A component of
    several materials then costs the sum of its blocks, not the product of its sides."""
    empty = np.zeros(0, dtype=np.int64)
    if not supplies or not demands:
        return Arcs(
            empty, empty, empty, empty, empty, empty, np.zeros(len(demands), dtype=np.int64)
        )
    rows_of: dict[int, list[int]] = defaultdict(list)
    for i, supply in enumerate(supplies):
        rows_of[supply.material_id].append(i)
    parts = []
    for material_id, rows in sorted(rows_of.items()):
        cols = [
            j
            for j, d in enumerate(demands)
            if d.material_id == material_id or material_id in d.substitute_ids
        ]
        if not cols:
            continue
        whole = len(rows) == len(supplies) and len(cols) == len(demands)
        si, dj, metres, price, rate = _block(
            supplies if whole else [supplies[i] for i in rows],
            demands if whole else [demands[j] for j in cols],
            today=today,
            excluded=excluded,
        )
        if not whole:
            si = np.asarray(rows, dtype=np.int64)[si]
            dj = np.asarray(cols, dtype=np.int64)[dj]
        parts.append((si, dj, metres, price, rate))
    if not parts:
        return Arcs(
            empty, empty, empty, empty, empty, empty, np.zeros(len(demands), dtype=np.int64)
        )
    si, dj, metres, price, rate = (np.concatenate(column) for column in zip(*parts, strict=True))
    if len(parts) > 1:
        order = np.lexsort((dj, si))  # canonical: by supply, then demand
        si, dj, metres, price, rate = si[order], dj[order], metres[order], price[order], rate[order]
    return Arcs(
        supply=si,
        demand=dj,
        metres=metres,
        price_fen=price,
        rate_fen=rate,
        transport_fen=(rate * metres + 500) // 1000,
        feasible_per_demand=np.bincount(dj, minlength=len(demands)).astype(np.int64),
    )
