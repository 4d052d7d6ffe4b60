"""The min-cost max-flow solver of one component, checked by hand and against an
independent LP (HiGHS through scipy, two solves). No database."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from matching import solver as solver_module
from matching.solver import INT64_MAX, Arc, Demand, Flow, Solution, Supply, solve_component

# --- hand-made cases ---------------------------------------------------------------------


def test_one_supply_two_demands_fills_the_cheaper_first() -> None:
    sol = solve_component(
        [Supply(1, 10)], [Demand(5, 4), Demand(6, 8)], [Arc(1, 5, 3), Arc(1, 6, 2)]
    )
    # 10 g available, 12 g asked: all 10 g go; 8 g to the cheaper need 6, 2 g to need 5.
    assert sol == Solution(
        flows=(Flow(1, 5, 2), Flow(1, 6, 8)), matched_grams=10, cost_micro_fen=2 * 3 + 8 * 2
    )


def test_cheaper_arc_wins() -> None:
    sol = solve_component(
        [Supply(1, 5), Supply(2, 5)], [Demand(9, 5)], [Arc(1, 9, 700), Arc(2, 9, 300)]
    )
    assert sol.flows == (Flow(2, 9, 5),)
    assert sol.matched_grams == 5
    assert sol.cost_micro_fen == 1500


def test_quantity_beats_cost() -> None:
    # Supply 1 reaches both needs cheaply; supply 2 only reaches need A, at a high cost.
    # The cheapest flow would send supply 1 to A, but the maximum quantity needs supply 1
    # on B and the costly arc 2 -> A.
    sol = solve_component(
        [Supply(1, 10), Supply(2, 10)],
        [Demand(100, 10), Demand(200, 10)],
        [Arc(1, 100, 1), Arc(1, 200, 5), Arc(2, 100, 1_000)],
    )
    assert sol.matched_grams == 20
    assert sol.flows == (Flow(1, 200, 10), Flow(2, 100, 10))
    assert sol.cost_micro_fen == 10 * 5 + 10 * 1_000


def test_no_arcs_matches_nothing() -> None:
    assert solve_component([Supply(1, 10)], [Demand(2, 10)], []) == Solution((), 0, 0)


def test_empty_inputs() -> None:
    assert solve_component([], [], []) == Solution((), 0, 0)


def test_zero_quantities_match_nothing() -> None:
    sol = solve_component([Supply(1, 0)], [Demand(2, 5)], [Arc(1, 2, 1)])
    assert sol == Solution((), 0, 0)


def test_shuffled_input_gives_identical_flows() -> None:
    # Many ties: every arc costs the same, so any split of the flow is optimal.
    supplies = [Supply(k, 7) for k in (11, 3, 42, 8)]
    demands = [Demand(k, 5) for k in (90, 17, 33, 56, 2)]
    arcs = [Arc(s.key, d.key, 10) for s in supplies for d in demands]
    ref = solve_component(supplies, demands, arcs)
    assert ref.matched_grams == 25
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(supplies)
        rng.shuffle(demands)
        rng.shuffle(arcs)
        assert solve_component(supplies, demands, arcs) == ref


def test_accepts_generators() -> None:
    sol = solve_component(
        (s for s in [Supply(1, 3)]), (d for d in [Demand(2, 3)]), (a for a in [Arc(1, 2, 4)])
    )
    assert sol == Solution((Flow(1, 2, 3),), 3, 12)


# --- refused input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supplies", "demands", "arcs", "message"),
    [
        ([Supply(1, 5)], [Demand(2, 5)], [Arc(3, 2, 1)], "unknown supply 3"),
        ([Supply(1, 5)], [Demand(2, 5)], [Arc(1, 4, 1)], "unknown demand 4"),
        ([Supply(1, -1)], [Demand(2, 5)], [], "must not be negative"),
        ([Supply(1, 5)], [Demand(2, -5)], [], "must not be negative"),
        ([Supply(1, 5)], [Demand(2, 5)], [Arc(1, 2, -1)], "must not be negative"),
        ([Supply(1, 5)], [Demand(2, 5)], [Arc(1, 2, 1), Arc(1, 2, 2)], "Duplicate arc"),
        ([Supply(1, 5), Supply(1, 6)], [Demand(2, 5)], [], "Duplicate supply key 1"),
        ([Supply(1, 5)], [Demand(2, 5), Demand(2, 5)], [], "Duplicate demand key 2"),
        ([Supply(1, 5.0)], [Demand(2, 5)], [], "must be an int"),  # type: ignore[arg-type]
        ([Supply(1, 5)], [Demand(2, 5)], [Arc(1, 2, True)], "must be an int"),
    ],
)
def test_refuses_malformed_input(
    supplies: list[Supply], demands: list[Demand], arcs: list[Arc], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        solve_component(supplies, demands, arcs)


def test_refuses_a_component_that_could_overflow_int64() -> None:
    cost = 3_000_000  # 30,000 yuan/t in fen
    fits = INT64_MAX // cost
    ok = solve_component([Supply(1, fits)], [Demand(2, 1)], [Arc(1, 2, cost)])
    assert ok.matched_grams == 1
    with pytest.raises(ValueError, match="int64"):
        solve_component([Supply(1, fits + 1)], [Demand(2, 1)], [Arc(1, 2, cost)])
    # Demand counts too, and so do quantities with only zero-cost arcs.
    with pytest.raises(ValueError, match="int64"):
        solve_component([Supply(1, 1)], [Demand(2, fits + 1)], [Arc(1, 2, cost)])
    with pytest.raises(ValueError, match="int64"):
        solve_component([Supply(1, 2**63)], [Demand(2, 1)], [Arc(1, 2, 0)])


def test_non_optimal_status_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = solver_module.min_cost_flow.SimpleMinCostFlow

    class Failing:
        OPTIMAL = real.OPTIMAL

        def __init__(self) -> None:
            self._inner = real()

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def solve_max_flow_with_min_cost(self) -> Any:
            return real.BAD_COST_RANGE

    monkeypatch.setattr(solver_module, "min_cost_flow", SimpleNamespace(SimpleMinCostFlow=Failing))
    with pytest.raises(RuntimeError, match="BAD_COST_RANGE"):
        solve_component([Supply(1, 5)], [Demand(2, 5)], [Arc(1, 2, 1)])


# --- random components against an independent LP ----------------------------------------


@st.composite
def components(draw: st.DrawFn) -> tuple[list[Supply], list[Demand], list[Arc]]:
    m = draw(st.sampled_from(range(1, 9)))  # empty sides are hand-made cases above
    n = draw(st.sampled_from(range(1, 9)))
    s_keys = draw(st.lists(st.integers(1, 10_000), min_size=m, max_size=m, unique=True))
    d_keys = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    grams = st.integers(1, 30) | st.just(0)
    supplies = [Supply(k, draw(grams)) for k in s_keys]
    demands = [Demand(k, draw(grams)) for k in d_keys]
    # Sparse arcs: each pair is feasible with a drawn density (seeded, so reproducible).
    density = draw(st.sampled_from([0.2, 0.4, 0.6, 0.9]))
    pick = random.Random(draw(st.integers(0, 2**32)))
    chosen = [(s, d) for s in s_keys for d in d_keys if pick.random() < density]
    arcs = [Arc(s, d, draw(st.integers(0, 6))) for s, d in chosen]  # few costs: many ties
    return supplies, demands, arcs


def lp_optimum(supplies: list[Supply], demands: list[Demand], arcs: list[Arc]) -> tuple[int, float]:
    """Max total flow, then min cost at that flow, by two HiGHS LP solves."""
    if not arcs:
        return 0, 0.0
    s_row = {s.key: i for i, s in enumerate(supplies)}
    d_row = {d.key: len(supplies) + j for j, d in enumerate(demands)}
    a_ub = np.zeros((len(supplies) + len(demands), len(arcs)))
    for col, a in enumerate(arcs):
        a_ub[s_row[a.supply], col] = 1
        a_ub[d_row[a.demand], col] = 1
    b_ub = [s.grams for s in supplies] + [d.grams for d in demands]
    bounds = [(0, None)] * len(arcs)
    first = linprog(-np.ones(len(arcs)), A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert first.status == 0, first.message
    best = round(-first.fun)
    second = linprog(
        np.array([a.cost_fen_per_t for a in arcs], dtype=float),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.ones((1, len(arcs))),
        b_eq=[best],
        bounds=bounds,
        method="highs",
    )
    assert second.status == 0, second.message
    return best, float(second.fun)


@settings(max_examples=60, deadline=None)
@given(components(), st.randoms(use_true_random=False))
def test_matches_the_lp_optimum(
    component: tuple[list[Supply], list[Demand], list[Arc]], rnd: random.Random
) -> None:
    supplies, demands, arcs = component
    sol = solve_component(supplies, demands, arcs)

    best, lp_cost = lp_optimum(supplies, demands, arcs)
    assert sol.matched_grams == best
    lp_cost_rounded = round(lp_cost)
    assert abs(sol.cost_micro_fen - lp_cost_rounded) <= 1e-6 * max(1, abs(lp_cost_rounded))

    # Feasible, integral, only given arcs, consistent totals, sorted.
    supply_of = {s.key: s.grams for s in supplies}
    demand_of = {d.key: d.grams for d in demands}
    cost_of = {(a.supply, a.demand): a.cost_fen_per_t for a in arcs}
    sent = dict.fromkeys(supply_of, 0)
    got = dict.fromkeys(demand_of, 0)
    for f in sol.flows:
        assert type(f.grams) is int
        assert f.grams > 0
        assert (f.supply, f.demand) in cost_of
        sent[f.supply] += f.grams
        got[f.demand] += f.grams
    assert all(sent[k] <= supply_of[k] for k in sent)
    assert all(got[k] <= demand_of[k] for k in got)
    assert sol.matched_grams == sum(f.grams for f in sol.flows)
    assert sol.cost_micro_fen == sum(cost_of[f.supply, f.demand] * f.grams for f in sol.flows)
    keys = [(f.supply, f.demand) for f in sol.flows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)

    # The same component in another order gives the same flows.
    for seq in (supplies, demands, arcs):
        rnd.shuffle(seq)
    assert solve_component(supplies, demands, arcs) == sol


def _indexed(
    supplies: list[Supply], demands: list[Demand], arcs: list[Arc]
) -> tuple[dict[tuple[int, int], int], int, int]:
    """solve_indexed on the canonical arrays of a component, flows mapped back to keys."""
    sup = sorted(supplies, key=lambda s: s.key)
    dem = sorted(demands, key=lambda d: d.key)
    s_pos = {s.key: i for i, s in enumerate(sup)}
    d_pos = {d.key: j for j, d in enumerate(dem)}
    ordered = sorted(arcs, key=lambda a: (s_pos[a.supply], d_pos[a.demand]))
    flows, matched, cost = solver_module.solve_indexed(
        np.array([s.grams for s in sup], dtype=np.int64),
        np.array([d.grams for d in dem], dtype=np.int64),
        np.array([s_pos[a.supply] for a in ordered], dtype=np.int64),
        np.array([d_pos[a.demand] for a in ordered], dtype=np.int64),
        np.array([a.cost_fen_per_t for a in ordered], dtype=np.int64),
    )
    by_pair = {
        (a.supply, a.demand): int(x) for a, x in zip(ordered, flows.tolist(), strict=True) if x
    }
    return by_pair, matched, cost


@settings(max_examples=80, deadline=None)
@given(components())
def test_solve_indexed_gives_the_flows_of_solve_component(
    component: tuple[list[Supply], list[Demand], list[Arc]],
) -> None:
    """The engine's array entry point is the same solver: same flows, ties included."""
    supplies, demands, arcs = component
    reference = solve_component(supplies, demands, arcs)
    flows, matched, cost = _indexed(supplies, demands, arcs)
    assert flows == {(f.supply, f.demand): f.grams for f in reference.flows}
    assert (matched, cost) == (reference.matched_grams, reference.cost_micro_fen)


