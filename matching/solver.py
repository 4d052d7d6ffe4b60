"""One matching component (one material) solved as a min-cost max-flow. Pure, no database.

The problem (domain notes, "Matching, stated as an optimisation"; docs/matching.md): supplies
s_i (listings) and demands d_j (needs) in integer grams, arcs only for feasible pairs, each
with a cost c_ij in integer fen per tonne. Lexicographic objective: first maximise the
matched quantity Σ x_ij, then minimise Σ c_ij x_ij, subject to Σ_j x_ij ≤ s_i,
Σ_i x_ij ≤ d_j, x ≥ 0.

What is exact, and why:

- The solver is OR-Tools ``SimpleMinCostFlow.solve_max_flow_with_min_cost``: integer
  network algorithms throughout, no floating point, no tolerance, no big-M weighting. It
  computes the maximum flow, then the minimum-cost flow of exactly that value, so the
  lexicographic optimum is the true one, not an approximation.
- Quantities are int64 grams and costs int64 fen per tonne (``matching.cost.to_grams`` and
  ``to_fen`` refuse anything they would round). The flows are therefore whole grams and the
  objective Σ c_ij x_ij is an integer in fen·g/t = 10⁻⁶ fen. It is recomputed here with
  Python ints and cross-checked against OR-Tools' own int64 ``optimal_cost()``.
- int64 cannot overflow: before solving we refuse a component whose
  max(c_ij) × max(Σ s_i, Σ d_j) reaches 2⁶³ (it bounds the objective, every flow and every
  node balance). OR-Tools additionally reports ``BAD_COST_RANGE`` / ``BAD_CAPACITY_RANGE``
  when its internal scaling would not fit; any status other than ``OPTIMAL`` is an error.
- Determinism: equal-cost optima are common and which one a solver returns depends on node
  and arc order. The component is put in canonical form first — supply nodes by key,
  demand nodes by key, arcs by (supply key, demand key) — so the flows are a function of
  the component alone, whatever order the inputs come in (docs/matching.md, "Determinism
  and ties").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Supply:
    """A supply node: ``key`` is the listing id, ``grams`` what it offers."""

    key: int
    grams: int


@dataclass(frozen=True)
class Demand:
    """A demand node: ``key`` is the need id, ``grams`` what it asks for."""

    key: int
    grams: int


@dataclass(frozen=True)
class Arc:
    """A feasible pair (supply key, demand key) and its cost in fen per tonne."""

    supply: int
    demand: int
    cost_fen_per_t: int


@dataclass(frozen=True)
class Flow:
    """Grams sent along one arc (only positive flows are reported)."""

    supply: int
    demand: int
    grams: int


@dataclass(frozen=True)
class Solution:
    """Positive flows sorted by (supply, demand); the matched grams; the exact cost
    Σ cost_fen_per_t × grams in fen·g/t (10⁻⁶ fen)."""

    flows: tuple[Flow, ...]
    matched_grams: int
    cost_micro_fen: int


EMPTY = Solution(flows=(), matched_grams=0, cost_micro_fen=0)


@dataclass(frozen=True)
class Limits:
    """Limits shared by several nodes of a component.

    Supplies that draw on one stock lot share what it holds: ``supply_group`` maps a supply
    key to its lot, ``supply_group_grams`` a lot to its grams. Demands delivered into one
    storage zone share the room it has: ``demand_group`` maps a demand key to its zone,
    ``demand_group_grams`` a zone to its grams. Keys absent from the maps are unlimited
    beyond their own quantity.
    """

    supply_group: Mapping[int, int] = field(default_factory=dict)
    supply_group_grams: Mapping[int, int] = field(default_factory=dict)
    demand_group: Mapping[int, int] = field(default_factory=dict)
    demand_group_grams: Mapping[int, int] = field(default_factory=dict)

    def indexed(
        self, keys: Sequence[int], *, demand: bool
    ) -> tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.int64] | None]:
        """The group index of each key in ``keys`` (−1: none) and each group's grams, groups
        in key order: the arrays ``solve_indexed`` takes."""
        of, grams = (
            (self.demand_group, self.demand_group_grams)
            if demand
            else (self.supply_group, self.supply_group_grams)
        )
        if not any(k in of for k in keys):
            return None, None
        groups = sorted({of[k] for k in keys if k in of})
        index = {g: i for i, g in enumerate(groups)}
        for g in groups:
            _check_int(grams[g], f"Group {g} grams")
        return (
            np.fromiter((index.get(of.get(k, -1), -1) for k in keys), np.int64, len(keys)),
            np.fromiter((grams[g] for g in groups), np.int64, len(groups)),
        )


def _check_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an int, got {type(value).__name__}.")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}.")
    return value


def _canonical(
    supplies: Iterable[Supply], demands: Iterable[Demand], arcs: Iterable[Arc]
) -> tuple[list[Supply], list[Demand], list[Arc]]:
    """Validate and sort by keys; raise ValueError on anything malformed."""
    sup = sorted(supplies, key=lambda s: s.key)
    dem = sorted(demands, key=lambda d: d.key)
    arc = sorted(arcs, key=lambda a: (a.supply, a.demand))
    for s in sup:
        _check_int(s.grams, f"Supply {s.key} grams")
    for d in dem:
        _check_int(d.grams, f"Demand {d.key} grams")
    for kind, keys in (("supply", [s.key for s in sup]), ("demand", [d.key for d in dem])):
        for k1, k2 in pairwise(keys):
            if k1 == k2:
                raise ValueError(f"Duplicate {kind} key {k1}.")
    sup_keys = {s.key for s in sup}
    dem_keys = {d.key for d in dem}
    prev: tuple[int, int] | None = None
    for a in arc:
        _check_int(a.cost_fen_per_t, f"Arc ({a.supply}, {a.demand}) cost")
        if a.supply not in sup_keys:
            raise ValueError(f"Arc ({a.supply}, {a.demand}) names unknown supply {a.supply}.")
        if a.demand not in dem_keys:
            raise ValueError(f"Arc ({a.supply}, {a.demand}) names unknown demand {a.demand}.")
        if (a.supply, a.demand) == prev:
            raise ValueError(f"Duplicate arc ({a.supply}, {a.demand}).")
        prev = (a.supply, a.demand)
    return sup, dem, arc


def solve_component(
    supplies: Iterable[Supply],
    demands: Iterable[Demand],
    arcs: Iterable[Arc],
    limits: Limits | None = None,
) -> Solution:
    """Maximise the matched grams, then minimise the cost, exactly (see the module doc),
    within the shared ``limits`` of lots and zones if given.

    Raises ValueError on malformed input (an arc naming an unknown key, a duplicate key or
    arc, a negative or non-int quantity or cost, or a component whose objective could
    overflow int64) and RuntimeError if OR-Tools does not report OPTIMAL.
    """
    sup, dem, arc = _canonical(supplies, demands, arcs)
    total = max(sum(s.grams for s in sup), sum(d.grams for d in dem))
    max_cost = max((a.cost_fen_per_t for a in arc), default=0)
    if max(1, max_cost) * total > INT64_MAX:
        raise ValueError(
            f"Component too large for exact int64 arithmetic: max cost {max_cost} fen/t × "
            f"{total} g exceeds 2**63 - 1; split it."
        )
    if not arc:
        return EMPTY
    s_keys = [s.key for s in sup]
    d_keys = [d.key for d in dem]
    s_index = {k: i for i, k in enumerate(s_keys)}
    d_index = {k: j for j, k in enumerate(d_keys)}
    limits = limits or Limits()
    group, group_grams = limits.indexed(s_keys, demand=False)
    zone, zone_grams = limits.indexed(d_keys, demand=True)
    tail = np.fromiter((s_index[a.supply] for a in arc), np.int64, len(arc))
    head = np.fromiter((d_index[a.demand] for a in arc), np.int64, len(arc))
    flows, matched, cost = solve_indexed(
        np.fromiter((s.grams for s in sup), np.int64, len(sup)),
        np.fromiter((d.grams for d in dem), np.int64, len(dem)),
        tail,
        head,
        np.fromiter((a.cost_fen_per_t for a in arc), np.int64, len(arc)),
        group=group,
        group_grams=group_grams,
        demand_group=zone,
        demand_group_grams=zone_grams,
    )
    out = tuple(
        Flow(supply=a.supply, demand=a.demand, grams=x)
        for a, x in zip(arc, flows.tolist(), strict=True)
        if x
    )
    return Solution(flows=out, matched_grams=matched, cost_micro_fen=cost)


def solve_indexed(
    supply_grams: npt.NDArray[np.int64],
    demand_grams: npt.NDArray[np.int64],
    tail: npt.NDArray[np.int64],
    head: npt.NDArray[np.int64],
    cost: npt.NDArray[np.int64],
    *,
    group: npt.NDArray[np.int64] | None = None,
    group_grams: npt.NDArray[np.int64] | None = None,
    demand_group: npt.NDArray[np.int64] | None = None,
    demand_group_grams: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], int, int]:
    """``solve_component`` on arrays, for the engine's large components.

    ``group`` (optional) puts supplies that draw on one stock lot together: supply i
    belongs to group ``group[i]`` (−1: none), and the supplies of group g may send at most
    ``group_grams[g]`` between them. The lot is then a source node feeding its listings
    (arcs of capacity ``supply_grams[i]`` at no cost): still a min-cost flow, still exact.
    ``demand_group`` does the same for demands delivered into one zone: demand j sends at
    most ``demand_grams[j]`` into its zone's node, which takes at most
    ``demand_group_grams[g]`` (the room the zone has left).

    Supplies and demands are positions 0..m-1 and 0..n-1; arc k goes from supply
    ``tail[k]`` to demand ``head[k]`` at ``cost[k]`` fen per tonne. The caller passes the
    component in canonical form — supplies and demands in key order, arcs sorted by
    (tail, head), no duplicates (``numpy.nonzero`` of the feasibility grid gives exactly
    that) — so the result is the same as ``solve_component``'s for the same component.
    Returns the flow of every arc (grams), the matched grams and the exact cost (10⁻⁶ fen).
    """
    m, n = len(supply_grams), len(demand_grams)
    k = len(tail)
    if not (len(head) == len(cost) == k):
        raise ValueError("tail, head and cost must have one entry per arc.")
    if (supply_grams < 0).any() or (demand_grams < 0).any() or (cost < 0).any():
        raise ValueError("Quantities and costs must not be negative.")
    if k:
        if tail.min() < 0 or tail.max() >= m or head.min() < 0 or head.max() >= n:
            raise ValueError("An arc names a supply or demand out of range.")
        order = tail * n + head
        if (np.diff(order) <= 0).any():
            raise ValueError("Arcs must be sorted by (tail, head) without duplicates.")
    source = supply_grams
    lots = np.zeros(0, dtype=np.int64)
    if group is not None and group_grams is not None and bool((group >= 0).any()):
        if len(group) != m or (group >= len(group_grams)).any() or (group_grams < 0).any():
            raise ValueError("group must give each supply a group index (or -1) in range.")
        source = np.where(group >= 0, 0, supply_grams)
        lots = group_grams
    sink = demand_grams
    zones = np.zeros(0, dtype=np.int64)
    if (
        demand_group is not None
        and demand_group_grams is not None
        and bool((demand_group >= 0).any())
    ):
        if (
            len(demand_group) != n
            or (demand_group >= len(demand_group_grams)).any()
            or (demand_group_grams < 0).any()
        ):
            raise ValueError("demand_group must give each demand a group index (or -1) in range.")
        sink = np.where(demand_group >= 0, 0, demand_grams)
        # A zone never takes more than its demands ask for together.
        asked = np.zeros(len(demand_group_grams), dtype=np.int64)
        grouped = demand_group >= 0
        np.add.at(asked, demand_group[grouped], demand_grams[grouped])
        zones = np.minimum(demand_group_grams, asked)
    total = max(
        int(source.sum(dtype=object)) + int(lots.sum(dtype=object)),
        int(sink.sum(dtype=object)) + int(zones.sum(dtype=object)),
    )
    max_cost = int(cost.max()) if k else 0
    if max(1, max_cost) * total > INT64_MAX:
        raise ValueError(
            f"Component too large for exact int64 arithmetic: max cost {max_cost} fen/t × "
            f"{total} g exceeds 2**63 - 1; split it."
        )
    if not k:
        return np.zeros(0, dtype=np.int64), 0, 0
    smcf = min_cost_flow.SimpleMinCostFlow()
    nodes = np.concatenate([source, -sink, lots, -zones])
    smcf.set_nodes_supplies(np.arange(len(nodes), dtype=np.int32), nodes)
    capacity = np.minimum(supply_grams[tail], demand_grams[head])
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        tail.astype(np.int32), (head + m).astype(np.int32), capacity, cost
    )
    if len(lots):
        assert group is not None
        members_s = np.nonzero(group >= 0)[0]
        smcf.add_arcs_with_capacity_and_unit_cost(
            (group[members_s] + m + n).astype(np.int32),
            members_s.astype(np.int32),
            supply_grams[members_s],
            np.zeros(len(members_s), dtype=np.int64),
        )
    if len(zones):
        assert demand_group is not None
        members_d = np.nonzero(demand_group >= 0)[0]
        smcf.add_arcs_with_capacity_and_unit_cost(
            (members_d + m).astype(np.int32),
            (demand_group[members_d] + m + n + len(lots)).astype(np.int32),
            demand_grams[members_d],
            np.zeros(len(members_d), dtype=np.int64),
        )
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        name = getattr(status, "name", str(status))
        raise RuntimeError(f"OR-Tools min-cost flow did not solve the component: {name}.")
    flows = np.asarray(smcf.flows(arcs), dtype=np.int64)
    matched = int(flows.sum(dtype=object))
    exact_cost = int((flows.astype(object) * cost.astype(object)).sum())
    if matched != int(smcf.maximum_flow()) or exact_cost != int(smcf.optimal_cost()):
        raise RuntimeError(
            f"OR-Tools result inconsistent: flows sum to {matched} g at {exact_cost}, it "
            f"reports {smcf.maximum_flow()} g at {smcf.optimal_cost()}."
        )
    return flows, matched, exact_cost
