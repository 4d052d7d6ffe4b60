"""The parties' decisions on a match: each transition allowed or refused, who may decide,
the quantities an acceptance commits, the events written, and races on PostgreSQL."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.exceptions import Conflict, DomainError, NotPermitted
from common.models import OutboxEvent
from inventory.services import stock_adjust, stock_reserve
from marketplace.models import Listing, Need
from matching.exceptions import InvalidTransition, QuantityExceeded
from matching.models import Match, MatchStatus
from matching.services.decisions import match_accept, match_decline
from tests import factories as f
from tests.concurrency import run_concurrently

World = dict[str, Any]


@pytest.fixture(autouse=True)
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stay pending: what they trigger (the rematch) is the engine's, tested there.
    Only matters where commits happen (the PostgreSQL races)."""
    from common.tasks import outbox_fanout

    monkeypatch.setattr(outbox_fanout, "delay", lambda *args, **kwargs: None)


@pytest.fixture
def deal(world: World, receive: Any) -> World:
    """A published listing of 500 kg by a1 on a lot of 1000 kg, an open need of 400 kg by
    b (park B), and a proposal of 300 kg between them. a1's staff are the seller's side,
    b's admin and a trader of b the buyer's."""
    ents = world["enterprises"]
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    listing = f.ListingFactory.create(lot=lot, quantity_kg=Decimal(500), status="published")
    need = f.NeedFactory.create(
        enterprise=ents["b"], material=world["material"], quantity_kg=Decimal(400)
    )
    match = f.MatchFactory.create(listing=listing, need=need, quantity_kg=Decimal(300))
    users = world["users"]
    return {
        **world,
        "lot": lot,
        "listing": listing,
        "need": need,
        "match": match,
        "seller": users["trader"],
        "buyer": users["park_b_admin"],
        "buyer_trader": f.MembershipFactory.create(enterprise=ents["b"], role="trader").user,
    }


def other_match(
    deal: World, *, quantity: str, listing: Listing | None = None, **kwargs: Any
) -> Match:
    """Another proposal on the deal's listing (or ``listing``), for a need of its own."""
    listing = listing or deal["listing"]
    need = kwargs.pop("need", None) or f.NeedFactory.create(
        enterprise=deal["enterprises"]["b"], material=listing.material, quantity_kg=Decimal(1000)
    )
    return f.MatchFactory.create(
        listing=listing, need=need, quantity_kg=Decimal(quantity), **kwargs
    )


def topics() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))


def terms(match: Match) -> dict[str, Any]:
    """The parties and terms every public match event carries, as the test spells them."""
    return {
        "match_id": match.pk,
        "material_ids": [match.material_id],
        "seller_id": match.seller_id,
        "buyer_id": match.buyer_id,
        "listing_id": match.listing_id,
        "need_id": match.need_id,
        "material_id": match.material_id,
        "quantity_kg": f"{match.quantity_kg:.3f}",
        "price_per_t": f"{match.price_per_t:.2f}",
    }


def match_events() -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.topic, e.payload)
        for e in OutboxEvent.objects.filter(topic__startswith="match.").order_by("id")
    ]


# --- accept -----------------------------------------------------------------------------


def test_seller_accepts_first(deal: World) -> None:
    match = match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"])
    assert match.status == MatchStatus.ACCEPTED
    assert match.seller_accepted_at is not None
    assert match.buyer_accepted_at is None
    assert match.decided_at is None
    assert match.decided_by is None
    assert match_events() == [("match.accepted", {**terms(match), "side": "seller"})]


def test_both_sides_accepting_agree_in_either_order(deal: World) -> None:
    first = match_accept(actor=resolve_scope(deal["buyer"]), match=deal["match"])
    assert (first.status, first.seller_accepted_at) == (MatchStatus.ACCEPTED, None)
    agreed = match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"])
    assert agreed.status == MatchStatus.AGREED
    assert agreed.buyer_accepted_at == first.buyer_accepted_at
    assert agreed.seller_accepted_at is not None
    assert agreed.decided_at == agreed.seller_accepted_at
    assert match_events() == [
        ("match.accepted", {**terms(agreed), "side": "buyer"}),
        ("match.agreed", terms(agreed)),
    ]


