"""Thin Celery tasks of the inventory app: call a service, idempotent."""

from celery import shared_task

from inventory.services import reservations_expire_due
from inventory.services import reservations_warn_expiring as warn_expiring

# One transaction per batch keeps row locks short; a backlog is worked off in one run.
EXPIRE_BATCH = 500
EXPIRE_MAX_BATCHES = 20
WARN_BATCH = 1000


@shared_task(name="inventory.tasks.reservations_expire")
def reservations_expire() -> int:
    """Expire held reservations past their time (beat, every minute); returns how many."""
    expired = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        ids = reservations_expire_due(limit=EXPIRE_BATCH)
        expired += len(ids)
        if len(ids) < EXPIRE_BATCH:
            break
    return expired


@shared_task(name="inventory.tasks.reservations_warn_expiring")
def reservations_warn_expiring() -> int:
    """Announce held reservations that run out soon, each once (beat, every minute; the
    default queue); returns how many."""
    warned = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        count = warn_expiring(limit=WARN_BATCH)
        warned += count
        if count < WARN_BATCH:
            break
    return warned
