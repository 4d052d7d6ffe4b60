"""Thin Celery tasks of the pools: call a service, idempotent enough for a daily beat."""

from celery import shared_task

from pools.services import pools_sweep as sweep


@shared_task(name="pools.tasks.pools_sweep")
def pools_sweep() -> dict[str, int]:
    """The pools' daily sweep (beat, ``pools-sweep``, at POOLS_SWEEP_HOUR): overdue and
    soon-due obligations, lots to rotate, pools under target; returns the events written
    per topic."""
    return sweep()
