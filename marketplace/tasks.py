"""Thin Celery tasks of the marketplace: call a service, idempotent."""

from celery import shared_task

from marketplace.services import needs_expire_due


@shared_task(name="marketplace.tasks.needs_expire")
def needs_expire() -> int:
    """Expire open needs whose date has passed (beat, every hour); returns how many."""
    return needs_expire_due()