@pytest.mark.parametrize("who", ["enterprise_admin", "trader"])
def test_seller_admins_and_traders_accept(who: str, deal: World) -> None:
    match = match_accept(actor=resolve_scope(deal["users"][who]), match=deal["match"])
    assert match.status == MatchStatus.ACCEPTED


def test_buyer_trader_accepts(deal: World) -> None:
    match = match_accept(actor=resolve_scope(deal["buyer_trader"]), match=deal["match"])
    assert match.buyer_accepted_at is not None


def test_accepting_twice_by_one_side_is_refused(deal: World) -> None:
    match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"])
    with pytest.raises(InvalidTransition) as refused:
        match_accept(actor=resolve_scope(deal["users"]["enterprise_admin"]), match=deal["match"])
    assert refused.value.status_code == 409
    assert refused.value.field == "status"
    assert "already accepted" in refused.value.message
    assert topics().count("match.accepted") == 1


@pytest.mark.parametrize("status", ["agreed", "declined", "superseded"])
def test_a_decided_match_cannot_be_accepted(status: str, deal: World) -> None:
    Match.objects.filter(pk=deal["match"].pk).update(status=status)
    before = Match.objects.filter(pk=deal["match"].pk).values().get()
    with pytest.raises(InvalidTransition) as refused:
        match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"])
    assert refused.value.field == "status"
    assert Match.objects.filter(pk=deal["match"].pk).values().get() == before
    assert match_events() == []


@pytest.mark.parametrize(
    "who",
    [
        "viewer",  # the seller's, but may not decide
        "warehouse_keeper",
        "other_admin",  # a third enterprise of the seller's park
        "park_c_admin",
        "park_operator",
        "regulator",
        "superuser",  # not a party: a decision binds an enterprise
    ],
)
def test_only_the_parties_admins_and_traders_decide(who: str, deal: World) -> None:
    actor = deal["users"][who]
    with pytest.raises(NotPermitted):
        match_accept(actor=resolve_scope(actor), match=deal["match"])
    with pytest.raises(NotPermitted):
        match_decline(actor=resolve_scope(actor), match=deal["match"])
    deal["match"].refresh_from_db()
    assert deal["match"].status == MatchStatus.PROPOSED
    assert match_events() == []


def test_the_listing_must_be_published_and_the_need_open(deal: World) -> None:
    Listing.objects.filter(pk=deal["listing"].pk).update(status="withdrawn")
    with pytest.raises(Conflict) as refused:
        match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"])
    assert (refused.value.status_code, refused.value.field) == (409, "listing")
    Listing.objects.filter(pk=deal["listing"].pk).update(status="published")
    Need.objects.filter(pk=deal["need"].pk).update(status="closed")
    with pytest.raises(Conflict) as refused:
        match_accept(actor=resolve_scope(deal["buyer"]), match=deal["match"])
    assert (refused.value.status_code, refused.value.field) == (409, "need")
    deal["match"].refresh_from_db()
    assert deal["match"].status == MatchStatus.PROPOSED


# --- what an acceptance commits ---------------------------------------------------------


def assert_refused_on_quantity(deal: World, match: Match, actor: Any, words: str) -> None:
    before = Match.objects.filter(pk=match.pk).values().get()
    events = OutboxEvent.objects.count()
    with pytest.raises(QuantityExceeded) as refused:
        match_accept(actor=resolve_scope(actor), match=match)
    assert refused.value.status_code == 409
    assert refused.value.field == "quantity_kg"
    assert words in refused.value.message, refused.value.message
    assert Match.objects.filter(pk=match.pk).values().get() == before
    assert OutboxEvent.objects.count() == events


