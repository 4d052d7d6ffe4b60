"""The engine's writes: rematch components and keep proposals without churn.

One call of ``components_rematch`` handles a batch of components in one transaction:

1. lock the batch's materials (PostgreSQL advisory locks, taken in material order, so two
   rematches of one material run one after the other and engines never deadlock; SQLite
   serialises writers anyway), then read everything in a fixed number of queries
   (``matching.loading``);
2. per component, compute the feasible arcs (``matching.arcs``) and solve: exact min-cost
   max-flow, or, when listings have minimum orders the relaxed optimum violates, the
   HiGHS MILP of ``matching.minimums`` with the relaxed optimum kept as the bound;
3. compare with the proposals in the database: a proposal whose pair and inputs hash are
   unchanged is kept as it is (same id); the others are superseded and new rows inserted.
   Accepted and agreed matches are never touched: their quantity is subtracted from the
   listing and the need before solving, and their pair is not proposed again.

A concurrent acceptance can still turn a proposal into a committed match between our read
and our insert; the partial unique index refuses the duplicate and the batch is retried.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from common.events import decimal_text, event_emit_many
from inventory.admission import may_store_together
from inventory.hazards import HazardProfile
from marketplace.models import Need, NeedStatus
from matching.arcs import Arcs, build_arcs
from matching.cost import from_grams
from matching.explain import Facts, explain_en, explain_zh
from matching.loading import (
    Component,
    ComponentData,
    MaterialInfo,
    StoredHazards,
    load_components,
    unlabelled,
)
from matching.minimums import Exclusions, solve_with_minimums
from matching.models import Match, MatchRun, MatchStatus
from matching.solver import Arc, Demand, Limits, Supply, solve_indexed
from matching.topics import MATCH_CHANGED, MATCH_PROPOSED, MATCH_WITHDRAWN

logger = logging.getLogger(__name__)

ADVISORY_LOCK_CLASS = 0x5053  # "PS": the namespace of the engine's per-material locks
WAREHOUSE_LOCK_CLASS = 0x5057  # "PW": the engine's per-warehouse locks, taken after those
RETRIES = 3
FEN = Decimal("0.01")


@dataclass
class Totals:
    """What a batch did; added to its run's counters."""

    components: int = 0
    listings: int = 0
    needs: int = 0
    arcs: int = 0
    matched_grams: int = 0
    cost_micro_fen: int = 0
    relaxed_matched_grams: int = 0
    relaxed_cost_micro_fen: int = 0
    moq_components: int = 0
    created: int = 0
    kept: int = 0
    superseded: int = 0
    # The sellers and buyers whose proposals the batch created, changed or withdrew.
    enterprise_ids: set[int] = field(default_factory=set)
    read_seconds: float = 0.0
    solve_seconds: float = 0.0
    write_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def inputs_hash(
    *, listing_id: int, need_id: int, grams: int, price_fen: int, transport_fen: int, metres: int
) -> str:
    """Everything a proposal states; equal hashes mean an identical proposal."""
    text = f"{listing_id}|{need_id}|{grams}|{price_fen}|{transport_fen}|{metres}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _advisory_locks(namespace: int, keys: Iterable[int]) -> None:
    """Transaction-level advisory locks on ``keys``, taken in key order in one statement
    (a function scan returns the array's elements in order; 800 warehouses cost one round
    trip, not 800)."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::integer[]) AS k",
            [namespace, ordered],
        )


def _lock_batch(material_ids: Sequence[int]) -> None:
    """The batch's materials, then the warehouses its needs deliver into, each in key
    order (every engine transaction takes them in this order, so none deadlocks): two
    batches never propose into one warehouse at once, so neither can take room or bring
    in hazards that the other does not see."""
    if connection.vendor != "postgresql":
        return
    _advisory_locks(ADVISORY_LOCK_CLASS, material_ids)
    warehouses = (
        Need.objects.filter(
            Q(material_id__in=material_ids) | Q(substitutes__in=material_ids),
            status=NeedStatus.OPEN,
            delivery_zone__isnull=False,
        )
        .values_list("delivery_zone__warehouse_id", flat=True)
        .distinct()
        .order_by()
    )
    _advisory_locks(WAREHOUSE_LOCK_CLASS, warehouses)


@dataclass(frozen=True)
class Solved:
    """A component, its feasible arcs and the grams on each (aligned with the arcs)."""

    comp: ComponentData
    arcs: Arcs
    flows: npt.NDArray[np.int64]
    matched_grams: int
    cost_micro_fen: int
    relaxed_matched_grams: int
    relaxed_cost_micro_fen: int
    with_minimums: bool


def _limits(comp: ComponentData, listing_ids: list[int], need_ids: list[int]) -> Limits:
    """The component's shared limits: lots offered by several of its listings, and the
    delivery zones whose room left is less than their needs ask for together."""
    asked: dict[int, int] = defaultdict(int)
    for k in need_ids:
        zone_id = comp.zone_of.get(k)
        if zone_id is not None:
            asked[zone_id] += comp.demand_grams[k]
    free = comp.deliveries.free_grams if comp.deliveries is not None else {}
    binding = {z: free[z] for z, g in asked.items() if free[z] < g}
    return Limits(
        supply_group={
            k: comp.lot_of[k] for k in listing_ids if comp.lot_of.get(k) in comp.shared_lot_grams
        },
        supply_group_grams=comp.shared_lot_grams,
        demand_group={k: comp.zone_of[k] for k in need_ids if comp.zone_of.get(k) in binding},
        demand_group_grams=binding,
    )


def _exclusions(comp: ComponentData, arcs: Arcs, need_ids: list[int]) -> Exclusions:
    """Places of this component that may not both receive: two dangerous materials that
    segregation keeps apart, proposed into zones of one warehouse (in the same zone, or in
    zones of one building, as their codes say). Empty, and cheap, when there are none."""
    deliveries = comp.deliveries
    if deliveries is None or not comp.zone_of or not len(arcs):
        return Exclusions()
    zones = np.fromiter((comp.zone_of.get(k, -1) for k in need_ids), np.int64, len(need_ids))[
        arcs.demand
    ]
    hazards: dict[HazardProfile, int] = {}
    hazard_of = np.fromiter(
        (
            hazards.setdefault(unlabelled(s.hazard), len(hazards))
            if s.hazard.classes or s.hazard.family
            else -1
            for s in comp.supplies
        ),
        np.int64,
        len(comp.supplies),
    )[arcs.supply]
    into = (zones >= 0) & (hazard_of >= 0)
    if not into.any():
        return Exclusions()
    keys = zones[into] * len(hazards) + hazard_of[into]
    distinct = np.unique(keys).tolist()
    if len(distinct) < 2:
        return Exclusions()
    profile = list(hazards)
    places = [(key // len(hazards), profile[key % len(hazards)]) for key in distinct]
    info = deliveries.stored.zones
    conflicts = [
        (p, q)
        for p, q in combinations(range(len(places)), 2)
        if info[places[p][0]].warehouse_id == info[places[q][0]].warehouse_id
        and not may_store_together(
            places[p][1],
            places[q][1],
            same_zone=places[p][0] == places[q][0],
            same_building=info[places[p][0]].building == info[places[q][0]].building,
        )
    ]
    if not conflicts:
        return Exclusions()
    place_index = {key: i for i, key in enumerate(distinct)}
    arc_keys = np.where(into, zones * len(hazards) + hazard_of, -1).tolist()
    place_of = {
        (comp.supplies[int(i)].listing_id, need_ids[int(j)]): place_index[key]
        for i, j, key in zip(arcs.supply.tolist(), arcs.demand.tolist(), arc_keys, strict=True)
        if key >= 0
    }
    return Exclusions(place_of=place_of, conflicts=conflicts)


def solve(comp: ComponentData, *, today: date) -> Solved:
    """Feasible arcs and the optimal flows of one component, within what its lots hold and
    its delivery zones have room for; the room it takes is taken off
    ``comp.deliveries`` for the components solved after it, with the hazards it brings."""
    deliveries = comp.deliveries
    if deliveries is not None:
        for d in comp.demands:  # as the batch's earlier components left the zones
            if d.delivery_zone_id is not None:
                d.delivery = deliveries.picture(d.delivery_zone_id)
    arcs = build_arcs(comp.supplies, comp.demands, today=today, excluded=comp.excluded_pairs)
    listing_ids = [s.listing_id for s in comp.supplies]
    need_ids = [d.need_id for d in comp.demands]
    limits = _limits(comp, listing_ids, need_ids)
    with_arcs = {listing_ids[i] for i in np.unique(arcs.supply).tolist()}
    minimums = {k: g for k, g in comp.minimum_grams.items() if g > 0 and k in with_arcs}
    exclusions = _exclusions(comp, arcs, need_ids)
    if not minimums and not exclusions:
        supply = np.fromiter(
            (comp.supply_grams[k] for k in listing_ids), np.int64, len(listing_ids)
        )
        demand = np.fromiter((comp.demand_grams[k] for k in need_ids), np.int64, len(need_ids))
        group, group_grams = limits.indexed(listing_ids, demand=False)
        zone, zone_grams = limits.indexed(need_ids, demand=True)
        flows, matched, cost = solve_indexed(
            supply,
            demand,
            arcs.supply,
            arcs.demand,
            arcs.cost_fen,
            group=group,
            group_grams=group_grams,
            demand_group=zone,
            demand_group_grams=zone_grams,
        )
        solved = Solved(comp, arcs, flows, matched, cost, matched, cost, with_minimums=False)
    else:
        # Minimum orders or places that exclude each other: the MILP of matching.minimums,
        # with a row per shared lot and per binding zone, so the solver allocates a lot
        # across its listings, and a binary per minimum-order arc and per excluding place.
        pairs = list(zip(arcs.supply.tolist(), arcs.demand.tolist(), strict=True))
        result = solve_with_minimums(
            [Supply(key=k, grams=comp.supply_grams[k]) for k in listing_ids],
            [Demand(key=k, grams=comp.demand_grams[k]) for k in need_ids],
            [
                Arc(supply=listing_ids[i], demand=need_ids[j], cost_fen_per_t=c)
                for (i, j), c in zip(pairs, arcs.cost_fen.tolist(), strict=True)
            ],
            minimums,
            limits=limits,
            exclusions=exclusions,
            time_limit_s=settings.MATCHING_MOQ_TIME_LIMIT_SECONDS,
        )
        grams = {(f.supply, f.demand): f.grams for f in result.solution.flows}
        flows = np.fromiter(
            (grams.get((listing_ids[i], need_ids[j]), 0) for i, j in pairs), np.int64, len(pairs)
        )
        solved = Solved(
            comp,
            arcs,
            flows,
            result.solution.matched_grams,
            result.solution.cost_micro_fen,
            result.relaxed.matched_grams,
            result.relaxed.cost_micro_fen,
            with_minimums=bool(minimums),
        )
    if deliveries is not None and comp.zone_of:
        for k in np.nonzero(solved.flows)[0].tolist():
            zone_id = comp.zone_of.get(need_ids[int(arcs.demand[k])])
            if zone_id is not None:
                hazard = comp.supplies[int(arcs.supply[k])].hazard
                deliveries.take(zone_id, int(solved.flows[k]), hazard)
    return solved


# Columns of a new proposal, in the order _new_row gives them (and COPY writes them).
_COLUMNS = (
    "listing_id",
    "need_id",
    "seller_id",
    "buyer_id",
    "material_id",
    "run_id",
    "status",
    "quantity_kg",
    "price_per_t",
    "transport_per_t",
    "distance_km",
    "total_yuan",
    "explanation",
    "explanation_zh",
    "inputs_hash",
    "wording",
    "created_at",
    "previous_id",
    "delivery_zone_id",
)


@dataclass
class Changes:
    new_rows: list[tuple[Any, ...]] = field(default_factory=list)
    # Aligned with new_rows: the proposal of the same pair the new row replaces, or None.
    replaces: list[int | None] = field(default_factory=list)
    stale_ids: list[int] = field(default_factory=list)
    reworded: list[tuple[int, str, str, str]] = field(default_factory=list)
    kept: int = 0


def _diff(
    solved: Solved,
    changes: Changes,
    *,
    infos: dict[int, MaterialInfo],
    run_id: int | None,
    now: datetime,
) -> None:
    """Compare the solution with the component's proposals: keep, supersede, add."""
    comp, arcs, flows = solved.comp, solved.arcs, solved.flows
    positive = np.nonzero(flows)[0]
    proposed = dict(comp.proposed)
    # The need's feasible arcs sorted by cost, to tell a proposal's rank among them.
    by_need = np.lexsort((arcs.cost_fen, arcs.demand))
    need_sorted = arcs.demand[by_need]
    cost_sorted = arcs.cost_fen[by_need]
    for k in positive.tolist():
        i, j = int(arcs.supply[k]), int(arcs.demand[k])
        s, d = comp.supplies[i], comp.demands[j]
        grams = int(flows[k])
        price_fen, transport_fen = int(arcs.price_fen[k]), int(arcs.transport_fen[k])
        metres = int(arcs.metres[k])
        digest = inputs_hash(
            listing_id=s.listing_id,
            need_id=d.need_id,
            grams=grams,
            price_fen=price_fen,
            transport_fen=transport_fen,
            metres=metres,
        )
        lo = int(np.searchsorted(need_sorted, j, "left"))
        hi = int(np.searchsorted(need_sorted, j, "right"))
        rank = 1 + int(np.searchsorted(cost_sorted[lo:hi], price_fen + transport_fen, "left"))
        # What only the explanation states: when it alone changed, the text is rewritten in
        # place and the proposal keeps its id.
        wording = f"{rank}|{hi - lo}|{comp.demand_grams[d.need_id]}"
        old = proposed.pop((s.listing_id, d.need_id), None)
        if old is not None and old[1] == digest and old[2] == wording:
            changes.kept += 1
            continue
        total_fen = (grams * (price_fen + transport_fen) + 500_000) // 1_000_000
        material, wanted = infos[s.material_id], infos[d.material_id]
        seller, buyer = comp.seller_names[s.seller_id], comp.buyer_names[d.enterprise_id]
        substitute = wanted.id != material.id
        facts = Facts(
            listing_id=s.listing_id,
            need_id=d.need_id,
            seller_en=seller[0],
            seller_zh=seller[1],
            buyer_en=buyer[0],
            buyer_zh=buyer[1],
            material_en=material.name_en,
            material_zh=material.name_zh,
            cas=material.cas,
            substitute_for_en=wanted.name_en if substitute else "",
            substitute_for_zh=wanted.name_zh if substitute else "",
            grams=grams,
            need_free_grams=comp.demand_grams[d.need_id],
            price_fen=price_fen,
            transport_fen=transport_fen,
            rate_fen=int(arcs.rate_fen[k]),
            metres=metres,
            total_fen=total_fen,
            rank=rank,
            feasible=hi - lo,
            delivery_zone=d.delivery.label if d.delivery is not None else "",
        )
        english, chinese = explain_en(facts), explain_zh(facts)
        if old is not None and old[1] == digest:
            changes.kept += 1
            changes.reworded.append((old[0], english, chinese, wording))
            continue
        if old is not None:
            changes.stale_ids.append(old[0])
        changes.replaces.append(old[0] if old is not None else None)
        changes.new_rows.append(
            (
                s.listing_id,
                d.need_id,
                s.seller_id,
                d.enterprise_id,
                s.material_id,
                run_id,
                MatchStatus.PROPOSED.value,
                _decimal_text(grams, 3),
                _decimal_text(price_fen, 2),
                _decimal_text(transport_fen, 2),
                _decimal_text(metres, 3),
                _decimal_text(total_fen, 2),
                english,
                chinese,
                digest,
                wording,
                now,
                comp.released.get((s.listing_id, d.need_id)),
                d.delivery_zone_id,
            )
        )
    # Proposals the solution no longer makes.
    changes.stale_ids.extend(match_id for match_id, *_rest in proposed.values())


