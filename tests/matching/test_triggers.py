"""Changes reach the engine through the outbox, coalesced per material
(matching.handlers, matching.services.triggers, matching.tasks)."""

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from access.scope import SYSTEM, resolve_scope
from common.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from inventory.services import stock_adjust
from marketplace.services import listing_update, need_update
from matching import tasks
from matching.models import MatchRun, MatchStatus, PendingRematch, RunStatus, RunTrigger
from matching.services import triggers
from matching.services.decisions import match_decline
from matching.services.triggers import (
    pending_rematch,
    pending_sweep,
    rematch_request,
    rematches_deferred,
)
from tests import factories as f
from tests.matching.market import Market, live, pairs
from tests.outbox import handled
from tests.workers import real_worker

World = dict[str, Any]


@pytest.fixture
def m(world: World) -> Market:
    return Market(world)


class Scheduled(list[tuple[tuple[Any, ...], dict[str, Any]]]):
    """The calls of matching_pending.apply_async: (args, options)."""

    def materials(self) -> list[int]:
        return [args[0] for args, _ in self]


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> Scheduled:
    calls = Scheduled()

    def record(args: tuple[Any, ...] = (), **options: Any) -> None:
        calls.append((tuple(args), options))

    monkeypatch.setattr(tasks.matching_pending, "apply_async", record)
    return calls


def change_runs(material_id: int) -> list[MatchRun]:
    return [
        run
        for run in MatchRun.objects.filter(trigger=RunTrigger.CHANGE).order_by("id")
        if material_id in run.material_ids
    ]


# --- from the outbox to proposals ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
class TestOutboxToProposals:
    """Each kind of event, delivered after commit, ends in the rematch it asks for."""

    def test_listing_publication(self, m: Market, django_capture_on_commit_callbacks: Any) -> None:
        need = m.need("b", kg="400")  # its event stays undelivered: outside the capture
        with django_capture_on_commit_callbacks(execute=True):
            listing = m.offer("a1", kg="500")
        assert pairs(live()) == {(listing.pk, need.pk): Decimal("400.000")}
        [run] = change_runs(m.material.pk)
        assert run.status == RunStatus.DONE
        assert live()[0].run_id == run.pk
        assert not PendingRematch.objects.exists()
        assert handled(OutboxEvent.objects.get(topic="listing.published"))

    def test_need_creation(self, m: Market, django_capture_on_commit_callbacks: Any) -> None:
        listing = m.offer("a1", kg="500")
        with django_capture_on_commit_callbacks(execute=True):
            need = m.need("b", kg="400")
        assert pairs(live()) == {(listing.pk, need.pk): Decimal("400.000")}
        assert len(change_runs(m.material.pk)) == 1
        assert not PendingRematch.objects.exists()

    def test_stock_change(self, m: Market, django_capture_on_commit_callbacks: Any) -> None:
        lot = m.lot("a1", kg="1000")
        listing = m.offer("a1", kg="800", lot=lot)
        need = m.need("b", kg="600")
        m.rematch()
        with django_capture_on_commit_callbacks(execute=True):
            stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-800"))
        assert pairs(live()) == {(listing.pk, need.pk): Decimal("200.000")}
        assert len(change_runs(m.material.pk)) == 1

    def test_match_decision(
        self, m: Market, world: World, django_capture_on_commit_callbacks: Any
    ) -> None:
        m.offer("a1", kg="500", price="3000.00")
        dear = m.offer("a2", kg="500", price="3300.00")
        need = m.need("b", kg="300")
        m.rematch()
        [match] = live()
        with django_capture_on_commit_callbacks(execute=True):
            match_decline(actor=resolve_scope(world["users"]["park_b_admin"]), match=match)
        assert pairs(live()) == {(dear.pk, need.pk): Decimal("300.000")}
        assert len(change_runs(m.material.pk)) == 1

    def test_substitutes_of_a_need_are_rematched_with_it(
        self, m: Market, django_capture_on_commit_callbacks: Any
    ) -> None:
        substitute = f.MaterialFactory.create()
        listing = m.offer("a1", material=substitute)
        with django_capture_on_commit_callbacks(execute=True):
            need = m.need("b", substitutes=[substitute])
        assert pairs(live()) == {(listing.pk, need.pk): Decimal("400.000")}

    def test_dropping_a_substitute_withdraws_its_proposals(
        self, m: Market, django_capture_on_commit_callbacks: Any
    ) -> None:
        substitute = f.MaterialFactory.create()
        m.offer("a1", material=substitute)
        need = m.need("b", substitutes=[substitute])
        m.rematch()
        assert len(live()) == 1
        with django_capture_on_commit_callbacks(execute=True):
            need_update(actor=SYSTEM, need=need, substitutes=[])
        assert live() == []


