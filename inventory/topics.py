"""The inventory's outbox topics (common.events): stock, reservations, permits, zones and the
catalogue."""

from typing import TypedDict

from common.events import declare


class StockChanged(TypedDict):
    lot_ids: list[int]
    material_ids: list[int]


class ReservationExpired(TypedDict):
    reservation_id: int
    reference: str
    material_ids: list[int]
    owner_id: int  # the lot's owner: the seller
    holder_id: int  # who it was held for: the buyer
    quantity_kg: str


class ReservationExpiring(ReservationExpired):
    expires_at: str  # ISO 8601


class MaterialChanged(TypedDict):
    material_ids: list[int]
    fields: list[str]  # what changed: gb18218_threshold_t, cas, name_zh, ...


class ZoneChanged(TypedDict):
    zone_id: int
    warehouse_id: int
    park_id: int
    fields: list[str]  # what changed: capacity_kg, allowed_classes, building, ...


class PermitChanged(TypedDict):
    permit_id: int
    enterprise_id: int
    kind: str
    material_ids: list[int]


STOCK_CHANGED = declare(
    "stock.changed",
    StockChanged,
    "The quantities of these lots changed (receipt, issue, move, adjustment, reservation).",
)
RESERVATION_EXPIRED = declare(
    "reservation.expired",
    ReservationExpired,
    "A reservation ran out before its order was confirmed; its quantity is free again.",
    public=True,
)
RESERVATION_EXPIRING = declare(
    "reservation.expiring",
    ReservationExpiring,
    "A held reservation runs out soon (RESERVATION_EXPIRY_WARNING_MINUTES ahead), unless its "
    "order is confirmed.",
    public=True,
)
PERMIT_CREATED = declare(
    "permit.created",
    PermitChanged,
    "An enterprise recorded a permit to buy these controlled materials.",
)
PERMIT_UPDATED = declare("permit.updated", PermitChanged, "A permit's terms or materials changed.")
PERMIT_DELETED = declare(
    "permit.deleted", PermitChanged, "A permit was deleted; its materials need one again."
)
ZONE_CHANGED = declare(
    "zone.changed",
    ZoneChanged,
    "A zone was added or removed, or its capacity, licence or building changed (what its "
    "warehouse could hold at capacity).",
)
MATERIAL_CHANGED = declare(
    "material.changed",
    MaterialChanged,
    "A catalogue entry changed (its GB 18218 threshold or category, its CAS, its names, ...).",
)
