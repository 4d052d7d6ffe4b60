"""What committed matches hold: one definition (``matching.selectors``), and its three
callers agree on the same data: the decisions (``_committed``, an acceptance must fit), the
orders (``_committed_kg``, a direct order takes only the rest) and the engine's loading
(``committed_holdings``, it offers only the rest). The grouped variant equals the single
one for every listing, need and lot.

Hypothesis draws matches in every status on a small market (two lots, three listings,
three needs), with quantities to the gram, so that SQLite's float sums are rounded too.
"""

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.loading import committed_holdings
from matching.models import Match, MatchStatus
from matching.selectors import committed_by, committed_kg
from matching.services.decisions import _committed
from orders.services import _committed_kg
from tests import factories as f

World = dict[str, Any]

# Whether a match in each status holds its quantity, stated here for every status: a
# status added to MatchStatus must be decided on (the first test fails until it is).
HOLDS = {
    MatchStatus.PROPOSED: False,
    MatchStatus.ACCEPTED: True,
    MatchStatus.AGREED: True,
    MatchStatus.DECLINED: False,
    MatchStatus.SUPERSEDED: False,
    MatchStatus.ORDERED: False,  # its order holds it now (reservation, ordered_kg)
    MatchStatus.RELEASED: False,
}
LIVE = (MatchStatus.PROPOSED, MatchStatus.ACCEPTED, MatchStatus.AGREED)
ENDED = [s for s in MatchStatus if s not in LIVE]


def test_every_status_is_decided() -> None:
    assert set(HOLDS) == set(MatchStatus)


@pytest.fixture
def market(world: World, receive: Any) -> World:
    """Lot 1 with listings 1 and 2, lot 2 with listing 3 (sellers a1 and a2); needs of b,
    c and a2."""
    ents, zones, material = world["enterprises"], world["zones"], world["material"]
    lot1 = receive(zone=zones["a1"], material=material, quantity="5000")
    lot2 = receive(zone=zones["a2"], material=material, quantity="5000")
    listings = [
        f.ListingFactory.create(lot=lot1, quantity_kg=Decimal(1000), status="published"),
        f.ListingFactory.create(lot=lot1, quantity_kg=Decimal(1000), status="published"),
        f.ListingFactory.create(lot=lot2, quantity_kg=Decimal(1000), status="published"),
    ]
    needs = [
        f.NeedFactory.create(enterprise=ents[key], material=material, quantity_kg=Decimal(900))
        for key in ("b", "c", "b")
    ]
    return {**world, "lots": [lot1, lot2], "listings": listings, "needs": needs}


grams = st.integers(min_value=1, max_value=10**7).map(lambda g: Decimal(g) / 1000)
# Per (listing, need) pair: at most one live match (the database's partial unique index),
# and any number of ended ones.
pair_matches = st.tuples(
    st.one_of(st.none(), st.tuples(st.sampled_from(LIVE), grams)),
    st.lists(st.tuples(st.sampled_from(ENDED), grams), max_size=2),
)


def _expected(rows: list[tuple[Any, Any, str, Decimal]], key: Any) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for listing, need, status, quantity in rows:
        if HOLDS[MatchStatus(status)]:
            k = key(listing, need)
            out[k] = out.get(k, Decimal(0)) + quantity
    return out


@pytest.mark.django_db
def test_the_three_callers_agree_and_the_bulk_variant_equals_the_single(market: World) -> None:
    listings, needs, lots = market["listings"], market["needs"], market["lots"]
    pairs = [(listing, need) for listing in listings for need in needs]
    seen = {"held": 0}

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(drawn=st.lists(pair_matches, min_size=len(pairs), max_size=len(pairs)))
    def check(drawn: list[Any]) -> None:
        with transaction.atomic():
            rows: list[tuple[Any, Any, str, Decimal]] = []
            for (listing, need), (live, ended) in zip(pairs, drawn, strict=True):
                for status, quantity in [*([live] if live else []), *ended]:
                    f.MatchFactory.create(
                        listing=listing, need=need, status=status, quantity_kg=quantity
                    )
                    rows.append((listing, need, status, quantity))
            by_listing = _expected(rows, lambda listing, need: listing.pk)
            by_need = _expected(rows, lambda listing, need: need.pk)
            by_lot = _expected(rows, lambda listing, need: listing.lot_id)
            seen["held"] += bool(by_listing)

            loaded = committed_holdings([market["material"].pk])
            bulk_listing = committed_by(Match.objects.all(), "listing_id")
            bulk_need = committed_by(Match.objects.all(), "need_id")
            bulk_lot = committed_by(Match.objects.all(), "listing__lot_id")
            for listing in listings:
                expected = by_listing.get(listing.pk, Decimal(0))
                of_listing = Match.objects.filter(listing_id=listing.pk)
                assert committed_kg(of_listing) == expected
                assert bulk_listing.get(listing.pk, Decimal(0)) == expected
                assert _committed_kg(of_listing) == expected  # orders
                assert loaded.listing[listing.pk] == expected  # the engine
                decided = _committed(  # decisions: the listing's and its lot's, one query
                    Match.objects.filter(listing__lot_id=listing.lot_id),
                    lot=Q(),
                    listing=Q(listing_id=listing.pk),
                )
                assert decided["listing"] == expected
            for lot in lots:
                expected = by_lot.get(lot.pk, Decimal(0))
                of_lot = Match.objects.filter(listing__lot_id=lot.pk)
                assert committed_kg(of_lot) == expected
                assert bulk_lot.get(lot.pk, Decimal(0)) == expected
                assert _committed_kg(of_lot) == expected
                assert loaded.lot[lot.pk] == expected
                assert _committed(of_lot, lot=Q())["lot"] == expected
            for need in needs:
                expected = by_need.get(need.pk, Decimal(0))
                of_need = Match.objects.filter(need_id=need.pk)
                assert committed_kg(of_need) == expected
                assert bulk_need.get(need.pk, Decimal(0)) == expected
                assert loaded.need[need.pk] == expected
                assert _committed(of_need, need=Q())["need"] == expected
            transaction.set_rollback(True)

    check()
    assert seen["held"] >= 10  # most draws held something


def test_the_loading_counts_only_the_materials_asked_for(market: World) -> None:
    listing, need = market["listings"][0], market["needs"][0]
    f.MatchFactory.create(listing=listing, need=need, status="agreed", quantity_kg=Decimal(7))
    other = f.MatchFactory.create(status="accepted", quantity_kg=Decimal(3))
    assert committed_holdings([market["material"].pk]).listing == {listing.pk: Decimal(7)}
    assert committed_holdings([other.material_id]).listing == {other.listing_id: Decimal(3)}
    assert committed_holdings([]).lot == {}