def _decimal_text(units: int, places: int) -> str:
    """An integer count of 10^-places as the decimal text a numeric column takes."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


_DECIMAL_COLUMNS = {"quantity_kg", "price_per_t", "transport_per_t", "distance_km", "total_yuan"}


def _insert(rows: list[tuple[Any, ...]]) -> list[int]:
    """New proposals: COPY on PostgreSQL (10× faster than INSERT for 100k rows), with ids
    taken from the table's sequence first (COPY returns none); their ids, in row order."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        from psycopg import sql

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Match._meta.db_table, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]

        # COPY bypasses the model: every other column gets its model default, as an INSERT
        # through the ORM would give it (a NOT NULL column without one would fail).
        rest = [
            (f.column, f.get_default())
            for f in Match._meta.concrete_fields
            if not f.primary_key and f.attname not in _COLUMNS
        ]
        columns = ["id", *_COLUMNS, *(column for column, _default in rest)]
        defaults = tuple(default for _column, default in rest)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(Match._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        # The raw psycopg cursor raises psycopg's errors: wrapped, a duplicate live pair is
        # Django's IntegrityError, which components_rematch retries.
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(statement) as copy,
        ):
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *row, *defaults))
        return ids
    created = Match.objects.bulk_create(
        [
            Match(
                **{
                    column: Decimal(value) if column in _DECIMAL_COLUMNS else value
                    for column, value in zip(_COLUMNS, row, strict=True)
                }
            )
            for row in rows
        ],
        batch_size=500,
    )
    return [m.pk for m in created]


