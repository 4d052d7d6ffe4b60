"""One matching component with minimum order quantities (MOQ). Pure, no database.

The problem is that of ``matching.solver`` (maximise the matched grams, then minimise
Σ c_ij x_ij) with one more rule: a listing i may have a minimum order quantity moq_i, and
every arc out of it carries either 0 or at least the *effective* minimum
m_i = min(moq_i, s_i) grams. The ``min`` is the remainder rule: a listing whose stock has
fallen below its MOQ may still sell the remainder whole. Each MOQ arc is semi-continuous,
x_ij = 0 or m_i ≤ x_ij ≤ u_ij with u_ij = min(s_i, d_j), which makes the problem a MILP
(docs/matching.md, "Minimum order quantities (MILP)").

How it is solved, and what is exact:

1. Arcs with u_ij < m_i can never carry flow and are dropped first. On the arcs that are
   left, the LP relaxation of the MILP (y_ij ∈ [0, 1]) is exactly the min-cost max-flow
   without minimums, so ``relaxed = solve_component(kept arcs)`` is the bound, computed
   exactly in integers. If its flows already respect every minimum it is the optimum.
2. Otherwise HiGHS (``highspy``) chooses which MOQ arcs are *open* (y_ij = 1) in two
   stages: maximise Σ x, then minimise Σ c x with Σ x held at the best quantity found,
   each stage under ``time_limit_s``. HiGHS works in floating point, so only its choice
   of open arcs is kept, never its flows.
3. The choice is *polished* exactly: closed MOQ arcs are removed, open ones get the lower
   bound m_i, which is pre-assigned and taken off both end nodes; OR-Tools then solves
   the residual min-cost max-flow in integers. The flows are whole grams and are the
   exact lexicographic optimum *for that set of open arcs*. (The residual arc capacity
   u_ij − m_i never binds: it is at least the residual quantity of either end node.)
4. The heuristic (the relaxed flows' MOQ arcs that already carry at least m_i are open,
   the others closed, then polished) is computed first. It is the fallback when highspy
   is missing, the component has more than ``MAX_MILP_MOQ_ARCS`` MOQ arcs, or HiGHS finds
   nothing usable, and the reference the MILP must match: the lexicographically best of
   the polished candidates (heuristic, stage 1, stage 2) is returned, so the result is
   never worse than the heuristic. Stage 2 asks for Σ x ≥ the best polished quantity so
   far, an integer that a whole-gram solution reaches exactly, so no tolerance is needed.
   HiGHS gets no MIP start (see ``_Milp._run``).

Optimality: stage 1 runs with ``mip_rel_gap = 0`` and ``mip_abs_gap = 0.5``. For a fixed
set of open arcs the LP is a transportation problem with integer bounds (totally
unimodular), so the optimum quantity is an integer and the polish reaches at least
HiGHS's incumbent; a dual bound less than 0.5 g above the incumbent therefore proves the
polished quantity optimal. Stage 2 stops at a relative gap of ``COST_REL_GAP`` (HiGHS's
default 10⁻⁴, the setting measured in docs/matching.md) or an absolute gap of 0.5 × 10⁻⁶
fen, whichever comes first; the polished cost is at most HiGHS's incumbent, so it is
within that gap of the optimum (exact whenever 10⁻⁴ of the cost is below 0.5). Either
stage may stop at the time limit instead; ``mip_gap`` is HiGHS's own gap for the stage
whose choice was returned (for stage 2, relative to its fixed quantity), not recomputed
for the polished solution.

Determinism: the component is put in canonical order (``matching.solver``) before the
model is built, HiGHS runs single-threaded, and the polish is OR-Tools on the canonical
form, so the flows are a function of the component alone whatever the input order — as
long as HiGHS finishes within its time limit. A stage stopped by the clock depends on the
machine's speed.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Literal

import numpy as np

from matching.solver import (
    Arc,
    Demand,
    Flow,
    Limits,
    Solution,
    Supply,
    _canonical,
    _check_int,
    solve_component,
)

#: Above this many MOQ arcs in one component the MILP is not attempted (heuristic only).
MAX_MILP_MOQ_ARCS = 20_000
#: Relative gap at which HiGHS may stop stage 2 (cost). Stage 1 (quantity) is exact.
COST_REL_GAP = 1e-4
#: Absolute gaps (grams in stage 1, 10⁻⁶ fen in stage 2): both objectives are integers at
#: the polished optimum, so a gap below 0.5 is a proof.
_ABS_GAP = 0.5

Method = Literal["relaxed", "milp", "heuristic"]
_Key = tuple[int, int]
_End = tuple[str, int]  # a node or shared limit an arc draws on: ("s" | "d" | "lot" | "zone", key)


_banner_lock = threading.Lock()
_banner_swallowed = False


def _flush_c_stdio() -> None:
    with contextlib.suppress(OSError, AttributeError):  # no C library to reach (Windows)
        ctypes.CDLL(None).fflush(None)


def _new_highs(hs: ModuleType) -> Any:
    """A HiGHS instance that prints nothing.

    HiGHS writes its banner ("Running HiGHS ...") from C++ to file descriptor 1 when the
    first instance of the process is built, before any option can be set; it would land in
    the middle of ``seed_demo``'s or ``match``'s output (or a server's log). That first
    construction runs with fd 1 pointed at /dev/null; the brief window is held under a
    lock, so another thread's print can be lost only while the very first instance is
    built. Every instance then has its output turned off before it is given a model.
    """
    global _banner_swallowed
    with _banner_lock:
        if _banner_swallowed:
            h = hs.Highs()
        else:
            h = _built_without_stdout(hs.Highs)
            _banner_swallowed = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def _built_without_stdout(build: Any) -> Any:
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no fd 1 to redirect: nothing to print to either
        return build()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        _flush_c_stdio()
        os.dup2(devnull, 1)
        built = build()
        _flush_c_stdio()  # the banner may sit in C's buffer: out before fd 1 is restored
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return built


@dataclass(frozen=True)
class MinimumsResult:
    """The solution and how it was found.

    ``solution`` respects every minimum and is whole grams. ``relaxed`` is the min-cost
    max-flow without minimums on the arcs that can carry one (the exact bound: nothing
    respecting the minimums matches more, nor as much at a lower cost). ``method`` is
    ``"relaxed"`` when that bound already respected the minimums (then
    ``solution == relaxed``), ``"milp"`` when HiGHS chose the open arcs and
    ``"heuristic"`` for the fallback. ``mip_gap`` is HiGHS's relative gap for the stage
    whose choice was returned, only when ``method == "milp"``.
    """

    solution: Solution
    relaxed: Solution
    method: Method
    mip_gap: float | None


@dataclass(frozen=True)
class Exclusions:
    """Places that may not both receive goods: ``place_of`` maps an arc (supply key,
    demand key) to its place (a material's hazards into a delivery zone), ``conflicts``
    lists the pairs of places that segregation keeps apart in one warehouse. Of two
    conflicting places at most one carries flow: a choice, so a binary per place in the
    MILP, like the minimum-order arcs."""

    place_of: Mapping[_Key, int] = field(default_factory=dict)
    conflicts: Sequence[tuple[int, int]] = ()

    def __bool__(self) -> bool:
        return bool(self.conflicts)

    def places(self) -> list[int]:
        """The places in some conflict, in id order."""
        return sorted({p for pair in self.conflicts for p in pair})

    def respected_by(self, flows: Iterable[Flow]) -> bool:
        used = {self.place_of.get((f.supply, f.demand)) for f in flows if f.grams > 0}
        return not any(a in used and b in used for a, b in self.conflicts)

    def choose(self, flows: Iterable[Flow]) -> set[int]:
        """Places to close so that no two conflicting ones stay open: the places carrying
        more of ``flows`` are kept first (ties by id), each closing those it conflicts
        with. Deterministic."""
        carried: dict[int, int] = defaultdict(int)
        for f in flows:
            place = self.place_of.get((f.supply, f.demand))
            if place is not None:
                carried[place] += f.grams
        against: dict[int, set[int]] = defaultdict(set)
        for a, b in self.conflicts:
            against[a].add(b)
            against[b].add(a)
        kept: set[int] = set()
        closed: set[int] = set()
        for place in sorted(self.places(), key=lambda q: (-carried[q], q)):
            if against[place] & kept:
                closed.add(place)
            else:
                kept.add(place)
        return closed


@dataclass(frozen=True)
class _Component:
    """The canonical component on the arcs that can carry flow, and its minimums."""

    supplies: list[Supply]
    demands: list[Demand]
    arcs: list[Arc]  # kept arcs, sorted by (supply, demand)
    moq: dict[int, int]  # supply key -> effective minimum, only those ≥ 2 g
    caps: dict[_Key, int]  # (supply, demand) -> u = min(s, d, its lot's and zone's grams)
    limits: Limits = field(default_factory=Limits)  # lots of supplies, zones of demands
    exclusions: Exclusions = field(default_factory=Exclusions)

    def without(self, closed: set[int]) -> _Component:
        """The component less the arcs into the ``closed`` places."""
        if not closed:
            return self
        place_of = self.exclusions.place_of
        arcs = [a for a in self.arcs if place_of.get((a.supply, a.demand)) not in closed]
        return replace(self, arcs=arcs)


def _effective_minimums(supplies: Sequence[Supply], minimums: Mapping[int, int]) -> dict[int, int]:
    """min(moq_i, s_i) for the supplies of the component that have one.

    Minimums of 0 or 1 g are no constraint on whole-gram flows and are left out; keys that
    are not supplies of this component are ignored (the caller may pass one mapping for
    every component).
    """
    out: dict[int, int] = {}
    for s in supplies:
        if s.key in minimums:
            moq = min(_check_int(minimums[s.key], f"Minimum of supply {s.key}"), s.grams)
            if moq >= 2:
                out[s.key] = moq
    return out


def _respects(flows: Iterable[Flow], moq: Mapping[int, int]) -> bool:
    return all(f.grams >= moq.get(f.supply, 0) for f in flows)


def _better(a: Solution, b: Solution) -> bool:
    """Strictly better in the lexicographic order (more grams, then lower cost)."""
    return (a.matched_grams, -a.cost_micro_fen) > (b.matched_grams, -b.cost_micro_fen)


def _rooms(
    supplies: Sequence[Supply], demands: Sequence[Demand], limits: Limits
) -> tuple[dict[_End, int], dict[int, tuple[_End, ...]], dict[int, tuple[_End, ...]]]:
    """What each node and shared limit holds, and which of them an arc's two ends draw on:
    ("s", key), ("d", key), ("lot", group) and ("zone", group)."""
    room: dict[_End, int] = {("s", s.key): s.grams for s in supplies}
    room.update({("d", d.key): d.grams for d in demands})
    room.update({("lot", g): v for g, v in limits.supply_group_grams.items()})
    room.update({("zone", g): v for g, v in limits.demand_group_grams.items()})
    s_ends = {
        s.key: (("s", s.key),)
        + ((("lot", limits.supply_group[s.key]),) if s.key in limits.supply_group else ())
        for s in supplies
    }
    d_ends = {
        d.key: (("d", d.key),)
        + ((("zone", limits.demand_group[d.key]),) if d.key in limits.demand_group else ())
        for d in demands
    }
    return room, s_ends, d_ends


def _repair(comp: _Component, open_: set[_Key]) -> set[_Key]:
    """Close open arcs until the lower bounds fit every node, lot and zone.

    Highest cost first, ties by the larger (supply, demand) key, so the result depends on
    the component only. One pass suffices: closing arcs only lowers loads, so an arc kept
    because its ends fitted when it was visited stays feasible.
    """
    room, s_ends, d_ends = _rooms(comp.supplies, comp.demands, comp.limits)
    for a in comp.arcs:
        if (a.supply, a.demand) in open_:
            for end in s_ends[a.supply] + d_ends[a.demand]:
                room[end] -= comp.moq[a.supply]
    if all(v >= 0 for v in room.values()):
        return open_
    kept = set(open_)
    candidates = [a for a in comp.arcs if (a.supply, a.demand) in open_]
    candidates.sort(key=lambda a: (a.cost_fen_per_t, a.supply, a.demand), reverse=True)
    for a in candidates:
        ends = s_ends[a.supply] + d_ends[a.demand]
        if any(room[end] < 0 for end in ends):
            kept.discard((a.supply, a.demand))
            for end in ends:
                room[end] += comp.moq[a.supply]
    return kept


def _polish(comp: _Component, open_: set[_Key]) -> Solution:
    """The exact lexicographic optimum with exactly these MOQ arcs open.

    Open MOQ arcs carry at least their minimum (pre-assigned, then the residual problem is
    solved by ``solve_component`` within what the lots and zones have left), the other MOQ
    arcs carry nothing, the arcs of supplies without a minimum are free. Infeasible lower
    bounds are repaired first (``_repair``).
    """
    open_ = _repair(comp, open_)
    lower: dict[_Key, int] = {}
    room, s_ends, d_ends = _rooms(comp.supplies, comp.demands, comp.limits)
    used: list[Arc] = []
    for a in comp.arcs:
        key = (a.supply, a.demand)
        if a.supply not in comp.moq:
            used.append(a)
        elif key in open_:
            m = comp.moq[a.supply]
            lower[key] = m
            for end in s_ends[a.supply] + d_ends[a.demand]:
                room[end] -= m
            used.append(a)
    limits = comp.limits
    residual = solve_component(
        [Supply(s.key, room["s", s.key]) for s in comp.supplies],
        [Demand(d.key, room["d", d.key]) for d in comp.demands],
        used,
        Limits(
            supply_group=limits.supply_group,
            supply_group_grams={g: room["lot", g] for g in limits.supply_group_grams},
            demand_group=limits.demand_group,
            demand_group_grams={g: room["zone", g] for g in limits.demand_group_grams},
        ),
    )
    grams = dict(lower)
    for f in residual.flows:
        grams[f.supply, f.demand] = grams.get((f.supply, f.demand), 0) + f.grams
    flows = tuple(
        Flow(a.supply, a.demand, grams[a.supply, a.demand])
        for a in used
        if grams.get((a.supply, a.demand), 0) > 0
    )
    cost_of = {(a.supply, a.demand): a.cost_fen_per_t for a in used}
    return Solution(
        flows=flows,
        matched_grams=sum(f.grams for f in flows),
        cost_micro_fen=sum(cost_of[f.supply, f.demand] * f.grams for f in flows),
    )


def _open_arcs(sol: Solution, moq: Mapping[int, int]) -> set[_Key]:
    """The MOQ arcs on which ``sol`` carries at least the minimum."""
    return {(f.supply, f.demand) for f in sol.flows if f.supply in moq and f.grams >= moq[f.supply]}


@dataclass(frozen=True)
class _Choice:
    """What a MILP stage chose: the open minimum-order arcs, the closed places, its gap."""

    open_: set[_Key]
    closed: set[int]
    gap: float


class _Milp:
    """The two-stage HiGHS model: columns x (every kept arc), then y (every MOQ arc).

    Rows: Σ_j x_ij ≤ s_i, Σ_i x_ij ≤ d_j, Σ over a lot's supplies ≤ the lot's grams,
    Σ over a zone's demands ≤ the zone's grams, and per MOQ arc x − m_i y ≥ 0,
    x − u_ij y ≤ 0.
    """

    def __init__(self, highspy: ModuleType, comp: _Component, time_limit_s: float) -> None:
        self.hs = highspy
        self.comp = comp
        arcs = comp.arcs
        self.k = k = len(arcs)
        moq_arcs = [t for t, a in enumerate(arcs) if a.supply in comp.moq]
        self.moq_arcs = moq_arcs
        p = len(moq_arcs)
        excl = comp.exclusions
        self.places = places = excl.places()
        w_col = {place: k + p + i for i, place in enumerate(places)}
        # Arcs into a place in conflict: x − u w ≤ 0 (one row each).
        place_arcs = [
            (t, excl.place_of[a.supply, a.demand])
            for t, a in enumerate(arcs)
            if excl.place_of.get((a.supply, a.demand)) in w_col
        ]
        m, n = len(comp.supplies), len(comp.demands)
        s_row = {s.key: i for i, s in enumerate(comp.supplies)}
        d_row = {d.key: m + j for j, d in enumerate(comp.demands)}
        limits = comp.limits
        lots = sorted(
            {limits.supply_group[s.key] for s in comp.supplies if s.key in limits.supply_group}
        )
        zones = sorted(
            {limits.demand_group[d.key] for d in comp.demands if d.key in limits.demand_group}
        )
        lot_row = {g: m + n + i for i, g in enumerate(lots)}
        zone_row = {g: m + n + len(lots) + i for i, g in enumerate(zones)}
        y_of = {t: c for c, t in enumerate(moq_arcs)}
        # rows base + 2c: x - m y >= 0, base + 2c + 1: x - u y <= 0; then one row per
        # arc into a place in conflict (x - u w <= 0), then one per conflict (w + w <= 1)
        base = m + n + len(lots) + len(zones)
        place_row = {t: base + 2 * p + r for r, (t, _place) in enumerate(place_arcs)}
        conflict_base = base + 2 * p + len(place_arcs)
        caps = [float(comp.caps[a.supply, a.demand]) for a in arcs]
        arcs_of_place: dict[int, list[int]] = defaultdict(list)
        for t, place in place_arcs:
            arcs_of_place[place].append(t)
        conflicts_of: dict[int, list[int]] = defaultdict(list)
        for r, (a_place, b_place) in enumerate(excl.conflicts):
            conflicts_of[a_place].append(conflict_base + r)
            conflicts_of[b_place].append(conflict_base + r)

        start: list[int] = [0]
        index: list[int] = []
        value: list[float] = []
        for t, a in enumerate(arcs):
            index += [s_row[a.supply], d_row[a.demand]]
            value += [1.0, 1.0]
            if a.supply in limits.supply_group:
                index.append(lot_row[limits.supply_group[a.supply]])
                value.append(1.0)
            if a.demand in limits.demand_group:
                index.append(zone_row[limits.demand_group[a.demand]])
                value.append(1.0)
            if t in y_of:
                c = y_of[t]
                index += [base + 2 * c, base + 2 * c + 1]
                value += [1.0, 1.0]
            if t in place_row:
                index.append(place_row[t])
                value.append(1.0)
            start.append(len(index))
        for t in moq_arcs:
            c = y_of[t]
            index += [base + 2 * c, base + 2 * c + 1]
            value += [-float(comp.moq[arcs[t].supply]), -caps[t]]
            start.append(len(index))
        for place in places:
            for t in arcs_of_place[place]:
                index.append(place_row[t])
                value.append(-caps[t])
            for r in conflicts_of[place]:
                index.append(r)
                value.append(1.0)
            start.append(len(index))
        q = len(places)
        n_conflicts = len(excl.conflicts)

        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_ = k + p + q
        lp.num_row_ = conflict_base + n_conflicts
        lp.col_cost_ = np.concatenate([np.full(k, -1.0), np.zeros(p + q)])  # stage 1: max Σx
        lp.col_lower_ = np.zeros(k + p + q)
        lp.col_upper_ = np.concatenate([np.array(caps, dtype=np.float64), np.ones(p + q)])
        lp.row_lower_ = np.concatenate(
            [
                np.full(base, -inf),
                np.tile(np.array([0.0, -inf]), p),
                np.full(len(place_arcs) + n_conflicts, -inf),
            ]
        )
        lp.row_upper_ = np.concatenate(
            [
                np.array([s.grams for s in comp.supplies], dtype=np.float64),
                np.array([d.grams for d in comp.demands], dtype=np.float64),
                np.array([limits.supply_group_grams[g] for g in lots], dtype=np.float64),
                np.array([limits.demand_group_grams[g] for g in zones], dtype=np.float64),
                np.tile(np.array([inf, 0.0]), p),
                np.zeros(len(place_arcs)),
                np.ones(n_conflicts),
            ]
        )
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
        var = highspy.HighsVarType
        lp.integrality_ = [var.kContinuous] * k + [var.kInteger] * (p + q)

        self.lp = lp
        self.time_limit_s = float(time_limit_s)

    def _run(self, stage2_quantity: int | None) -> _Choice | None:
        """Solve one stage on a fresh HiGHS instance; the open arcs (y > ½) and the closed
        places (w < ½) of its incumbent and its gap, or None if it has no feasible
        solution.

        Stage 1 (``stage2_quantity`` None) maximises Σ x; stage 2 minimises Σ c x subject
        to Σ x ≥ ``stage2_quantity``. No MIP start is given: HiGHS 1.16 maps a start into
        its presolved space wrongly on some of these models (reproduced on a 5 × 3
        component, test_several_remainders_share_one_need: a start of objective −4 became
        −7 there and HiGHS declared that suboptimal point optimal), and a fresh instance
        per stage keeps stage 1's incumbent out of stage 2 as well.
        """
        hs, k = self.hs, self.k
        h = _new_highs(hs)
        for name, val in (
            ("threads", 1),
            ("random_seed", 0),
            ("time_limit", self.time_limit_s),
            ("mip_rel_gap", 0.0 if stage2_quantity is None else COST_REL_GAP),
            ("mip_abs_gap", _ABS_GAP),
        ):
            h.setOptionValue(name, val)
        if h.passModel(self.lp) != hs.HighsStatus.kOk:
            raise RuntimeError("HiGHS refused the minimum-order model.")
        if stage2_quantity is not None:
            idx = np.arange(k, dtype=np.int32)
            costs = np.array([float(a.cost_fen_per_t) for a in self.comp.arcs])
            h.changeColsCost(k, idx, costs)
            h.addRow(float(stage2_quantity), hs.kHighsInf, k, idx, np.ones(k))
        status = h.run()
        if status == hs.HighsStatus.kError and h.getModelStatus() == hs.HighsModelStatus.kNotset:
            # Another HiGHS user in this process started HiGHS's global scheduler with
            # another thread count, and HiGHS then refuses threads=1. The default (0)
            # accepts the running scheduler; determinism then rests on HiGHS's MIP search
            # being deterministic for any thread count (its design, not measured here).
            h.setOptionValue("threads", 0)
            status = h.run()
        info = h.getInfo()
        if status == hs.HighsStatus.kError or (
            info.primal_solution_status != hs.kSolutionStatusFeasible
        ):
            return None
        values = h.getSolution().col_value
        p = len(self.moq_arcs)
        y, w = values[k : k + p], values[k + p :]
        arcs = self.comp.arcs
        open_ = {
            (arcs[t].supply, arcs[t].demand)
            for t, v in zip(self.moq_arcs, y, strict=True)
            if v > 0.5
        }
        closed = {place for place, v in zip(self.places, w, strict=True) if v < 0.5}
        return _Choice(open_, closed, float(info.mip_gap))

    def stage1(self) -> _Choice | None:
        """Maximise Σ x."""
        return self._run(None)

    def stage2(self, quantity: int) -> _Choice | None:
        """Minimise Σ c x with Σ x ≥ ``quantity`` (reached exactly by a polished solution,
        so the stage is feasible in exact arithmetic)."""
        return self._run(quantity)


def _solve_milp(
    highspy: ModuleType, comp: _Component, heuristic: Solution, time_limit_s: float
) -> tuple[Solution, float] | None:
    """The best polished MILP choice and its stage's gap, or None if HiGHS gave nothing
    at least as good as the heuristic."""
    milp = _Milp(highspy, comp, time_limit_s)
    best: tuple[Solution, float] | None = None
    first = milp.stage1()
    if first is not None:
        cand = _polish(comp.without(first.closed), first.open_)
        if not _better(heuristic, cand):
            best = (cand, first.gap)
    start = best[0] if best is not None else heuristic
    if start.matched_grams == 0:
        return best  # nothing can be matched: the cost is 0 too
    second = milp.stage2(start.matched_grams)
    if second is not None:
        cand = _polish(comp.without(second.closed), second.open_)
        if not _better(start, cand):
            best = (cand, second.gap)
    return best


def solve_with_minimums(
    supplies: Iterable[Supply],
    demands: Iterable[Demand],
    arcs: Iterable[Arc],
    minimums: Mapping[int, int],
    *,
    limits: Limits | None = None,
    exclusions: Exclusions | None = None,
    time_limit_s: float = 2.0,
) -> MinimumsResult:
    """Maximise the matched grams, then minimise the cost, with minimum order quantities.

    ``minimums`` maps a supply key to its MOQ in grams (absent or 0: none); keys that are
    not supplies of this component are ignored. ``limits`` are the lots shared by several
    supplies and the zones shared by several demands (``matching.solver.Limits``): the
    MILP has a row for each, so a lot is allocated across its listings by the solver, and
    the relaxed bound respects them too. ``exclusions`` are places that may not both
    receive (``Exclusions``): a binary per place, the relaxed bound ignoring them.
    ``time_limit_s`` bounds each of the two
    HiGHS stages. See the module doc for what is exact. Raises ValueError on malformed
    input (as ``solve_component``, plus a negative or non-int minimum or a non-positive
    time limit) and RuntimeError if a solver fails outright.
    """
    if not (isinstance(time_limit_s, int | float) and math.isfinite(time_limit_s)):
        raise ValueError(f"time_limit_s must be a finite number, got {time_limit_s!r}.")
    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}.")
    sup, dem, arc = _canonical(supplies, demands, arcs)
    moq = _effective_minimums(sup, minimums)
    s_grams = {s.key: s.grams for s in sup}
    d_grams = {d.key: d.grams for d in dem}
    limits = limits or Limits()
    lot_grams = {
        k: limits.supply_group_grams[g] for k, g in limits.supply_group.items() if k in s_grams
    }
    zone_grams = {
        k: limits.demand_group_grams[g] for k, g in limits.demand_group.items() if k in d_grams
    }
    caps = {
        (a.supply, a.demand): min(
            s_grams[a.supply],
            d_grams[a.demand],
            lot_grams.get(a.supply, s_grams[a.supply]),
            zone_grams.get(a.demand, d_grams[a.demand]),
        )
        for a in arc
    }
    kept = [a for a in arc if caps[a.supply, a.demand] >= moq.get(a.supply, 0)]
    exclusions = exclusions or Exclusions()
    relaxed = solve_component(sup, dem, kept, limits)  # also refuses int64 overflow
    if _respects(relaxed.flows, moq) and exclusions.respected_by(relaxed.flows):
        return MinimumsResult(solution=relaxed, relaxed=relaxed, method="relaxed", mip_gap=None)

    comp = _Component(
        supplies=sup,
        demands=dem,
        arcs=kept,
        moq=moq,
        caps=caps,
        limits=limits,
        exclusions=exclusions,
    )
    heuristic = _polish(comp.without(exclusions.choose(relaxed.flows)), _open_arcs(relaxed, moq))
    fallback = MinimumsResult(solution=heuristic, relaxed=relaxed, method="heuristic", mip_gap=None)
    choices = sum(1 for a in kept if a.supply in moq) + len(exclusions.places())
    if choices > MAX_MILP_MOQ_ARCS:
        return fallback
    try:
        import highspy
    except ImportError:
        return fallback
    found = _solve_milp(highspy, comp, heuristic, time_limit_s)
    if found is None:
        return fallback
    return MinimumsResult(solution=found[0], relaxed=relaxed, method="milp", mip_gap=found[1])
