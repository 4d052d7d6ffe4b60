"""The engine against itself and against the parties, on PostgreSQL with threads released
by one barrier (tests/concurrency.py): rematches of one material, a rematch racing an
acceptance, and a change racing the debounced rematch that clears its request."""

import random
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.scope import SYSTEM
from marketplace.services import listing_update
from matching import tasks
from matching.models import LIVE, Match, MatchRun, MatchStatus, PendingRematch, RunStatus
from matching.services import engine, triggers
from matching.services.triggers import pending_rematch, rematch_request
from tests.concurrency import run_concurrently
from tests.matching.market import Market, live

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres", "no_dispatch")]

World = dict[str, Any]


@pytest.fixture
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stay in the outbox: these tests call the engine themselves, and a commit must
    not send tasks to a broker (or run them eagerly) behind their back."""
    from common.tasks import outbox_fanout

    monkeypatch.setattr(outbox_fanout, "delay", lambda *args, **kwargs: None)


def live_per_pair() -> Counter[tuple[int, int]]:
    return Counter(
        Match.objects.filter(status__in=LIVE).values_list("listing_id", "need_id").order_by()
    )


def assert_done(results: list[Any]) -> list[MatchRun]:
    """Every thread got a run back (nothing raised), and every run ended done."""
    assert all(isinstance(r, MatchRun) for r in results), results
    assert [(r.status, r.error) for r in results] == [(RunStatus.DONE, "")] * len(results)
    return results


def test_concurrent_rematches_of_one_material_write_one_set_of_proposals(world: World) -> None:
    m = Market(world)
    cheap = m.offer("a1", kg="500", price="3000.00")
    m.offer("a2", kg="400", price="3100.00")
    m.offer("c", kg="300", price="2900.00", visibility="all")
    m.need("b", kg="600")
    m.need("a2", kg="300")
    m.need("a1", kg="200")

    changed = 0  # proposals of `cheap` superseded by its last price change
    for round_ in range(3):
        runs = assert_done(run_concurrently(4, lambda i: m.rematch()))
        proposals = live()
        assert proposals
        assert max(live_per_pair().values()) == 1
        # The runs went one after another: the first wrote, the others found it written.
        writes = sorted((r.created, r.superseded) for r in runs)
        if round_ == 0:
            assert writes == [(0, 0)] * 3 + [(len(proposals), 0)]
            assert not Match.objects.filter(status=MatchStatus.SUPERSEDED).exists()
        else:
            assert writes == [(0, 0)] * 3 + [(changed, changed)]
        assert sorted(r.kept for r in runs)[1:] == [len(proposals)] * 3
        # What they left is what one run on its own keeps.
        alone = m.rematch()
        assert (alone.created, alone.superseded, alone.kept) == (0, 0, len(proposals))
        changed = len(live(listing=cheap))
        assert changed >= 1
        listing_update(actor=SYSTEM, listing=cheap, price_per_t=Decimal(2990 - round_))


def test_acceptance_landing_between_read_and_write_makes_the_rematch_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic: the rematch has read proposal P as open when the acceptance commits;
    it must not insert a second live match for P's pair, and must not fail."""
    m = Market(world)
    listing = m.offer("a1", kg="500", price="3000.00")
    need = m.need("b", kg="400")
    m.rematch()
    [proposal] = live()
    # A new price: the next rematch supersedes P and proposes the pair again.
    listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal("3100.00"))

    loaded, accepted = threading.Event(), threading.Event()
    loads: list[int] = []
    real_load = engine.load_components

    def load_then_wait(*args: Any, **kwargs: Any) -> Any:
        result = real_load(*args, **kwargs)
        loads.append(1)
        if len(loads) == 1:
            loaded.set()
            assert accepted.wait(10)
        return result

    monkeypatch.setattr(engine, "load_components", load_then_wait)

    def act(i: int) -> Any:
        if i == 0:
            return m.rematch()
        assert loaded.wait(10)
        try:
            return Match.objects.filter(pk=proposal.pk, status=MatchStatus.PROPOSED).update(
                status=MatchStatus.ACCEPTED, seller_accepted_at=timezone.now()
            )
        finally:
            accepted.set()

    run, updated = run_concurrently(2, act)

    assert updated == 1
    assert_done([run])
    assert len(loads) == 2  # the collision was retried once
    assert [(x.pk, x.status) for x in live()] == [(proposal.pk, MatchStatus.ACCEPTED)]
    assert Match.objects.filter(listing=listing, need=need).count() == 1
    assert run.created == 0  # the need is fully committed: nothing left to propose


