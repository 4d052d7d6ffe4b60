"""The engine's rematch through the database: which proposals it writes, with which
figures and words, and what it leaves alone (matching.services.engine via run_materials).

Data is made through the marketplace and inventory services (tests/matching/market.py);
rematches are called directly, the outbox path is tests/matching/test_triggers.py."""

from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.scope import SYSTEM, resolve_scope
from inventory.services import stock_adjust
from marketplace.models import Listing, Need
from marketplace.services import (
    listing_update,
    listing_withdraw,
    need_close,
    need_update,
)
from matching.cost import great_circle_km
from matching.models import Match, MatchStatus, RunKind, RunStatus, RunTrigger
from matching.services.decisions import match_accept, match_decline
from tests import factories as f
from tests.matching.market import DELIVERY, Market, live, pairs, snapshot, today

pytestmark = pytest.mark.django_db

World = dict[str, Any]
KG = Decimal("0.001")
FEN = Decimal("0.01")


@pytest.fixture
def m(world: World) -> Market:
    return Market(world)


def kg(value: str | int) -> Decimal:
    return Decimal(value).quantize(KG)


# --- a proposal and its figures -----------------------------------------------------------


def test_feasible_pair_gets_one_proposal_with_its_figures_and_explanations(
    m: Market, world: World
) -> None:
    listing = m.offer("a1", kg="500", price="3000.00")
    need = m.need("b", kg="400", max_price="3500.00")

    run = m.rematch()

    [match] = live()
    warehouse = listing.lot.zone.warehouse
    distance = great_circle_km(warehouse.latitude, warehouse.longitude, *DELIVERY)
    transport = (Decimal("0.50") * distance).quantize(FEN, rounding=ROUND_HALF_UP)
    total = (Decimal("0.4") * (Decimal("3000.00") + transport)).quantize(FEN, ROUND_HALF_UP)
    assert distance > 0 and transport > 0
    assert (match.listing_id, match.need_id) == (listing.pk, need.pk)
    assert (match.seller_id, match.buyer_id, match.material_id) == (
        world["enterprises"]["a1"].pk,
        world["enterprises"]["b"].pk,
        world["material"].pk,
    )
    assert match.status == MatchStatus.PROPOSED
    assert match.run_id == run.pk
    assert match.quantity_kg == kg(400)
    assert match.price_per_t == Decimal("3000.00")
    assert match.distance_km == distance
    assert match.transport_per_t == transport
    assert match.total_yuan == total

    seller, buyer, material = (
        world["enterprises"]["a1"],
        world["enterprises"]["b"],
        world["material"],
    )
    en, zh = match.explanation, match.explanation_zh
    assert f"listing #{listing.pk}" in en and f"need #{need.pk}" in en
    assert seller.name_en in en and buyer.name_en in en and material.name_en in en
    assert "0.400 t" in en and f"{total:,.2f} CNY" in en
    assert f"挂牌 #{listing.pk}" in zh and f"需求 #{need.pk}" in zh
    assert seller.name_zh in zh and buyer.name_zh in zh and material.name_zh in zh
    assert "0.400 吨" in zh and f"{total:,.2f} 元" in zh

    assert (run.kind, run.trigger, run.status, run.error) == (
        RunKind.MATERIALS,
        RunTrigger.COMMAND,
        RunStatus.DONE,
        "",
    )
    assert run.finished_at is not None and run.pending_chunks == 0
    assert (run.components, run.listings, run.needs, run.arcs) == (1, 1, 1, 1)
    assert run.matched_kg == kg(400) and run.cost_yuan == total
    assert (run.relaxed_matched_kg, run.relaxed_cost_yuan) == (run.matched_kg, run.cost_yuan)
    assert (run.created, run.kept, run.superseded, run.moq_components) == (1, 0, 0, 0)
    assert run.material_ids == [world["material"].pk]