def _changes(
    solved_list: list[Solved], *, infos: dict[int, MaterialInfo], run_id: int | None
) -> Changes:
    """What the solutions change in the database: the rows to keep, reword, supersede and
    insert, with their texts. Computed before any write."""
    changes = Changes()
    now = timezone.now()
    for solved in solved_list:
        _diff(solved, changes, infos=infos, run_id=run_id, now=now)
    return changes


# The superseded proposals' parties and terms, as match.withdrawn carries them.
_SUPERSEDED_RETURNING = (
    "id, seller_id, buyer_id, listing_id, need_id, material_id, quantity_kg, price_per_t"
)


def _supersede(stale_ids: list[int]) -> list[tuple[Any, ...]]:
    """Supersede the proposals ``stale_ids`` still proposed (one UPDATE; a proposal
    accepted meanwhile is left), returning the rows superseded (``_SUPERSEDED_RETURNING``)."""
    if not stale_ids:
        return []
    table = connection.ops.quote_name(Match._meta.db_table)
    params: list[Any]
    if connection.vendor == "postgresql":
        where, params = "id = ANY(%s)", [stale_ids]
    else:
        where, params = f"id IN ({', '.join(['%s'] * len(stale_ids))})", list(stale_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, superseded_at = %s "  # noqa: S608 (names ours)
            f"WHERE {where} AND status = %s RETURNING {_SUPERSEDED_RETURNING}",
            [
                MatchStatus.SUPERSEDED.value,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                *params,
                MatchStatus.PROPOSED.value,
            ],
        )
        return cursor.fetchall()


