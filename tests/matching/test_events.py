"""The engine's public events: ``match.proposed`` for a pair newly proposed,
``match.changed`` for a proposal replaced by one with other terms, ``match.withdrawn`` for
a proposal superseded with nothing in its place, none for a kept or reworded proposal; and
``matching.run_finished`` when a run closes. Each with the exact payload."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.events import subscribers_for
from common.models import OutboxEvent
from marketplace.services import listing_update, listing_withdraw
from matching.models import Match, MatchRun, MatchStatus
from matching.services import engine
from matching.services.decisions import match_accept
from tests.matching.market import Market, live

pytestmark = pytest.mark.django_db

World = dict[str, Any]
ENGINE = ("match.proposed", "match.changed", "match.withdrawn")


@pytest.fixture
def m(world: World) -> Market:
    return Market(world)


def engine_events() -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.topic, e.payload) for e in OutboxEvent.objects.filter(topic__in=ENGINE).order_by("id")
    ]


def run_finished(run: MatchRun) -> dict[str, Any]:
    [event] = OutboxEvent.objects.filter(
        topic="matching.run_finished", payload__run_id=run.pk
    ).values_list("payload", flat=True)
    return event


def terms(match: Match) -> dict[str, Any]:
    """A proposal's payload, spelt out from the row as stored."""
    stored = Match.objects.get(pk=match.pk)
    return {
        "match_id": stored.pk,
        "material_ids": [stored.material_id],
        "seller_id": stored.seller_id,
        "buyer_id": stored.buyer_id,
        "listing_id": stored.listing_id,
        "need_id": stored.need_id,
        "material_id": stored.material_id,
        "quantity_kg": str(stored.quantity_kg),
        "price_per_t": str(stored.price_per_t),
    }


def forget_events() -> None:
    OutboxEvent.objects.all().delete()


def test_a_new_pair_is_proposed_with_its_parties_and_terms(m: Market, world: World) -> None:
    listing = m.offer("a1", kg="500", price="3000.00")
    need = m.need("b", kg="400")
    forget_events()

    run = m.rematch()

    [match] = live()
    assert engine_events() == [
        (
            "match.proposed",
            {
                "match_id": match.pk,
                "material_ids": [world["material"].pk],
                "seller_id": world["enterprises"]["a1"].pk,
                "buyer_id": world["enterprises"]["b"].pk,
                "listing_id": listing.pk,
                "need_id": need.pk,
                "material_id": world["material"].pk,
                "quantity_kg": "400.000",
                "price_per_t": "3000.00",
            },
        )
    ]
    assert run_finished(run) == {
        "run_id": run.pk,
        "kind": "materials",
        "trigger": "command",
        "park_ids": sorted([world["parks"]["a"].pk, world["parks"]["b"].pk]),
        "created": 1,
        "superseded": 0,
    }


def test_a_kept_proposal_emits_nothing_and_the_run_names_no_park(m: Market) -> None:
    m.offer("a1")
    m.need("b")
    m.rematch()
    forget_events()

    run = m.rematch()

    assert engine_events() == []
    assert run_finished(run)["park_ids"] == []
    assert (run_finished(run)["created"], run_finished(run)["superseded"]) == (0, 0)


def test_a_reworded_proposal_emits_nothing(m: Market) -> None:
    m.offer("a1", kg="500", price="3000.00")
    m.need("b", kg="300")
    m.rematch()
    [before] = live()
    m.offer("a2", kg="500", price="3400.00")  # qualifies too, dearer: only the words change
    forget_events()

    run = m.rematch()

    [after] = live()
    assert after.pk == before.pk and after.explanation != before.explanation
    assert (run.created, run.kept, run.superseded) == (0, 1, 0)
    assert engine_events() == []


def test_new_terms_change_the_proposal_of_the_pair(m: Market, world: World) -> None:
    listing = m.offer("a1", kg="500", price="3000.00")
    m.need("b", kg="400")
    m.rematch()
    [old] = live()
    listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal("3100.00"))
    forget_events()

    run = m.rematch()

    [new] = live()
    assert new.pk != old.pk
    assert engine_events() == [
        ("match.changed", {**terms(new), "price_per_t": "3100.00", "previous_match_id": old.pk})
    ]
    assert run_finished(run)["park_ids"] == sorted([world["parks"]["a"].pk, world["parks"]["b"].pk])
    assert (run_finished(run)["created"], run_finished(run)["superseded"]) == (1, 1)


def test_a_proposal_with_nothing_in_its_place_is_withdrawn(m: Market, world: World) -> None:
    listing = m.offer("a1", kg="500", price="3000.00")
    kept_listing = m.offer("c", kg="500", price="3500.00", visibility="all")
    m.need("b", kg="400")
    m.need("a2", kg="300")
    m.rematch()
    gone = live(listing=listing)
    stays = {x.pk for x in live(listing=kept_listing)}
    assert gone
    listing_withdraw(actor=SYSTEM, listing=listing)
    forget_events()

    m.rematch()

    withdrawn = [p for t, p in engine_events() if t == "match.withdrawn"]
    assert withdrawn == [terms(x) for x in sorted(gone, key=lambda x: x.pk)]
    for match in gone:  # the superseded rows' own values
        assert Match.objects.get(pk=match.pk).status == MatchStatus.SUPERSEDED
    # The other listing's proposals: kept (nothing) or changed (naming what they replace).
    for topic, payload in engine_events():
        if topic == "match.changed":
            assert payload["previous_match_id"] in stays
        assert payload["listing_id"] != listing.pk or topic == "match.withdrawn"


def test_a_stale_proposal_accepted_meanwhile_is_neither_superseded_nor_withdrawn(
    m: Market, world: World
) -> None:
    """The engine's UPDATE supersedes only what is still proposed: a proposal a side
    accepted between the engine's read and its write stays, and no event says otherwise."""
    m.offer("a1")
    m.need("b")
    m.rematch()
    [match] = live()
    match_accept(actor=resolve_scope(world["users"]["enterprise_admin"]), match=match)
    forget_events()

    created, kept, superseded, enterprises = engine._write(engine.Changes(stale_ids=[match.pk]))

    assert (created, kept, superseded, enterprises) == (0, 0, 0, set())
    assert Match.objects.get(pk=match.pk).status == MatchStatus.ACCEPTED
    assert engine_events() == []


def test_the_rematch_trigger_does_not_take_the_engines_own_events() -> None:
    """Otherwise every run would ask for another run of what it just matched."""
    for topic in (*ENGINE, "matching.run_finished"):
        assert "matching.rematch" not in {s.name for s in subscribers_for(topic)}
    for topic in ("match.accepted", "match.agreed", "match.declined", "match.released"):
        assert "matching.rematch" in {s.name for s in subscribers_for(topic)}