def test_the_listing_cannot_be_committed_twice(deal: World) -> None:
    # 300 kg of the 500 kg listing agreed elsewhere: 300 more do not fit, 200 do.
    other_match(deal, quantity="300", status="agreed")
    assert_refused_on_quantity(deal, deal["match"], deal["seller"], "The listing offers 500")
    fits = other_match(deal, quantity="200")
    assert (
        match_accept(actor=resolve_scope(deal["seller"]), match=fits).status == MatchStatus.ACCEPTED
    )


def test_one_sides_acceptance_commits_too(deal: World) -> None:
    match_accept(
        actor=resolve_scope(deal["buyer"]), match=other_match(deal, quantity="300")
    )  # accepted
    assert_refused_on_quantity(deal, deal["match"], deal["seller"], "The listing offers 500")


def test_declined_and_superseded_matches_commit_nothing(deal: World) -> None:
    other_match(deal, quantity="500", status="declined")
    other_match(deal, quantity="500", status="superseded")
    other_match(deal, quantity="500")  # proposed: an offer, not a commitment
    assert (
        match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"]).status == "accepted"
    )


def test_the_second_sides_acceptance_does_not_count_the_match_twice(deal: World) -> None:
    listing = f.ListingFactory.create(lot=deal["lot"], quantity_kg=Decimal(300), status="published")
    match = other_match(deal, quantity="300", listing=listing)
    match_accept(actor=resolve_scope(deal["seller"]), match=match)
    assert (
        match_accept(actor=resolve_scope(deal["buyer"]), match=match).status == MatchStatus.AGREED
    )


def test_the_lots_unreserved_stock_bounds_all_its_listings(deal: World) -> None:
    # A second listing of the same 1000 kg lot: together they may not promise more.
    second = f.ListingFactory.create(lot=deal["lot"], quantity_kg=Decimal(800), status="published")
    other_match(deal, quantity="800", listing=second, status="agreed")
    assert_refused_on_quantity(deal, deal["match"], deal["seller"], "The lot holds 1000")
    stock_adjust(actor=SYSTEM, lot=deal["lot"], delta_kg=Decimal(100))  # 1100 kg on hand
    assert (
        match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"]).status == "accepted"
    )


def test_reserved_stock_is_not_there_to_commit(deal: World) -> None:
    lot = deal["lot"]
    stock_reserve(
        actor=SYSTEM, lot=lot, holder=lot.owner, quantity_kg=Decimal(800), expires_at=None
    )
    assert_refused_on_quantity(deal, deal["match"], deal["seller"], "200.000 kg unreserved")


def test_the_need_cannot_be_over_filled(deal: World, receive: Any) -> None:
    # The need asks for 400 kg; 200 kg of another seller's listing are agreed for it.
    lot = receive(zone=deal["zones"]["a2"], material=deal["material"], quantity="1000")
    elsewhere = f.ListingFactory.create(lot=lot, quantity_kg=Decimal(200), status="published")
    other_match(deal, quantity="200", listing=elsewhere, need=deal["need"], status="agreed")
    assert_refused_on_quantity(deal, deal["match"], deal["buyer"], "The need asks for 400")


def test_a_declined_acceptance_releases_its_quantity(deal: World) -> None:
    taken = other_match(deal, quantity="300")
    match_accept(actor=resolve_scope(deal["seller"]), match=taken)
    assert_refused_on_quantity(deal, deal["match"], deal["seller"], "The listing offers 500")
    match_decline(actor=resolve_scope(deal["buyer"]), match=taken)
    assert (
        match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"]).status == "accepted"
    )


# --- decline ----------------------------------------------------------------------------


def test_seller_declines_a_proposal_with_a_reason(deal: World) -> None:
    match = match_decline(
        actor=resolve_scope(deal["seller"]), match=deal["match"], reason="  drums only  "
    )
    assert match.status == MatchStatus.DECLINED
    assert match.decided_at is not None
    assert match.decided_by == deal["seller"]
    assert Match.objects.get(pk=match.pk).decline_reason == "drums only"
    payload = {**terms(match), "reason": "drums only", "side": "seller"}
    assert match_events() == [("match.declined", payload)]