# --- coalescing ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_thousand_requests_schedule_one_debounced_task(
    world: World, scheduled: Scheduled, django_capture_on_commit_callbacks: Any
) -> None:
    material = world["material"]
    with django_capture_on_commit_callbacks(execute=True):
        first = rematch_request(material_ids=[material.pk])
        later = [rematch_request(material_ids=[material.pk]) for _ in range(999)]
    assert first == [material.pk]
    assert all(new == [] for new in later)
    assert scheduled == [((material.pk,), {"countdown": settings.MATCHING_DEBOUNCE_SECONDS})]
    assert PendingRematch.objects.get(material=material).version == 1000


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_listing_updates_through_the_outbox_schedule_one_task(
    m: Market, scheduled: Scheduled, django_capture_on_commit_callbacks: Any
) -> None:
    listing = m.offer("a1")
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(300):
            listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal(3000 + i))
    assert scheduled.materials() == [m.material.pk]
    assert PendingRematch.objects.get(material=m.material).version == 300
    assert not OutboxEvent.objects.filter(topic="listing.updated", fanned_out_at=None).exists()
    deliveries = OutboxDelivery.objects.filter(event__topic="listing.updated")
    assert deliveries.filter(status=DeliveryStatus.DONE).count() == 300 == deliveries.count()


