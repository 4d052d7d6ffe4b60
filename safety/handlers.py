"""Outbox subscribers: stock moved, so the units (warehouses) of the lots that moved are
recomputed (safety.services.major_hazards); a zone changed (added, removed, its capacity,
licence or building), so its warehouse's figures at capacity are. Idempotent, as the outbox
requires: a redelivered event finds the figures as they are and emits nothing. A batch of
events is one recompute of the union of their warehouses."""

from common.events import subscriber
from common.models import OutboxEvent
from inventory.topics import STOCK_CHANGED, ZONE_CHANGED
from safety.selectors import warehouses_of_lots
from safety.services import major_hazards_recompute


def _lot_ids(events: list[OutboxEvent]) -> list[int]:
    return sorted(
        {
            lot_id
            for event in events
            for lot_id in event.payload.get("lot_ids", [])
            if isinstance(lot_id, int)
        }
    )


def recompute_batch(events: list[OutboxEvent]) -> None:
    major_hazards_recompute(warehouse_ids=warehouses_of_lots(lot_ids=_lot_ids(events)))


@subscriber("safety.major_hazards", topics=(STOCK_CHANGED,), batch=recompute_batch)
def recompute_on_stock_changed(event: OutboxEvent) -> None:
    recompute_batch([event])


def recompute_zones_batch(events: list[OutboxEvent]) -> None:
    warehouse_ids = {event.payload.get("warehouse_id") for event in events}
    major_hazards_recompute(warehouse_ids=sorted(w for w in warehouse_ids if isinstance(w, int)))


@subscriber("safety.zones", topics=(ZONE_CHANGED,), batch=recompute_zones_batch)
def recompute_on_zone_changed(event: OutboxEvent) -> None:
    recompute_zones_batch([event])