def _terms(
    match_id: int,
    seller_id: int,
    buyer_id: int,
    listing_id: int,
    need_id: int,
    material_id: int,
    quantity_kg: str,
    price_per_t: str,
) -> dict[str, Any]:
    """A proposal event's payload (matching.topics.MatchTerms)."""
    return {
        "match_id": match_id,
        "material_ids": [material_id],
        "seller_id": seller_id,
        "buyer_id": buyer_id,
        "listing_id": listing_id,
        "need_id": need_id,
        "material_id": material_id,
        "quantity_kg": quantity_kg,
        "price_per_t": price_per_t,
    }


def _as_text(value: Any, places: int) -> str:
    """A numeric column read raw as decimal text (PostgreSQL gives a Decimal; SQLite, whose
    numeric columns keep the shortest form, an int or a float)."""
    return decimal_text(value if isinstance(value, Decimal) else Decimal(str(value)), places)


def _write(changes: Changes) -> tuple[int, int, int, set[int]]:
    """Supersede what changed, insert what is new, reword what only reads differently, and
    emit the proposals' events (``match.proposed`` for a pair newly proposed,
    ``match.changed`` for one whose proposal this write replaced, ``match.withdrawn`` for a
    superseded proposal nothing replaces; kept and reworded proposals emit nothing).
    (created, kept, superseded, the enterprises whose proposals changed)"""
    superseded_rows = _supersede(changes.stale_ids)
    ids = _insert(changes.new_rows)
    if changes.reworded:
        Match.objects.bulk_update(
            [
                Match(pk=pk, explanation=en, explanation_zh=zh, wording=wording)
                for pk, en, zh, wording in changes.reworded
            ],
            ["explanation", "explanation_zh", "wording"],
            batch_size=1000,
        )
    superseded_ids = {row[0] for row in superseded_rows}
    proposed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    enterprises: set[int] = set()
    for pk, row, previous in zip(ids, changes.new_rows, changes.replaces, strict=True):
        # listing, need, seller, buyer, material, ..., quantity_kg, price_per_t (_COLUMNS)
        terms = _terms(pk, row[2], row[3], row[0], row[1], row[4], row[7], row[8])
        enterprises.update((row[2], row[3]))
        if previous is not None and previous in superseded_ids:
            changed.append({**terms, "previous_match_id": previous})
        else:
            proposed.append(terms)
    replaced = {previous for previous in changes.replaces if previous is not None}
    withdrawn = []
    for pk, seller, buyer, listing, need, material, quantity, price in superseded_rows:
        if pk not in replaced:
            withdrawn.append(
                _terms(
                    pk,
                    seller,
                    buyer,
                    listing,
                    need,
                    material,
                    _as_text(quantity, 3),
                    _as_text(price, 2),
                )
            )
            enterprises.update((seller, buyer))
    event_emit_many(topic=MATCH_PROPOSED, payloads=proposed)
    event_emit_many(topic=MATCH_CHANGED, payloads=changed)
    event_emit_many(topic=MATCH_WITHDRAWN, payloads=withdrawn)
    return len(changes.new_rows), changes.kept, len(superseded_rows), enterprises