def test_buyer_declines_after_the_sellers_acceptance(deal: World) -> None:
    match_accept(actor=resolve_scope(deal["seller"]), match=deal["match"])
    match = match_decline(actor=resolve_scope(deal["buyer"]), match=deal["match"])
    assert match.status == MatchStatus.DECLINED
    assert match.seller_accepted_at is not None  # what happened stays recorded
    assert match.decided_by == deal["buyer"]
    assert match_events() == [
        ("match.accepted", {**terms(match), "side": "seller"}),
        ("match.declined", {**terms(match), "reason": "", "side": "buyer"}),
    ]


@pytest.mark.parametrize("status", ["agreed", "declined", "superseded"])
def test_a_decided_match_cannot_be_declined(status: str, deal: World) -> None:
    Match.objects.filter(pk=deal["match"].pk).update(status=status)
    with pytest.raises(InvalidTransition) as refused:
        match_decline(actor=resolve_scope(deal["buyer"]), match=deal["match"])
    assert (refused.value.status_code, refused.value.field) == (409, "status")
    assert status in refused.value.message
    assert Match.objects.get(pk=deal["match"].pk).decided_by is None
    assert match_events() == []


def test_an_over_long_reason_is_refused(deal: World) -> None:
    with pytest.raises(DomainError) as refused:
        match_decline(actor=resolve_scope(deal["seller"]), match=deal["match"], reason="x" * 501)
    assert (refused.value.status_code, refused.value.field) == (400, "reason")
    assert Match.objects.get(pk=deal["match"].pk).status == MatchStatus.PROPOSED


# --- races on PostgreSQL ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_seller_and_buyer_accepting_together_agree_once(deal: World) -> None:
    actors = (deal["seller"], deal["buyer"])
    for _ in range(5):
        match = other_match(deal, quantity="10")

        def accept(i: int, pk: int = match.pk) -> Match:
            return match_accept(actor=resolve_scope(actors[i]), match=Match.objects.get(pk=pk))

        results = run_concurrently(2, accept)
        assert all(isinstance(r, Match) for r in results), results
        match.refresh_from_db()
        assert match.status == MatchStatus.AGREED
        assert match.seller_accepted_at is not None
        assert match.buyer_accepted_at is not None
        assert match.decided_at == max(match.seller_accepted_at, match.buyer_accepted_at)
        decided = sorted(
            OutboxEvent.objects.filter(payload__match_id=match.pk).values_list("topic", flat=True)
        )
        assert decided == ["match.accepted", "match.agreed"]


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_two_acceptances_that_overfill_a_listing_one_wins(deal: World) -> None:
    listing = f.ListingFactory.create(lot=deal["lot"], quantity_kg=Decimal(100), status="published")
    matches = [other_match(deal, quantity="70", listing=listing) for _ in range(2)]
    results = run_concurrently(
        2,
        lambda i: match_accept(
            actor=resolve_scope(deal["seller"]), match=Match.objects.get(pk=matches[i].pk)
        ),
    )
    assert sum(isinstance(r, Match) for r in results) == 1, results
    assert sum(isinstance(r, QuantityExceeded) for r in results) == 1, results
    statuses = sorted(Match.objects.filter(listing=listing).values_list("status", flat=True))
    assert statuses == ["accepted", "proposed"]
    assert OutboxEvent.objects.filter(topic="match.accepted").count() == 1


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_many_acceptances_on_one_lot_never_overcommit_it(deal: World) -> None:
    # Eight listings of one 1000 kg lot, each matched for 300 kg: at most three fit.
    listings = [
        f.ListingFactory.create(lot=deal["lot"], quantity_kg=Decimal(300), status="published")
        for _ in range(8)
    ]
    matches = [other_match(deal, quantity="300", listing=listing) for listing in listings]
    # The deal's own 300 kg proposal stays proposed: it commits nothing.
    results = run_concurrently(
        8,
        lambda i: match_accept(
            actor=resolve_scope(deal["seller"]), match=Match.objects.get(pk=matches[i].pk)
        ),
    )
    assert sum(isinstance(r, Match) for r in results) == 3, results
    assert sum(isinstance(r, QuantityExceeded) for r in results) == 5, results
