"""Matching runs: a rematch of some materials, or a full rematch fanned out over workers.

A full run lists the components (``matching.loading.components_all``), cuts them into
chunks of about ``MATCHING_CHUNK_MATERIALS`` materials and either rematches the chunks
here, one after another (the ``match`` command, the embedded default), or sends them to
the workers as a Celery group. Each chunk adds its figures to the run with ``F()`` updates
and counts itself off ``pending_chunks``; the chunk that brings it to zero closes the run.

A run leaves ONE audit row, ``matching_run.start`` (who asked, or the system; the kind,
trigger and materials), written with the run's row. The proposals it writes and supersedes
are derived data, recomputed by the next run: they have no rows of their own (the run's
figures say how many), and the parties' decisions on them are recorded one by one
(``match.accept``, ``match.decline``; decisions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import SYSTEM, Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit
from common.exceptions import Conflict
from matching.loading import Component, StoredHazards, component_of, components_all
from matching.models import Match, MatchRun, PendingRematch, RunKind, RunStatus, RunTrigger
from matching.services.engine import Totals, components_rematch, run_add
from matching.topics import RUN_FINISHED
from parks.models import Enterprise

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (materials done, materials in all)


def chunked(components: Sequence[Component], *, materials_per_chunk: int) -> list[list[Component]]:
    """Consecutive components, about ``materials_per_chunk`` materials to a chunk."""
    chunks: list[list[Component]] = []
    current: list[Component] = []
    size = 0
    for comp in components:
        current.append(comp)
        size += len(comp)
        if size >= materials_per_chunk:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks


# A run that rewrote this many proposals refreshes the table's statistics: the planner
# (and the plans PostgreSQL has cached for the engine's prepared reads) would otherwise
# keep treating a table that grew by 170k rows as the empty one it last analysed, until
# autovacuum's next pass.
ANALYZE_AFTER_ROWS = 10_000


def _close(run_id: int) -> None:
    """Mark the run finished: done, or failed if some chunk recorded an error; emits
    ``matching.run_finished`` (its kind, trigger, counts, and the parks of the enterprises
    whose proposals it created, changed or withdrew), delivered after commit."""
    run = MatchRun.objects.get(pk=run_id)
    if connection.vendor == "postgresql" and run.created + run.superseded >= ANALYZE_AFTER_ROWS:
        with transaction.atomic(), connection.cursor() as cursor:
            # A small sample: the plans need the table's size and the spread of status and
            # material, not fine histograms; the default sample takes ~1 s at 170k rows.
            cursor.execute("SET LOCAL default_statistics_target = 20")
            cursor.execute(f"ANALYZE {Match._meta.db_table}")
    run.status = RunStatus.FAILED if run.error else RunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    event_emit(
        topic=RUN_FINISHED,
        payload={
            "run_id": run.pk,
            "kind": run.kind,
            "trigger": run.trigger,
            "park_ids": sorted(run.park_ids),
            "created": run.created,
            "superseded": run.superseded,
        },
    )


# The stored hazards a full run has read, kept by the process for its next chunk of the
# same run (one run at a time per process; a worker moving on to another run starts over).
_stored_of_run: dict[int, StoredHazards] = {}


def _stored_for(run_id: int) -> StoredHazards:
    stored = _stored_of_run.get(run_id)
    if stored is None:
        _stored_of_run.clear()
        stored = _stored_of_run[run_id] = StoredHazards()
    return stored


def run_chunk(*, run_id: int, components: Sequence[Component]) -> Totals:
    """Rematch one chunk of a run, add its figures, and close the run if it was the last.

    A failing chunk is logged and recorded in the run's ``error`` (the run then ends
    failed); it does not stop the other chunks, and the next run retries its components."""
    totals = Totals()
    park_ids: set[int] = set()
    try:
        totals = components_rematch(components, run_id=run_id, stored=_stored_for(run_id))
        run_add(run_id, totals)
        if totals.enterprise_ids:
            park_ids = set(
                Enterprise.objects.filter(pk__in=totals.enterprise_ids).values_list(
                    "park_id", flat=True
                )
            )
    except Exception as exc:
        logger.exception("matching run %s: chunk failed", run_id)
        totals.errors.append(repr(exc))
        MatchRun.objects.filter(pk=run_id).update(error=Concat(F("error"), Value(f"{exc!r}\n")))
    finally:
        with transaction.atomic():
            run = MatchRun.objects.select_for_update().get(pk=run_id)
            fields = []
            if run.pending_chunks:
                run.pending_chunks -= 1
                fields.append("pending_chunks")
            if not park_ids <= set(run.park_ids):
                run.park_ids = sorted(park_ids | set(run.park_ids))
                fields.append("park_ids")
            if fields:
                run.save(update_fields=fields)
            if run.pending_chunks == 0 and run.status == RunStatus.RUNNING:
                _close(run_id)
        if run.pending_chunks == 0:
            # The run is over: what it read must not serve another (ids restart after a
            # rolled-back test, and stock moves on).
            _stored_of_run.pop(run_id, None)
    return totals


# What a run's audit row shows: what was asked for.
RUN_AUDIT_FIELDS = ("kind", "trigger", "material_ids", "pending_chunks")


def run_materials(*, material_ids: Sequence[int], trigger: str, actor: Scope = SYSTEM) -> MatchRun:
    """Rematch the components of ``material_ids`` here and now. The run's row and its one
    audit row (``matching_run.start``) commit together, before the rematch."""
    with transaction.atomic():
        run = MatchRun.objects.create(
            kind=RunKind.MATERIALS,
            trigger=trigger,
            requested_by=actor.user,
            material_ids=sorted(set(material_ids)),
            pending_chunks=1,
        )
        audit_record(
            actor=actor,
            action="matching_run.start",
            target=run,
            changes=changes_between({}, snapshot(run, RUN_AUDIT_FIELDS)),
        )
    run_chunk(run_id=run.pk, components=component_of(material_ids))
    run.refresh_from_db()
    return run


def run_full(
    *,
    trigger: str,
    actor: Scope = SYSTEM,
    fan_out: bool = False,
    progress: Progress | None = None,
) -> MatchRun:
    """A full rematch. ``fan_out`` sends the chunks to the workers as one Celery group
    (after this transaction commits) and returns the run still running; otherwise the
    chunks run here and the run is returned closed. One audit row, ``matching_run.start``,
    with the run's row."""
    from matching.tasks import matching_chunk

    pending = dict(PendingRematch.objects.values_list("material_id", "version"))
    components = components_all()
    chunks = chunked(components, materials_per_chunk=settings.MATCHING_CHUNK_MATERIALS)
    with transaction.atomic():
        run = MatchRun.objects.create(
            kind=RunKind.FULL, trigger=trigger, requested_by=actor.user, pending_chunks=len(chunks)
        )
        audit_record(
            actor=actor,
            action="matching_run.start",
            target=run,
            changes=changes_between({}, snapshot(run, RUN_AUDIT_FIELDS)),
        )
    if not chunks:
        _close(run.pk)
    elif fan_out:
        from celery import group

        job = group(matching_chunk.s(run.pk, [list(c) for c in chunk]) for chunk in chunks)
        transaction.on_commit(partial(job.apply_async))
        return run
    else:
        total = sum(len(c) for c in components)
        done = 0
        failed: set[int] = set()
        for chunk in chunks:
            if run_chunk(run_id=run.pk, components=chunk).errors:
                failed.update(m for c in chunk for m in c)
            done += sum(len(c) for c in chunk)
            if progress is not None:
                progress(done, total)
        # Every component was rematched: changes recorded before the run are covered, except
        # those of a failed chunk, which stay pending for their own rematch to retry.
        for material_id, version in pending.items():
            if material_id not in failed:
                PendingRematch.objects.filter(material_id=material_id, version=version).delete()
    run.refresh_from_db()
    return run


def full_run_in_progress() -> MatchRun | None:
    """A full run started recently and not finished (an older one is taken as lost)."""
    since = timezone.now() - timedelta(seconds=settings.MATCHING_RUN_STALE_SECONDS)
    return (
        MatchRun.objects.filter(kind=RunKind.FULL, status=RunStatus.RUNNING, started_at__gte=since)
        .order_by("-id")
        .first()
    )


def run_request(*, actor: Scope, material_ids: list[int] | None) -> MatchRun:
    """A run asked for through the API: of the given materials, or full (fanned out to
    the workers unless tasks run eagerly). One full run at a time: a second is a Conflict.
    Its audit row is the run's own (``run_materials``, ``run_full``)."""
    if material_ids:
        return run_materials(material_ids=material_ids, trigger=RunTrigger.API, actor=actor)
    running = full_run_in_progress()
    if running is not None:
        raise Conflict(
            _("Full matching run #%(id)s is still running.") % {"id": running.pk},
            field="materials",
        )
    return run_full(
        trigger=RunTrigger.API, actor=actor, fan_out=not settings.CELERY_TASK_ALWAYS_EAGER
    )