def _rematch_once(
    components: Sequence[Component],
    *,
    run_id: int | None,
    today: date,
    stored: StoredHazards | None,
) -> Totals:
    """One batch. Timed as read (locks and queries), solve (feasibility, costs, flows, and
    the proposals' diff and texts: everything computed in memory) and write (the SQL
    statements and the commit)."""
    totals = Totals()
    t0 = time.perf_counter()
    with transaction.atomic():
        _lock_batch([m for c in components for m in c])
        data, infos = load_components(components, today=today, stored=stored)
        t1 = time.perf_counter()
        solved_list = [solve(comp, today=today) for comp in data]
        changes = _changes(solved_list, infos=infos, run_id=run_id)
        t2 = time.perf_counter()
        created, kept, superseded, enterprises = _write(changes)
    t3 = time.perf_counter()
    totals.read_seconds, totals.solve_seconds, totals.write_seconds = t1 - t0, t2 - t1, t3 - t2
    totals.created, totals.kept, totals.superseded = created, kept, superseded
    totals.enterprise_ids = enterprises
    for solved in solved_list:
        totals.components += 1
        totals.listings += len(solved.comp.supplies)
        totals.needs += len(solved.comp.demands)
        totals.arcs += len(solved.arcs)
        totals.matched_grams += solved.matched_grams
        totals.cost_micro_fen += solved.cost_micro_fen
        totals.relaxed_matched_grams += solved.relaxed_matched_grams
        totals.relaxed_cost_micro_fen += solved.relaxed_cost_micro_fen
        totals.moq_components += int(solved.with_minimums)
    return totals