def _breaks(
    m: Market, world: World
) -> dict[str, tuple[Callable[[], Any], Callable[[Any, Any], Any]]]:
    """Per rule: (make an infeasible listing and need, then make them feasible)."""
    d = today()
    return {
        "price above the limit": (
            lambda: (m.offer(price="3000.00"), m.need(max_price="2999.99")),
            lambda lst, need: need_update(actor=SYSTEM, need=need, max_price_per_t=Decimal(3000)),
        ),
        "purity below the minimum": (
            lambda: (
                m.offer(lot=m.lot(purity_pct=Decimal("98.500"))),
                m.need(min_purity_pct=Decimal("99.000")),
            ),
            lambda lst, need: need_update(actor=SYSTEM, need=need, min_purity_pct=Decimal("98.5")),
        ),
        "lot expires before the need date": (
            lambda: (
                m.offer(lot=m.lot(expires_on=d + timedelta(days=10))),
                m.need(needed_by=d + timedelta(days=11)),
            ),
            lambda lst, need: need_update(
                actor=SYSTEM, need=need, needed_by=d + timedelta(days=10)
            ),
        ),
        "available only after the need date": (
            lambda: (
                m.offer(available_from=d + timedelta(days=40)),
                m.need(needed_by=d + timedelta(days=39)),
            ),
            lambda lst, need: need_update(
                actor=SYSTEM, need=need, needed_by=d + timedelta(days=40)
            ),
        ),
        "beyond the distance limit": (
            lambda: (m.offer(), m.need(max_distance_km=Decimal("1.00"))),
            lambda lst, need: need_update(actor=SYSTEM, need=need, max_distance_km=Decimal(2)),
        ),
        "visible only in the seller's park": (
            lambda: (m.offer("a1", visibility="park"), m.need("b")),
            lambda lst, need: listing_update(actor=SYSTEM, listing=lst, visibility="region"),
        ),
        "visible only in the seller's region": (
            lambda: (m.offer("a1", visibility="region"), m.need("c")),
            lambda lst, need: listing_update(actor=SYSTEM, listing=lst, visibility="all"),
        ),
    }


CASES = [
    "price above the limit",
    "purity below the minimum",
    "lot expires before the need date",
    "available only after the need date",
    "beyond the distance limit",
    "visible only in the seller's park",
    "visible only in the seller's region",
]


@pytest.mark.parametrize("case", CASES)
def test_infeasible_pair_gets_no_proposal_until_it_becomes_feasible(
    m: Market, world: World, case: str
) -> None:
    make, fix = _breaks(m, world)[case]
    listing, need = make()

    run = m.rematch()
    assert live() == []
    assert (run.listings, run.needs, run.arcs, run.matched_kg, run.created) == (1, 1, 0, 0, 0)

    fix(listing, need)
    m.rematch()
    assert pairs(live()) == {(listing.pk, need.pk): kg(400)}


def test_own_listing_is_never_proposed(m: Market) -> None:
    m.offer("a1", visibility="all")
    m.need("a1")
    run = m.rematch()
    assert live() == []
    assert run.arcs == 0


def test_storage_segregation_at_the_delivery_zone_is_read_from_stock(
    m: Market, world: World
) -> None:
    """A flammable liquid may not join an oxidizer in its zone (code 2), but may go to
    another zone of the same building."""
    flammable = f.MaterialFactory.create(primary_class="3", un_number="1294")
    oxidizer = f.MaterialFactory.create(primary_class="5.1", physical_state="solid")
    zone_b = world["zones"]["b"]
    zone_b2 = f.StorageZoneFactory.create(warehouse=zone_b.warehouse, building=zone_b.building)
    m.lot("b", material=oxidizer, kg="100", zone=zone_b)
    listing = m.offer("a1", material=flammable)
    beside_oxidizer = m.need("b", material=flammable, zone=zone_b)
    next_door = m.need("b", material=flammable, zone=zone_b2)

    run = m.rematch(flammable)

    assert pairs(live()) == {(listing.pk, next_door.pk): kg(400)}
    assert beside_oxidizer.pk not in {x.need_id for x in live()}
    assert run.arcs == 1
    [match] = live()
    assert match.distance_km == Decimal("0.000")  # delivered to the warehouse it sits in
    assert match.transport_per_t == Decimal("0.00")


# --- proposals without churn --------------------------------------------------------------


@pytest.fixture
def two_by_two(m: Market, world: World) -> dict[str, Any]:
    """Two listings, two needs, the cheaper listing split between both needs."""
    cheap = m.offer("a1", kg="500", price="3000.00")
    dear = m.offer("c", kg="500", price="3500.00", visibility="all")
    big = m.need("b", kg="600")
    small = m.need("a2", kg="300")
    return {"cheap": cheap, "dear": dear, "big": big, "small": small}


def test_rerun_on_unchanged_data_keeps_every_row_and_writes_nothing(
    m: Market, two_by_two: dict[str, Any]
) -> None:
    first = m.rematch()
    before = snapshot()
    assert first.created == len(before) >= 2
    assert first.matched_kg == kg(900)

    for _ in range(2):
        again = m.rematch()
        assert snapshot() == before  # same ids, same columns, no new row
        assert (again.created, again.kept, again.superseded) == (0, len(before), 0)
        assert (again.matched_kg, again.cost_yuan) == (first.matched_kg, first.cost_yuan)


