"""Changes to listings, needs, lots and matches become coalesced rematches.

``rematch_request`` runs in the outbox handler's transaction (matching.handlers). The
first request for a material inserts its PendingRematch row and schedules
``matching_pending`` after ``MATCHING_DEBOUNCE_SECONDS``; further requests while the row
exists only bump its version. ``pending_rematch`` rematches the material's component, then
deletes the rows of the component whose versions it read and finds unchanged; a row that
changed meanwhile is scheduled again. A burst of N changes to one material thus costs about
(burst length / debounce) + 1 solves. ``pending_sweep`` (beat) reschedules rows whose task
was lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from matching.loading import component_of
from matching.models import MatchRun, PendingRematch, RunTrigger
from matching.services.runs import run_materials

_deferred: ContextVar[bool] = ContextVar("matching_rematches_deferred", default=False)


@contextmanager
def rematches_deferred() -> Iterator[None]:
    """Record changes without scheduling their rematches: for bulk loads (seed_demo) that
    run one full rematch afterwards instead of one rematch per change."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def _schedule(material_id: int) -> None:
    from matching.tasks import matching_pending

    if _deferred.get():
        return

    transaction.on_commit(
        partial(
            matching_pending.apply_async,
            args=(material_id,),
            countdown=settings.MATCHING_DEBOUNCE_SECONDS,
        )
    )


def rematch_request(*, material_ids: Iterable[int]) -> list[int]:
    """Ask for a rematch of ``material_ids``; returns the ids newly scheduled."""
    ids = sorted({int(m) for m in material_ids})
    if not ids:
        return []
    with transaction.atomic():
        # Locked: a rematch deleting one of these rows waits for our bump and then keeps the
        # row (its version changed); unlocked, the delete could land between this read and
        # the update below, and the change would be lost with nothing scheduled.
        present = set(
            PendingRematch.objects.select_for_update()
            .filter(material_id__in=ids)
            .order_by("material_id")
            .values_list("material_id", flat=True)
        )
        if present:
            PendingRematch.objects.filter(material_id__in=present).update(version=F("version") + 1)
        new = [m for m in ids if m not in present]
        PendingRematch.objects.bulk_create(
            [PendingRematch(material_id=m) for m in new], ignore_conflicts=True
        )
        for material_id in new:
            _schedule(material_id)
    return new


def pending_rematch(*, material_id: int) -> MatchRun | None:
    """The debounced rematch of one material's component (see the module doc)."""
    components = component_of([material_id])
    materials = sorted({m for c in components for m in c} | {material_id})
    versions = dict(
        PendingRematch.objects.filter(material_id__in=materials).values_list(
            "material_id", "version"
        )
    )
    if material_id not in versions:
        return None  # already rematched by another task
    run = run_materials(material_ids=[material_id], trigger=RunTrigger.CHANGE)
    for m, version in versions.items():
        PendingRematch.objects.filter(material_id=m, version=version).delete()
    if PendingRematch.objects.filter(material_id=material_id).exists():
        _schedule(material_id)  # changed while we solved: once more, after the debounce
    return run


def pending_sweep() -> list[int]:
    """Reschedule requests older than ``MATCHING_PENDING_SWEEP_SECONDS`` (task lost)."""
    cutoff = timezone.now() - timedelta(seconds=settings.MATCHING_PENDING_SWEEP_SECONDS)
    ids = list(
        PendingRematch.objects.filter(requested_at__lt=cutoff)
        .order_by("material_id")
        .values_list("material_id", flat=True)[:1000]
    )
    for material_id in ids:
        _schedule(material_id)
    return ids
