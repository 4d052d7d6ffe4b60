"""Outbox subscriber: a pool left below its target by a draw has its need resized at once
(``pools.services.shortfall.pool_shortfall_sync``), so that the matching engine proposes
refills within moments of the draw, not at the next daily sweep. After commit, in a worker:
the draw itself stays fast. Idempotent, as the outbox requires: the sync reads what the pool
holds now. A batch of events is one sync per pool named."""

from common.events import subscriber
from common.models import OutboxEvent
from pools.models import Pool
from pools.services.shortfall import pool_shortfall_sync
from pools.topics import POOL_SHORTFALL


def sync_batch(events: list[OutboxEvent]) -> None:
    pool_ids = sorted({e.payload["pool_id"] for e in events if isinstance(e.payload, dict)})
    for pool in Pool.objects.filter(pk__in=pool_ids).order_by("pk"):
        pool_shortfall_sync(pool=pool)


@subscriber("pools.need", topics=(POOL_SHORTFALL,), batch=sync_batch)
def sync_on_shortfall(event: OutboxEvent) -> None:
    sync_batch([event])