def test_price_change_supersedes_exactly_the_affected_proposal(m: Market, world: World) -> None:
    # Two pairs that cannot reach each other: a1 → a2 in park A, c → c2 in park C.
    c2 = f.EnterpriseFactory.create(park=world["parks"]["c"])
    world["enterprises"]["c2"] = c2
    l1 = m.offer("a1", visibility="park")
    n1 = m.need("a2")
    l2 = m.offer("c", visibility="park")
    n2 = m.need("c2")
    m.rematch()
    [m1, m2] = live()
    assert {(m1.listing_id, m1.need_id), (m2.listing_id, m2.need_id)} == {
        (l1.pk, n1.pk),
        (l2.pk, n2.pk),
    }
    old = m1 if m1.listing_id == l1.pk else m2
    other = m2 if old is m1 else m1

    listing_update(actor=SYSTEM, listing=l1, price_per_t=Decimal("3100.00"))
    run = m.rematch()

    assert (run.created, run.kept, run.superseded) == (1, 1, 1)
    old.refresh_from_db()
    assert old.status == MatchStatus.SUPERSEDED and old.superseded_at is not None
    [new] = live(listing=l1)
    assert new.pk != old.pk and new.need_id == n1.pk
    assert new.price_per_t == Decimal("3100.00") and new.run_id == run.pk
    assert Match.objects.get(pk=other.pk).status == MatchStatus.PROPOSED
    assert snapshot_of(other) == snapshot_of(Match.objects.get(pk=other.pk))


def snapshot_of(match: Match) -> tuple[Any, ...]:
    return tuple(getattr(match, f.attname) for f in Match._meta.concrete_fields)


def test_withdrawn_listing_and_closed_need_lose_their_proposals(
    m: Market, two_by_two: dict[str, Any]
) -> None:
    m.rematch()
    cheap, big = two_by_two["cheap"], two_by_two["big"]
    by_cheap = {x.pk for x in live(listing=cheap)}
    assert by_cheap

    listing_withdraw(actor=SYSTEM, listing=cheap)
    run = m.rematch()
    assert run.superseded >= len(by_cheap)
    assert live(listing=cheap) == []
    assert set(Match.objects.filter(pk__in=by_cheap).values_list("status", flat=True)) == {
        MatchStatus.SUPERSEDED
    }
    # The dear listing now serves what it can: 500 kg over both needs.
    assert sum(x.quantity_kg for x in live()) == kg(500)

    need_close(actor=SYSTEM, need=big)
    m.rematch()
    assert live(need=big) == []
    assert pairs(live()) == {(two_by_two["dear"].pk, two_by_two["small"].pk): kg(300)}


# --- committed and declined matches -------------------------------------------------------


@pytest.mark.parametrize("status", [MatchStatus.ACCEPTED, MatchStatus.AGREED])
def test_committed_match_is_never_touched_and_its_quantity_is_taken_off(
    m: Market, world: World, status: str
) -> None:
    listing = m.offer("a1", kg="500")
    first = m.need("b", kg="300")
    m.rematch()
    [match] = live()
    users = world["users"]
    match = match_accept(actor=resolve_scope(users["trader"]), match=match)
    if status == MatchStatus.AGREED:
        match = match_accept(actor=resolve_scope(users["park_b_admin"]), match=match)
    assert match.status == status
    committed = snapshot_of(match)

    second = m.need("a2", kg="400")
    run = m.rematch()
    assert snapshot_of(Match.objects.get(pk=match.pk)) == committed
    assert pairs(live()) == {(listing.pk, first.pk): kg(300), (listing.pk, second.pk): kg(200)}
    assert (run.created, run.kept, run.superseded) == (1, 0, 0)
    assert run.matched_kg == kg(200)  # only what was still free

    # A new price supersedes the open proposal, never the committed one.
    listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal("2900.00"))
    run = m.rematch()
    assert snapshot_of(Match.objects.get(pk=match.pk)) == committed
    assert (run.created, run.superseded) == (1, 1)
    [repriced] = live(need=second)
    assert (repriced.quantity_kg, repriced.price_per_t) == (kg(200), Decimal("2900.00"))