@pytest.mark.parametrize(
    ("tail", "head", "message"),
    [
        ([0, 0], [1, 0], "sorted"),
        ([0, 0], [0, 0], "sorted"),
        ([2], [0], "out of range"),
        ([0], [-1], "out of range"),
    ],
)
def test_solve_indexed_refuses_unsorted_or_out_of_range_arcs(
    tail: list[int], head: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        solver_module.solve_indexed(
            np.array([5, 5], dtype=np.int64),
            np.array([5, 5], dtype=np.int64),
            np.array(tail, dtype=np.int64),
            np.array(head, dtype=np.int64),
            np.ones(len(tail), dtype=np.int64),
        )


def test_solve_indexed_refuses_overflow_and_negative_values() -> None:
    one = np.array([0], dtype=np.int64)
    with pytest.raises(ValueError, match="int64"):
        solver_module.solve_indexed(
            np.array([INT64_MAX // 2], dtype=np.int64),
            np.array([INT64_MAX // 2], dtype=np.int64),
            one,
            one,
            np.array([3], dtype=np.int64),
        )
    with pytest.raises(ValueError, match="negative"):
        solver_module.solve_indexed(
            np.array([-1], dtype=np.int64), np.array([1], dtype=np.int64), one, one, one
        )


@settings(max_examples=60, deadline=None)
@given(components(), st.randoms(use_true_random=False))
def test_grouped_supplies_match_the_lp_optimum_with_lot_rows(
    component: tuple[list[Supply], list[Demand], list[Arc]], rnd: random.Random
) -> None:
    """Listings sharing a lot: the lot's row Σ_{i in lot} Σ_j x_ij ≤ lot is respected and
    the result is the two-stage LP optimum of the problem with those rows added."""
    supplies, demands, arcs = component
    sup = sorted(supplies, key=lambda s: s.key)
    dem = sorted(demands, key=lambda d: d.key)
    s_pos = {s.key: i for i, s in enumerate(sup)}
    d_pos = {d.key: j for j, d in enumerate(dem)}
    ordered = sorted(arcs, key=lambda a: (s_pos[a.supply], d_pos[a.demand]))
    n_groups = rnd.randint(1, 3)
    group = [rnd.randrange(-1, n_groups) for _ in sup]
    group_grams = [rnd.randint(0, 40) for _ in range(n_groups)]
    flows, matched, cost = solver_module.solve_indexed(
        np.array([s.grams for s in sup], dtype=np.int64),
        np.array([d.grams for d in dem], dtype=np.int64),
        np.array([s_pos[a.supply] for a in ordered], dtype=np.int64),
        np.array([d_pos[a.demand] for a in ordered], dtype=np.int64),
        np.array([a.cost_fen_per_t for a in ordered], dtype=np.int64),
        group=np.array(group, dtype=np.int64),
        group_grams=np.array(group_grams, dtype=np.int64),
    )
    x = flows.tolist()
    for g, cap in enumerate(group_grams):
        sent = sum(x[k] for k, a in enumerate(ordered) if group[s_pos[a.supply]] == g)
        assert sent <= cap
    for i, s in enumerate(sup):
        assert sum(x[k] for k, a in enumerate(ordered) if s_pos[a.supply] == i) <= s.grams
    for j, d in enumerate(dem):
        assert sum(x[k] for k, a in enumerate(ordered) if d_pos[a.demand] == j) <= d.grams
    assert matched == sum(x)
    assert cost == sum(v * a.cost_fen_per_t for v, a in zip(x, ordered, strict=True))
    if not ordered:
        return
    # The LP: supply, demand and lot rows; max Σx, then min cost with Σx fixed.
    rows = len(sup) + len(dem) + n_groups
    a_ub = np.zeros((rows, len(ordered)))
    for col, a in enumerate(ordered):
        i = s_pos[a.supply]
        a_ub[i, col] = 1
        a_ub[len(sup) + d_pos[a.demand], col] = 1
        if group[i] >= 0:
            a_ub[len(sup) + len(dem) + group[i], col] = 1
    b_ub = [s.grams for s in sup] + [d.grams for d in dem] + group_grams
    first = linprog(-np.ones(len(ordered)), A_ub=a_ub, b_ub=b_ub, method="highs")
    assert first.status == 0
    best = round(-first.fun)
    assert matched == best
    second = linprog(
        np.array([a.cost_fen_per_t for a in ordered], dtype=float),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.ones((1, len(ordered))),
        b_eq=[best],
        method="highs",
    )
    assert second.status == 0
    assert cost == pytest.approx(second.fun, rel=1e-9, abs=1e-6)