def test_rematches_racing_acceptances_never_leave_two_live_matches_for_a_pair(
    world: World,
) -> None:
    m = Market(world)
    listing = m.offer("a1", kg="5000", lot_kg="5000", price="3000.00")
    rng = random.Random(20261127)
    outcomes: Counter[str] = Counter()
    for round_ in range(12):
        need = m.need("b", kg="100")
        m.rematch()
        [proposal] = live(need=need)
        listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal(3001 + round_))
        delay = rng.uniform(0, 0.05)

        def act(i: int, pk: int = proposal.pk, delay: float = delay) -> Any:
            if i == 0:
                return m.rematch()
            time.sleep(delay)
            return Match.objects.filter(pk=pk, status=MatchStatus.PROPOSED).update(
                status=MatchStatus.ACCEPTED, seller_accepted_at=timezone.now()
            )

        run, updated = run_concurrently(2, act)

        assert_done([run])
        assert max(live_per_pair().values()) == 1
        [now_live] = live(need=need)
        if updated:
            assert (now_live.pk, now_live.status) == (proposal.pk, MatchStatus.ACCEPTED)
            outcomes["accepted first"] += 1
        else:
            assert now_live.pk != proposal.pk and now_live.status == MatchStatus.PROPOSED
            assert Match.objects.get(pk=proposal.pk).status == MatchStatus.SUPERSEDED
            outcomes["superseded first"] += 1
    print(dict(outcomes))
    # Committed matches were never touched: each still holds its 100 kg.
    committed = Match.objects.filter(status=MatchStatus.ACCEPTED)
    assert all(x.quantity_kg == Decimal("100.000") for x in committed)


def test_change_racing_the_rematch_that_clears_its_request_is_not_lost(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change reads its material's request row as present just before the debounced
    rematch deletes it: the change must still be rematched (row kept and rescheduled)."""
    m = Market(world)
    m.offer("a1")
    m.need("b")
    material = m.material.pk
    scheduled: list[int] = []
    monkeypatch.setattr(
        tasks.matching_pending,
        "apply_async",
        lambda args=(), **options: scheduled.append(args[0]),
    )
    assert rematch_request(material_ids=[material]) == [material]
    scheduled.clear()

    selected = threading.Event()
    real_f = triggers.F

    def slow_f(name: str) -> Any:
        # Called between the request's read of the rows and its update of their versions.
        selected.set()
        time.sleep(1.0)
        return real_f(name)

    monkeypatch.setattr(triggers, "F", slow_f)

    def act(i: int) -> Any:
        if i == 0:
            return rematch_request(material_ids=[material])
        assert selected.wait(10)
        return pending_rematch(material_id=material)

    new, run = run_concurrently(2, act)

    assert new == []  # the row was there: a version bump, no task of its own
    assert isinstance(run, MatchRun) and run.status == RunStatus.DONE
    # The bump outlived the rematch, which therefore scheduled itself once more.
    assert (
        PendingRematch.objects.filter(material_id=material).values_list("version", flat=True).get()
        == 2
    )
    assert scheduled == [material]


def test_concurrent_requests_for_one_material_count_every_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled: list[int] = []
    monkeypatch.setattr(
        tasks.matching_pending,
        "apply_async",
        lambda args=(), **options: scheduled.append(args[0]),
    )
    material = world["material"].pk
    results = run_concurrently(8, lambda i: rematch_request(material_ids=[material]))
    assert all(isinstance(r, list) for r in results), results
    # Requests that found no row each schedule a task (duplicates are harmless: the second
    # finds the row gone); one of their inserts wins, every other request bumps it.
    inserting = sum(1 for r in results if r == [material])
    assert inserting >= 1
    assert scheduled == [material] * inserting
    assert PendingRematch.objects.get(material_id=material).version == 8 - inserting + 1