def test_committed_quantity_of_the_need_is_taken_off_too(m: Market, world: World) -> None:
    first = m.offer("a1", kg="300", price="3000.00")
    need = m.need("b", kg="500")
    m.rematch()
    [match] = live()
    match_accept(actor=resolve_scope(world["users"]["trader"]), match=match)

    second = m.offer("a2", kg="1000", price="3200.00")
    m.rematch()
    assert pairs(live()) == {(first.pk, need.pk): kg(300), (second.pk, need.pk): kg(200)}


def test_declined_pair_is_not_proposed_again(m: Market, world: World) -> None:
    cheap = m.offer("a1", kg="500", price="3000.00")
    dear = m.offer("a2", kg="500", price="3400.00")
    need = m.need("b", kg="300")
    m.rematch()
    [match] = live()
    assert match.listing_id == cheap.pk
    match_decline(
        actor=resolve_scope(world["users"]["park_b_admin"]), match=match, reason="wrong grade"
    )

    for _ in range(2):
        run = m.rematch()
        assert pairs(live()) == {(dear.pk, need.pk): kg(300)}
        assert Match.objects.get(pk=match.pk).status == MatchStatus.DECLINED
        assert not Match.objects.filter(
            listing=cheap, need=need, status=MatchStatus.PROPOSED
        ).exists()
    assert run.arcs == 1  # the declined pair is not even an arc
    [proposal] = live()
    assert "It is the only listing that qualifies." in proposal.explanation
    assert "这是唯一符合条件的挂牌。" in proposal.explanation_zh


def test_a_kept_proposal_is_reworded_in_place_when_only_its_standing_changes(
    m: Market,
) -> None:
    cheap = m.offer("a1", kg="500", price="3000.00")
    need = m.need("b", kg="300")
    m.rematch()
    [before] = live()
    assert "It is the only listing that qualifies." in before.explanation

    m.offer("a2", kg="500", price="3400.00")  # qualifies too, but is dearer
    run = m.rematch()

    [after] = live()
    assert (after.pk, after.listing_id, after.need_id) == (before.pk, cheap.pk, need.pk)
    assert after.inputs_hash == before.inputs_hash
    assert (run.created, run.kept, run.superseded) == (0, 1, 0)
    assert "It is the cheapest delivered of the 2 listings that qualify." in after.explanation
    assert "在 2 个符合条件的挂牌中到货成本最低。" in after.explanation_zh


# --- quantities ---------------------------------------------------------------------------


def test_what_orders_hold_of_a_listing_and_a_need_is_not_offered_again(m: Market) -> None:
    listing = m.offer("a1", kg="800")
    need = m.need("b", kg="600")
    Listing.objects.filter(pk=listing.pk).update(ordered_kg=Decimal("500"))
    m.rematch()
    assert pairs(live()) == {(listing.pk, need.pk): kg(300)}

    Need.objects.filter(pk=need.pk).update(ordered_kg=Decimal("450"))
    run = m.rematch()
    assert pairs(live()) == {(listing.pk, need.pk): kg(150)}
    assert (run.created, run.superseded) == (1, 1)

    Listing.objects.filter(pk=listing.pk).update(ordered_kg=Decimal("800"))
    m.rematch()
    assert live() == []


def test_lot_stock_drop_caps_the_listing(m: Market) -> None:
    lot = m.lot("a1", kg="1000")
    listing = m.offer("a1", kg="800", lot=lot)
    need = m.need("b", kg="600")
    m.rematch()
    assert pairs(live()) == {(listing.pk, need.pk): kg(600)}

    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-700"), note="spill")
    run = m.rematch()
    assert pairs(live()) == {(listing.pk, need.pk): kg(300)}
    assert (run.created, run.superseded) == (1, 1)

    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-300"), note="all gone")
    run = m.rematch()
    assert live() == []
    assert (run.listings, run.superseded) == (0, 1)


def test_listings_of_one_lot_are_not_proposed_beyond_the_lot(m: Market) -> None:
    lot = m.lot("a1", kg="1000")
    m.offer("a1", kg="800", lot=lot)
    m.offer("a1", kg="800", lot=lot, price="3100.00")
    m.need("b", kg="800")
    m.need("a2", kg="800")
    m.rematch()
    assert sum(x.quantity_kg for x in live()) <= kg(1000)


