"""Matching runs: full runs inline or fanned out, chunks, failures, the API's request and
the ``match`` command (matching.services.runs, matching.tasks, the management command)."""

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from access.scope import resolve_scope
from common.exceptions import Conflict
from matching import tasks
from matching.loading import Component, components_all
from matching.models import (
    Match,
    MatchRun,
    MatchStatus,
    PendingRematch,
    RunKind,
    RunStatus,
    RunTrigger,
)
from matching.services import runs
from matching.services.runs import chunked, run_full, run_materials, run_request
from matching.services.triggers import rematch_request
from tests import factories as f
from tests.matching.market import Market, live

World = dict[str, Any]


@pytest.fixture
def market(world: World) -> dict[str, Any]:
    """Four components: three single materials and one of a material and its substitute,
    each with a listing and a need of whole tonnes (so every cost is whole fen)."""
    m = Market(world)
    materials = [world["material"], *f.MaterialFactory.create_batch(4)]
    a, b, c, wanted, substitute = materials
    for i, material in enumerate([a, b, c]):
        m.offer("a1", material=material, kg="2000", lot_kg="3000", price=f"{3000 + i}.00")
        m.need("b", material=material, kg="1000")
    m.offer("a2", material=substitute, kg="1000", price="2500.00")
    m.need("b", material=wanted, kg="1000", substitutes=[substitute])
    return {"m": m, "materials": materials, "components": [(a.pk,), (b.pk,), (c.pk,)]}


def by_material(material_id: int) -> list[Match]:
    return list(Match.objects.filter(material_id=material_id, status=MatchStatus.PROPOSED))


FIGURES = ("components", "listings", "needs", "arcs", "matched_kg", "cost_yuan", "moq_components")


# --- chunks -------------------------------------------------------------------------------


def test_chunked_cuts_after_enough_materials() -> None:
    comps: list[Component] = [(1,), (2, 3), (4,), (5, 6, 7), (8,)]
    assert chunked(comps, materials_per_chunk=3) == [[(1,), (2, 3)], [(4,), (5, 6, 7)], [(8,)]]
    assert chunked(comps, materials_per_chunk=1) == [[c] for c in comps]
    assert chunked(comps, materials_per_chunk=100) == [comps]
    assert chunked([], materials_per_chunk=3) == []


@given(
    sizes=st.lists(st.integers(1, 6), max_size=30),
    per_chunk=st.integers(1, 12),
)
def test_chunked_keeps_every_component_in_order_and_chunks_just_big_enough(
    sizes: list[int], per_chunk: int
) -> None:
    comps: list[Component] = []
    next_id = 1
    for size in sizes:
        comps.append(tuple(range(next_id, next_id + size)))
        next_id += size
    chunks = chunked(comps, materials_per_chunk=per_chunk)
    assert [c for chunk in chunks for c in chunk] == comps
    for chunk in chunks:
        assert chunk
        materials = sum(len(c) for c in chunk)
        # A chunk closes as soon as it has enough materials: without its last component it
        # had fewer. Only the last chunk may stay below.
        assert materials - len(chunk[-1]) < per_chunk
    for chunk in chunks[:-1]:
        assert sum(len(c) for c in chunk) >= per_chunk


# --- full runs ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_full_run_inline_equals_the_sum_of_per_component_runs(
    market: dict[str, Any], settings: Any
) -> None:
    settings.MATCHING_CHUNK_MATERIALS = 2
    a, b, c, wanted, _substitute = market["materials"]
    singles = [run_materials(material_ids=[x.pk], trigger=RunTrigger.COMMAND) for x in (a, b, c)]
    singles.append(run_materials(material_ids=[wanted.pk], trigger=RunTrigger.COMMAND))
    proposals = sorted(Match.objects.values_list("id", flat=True))
    assert len(proposals) == 4

    seen: list[tuple[int, int]] = []
    full = run_full(trigger=RunTrigger.COMMAND, progress=lambda d, t: seen.append((d, t)))

    assert (full.kind, full.status, full.pending_chunks, full.error) == (
        RunKind.FULL,
        RunStatus.DONE,
        0,
        "",
    )
    assert full.finished_at is not None
    for name in FIGURES:
        assert getattr(full, name) == sum(getattr(r, name) for r in singles), name
    assert (full.created, full.kept, full.superseded) == (0, 4, 0)
    assert sorted(Match.objects.values_list("id", flat=True)) == proposals
    # Five materials in chunks of about two: progress reported after each chunk.
    assert seen[-1] == (5, 5)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) == len(chunked(components_all(), materials_per_chunk=2)) == 2


