"""Outbox subscribers: stock moved, so the units (warehouses) of the lots that moved are
recomputed (safety.services.major_hazards); a zone changed (added, removed, its capacity,
licence or building), so its warehouse's figures at capacity are; a catalogue entry's
GB 18218 threshold, category or CAS changed, so the warehouses holding it are. Idempotent,
as the outbox requires: a redelivered event finds the figures as they are and emits
nothing. A batch of events is one recompute of the union of their warehouses."""

from common.events import subscriber
from common.models import OutboxEvent
from inventory.topics import MATERIAL_CHANGED, STOCK_CHANGED, ZONE_CHANGED
from safety.selectors import warehouses_holding, warehouses_of_lots
from safety.services import MATERIAL_FIELDS_READ, major_hazards_recompute


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


def recompute_materials_batch(events: list[OutboxEvent]) -> None:
    material_ids = {
        material_id
        for event in events
        if set(MATERIAL_FIELDS_READ) & set(event.payload.get("fields", []))
        for material_id in event.payload.get("material_ids", [])
        if isinstance(material_id, int)
    }
    major_hazards_recompute(warehouse_ids=warehouses_holding(material_ids=sorted(material_ids)))


@subscriber("safety.materials", topics=(MATERIAL_CHANGED,), batch=recompute_materials_batch)
def recompute_on_material_changed(event: OutboxEvent) -> None:
    recompute_materials_batch([event])