def test_substitute_joins_the_component_and_is_explained(m: Market, world: World) -> None:
    wanted = world["material"]
    substitute = f.MaterialFactory.create()
    listing = m.offer("a1", material=substitute)
    need = m.need("b", material=wanted, substitutes=[substitute])

    run = m.rematch(wanted)

    [match] = live()
    assert (match.listing_id, match.need_id, match.material_id) == (
        listing.pk,
        need.pk,
        substitute.pk,
    )
    assert run.components == 1
    assert f"{substitute.name_en} (CAS {substitute.cas}), an accepted substitute for " in (
        match.explanation
    )
    assert f"an accepted substitute for {wanted.name_en}" in match.explanation
    assert f"为{wanted.name_zh}的可接受替代品" in match.explanation_zh
    # Asked from the substitute's side, it is the same one component: the proposal stays.
    again = m.rematch(substitute)
    assert (again.components, again.kept, again.created) == (1, 1, 0)
    assert live() == [match]


def test_substitute_and_the_material_compete_on_cost(m: Market, world: World) -> None:
    wanted = world["material"]
    substitute = f.MaterialFactory.create()
    same = m.offer("a1", kg="300", price="3300.00")
    sub = m.offer("a2", kg="300", price="3000.00", material=substitute)
    need = m.need("b", kg="400", substitutes=[substitute])
    m.rematch(wanted)
    assert pairs(live()) == {(sub.pk, need.pk): kg(300), (same.pk, need.pk): kg(100)}


# --- minimum order quantities -------------------------------------------------------------


def test_minimum_order_is_respected_and_the_relaxed_optimum_reported(m: Market) -> None:
    # 900 kg with a 500 kg minimum cannot serve two needs of 600: the relaxed optimum would
    # ship all 900 kg, the real one one order of 600.
    listing = m.offer("a1", kg="900", min_order="500")
    m.need("b", kg="600")
    m.need("a2", kg="600")

    run = m.rematch()

    proposals = live()
    assert len(proposals) == 1
    assert proposals[0].listing_id == listing.pk and proposals[0].quantity_kg == kg(600)
    assert run.moq_components == 1
    assert run.matched_kg == kg(600)
    assert run.relaxed_matched_kg == kg(900) >= run.matched_kg
    assert run.quantity_gap == Decimal(300) / Decimal(900)


def test_minimum_order_costs_money_not_quantity(m: Market) -> None:
    # Relaxed: cheap (park-only) fills 650 of `near` and 50 come from `moq`; with its 400 kg
    # minimum, `moq` must send 400 to `near` instead, at a higher total cost.
    moq = m.offer("a1", kg="1000", price="3000.00", min_order="400")
    cheap = m.offer("a1", kg="650", price="2000.00", visibility="park")
    far = m.need("b", kg="500")
    near = m.need("a2", kg="700")

    run = m.rematch()

    got = pairs(live())
    assert sum(got.values()) == kg(1200)
    assert got[(moq.pk, far.pk)] == kg(500)
    assert got[(moq.pk, near.pk)] >= kg(400)
    assert got[(moq.pk, near.pk)] + got[(cheap.pk, near.pk)] == kg(700)
    assert run.moq_components == 1
    assert run.relaxed_matched_kg == run.matched_kg == kg(1200)
    assert run.relaxed_cost_yuan < run.cost_yuan  # the bound is cheaper, never dearer
    assert run.cost_yuan == sum((x.total_yuan for x in live()), Decimal(0))


# --- optimality ---------------------------------------------------------------------------


def test_engine_matches_what_cheapest_first_would_starve(m: Market) -> None:
    """`wide` reaches both needs and is cheapest; `narrow` (park A only) reaches only `home`.
    Serving `home` first from the cheapest listing would leave `away` with nothing."""
    wide = m.offer("a1", kg="500", price="2000.00", visibility="region")
    narrow = m.offer("a1", kg="500", price="3000.00", visibility="park")
    home = m.need("a2", kg="500")
    away = m.need("b", kg="500")

    run = m.rematch()

    assert pairs(live()) == {(wide.pk, away.pk): kg(500), (narrow.pk, home.pk): kg(500)}
    assert run.matched_kg == kg(1000)
    assert run.arcs == 3


def test_totals_of_the_run_are_the_sum_of_its_proposals(
    m: Market, two_by_two: dict[str, Any]
) -> None:
    run = m.rematch()
    proposals = live()
    assert run.matched_kg == sum((x.quantity_kg for x in proposals), Decimal(0))
    # Per-proposal totals are rounded to the fen each; the run's sum is rounded once.
    assert abs(run.cost_yuan - sum((x.total_yuan for x in proposals), Decimal(0))) <= Decimal(
        "0.01"
    ) * len(proposals)
    assert run.finished_at is not None and run.finished_at <= timezone.now()
