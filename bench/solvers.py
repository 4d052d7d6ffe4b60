"""Candidate solvers for the matching engine, measured on synthetic components.

Run from the top of the repository (no Django, no database)::

    .venv/bin/pip install -e '.[solvers]'
    .venv/bin/python bench/solvers.py            # everything, about 6.5 minutes on 2 cores
    .venv/bin/python bench/solvers.py --quick    # no 10,000 x 10,000 component

The problem (domain notes, "Matching, stated as an optimisation"): supplies s_i and
demands d_j in grams, arcs only for feasible pairs, cost c_ij per tonne. Lexicographic
objective: maximise the matched quantity, then minimise sum c_ij x_ij. Each component is
one material.

Units, all integers:

- quantities in grams (int64); listing and need quantities are given in kg with three
  decimals at most, so grams lose nothing (at most 1 g per rounding);
- arc costs in fen (0.01 yuan) per tonne (int64), i.e. unit price plus transport rate x
  great-circle km rounded once to the fen: at most 0.5 fen/t off per arc;
- the objective sum c_ij x_ij is then in fen·g/t = 1e-6 fen. It is computed exactly here
  with Python ints. A solver that keeps the objective in int64 (OR-Tools) needs
  max c_ij x sum_i s_i < 2**63; the generator checks that bound for every instance (with
  prices up to 30,000 yuan/t and 10,000 listings of up to 500 t the worst case is
  1.6e18 < 9.2e18).

Solvers and formulations:

- ``ortools``: ``SimpleMinCostFlow.solve_max_flow_with_min_cost`` on the bipartite graph
  (supply nodes +s_i, demand nodes -d_j, one arc per feasible pair with capacity
  min(s_i, d_j)). Integer, exact lexicographic (it solves the max flow, then the min-cost
  flow of that value).
- ``networkx``: ``max_flow_min_cost`` with a super-source and super-sink (pure Python,
  integer network simplex). Only where it finishes in reasonable time.
- ``highspy``: HiGHS dual simplex, two solves on one model: (1) max sum x; (2) add the row
  sum x >= F* and minimise sum c x, warm-started from the basis of (1). The constraint
  matrix is a network matrix (totally unimodular, also with the all-ones row, which is the
  source-sink arc), so every basic solution is integral; x is rounded to the nearest gram
  and checked.
- ``scipy``: the same two solves through ``scipy.optimize.linprog(method="highs-ds")``
  (same engine, no warm start, scipy's wrapper overhead).

No big-M single objective is used: M would have to exceed (m + n) x max c_ij for
exactness (an augmenting path has at most m + n arcs), i.e. 1e11 on top of gram-scale
variables, far outside what a floating-point LP solves reliably.

For every instance the flows are checked (integral, within s_i, d_j and the arc set) and
the matched quantity and cost are recomputed exactly; all solvers must agree with OR-Tools
on the quantity exactly and on the cost within 1e-6 relative.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

I64: TypeAlias = npt.NDArray[np.int64]

SEED = 20261127
INT64_MAX = 2**63 - 1
# Region of the synthetic warehouses and delivery points (lat, lon), roughly the Yangtze
# river delta: distances of 0-400 km.
LAT_RANGE = (29.5, 32.5)
LON_RANGE = (118.5, 122.0)


# --------------------------------------------------------------------------- instances


@dataclass
class Instance:
    name: str
    supply: I64  # grams, per supply node
    demand: I64  # grams, per demand node
    tails: I64  # supply index of each arc
    heads: I64  # demand index of each arc
    cost: I64  # fen per tonne, per arc
    supply_ids: I64 | None = None  # stable ids (listing ids); None: the index is the id
    demand_ids: I64 | None = None

    @property
    def m(self) -> int:
        return len(self.supply)

    @property
    def n(self) -> int:
        return len(self.demand)

    @property
    def k(self) -> int:
        return len(self.tails)

    @property
    def cap(self) -> I64:
        out: I64 = np.minimum(self.supply[self.tails], self.demand[self.heads])
        return out

    def describe(self) -> str:
        return (
            f"{self.name}: {self.m} x {self.n}, {self.k} arcs, "
            f"supply {self.supply.sum() / 1e6:,.0f} t, demand {self.demand.sum() / 1e6:,.0f} t"
        )


def _great_circle_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def _log_uniform_grams(rng: np.random.Generator, size: int, lo_kg: float, hi_kg: float) -> I64:
    kg = np.exp(rng.uniform(np.log(lo_kg), np.log(hi_kg), size))
    out: I64 = np.rint(kg * 1000).astype(np.int64)  # integer grams
    return out


def make_instance(m: int, n: int, seed: int, scenario: str, mean_degree: float = 24.0) -> Instance:
    """A deterministic synthetic component (one material).

    - supplies and demands log-uniform in 50 kg - 500 t; ``scenario`` "over" scales the
      demands so that supply is about 1.6x demand, "under" so that it is about 0.6x;
    - listings sit in warehouses (about 3 listings per warehouse) and ~half of them share
      the warehouse's list price, so equal-cost arcs (ties) are common, as in real data;
    - each demand has a Poisson(mean_degree) number of feasible supplies, 5 % have none;
    - cost = unit price (3,000-30,000 yuan/t) + rate (0.5-1.5 yuan/t·km, one per
      material: it follows the hazard class) x great-circle km, rounded once to the fen
      per tonne.
    """
    rng = np.random.default_rng([seed, m, n, 0 if scenario == "over" else 1])
    supply = _log_uniform_grams(rng, m, 50, 500_000)
    demand = _log_uniform_grams(rng, n, 50, 500_000)
    target = 1.6 if scenario == "over" else 0.6
    demand = np.maximum(np.rint(demand * (supply.sum() / demand.sum() / target)), 1).astype(
        np.int64
    )

    n_wh = max(1, m // 3)
    wh_lat = rng.uniform(*LAT_RANGE, n_wh)
    wh_lon = rng.uniform(*LON_RANGE, n_wh)
    wh_price = rng.integers(300_000, 3_000_000, n_wh)  # fen per tonne
    wh_of = rng.integers(0, n_wh, m)
    own_price = rng.integers(300_000, 3_000_000, m)
    price = np.where(rng.random(m) < 0.5, wh_price[wh_of], own_price)
    # fen per tonne-km; it depends on the hazard class, so it is one per material
    rate = int(rng.choice(np.array([50, 80, 120, 150])))
    dem_lat = rng.uniform(*LAT_RANGE, n)
    dem_lon = rng.uniform(*LON_RANGE, n)

    degree = rng.poisson(mean_degree, n)
    degree[rng.random(n) < 0.05] = 0
    degree = np.minimum(degree, m)
    heads = np.repeat(np.arange(n, dtype=np.int64), degree)
    tails = np.empty(len(heads), dtype=np.int64)
    pos = 0
    for j in range(n):
        d = int(degree[j])
        if d:
            tails[pos : pos + d] = np.sort(rng.choice(m, d, replace=False))
            pos += d
    km = _great_circle_km(
        wh_lat[wh_of[tails]], wh_lon[wh_of[tails]], dem_lat[heads], dem_lon[heads]
    )
    cost = (price[tails] + np.rint(rate * km)).astype(np.int64)

    # Canonical arc order: by (supply, demand). Every solver gets the arcs in this order.
    order = np.lexsort((heads, tails))
    inst = Instance(
        name=f"{m}x{n}-{scenario}",
        supply=supply,
        demand=demand,
        tails=tails[order],
        heads=heads[order],
        cost=cost[order],
    )
    bound = int(inst.cost.max(initial=0)) * int(inst.supply.sum())
    assert bound < INT64_MAX, f"objective may overflow int64: {bound:.3e}"
    return inst


def permuted(inst: Instance, seed: int) -> tuple[Instance, I64]:
    """The same component with nodes renumbered and arcs shuffled; returns the arc map.

    ``perm[a]`` is the index in ``inst`` of arc ``a`` of the permuted instance.
    """
    rng = np.random.default_rng(seed)
    sp = rng.permutation(inst.m)  # new supply index -> old
    dp = rng.permutation(inst.n)
    s_new = np.empty_like(sp)
    s_new[sp] = np.arange(inst.m)
    d_new = np.empty_like(dp)
    d_new[dp] = np.arange(inst.n)
    perm: I64 = rng.permutation(inst.k).astype(np.int64)
    out = Instance(
        name=inst.name + "-perm",
        supply=inst.supply[sp],
        demand=inst.demand[dp],
        tails=s_new[inst.tails[perm]],
        heads=d_new[inst.heads[perm]],
        cost=inst.cost[perm],
        supply_ids=sp,
        demand_ids=dp,
    )
    return out, perm


def canonical(inst: Instance) -> tuple[Instance, I64]:
    """Nodes numbered in id order, arcs sorted by (supply id, demand id).

    Returns the instance and ``order``: arc ``a`` of the result is arc ``order[a]`` of
    ``inst``. Solving the canonical form makes the flows a function of the component
    alone, whatever order the rows came from the database in.
    """
    sid = inst.supply_ids if inst.supply_ids is not None else np.arange(inst.m)
    did = inst.demand_ids if inst.demand_ids is not None else np.arange(inst.n)
    s_order, d_order = np.argsort(sid, kind="stable"), np.argsort(did, kind="stable")
    s_rank = np.empty_like(s_order)
    s_rank[s_order] = np.arange(inst.m)
    d_rank = np.empty_like(d_order)
    d_rank[d_order] = np.arange(inst.n)
    tails, heads = s_rank[inst.tails], d_rank[inst.heads]
    order: I64 = np.lexsort((heads, tails)).astype(np.int64)
    out = Instance(
        name=inst.name + "-canon",
        supply=inst.supply[s_order],
        demand=inst.demand[d_order],
        tails=tails[order],
        heads=heads[order],
        cost=inst.cost[order],
        supply_ids=sid[s_order],
        demand_ids=did[d_order],
    )
    return out, order


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    flows: I64
    build_s: float
    solve_s: float

    @property
    def total_s(self) -> float:
        return self.build_s + self.solve_s


@dataclass
class Checked:
    quantity_g: int
    cost_micro_fen: int  # sum c_ij x_ij in fen·g/t (1e-6 fen), exact
    digest: str

    @property
    def cost_yuan(self) -> Decimal:
        return Decimal(self.cost_micro_fen) / Decimal(100_000_000)


def check(inst: Instance, flows: I64) -> Checked:
    """Feasibility and exact objective of an integral flow."""
    assert flows.dtype == np.int64
    assert flows.shape == (inst.k,)
    assert (flows >= 0).all(), "negative flow"
    sent = np.zeros(inst.m, dtype=np.int64)
    np.add.at(sent, inst.tails, flows)
    got = np.zeros(inst.n, dtype=np.int64)
    np.add.at(got, inst.heads, flows)
    assert (sent <= inst.supply).all(), "supply exceeded"
    assert (got <= inst.demand).all(), "demand exceeded"
    qty = int(flows.sum())
    cost = sum(c * x for c, x in zip(inst.cost.tolist(), flows.tolist(), strict=True))
    return Checked(qty, cost, hashlib.sha256(flows.tobytes()).hexdigest()[:12])


# --------------------------------------------------------------------------- solvers


def solve_ortools(inst: Instance) -> Result:
    from ortools.graph.python import min_cost_flow

    t0 = time.perf_counter()
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        inst.tails, inst.heads + inst.m, inst.cap, inst.cost
    )
    smcf.set_nodes_supplies(
        np.arange(inst.m + inst.n, dtype=np.int64), np.concatenate([inst.supply, -inst.demand])
    )
    t1 = time.perf_counter()
    status = smcf.solve_max_flow_with_min_cost()
    assert status == smcf.OPTIMAL, f"OR-Tools status {status}"
    flows = np.asarray(smcf.flows(arcs), dtype=np.int64)
    t2 = time.perf_counter()
    # OR-Tools' own objective is int64; with the bound checked above it is exact.
    assert int(smcf.optimal_cost()) == int(np.dot(flows, inst.cost))
    return Result(flows, t1 - t0, t2 - t1)


def solve_networkx(inst: Instance) -> Result:
    import networkx as nx

    t0 = time.perf_counter()
    g = nx.DiGraph()
    src, snk = inst.m + inst.n, inst.m + inst.n + 1
    g.add_edges_from(
        (src, i, {"capacity": s, "weight": 0}) for i, s in enumerate(inst.supply.tolist())
    )
    g.add_edges_from(
        (inst.m + j, snk, {"capacity": d, "weight": 0}) for j, d in enumerate(inst.demand.tolist())
    )
    g.add_edges_from(
        (i, inst.m + j, {"capacity": u, "weight": c})
        for i, j, u, c in zip(
            inst.tails.tolist(),
            inst.heads.tolist(),
            inst.cap.tolist(),
            inst.cost.tolist(),
            strict=True,
        )
    )
    t1 = time.perf_counter()
    flow = nx.max_flow_min_cost(g, src, snk)
    flows = np.fromiter(
        (
            flow[i][inst.m + j]
            for i, j in zip(inst.tails.tolist(), inst.heads.tolist(), strict=True)
        ),
        dtype=np.int64,
        count=inst.k,
    )
    t2 = time.perf_counter()
    return Result(flows, t1 - t0, t2 - t1)


def _round_lp(x: Any) -> I64:
    arr = np.asarray(x, dtype=np.float64)
    out: I64 = np.rint(arr).astype(np.int64)
    frac = float(np.abs(arr - out).max(initial=0.0))
    assert frac < 1e-3, f"LP vertex not integral: max deviation {frac}"
    return out


def solve_highspy(inst: Instance) -> Result:
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    k = inst.k
    lp = highspy.HighsLp()
    lp.num_col_ = k
    lp.num_row_ = inst.m + inst.n
    lp.col_cost_ = np.full(k, -1.0)
    lp.col_lower_ = np.zeros(k)
    lp.col_upper_ = inst.cap.astype(np.float64)
    lp.row_lower_ = np.full(inst.m + inst.n, -inf)
    lp.row_upper_ = np.concatenate([inst.supply, inst.demand]).astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * k + 1, 2, dtype=np.int32)
    lp.a_matrix_.index_ = (
        np.column_stack([inst.tails, inst.heads + inst.m]).ravel().astype(np.int32)
    )
    lp.a_matrix_.value_ = np.ones(2 * k)
    h.passModel(lp)
    t1 = time.perf_counter()
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    max_flow = round(-h.getInfo().objective_function_value)
    idx = np.arange(k, dtype=np.int32)
    h.changeColsCost(k, idx, inst.cost.astype(np.float64))
    h.addRow(float(max_flow), inf, k, idx, np.ones(k))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    flows = _round_lp(h.getSolution().col_value)
    t2 = time.perf_counter()
    return Result(flows, t1 - t0, t2 - t1)


def solve_scipy(inst: Instance) -> Result:
    from scipy import sparse
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    k = inst.k
    cols = np.repeat(np.arange(k), 2)
    rows = np.column_stack([inst.tails, inst.heads + inst.m]).ravel()
    a = sparse.csr_array((np.ones(2 * k), (rows, cols)), shape=(inst.m + inst.n, k))
    b = np.concatenate([inst.supply, inst.demand]).astype(np.float64)
    bounds = np.column_stack([np.zeros(k), inst.cap.astype(np.float64)])
    t1 = time.perf_counter()
    r1 = linprog(-np.ones(k), A_ub=a, b_ub=b, bounds=bounds, method="highs-ds")
    assert r1.status == 0, r1.message
    max_flow = round(-r1.fun)
    a2 = sparse.vstack([a, sparse.csr_array(-np.ones((1, k)))], format="csr")
    b2 = np.append(b, -float(max_flow))
    r2 = linprog(inst.cost.astype(np.float64), A_ub=a2, b_ub=b2, bounds=bounds, method="highs-ds")
    assert r2.status == 0, r2.message
    flows = _round_lp(r2.x)
    t2 = time.perf_counter()
    return Result(flows, t1 - t0, t2 - t1)


SOLVERS: dict[str, Callable[[Instance], Result]] = {
    "ortools": solve_ortools,
    "networkx": solve_networkx,
    "highspy": solve_highspy,
    "scipy": solve_scipy,
}


# --------------------------------------------------------------------------- measurement


@dataclass
class Row:
    instance: str
    arcs: int
    solver: str
    runs: int
    build_ms: float
    solve_ms: float
    total_ms: float
    quantity_t: str
    cost_yuan: str
    qty_equal: bool
    cost_rel_diff: float
    repeat_identical: bool
    digests: list[str] = field(default_factory=list)


def measure(
    inst: Instance, solver: str, reps: int, ref: Checked | None
) -> tuple[Row, Checked, float]:
    fn = SOLVERS[solver]
    results: list[Result] = []
    checks: list[Checked] = []
    for r in range(reps):
        res = fn(inst)
        results.append(res)
        checks.append(check(inst, res.flows))
        # a slow solver stops after three runs (the median of three is still a median)
        if r >= 2 and res.total_s > 20:
            break
    c = checks[0]
    assert all(
        x.quantity_g == c.quantity_g and x.cost_micro_fen == c.cost_micro_fen for x in checks
    )
    base = ref or c
    rel = abs(c.cost_micro_fen - base.cost_micro_fen) / max(1, base.cost_micro_fen)
    row = Row(
        instance=inst.name,
        arcs=inst.k,
        solver=solver,
        runs=len(results),
        build_ms=1000 * statistics.median(x.build_s for x in results),
        solve_ms=1000 * statistics.median(x.solve_s for x in results),
        total_ms=1000 * statistics.median(x.total_s for x in results),
        quantity_t=f"{c.quantity_g / 1e6:,.6f}",
        cost_yuan=f"{c.cost_yuan:,.2f}",
        qty_equal=c.quantity_g == base.quantity_g,
        cost_rel_diff=rel,
        repeat_identical=len({x.digest for x in checks}) == 1,
        digests=sorted({x.digest for x in checks}),
    )
    return row, c, results[0].total_s


def print_table(rows: list[Row], header: bool = True) -> None:
    head = (
        f"{'instance':<18}{'arcs':>8} {'solver':<9}{'n':>2}{'build ms':>10}{'solve ms':>11}"
        f"{'total ms':>11}{'matched t':>18}{'cost yuan':>22}  {'qty=':<5}{'cost rel':>9}  rep"
    )
    if header:
        print(head)
        print("-" * len(head))
    for r in rows:
        print(
            f"{r.instance:<18}{r.arcs:>8} {r.solver:<9}{r.runs:>2}{r.build_ms:>10.1f}"
            f"{r.solve_ms:>11.1f}{r.total_ms:>11.1f}{r.quantity_t:>18}{r.cost_yuan:>22}  "
            f"{'yes' if r.qty_equal else 'NO':<5}{r.cost_rel_diff:>9.1e}  "
            f"{'same' if r.repeat_identical else 'DIFF'}"
        )


def bench_sizes(args: argparse.Namespace) -> list[Row]:
    sizes = [(100, 100), (1_000, 1_000)]
    if not args.quick:
        sizes.append((10_000, 10_000))
    rows: list[Row] = []
    for m, n in sizes:
        for scenario in ("over", "under"):
            t0 = time.perf_counter()
            inst = make_instance(m, n, SEED, scenario)
            print(
                f"\n{inst.describe()} (generated in {time.perf_counter() - t0:.1f} s)", flush=True
            )
            ref: Checked | None = None
            for solver in SOLVERS:
                if solver == "networkx" and m > args.networkx_max:
                    continue
                row, checked, _ = measure(inst, solver, args.reps, ref)
                if ref is None:
                    ref = checked
                rows.append(row)
                print_table([row], header=ref is checked)
                sys.stdout.flush()
    return rows


def bench_components(count: int) -> dict[str, float]:
    """``count`` components of 100 x 100 solved one after another by OR-Tools."""
    insts = [make_instance(100, 100, SEED + i, "over" if i % 2 else "under") for i in range(count)]
    build = solve = 0.0
    arcs = 0
    t0 = time.perf_counter()
    for inst in insts:
        res = solve_ortools(inst)
        build += res.build_s
        solve += res.solve_s
        arcs += inst.k
    wall = time.perf_counter() - t0
    # The same components through highspy, for the per-component overhead comparison.
    hb = hs = 0.0
    for inst in insts[: min(count, 200)]:
        res = solve_highspy(inst)
        hb += res.build_s
        hs += res.solve_s
    n_h = min(count, 200)
    return {
        "components": count,
        "arcs": arcs,
        "ortools_wall_s": wall,
        "ortools_build_ms_per_component": 1000 * build / count,
        "ortools_solve_ms_per_component": 1000 * solve / count,
        "highspy_build_ms_per_component": 1000 * hb / n_h,
        "highspy_solve_ms_per_component": 1000 * hs / n_h,
        "highspy_components": n_h,
    }


def bench_determinism(instances: int) -> dict[str, dict[str, int]]:
    """Repeat runs and permuted inputs (nodes renumbered, arcs shuffled), 100 x 100.

    A solver is deterministic if the same input gives the same flows; it is
    order-independent if a permuted input gives the same flows once mapped back. Both
    always agree on quantity and cost (checked); the flows themselves may differ on ties.
    """
    out: dict[str, dict[str, int]] = {}
    for solver in ("ortools", "highspy", "networkx"):
        stats = {"instances": 0, "repeat_differs": 0, "permuted_differs": 0, "objective_differs": 0}
        for i in range(instances):
            inst = make_instance(100, 100, SEED + 10_000 + i, "over" if i % 2 else "under")
            a = check(inst, SOLVERS[solver](inst).flows)
            b = check(inst, SOLVERS[solver](inst).flows)
            pinst, perm = permuted(inst, SEED + i)
            pflows = SOLVERS[solver](pinst).flows
            back = np.empty_like(pflows)
            back[perm] = pflows
            p = check(inst, back)
            stats["instances"] += 1
            stats["repeat_differs"] += a.digest != b.digest
            stats["permuted_differs"] += a.digest != p.digest
            stats["objective_differs"] += (a.quantity_g, a.cost_micro_fen) != (
                p.quantity_g,
                p.cost_micro_fen,
            )
            if solver == "ortools":
                # the remedy: canonicalise the permuted input, solve, map back
                cinst, corder = canonical(pinst)
                cflows = SOLVERS[solver](cinst).flows
                pback = np.empty_like(cflows)
                pback[corder] = cflows
                back[perm] = pback
                stats["canonical_differs"] = stats.get("canonical_differs", 0) + (
                    a.digest != check(inst, back).digest
                )
        out[solver] = stats
    return out


# --------------------------------------------------------------------------- MILP


def make_moq_instance(m: int, n: int, seed: int) -> tuple[Instance, I64]:
    """A small component whose listings have minimum order quantities (grams)."""
    inst = make_instance(m, n, seed, "over")
    rng = np.random.default_rng(seed)
    # half of the listings: an MOQ of 10-50 % of the lot, so that small needs cannot be
    # served from them and the max flow without MOQs is no longer reachable.
    moq = np.where(rng.random(m) < 0.5, np.rint(inst.supply * rng.uniform(0.1, 0.5, m)), 0).astype(
        np.int64
    )
    return inst, moq


def bench_milp(m: int, n: int, time_limit: float) -> dict[str, Any]:
    """Minimum order quantities: x_ij = 0 or moq_i <= x_ij <= u_ij (a MILP).

    Lexicographic again as two stages. Reported next to the LP bound (the min-cost
    max-flow without MOQs) with each solver's own gap.
    """
    from ortools.sat.python import cp_model
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    inst, moq = make_moq_instance(m, n, SEED)
    lp = check(inst, solve_ortools(inst).flows)
    res: dict[str, Any] = {
        "instance": f"{m}x{n}, {inst.k} arcs, {int((moq > 0).sum())} listings with MOQ",
        "lp_bound_quantity_t": lp.quantity_g / 1e6,
        "lp_bound_cost_yuan": float(lp.cost_yuan),
    }
    k = inst.k
    cap = inst.cap
    arc_moq = moq[inst.tails]
    # An arc whose capacity is below the MOQ can carry nothing.
    cap = np.where(arc_moq > cap, 0, cap)

    # --- HiGHS MILP via scipy.optimize.milp: variables [x (k), y (k)] -------------------
    t0 = time.perf_counter()
    rows_x = np.column_stack([inst.tails, inst.heads + inst.m]).ravel()
    a_flow = sparse.csr_array(
        (np.ones(2 * k), (rows_x, np.repeat(np.arange(k), 2))), shape=(inst.m + inst.n, k)
    )
    eye = sparse.identity(k, format="csr")
    a = sparse.vstack(
        [
            sparse.hstack([a_flow, sparse.csr_array((inst.m + inst.n, k))]),
            sparse.hstack([eye, -sparse.diags_array(cap.astype(float))]),  # x - u y <= 0
            sparse.hstack([eye, -sparse.diags_array(arc_moq.astype(float))]),  # x - moq y >= 0
        ],
        format="csr",
    )
    lo = np.concatenate([np.full(inst.m + inst.n, -np.inf), np.full(k, -np.inf), np.zeros(k)])
    hi = np.concatenate(
        [np.concatenate([inst.supply, inst.demand]), np.zeros(k), np.full(k, np.inf)]
    )
    cons = [LinearConstraint(a, lo, hi)]
    integrality = np.concatenate([np.zeros(k), np.ones(k)])
    bounds = Bounds(np.zeros(2 * k), np.concatenate([cap, np.ones(k)]))
    opts = {"time_limit": time_limit, "disp": False}
    r1 = milp(
        np.concatenate([-np.ones(k), np.zeros(k)]),
        constraints=cons,
        integrality=integrality,
        bounds=bounds,
        options=opts,
    )
    f1 = round(-r1.fun)
    cons2 = [*cons, LinearConstraint(np.concatenate([np.ones(k), np.zeros(k)]), f1, np.inf)]
    r2 = milp(
        np.concatenate([inst.cost.astype(float), np.zeros(k)]),
        constraints=cons2,
        integrality=integrality,
        bounds=bounds,
        options=opts,
    )
    x = np.rint(r2.x[:k]).astype(np.int64)
    ok = bool(((x == 0) | (x >= arc_moq)).all())
    c = check(inst, x)
    res["highs"] = {
        "seconds": time.perf_counter() - t0,
        "stage1_status": r1.message,
        "stage1_gap": r1.mip_gap,
        "stage2_status": r2.message,
        "stage2_gap": r2.mip_gap,
        "quantity_t": c.quantity_g / 1e6,
        "cost_yuan": float(c.cost_yuan),
        "quantity_gap_to_lp": 1 - c.quantity_g / max(1, lp.quantity_g),
        "cost_above_lp": c.cost_micro_fen / max(1, lp.cost_micro_fen) - 1,
        "moq_respected_after_rounding": ok,
        "max_rounding_g": float(np.abs(r2.x[:k] - x).max()),
    }

    # --- OR-Tools CP-SAT: exact integers -----------------------------------------------
    t0 = time.perf_counter()

    def build() -> tuple[Any, list[Any]]:
        model = cp_model.CpModel()
        xs = []
        for a_i in range(k):
            u = int(cap[a_i])
            xv = model.new_int_var(0, u, f"x{a_i}")
            if arc_moq[a_i] > 0 and u > 0:
                yv = model.new_bool_var(f"y{a_i}")
                model.add(xv >= int(arc_moq[a_i])).only_enforce_if(yv)
                model.add(xv == 0).only_enforce_if(~yv)
            xs.append(xv)
        for i in range(inst.m):
            model.add(
                sum(xs[a_i] for a_i in np.flatnonzero(inst.tails == i)) <= int(inst.supply[i])
            )
        for j in range(inst.n):
            model.add(
                sum(xs[a_i] for a_i in np.flatnonzero(inst.heads == j)) <= int(inst.demand[j])
            )
        return model, xs

    def solver() -> Any:
        s = cp_model.CpSolver()
        s.parameters.max_time_in_seconds = time_limit
        s.parameters.num_workers = 2
        return s

    model, xs = build()
    model.maximize(sum(xs))
    s1 = solver()
    st1 = s1.solve(model)
    g1 = int(s1.objective_value)
    stage1 = (s1.status_name(st1), s1.objective_value, s1.best_objective_bound)
    model.add(sum(xs) >= g1)
    model.minimize(sum(int(inst.cost[a_i]) * xs[a_i] for a_i in range(k)))
    s2 = solver()
    st2 = s2.solve(model)
    xc = np.array([s2.value(v) for v in xs], dtype=np.int64)
    cc = check(inst, xc)
    res["cpsat"] = {
        "seconds": time.perf_counter() - t0,
        "stage1": f"{stage1[0]} obj {stage1[1]:.0f} bound {stage1[2]:.0f}",
        "stage2": f"{s2.status_name(st2)} obj {s2.objective_value:.0f} "
        f"bound {s2.best_objective_bound:.0f}",
        "stage2_gap": (s2.objective_value - s2.best_objective_bound)
        / max(1.0, abs(s2.objective_value)),
        "quantity_t": cc.quantity_g / 1e6,
        "cost_yuan": float(cc.cost_yuan),
        "quantity_gap_to_lp": 1 - cc.quantity_g / max(1, lp.quantity_g),
        "cost_above_lp": cc.cost_micro_fen / max(1, lp.cost_micro_fen) - 1,
        "moq_respected": bool(((xc == 0) | (xc >= arc_moq)).all()),
    }
    return res


# --------------------------------------------------------------------------- main


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "cpus": str(os.cpu_count())}
    for pkg in ("ortools", "highspy", "networkx", "scipy", "numpy"):
        out[pkg] = version(pkg)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="skip the 10,000 x 10,000 component")
    p.add_argument("--reps", type=int, default=5, help="runs per solver and instance (median)")
    p.add_argument("--networkx-max", type=int, default=1_000, help="largest m for networkx")
    p.add_argument("--components", type=int, default=1_000, help="100 x 100 components in a row")
    p.add_argument("--determinism", type=int, default=20, help="instances for tie behaviour")
    p.add_argument("--milp", type=int, default=100, help="m = n of the MOQ instance (0: skip)")
    p.add_argument("--milp-time", type=float, default=30.0, help="time limit per MILP stage")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    args = p.parse_args(argv)

    info = versions()
    print("versions:", ", ".join(f"{k} {v}" for k, v in info.items()))
    rows = bench_sizes(args)
    print("\n== all instances ==")
    print_table(rows)
    ok = all(r.qty_equal and r.cost_rel_diff <= 1e-6 for r in rows)
    print(f"\nall solvers agree (quantity exact, cost within 1e-6 relative): {ok}")

    print(f"\n== {args.components} components of 100 x 100, one after another ==")
    comp = bench_components(args.components)
    for key, val in comp.items():
        print(f"  {key}: {val:,.3f}" if isinstance(val, float) else f"  {key}: {val:,}")

    print(f"\n== tie behaviour, {args.determinism} instances of 100 x 100 ==")
    det = bench_determinism(args.determinism)
    for solver, st in det.items():
        print(f"  {solver}: {st}")

    milp_res: dict[str, Any] = {}
    if args.milp:
        print(f"\n== minimum order quantities (MILP), {args.milp} x {args.milp} ==")
        milp_res = bench_milp(args.milp, args.milp, args.milp_time)
        print(json.dumps(milp_res, indent=2, default=str))

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "versions": info,
                    "rows": [r.__dict__ for r in rows],
                    "components": comp,
                    "determinism": det,
                    "milp": milp_res,
                },
                indent=2,
                default=str,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
