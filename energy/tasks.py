"""Thin Celery tasks of the energy app."""

from celery import shared_task

from energy.anomalies import silent_meters_flag


@shared_task(name="energy.tasks.energy_silent_sweep")
def energy_silent_sweep() -> int:
    """Flag the meters gone silent (beat, ``energy-silent-sweep``); how many were flagged.
    Idempotent: a silence is flagged once."""
    return silent_meters_flag()