@pytest.mark.django_db
def test_full_run_on_fresh_data_proposes_for_every_component(market: dict[str, Any]) -> None:
    full = run_full(trigger=RunTrigger.COMMAND)
    assert full.status == RunStatus.DONE
    assert (full.components, full.created, full.matched_kg) == (4, 4, Decimal("4000.000"))
    for material in market["materials"][:3]:
        assert len(by_material(material.pk)) == 1
    assert len(by_material(market["materials"][4].pk)) == 1  # the substitute's listing


@pytest.mark.django_db
def test_full_run_of_nothing_closes_at_once(db: Any) -> None:
    full = run_full(trigger=RunTrigger.SCHEDULE)
    assert (full.status, full.components, full.pending_chunks) == (RunStatus.DONE, 0, 0)


@pytest.mark.django_db
def test_full_run_clears_the_pending_requests_it_covers(market: dict[str, Any]) -> None:
    ids = [x.pk for x in market["materials"]]
    rematch_request(material_ids=ids)
    run_full(trigger=RunTrigger.COMMAND)
    assert not PendingRematch.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_fanned_out_run_ends_done_when_its_last_chunk_does(
    market: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MATCHING_CHUNK_MATERIALS = 1
    with django_capture_on_commit_callbacks(execute=True):
        run = run_full(trigger=RunTrigger.SCHEDULE, fan_out=True)
        # Returned before any chunk ran: still running, one pending chunk per component.
        assert (run.status, run.pending_chunks) == (RunStatus.RUNNING, 4)
        assert not Match.objects.exists()
    run.refresh_from_db()
    assert (run.status, run.pending_chunks, run.error) == (RunStatus.DONE, 0, "")
    assert (run.components, run.created) == (4, 4)
    assert set(Match.objects.values_list("run_id", flat=True)) == {run.pk}


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_periodic_full_task_runs_every_component(
    market: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run_id = tasks.matching_full()
    run = MatchRun.objects.get(pk=run_id)
    assert (run.kind, run.trigger, run.status) == (
        RunKind.FULL,
        RunTrigger.SCHEDULE,
        RunStatus.DONE,
    )
    assert run.created == 4


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
@pytest.mark.parametrize("fan_out", [False, True], ids=["inline", "fanned-out"])
def test_failing_chunk_fails_the_run_but_not_the_other_chunks(
    market: dict[str, Any],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    fan_out: bool,
) -> None:
    settings.MATCHING_CHUNK_MATERIALS = 1
    a, b, c, _wanted, substitute = market["materials"]
    rematch_request(material_ids=[a.pk, b.pk])
    real = runs.components_rematch

    def fail_for_b(components: Sequence[Component], **kwargs: Any) -> Any:
        if any(b.pk in comp for comp in components):
            raise RuntimeError("solver crashed on b")
        return real(components, **kwargs)

    monkeypatch.setattr(runs, "components_rematch", fail_for_b)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_full(trigger=RunTrigger.COMMAND, fan_out=fan_out)
    run.refresh_from_db()

    assert (run.status, run.pending_chunks) == (RunStatus.FAILED, 0)
    assert run.finished_at is not None
    assert "RuntimeError('solver crashed on b')" in run.error
    assert (run.components, run.created) == (3, 3)  # the other chunks were written
    assert by_material(b.pk) == []
    for material in (a, c, substitute):
        assert len(by_material(material.pk)) == 1
    if not fan_out:
        # The failed material's change is still pending (the next run retries it); the
        # others were covered.
        assert list(PendingRematch.objects.values_list("material_id", flat=True)) == [b.pk]


@pytest.mark.django_db
def test_failing_rematch_of_materials_ends_failed(
    market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("bad data")

    monkeypatch.setattr(runs, "components_rematch", crash)
    run = run_materials(material_ids=[market["materials"][0].pk], trigger=RunTrigger.API)
    assert (run.status, run.pending_chunks) == (RunStatus.FAILED, 0)
    assert "ValueError('bad data')" in run.error
    assert not Match.objects.exists()


# --- run_request --------------------------------------------------------------------------


@pytest.mark.django_db
def test_second_full_run_request_is_a_conflict(market: dict[str, Any], world: World) -> None:
    user = world["users"]["superuser"]
    running = MatchRun.objects.create(kind=RunKind.FULL, trigger=RunTrigger.SCHEDULE)

    with pytest.raises(Conflict) as refused:
        run_request(actor=resolve_scope(user), material_ids=None)
    assert refused.value.status_code == 409
    assert refused.value.field == "materials"
    assert f"#{running.pk}" in str(refused.value)
    assert MatchRun.objects.count() == 1

    # A rematch of materials is still allowed beside it.
    run = run_request(actor=resolve_scope(user), material_ids=[market["materials"][0].pk])
    assert (run.kind, run.trigger, run.status, run.requested_by) == (
        RunKind.MATERIALS,
        RunTrigger.API,
        RunStatus.DONE,
        user,
    )


@pytest.mark.django_db
def test_stale_or_finished_full_run_does_not_block(
    market: dict[str, Any], world: World, settings: Any
) -> None:
    user = world["users"]["superuser"]
    lost = MatchRun.objects.create(kind=RunKind.FULL, trigger=RunTrigger.SCHEDULE)
    MatchRun.objects.filter(pk=lost.pk).update(
        started_at=lost.started_at - timedelta(seconds=settings.MATCHING_RUN_STALE_SECONDS + 1)
    )
    MatchRun.objects.create(kind=RunKind.FULL, trigger=RunTrigger.API, status=RunStatus.DONE)
    run = run_request(actor=resolve_scope(user), material_ids=None)
    assert (run.kind, run.trigger, run.requested_by) == (RunKind.FULL, RunTrigger.API, user)
    assert run.pk > lost.pk


# --- the match command --------------------------------------------------------------------


def match_command(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("match", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.django_db
def test_command_rematches_a_material_by_cas(market: dict[str, Any]) -> None:
    material = market["materials"][1]
    output = match_command("--material", material.cas)
    run = MatchRun.objects.get()
    assert (run.kind, run.trigger, run.status, run.material_ids) == (
        RunKind.MATERIALS,
        RunTrigger.COMMAND,
        RunStatus.DONE,
        [material.pk],
    )
    assert output.startswith(f"Run #{run.pk} done: 1 components, 1 listings, 1 needs")
    assert "1 new, 0 kept, 0 superseded" in output
    assert [x.material_id for x in live()] == [material.pk]


@pytest.mark.django_db
def test_command_runs_every_component_with_full(market: dict[str, Any]) -> None:
    output = match_command("--full")
    run = MatchRun.objects.get()
    assert (run.kind, run.status, run.created) == (RunKind.FULL, RunStatus.DONE, 4)
    assert f"Run #{run.pk} done: 4 components" in output


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_command_sends_a_full_run_to_the_workers(
    market: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        output = match_command("--full", "--workers")
    run = MatchRun.objects.get()
    assert output.strip() == f"Run #{run.pk} sent to the workers as 1 chunks."
    run.refresh_from_db()
    assert (run.status, run.created) == (RunStatus.DONE, 4)


@pytest.mark.django_db
def test_command_refuses_an_unknown_cas_and_conflicting_options(market: dict[str, Any]) -> None:
    known = market["materials"][0].cas
    with pytest.raises(CommandError, match=r"Unknown CAS number\(s\): 50-00-0\."):
        match_command("--material", known, "--material", "50-00-0")
    with pytest.raises(CommandError, match="not both"):
        match_command("--material", known, "--full")
    assert not MatchRun.objects.exists()


@pytest.mark.django_db
def test_command_without_options_runs_the_pending_rematches(market: dict[str, Any]) -> None:
    a, b = market["materials"][:2]
    rematch_request(material_ids=[a.pk, b.pk])
    output = match_command()
    assert output.strip() == "Rematched 2 pending material(s)."
    assert not PendingRematch.objects.exists()
    assert sorted(x.material_id for x in live()) == sorted([a.pk, b.pk])
    runs_made = MatchRun.objects.filter(trigger=RunTrigger.CHANGE)
    assert runs_made.count() == 2
    assert match_command().strip() == "Rematched 0 pending material(s)."


@pytest.mark.django_db
def test_command_reports_a_failed_run_as_an_error(
    market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(runs, "components_rematch", crash)
    with pytest.raises(CommandError, match=r"failed: RuntimeError\('boom'\)"):
        match_command("--material", market["materials"][0].cas)
    assert MatchRun.objects.get().status == RunStatus.FAILED


@pytest.mark.postgres
def test_a_large_run_refreshes_the_match_tables_statistics(
    on_postgres: None, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plans of the engine's reads depend on the table's statistics: a run that rewrote
    many proposals analyses the table (threshold lowered here to the 4 the market makes)."""
    from django.db import connection

    def analyses() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s",
                [Match._meta.db_table],
            )
            return int(cursor.fetchone()[0])

    monkeypatch.setattr(runs, "ANALYZE_AFTER_ROWS", 5)
    before = analyses()
    run_full(trigger=RunTrigger.COMMAND)  # 4 proposals: below the threshold
    assert analyses() == before
    monkeypatch.setattr(runs, "ANALYZE_AFTER_ROWS", 4)
    Match.objects.all().delete()
    run_full(trigger=RunTrigger.COMMAND)
    assert analyses() == before + 1