@pytest.mark.django_db
def test_requests_for_several_materials_schedule_one_task_each(
    world: World, scheduled: Scheduled, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = world["material"], f.MaterialFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        assert rematch_request(material_ids=[b.pk, a.pk, a.pk]) == sorted([a.pk, b.pk])
        assert rematch_request(material_ids=[a.pk]) == []
        assert rematch_request(material_ids=[]) == []
    assert sorted(scheduled.materials()) == sorted([a.pk, b.pk])
    assert PendingRematch.objects.get(material=a).version == 2
    assert PendingRematch.objects.get(material=b).version == 1


@pytest.mark.django_db
def test_pending_rematch_runs_once_and_clears_the_row(
    m: Market, scheduled: Scheduled, django_capture_on_commit_callbacks: Any
) -> None:
    listing = m.offer("a1")
    need = m.need("b")
    for _ in range(5):
        rematch_request(material_ids=[m.material.pk])

    with django_capture_on_commit_callbacks(execute=True):
        run_id = tasks.matching_pending(m.material.pk)

    assert run_id is not None
    run = MatchRun.objects.get(pk=run_id)
    assert (run.trigger, run.status, run.material_ids) == (
        RunTrigger.CHANGE,
        RunStatus.DONE,
        [m.material.pk],
    )
    assert pairs(live()) == {(listing.pk, need.pk): Decimal("400.000")}
    assert not PendingRematch.objects.exists()
    assert scheduled == []  # nothing changed meanwhile: not scheduled again
    # A duplicate task (the sweep, a redelivery) finds nothing to do.
    assert tasks.matching_pending(m.material.pk) is None
    assert MatchRun.objects.count() == 1


@pytest.mark.django_db
def test_change_during_the_rematch_schedules_it_again(
    m: Market,
    scheduled: Scheduled,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    m.offer("a1")
    m.need("b")
    rematch_request(material_ids=[m.material.pk])
    real = triggers.run_materials

    def run_with_a_change_landing(**kwargs: Any) -> MatchRun:
        rematch_request(material_ids=[m.material.pk])  # bumps the version, schedules nothing
        return real(**kwargs)

    monkeypatch.setattr(triggers, "run_materials", run_with_a_change_landing)
    with django_capture_on_commit_callbacks(execute=True):
        assert pending_rematch(material_id=m.material.pk) is not None

    assert PendingRematch.objects.get(material=m.material).version == 2
    assert scheduled.materials() == [m.material.pk]

    monkeypatch.setattr(triggers, "run_materials", real)
    with django_capture_on_commit_callbacks(execute=True):
        pending_rematch(material_id=m.material.pk)
    assert not PendingRematch.objects.exists()
    assert scheduled.materials() == [m.material.pk]  # no third time


@pytest.mark.django_db
def test_pending_rematch_clears_the_other_materials_of_the_component(
    m: Market, scheduled: Scheduled
) -> None:
    substitute = f.MaterialFactory.create()
    m.need("b", substitutes=[substitute])
    rematch_request(material_ids=[m.material.pk, substitute.pk])
    run = pending_rematch(material_id=substitute.pk)
    assert run is not None and run.components == 1
    assert not PendingRematch.objects.exists()
    assert pending_rematch(material_id=m.material.pk) is None


@pytest.mark.django_db
def test_sweep_reschedules_only_old_rows(
    world: World, scheduled: Scheduled, django_capture_on_commit_callbacks: Any
) -> None:
    old, fresh = world["material"], f.MaterialFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        rematch_request(material_ids=[old.pk, fresh.pk])
    scheduled.clear()
    PendingRematch.objects.filter(material=old).update(
        requested_at=timezone.now() - timedelta(seconds=settings.MATCHING_PENDING_SWEEP_SECONDS + 5)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert pending_sweep() == [old.pk]
        assert tasks.matching_sweep() == 1
    assert scheduled.materials() == [old.pk, old.pk]


@pytest.mark.django_db
def test_deferred_rematches_are_recorded_but_not_scheduled(
    m: Market, scheduled: Scheduled, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), rematches_deferred():
        assert rematch_request(material_ids=[m.material.pk]) == [m.material.pk]
    assert scheduled == []
    assert PendingRematch.objects.filter(material=m.material).exists()
    # Outside the block scheduling works again (for a material not yet pending).
    other = f.MaterialFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        rematch_request(material_ids=[other.pk])
    assert scheduled.materials() == [other.pk]


# --- end to end: PostgreSQL, Redis and a real worker ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_burst_of_changes_is_coalesced_by_a_real_worker(world: World) -> None:
    """300 price changes committed one by one travel through Redis to a real worker; the
    debounce turns them into a handful of rematches and the last one sees the last price."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a broker: run with CELERY_BROKER_URL=redis://... (see .ci/run)")
    from config.celery import app

    m = Market(world)
    listing = m.offer("a1", kg="500", price="3000.00")
    need = m.need("b", kg="400")
    m.rematch()
    # The setup's events (the first rematch's proposal and run too; the worker purges
    # their sends, and earlier tests' tasks, when it starts): not this test's.
    app.control.purge()
    OutboxEvent.objects.filter(fanned_out_at=None).update(fanned_out_at=timezone.now())
    material = m.material.pk

    with real_worker():
        for i in range(1, 301):
            listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal(3000 + i))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            undelivered = (
                OutboxEvent.objects.filter(fanned_out_at=None).exists()
                or OutboxDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()
            )
            if not undelivered and not PendingRematch.objects.filter(material=material).exists():
                break
            time.sleep(0.2)
        else:
            pytest.fail("the worker did not drain the changes within 60 s")

    runs = change_runs(material)
    print(f"300 changes -> {len(runs)} rematches triggered by change")
    assert 1 <= len(runs) <= 10
    assert all(run.status == RunStatus.DONE for run in runs), [r.error for r in runs]
    [proposal] = live()
    assert (proposal.listing_id, proposal.need_id) == (listing.pk, need.pk)
    assert proposal.status == MatchStatus.PROPOSED
    assert proposal.price_per_t == Decimal("3300.00")


# --- the catalogue and the zones ----------------------------------------------------------


@pytest.mark.django_db
def test_a_zone_change_rematches_the_parks_needs_and_what_the_zone_holds(
    m: Market, world: World
) -> None:
    """A zone's new capacity or licence may admit what it refused (as a delivery point, as a
    neighbour): the park's needs and the zone's stock are rematched, not other parks'."""
    from inventory.services import zone_update
    from tests.outbox import deliver

    held, elsewhere = f.MaterialFactory.create(), f.MaterialFactory.create()
    zone = world["zones"]["a1"]
    m.lot("a1", material=held, zone=zone)
    m.need("a2")  # park A's need of the world's material
    m.need("c", material=elsewhere)  # park C's
    zone_update(actor=SYSTEM, zone=zone, capacity_kg=zone.capacity_kg + 1000)
    assert not PendingRematch.objects.exists()  # nothing delivered yet
    assert deliver(OutboxEvent.objects.get(topic="zone.changed"))
    rematched = set(PendingRematch.objects.values_list("material_id", flat=True))
    assert rematched == {m.material.pk, held.pk}


@pytest.mark.django_db
def test_a_catalogue_change_rematches_the_material(m: Market) -> None:
    from inventory.services import material_update
    from tests.outbox import deliver

    material_update(actor=SYSTEM, material=m.material, name_en="renamed")
    event = OutboxEvent.objects.get(topic="material.changed")
    assert event.payload == {"material_ids": [m.material.pk], "fields": ["name_en"]}
    assert deliver(event)
    assert list(PendingRematch.objects.values_list("material_id", flat=True)) == [m.material.pk]