def components_rematch(
    components: Sequence[Component],
    *,
    run_id: int | None = None,
    today: date | None = None,
    stored: StoredHazards | None = None,
) -> Totals:
    """Rematch ``components`` in one transaction (see the module doc); retried when a
    concurrent acceptance made an insert collide."""
    today = today or timezone.localdate()
    for attempt in range(1, RETRIES + 1):
        try:
            return _rematch_once(components, run_id=run_id, today=today, stored=stored)
        except IntegrityError:
            if attempt == RETRIES:
                raise
            logger.info("rematch of %d components collided; retrying", len(components))
    raise AssertionError("unreachable")


def run_add(run_id: int, totals: Totals) -> None:
    """Add a batch's figures to its run (safe when batches finish on several workers)."""
    from django.db.models import F

    MatchRun.objects.filter(pk=run_id).update(
        components=F("components") + totals.components,
        listings=F("listings") + totals.listings,
        needs=F("needs") + totals.needs,
        arcs=F("arcs") + totals.arcs,
        matched_kg=F("matched_kg") + from_grams(totals.matched_grams),
        cost_yuan=F("cost_yuan") + _yuan(totals.cost_micro_fen),
        relaxed_matched_kg=F("relaxed_matched_kg") + from_grams(totals.relaxed_matched_grams),
        relaxed_cost_yuan=F("relaxed_cost_yuan") + _yuan(totals.relaxed_cost_micro_fen),
        moq_components=F("moq_components") + totals.moq_components,
        created=F("created") + totals.created,
        kept=F("kept") + totals.kept,
        superseded=F("superseded") + totals.superseded,
        read_seconds=F("read_seconds") + totals.read_seconds,
        solve_seconds=F("solve_seconds") + totals.solve_seconds,
        write_seconds=F("write_seconds") + totals.write_seconds,
    )


def _yuan(micro_fen: int) -> Decimal:
    """Σ fen/t × g is 10⁻⁶ fen; the run reports yuan to the fen."""
    return (Decimal(micro_fen) / Decimal(100_000_000)).quantize(FEN, rounding=ROUND_HALF_UP)
