"""Thin Celery tasks of the platform layer: take ids, call a service."""

from celery import shared_task

from common.idempotency import idempotency_keys_purge
from common.services import outbox_deliver, outbox_pending_ids


@shared_task(
    name="common.tasks.outbox_dispatch",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def outbox_dispatch(event_id: int) -> bool:
    return outbox_deliver(event_id=event_id)


@shared_task(name="common.tasks.outbox_sweep")
def outbox_sweep() -> int:
    """Re-send events still pending (their after-commit dispatch was lost or failed)."""
    ids = outbox_pending_ids()
    for event_id in ids:
        outbox_dispatch.delay(event_id)
    return len(ids)


@shared_task(name="common.tasks.idempotency_purge")
def idempotency_purge() -> int:
    """Delete the Idempotency-Key rows older than IDEMPOTENCY_KEY_TTL_HOURS (hourly)."""
    return idempotency_keys_purge()
