"""Thin Celery tasks of the matching engine: take ids, call a service."""

from celery import shared_task

from matching.models import RunTrigger
from matching.services.runs import run_chunk, run_full
from matching.services.triggers import pending_rematch, pending_sweep


@shared_task(name="matching.tasks.matching_pending")
def matching_pending(material_id: int) -> int | None:
    """The debounced rematch of one changed material's component."""
    run = pending_rematch(material_id=material_id)
    return run.pk if run is not None else None


@shared_task(name="matching.tasks.matching_chunk")
def matching_chunk(run_id: int, components: list[list[int]]) -> int:
    """One chunk of a fanned-out full run; returns the proposals it created."""
    return run_chunk(run_id=run_id, components=[tuple(c) for c in components]).created


@shared_task(name="matching.tasks.matching_full")
def matching_full() -> int:
    """The periodic full rematch (beat), fanned out over the workers."""
    from django.conf import settings

    return run_full(trigger=RunTrigger.SCHEDULE, fan_out=not settings.CELERY_TASK_ALWAYS_EAGER).pk


@shared_task(name="matching.tasks.matching_sweep")
def matching_sweep() -> int:
    """Reschedule pending rematches whose task was lost."""
    return len(pending_sweep())
