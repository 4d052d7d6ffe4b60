"""Every write of the inventory app, one transaction each (docs/architecture.md, "Stock and
the ledger"):

* ``stock``: every change of stock on hand (receipt, adjustment, move, delivery, dispatch,
  ownership transfer) and the admission rules inflows share;
* ``reservations``: stock held for an enterprise (reserve, hold, release, expire);
* ``catalogue``: materials, warehouses, zones and lot details, which change no quantity;
* ``permits``: enterprises' permits to buy controlled chemicals.

Import from here: ``from inventory.services import stock_reserve``.
"""

from inventory.models import MATERIAL_FIELDS
from inventory.services.catalogue import (
    LOT_DETAIL_FIELDS,
    MATERIAL_HAZARD_FIELDS,
    WAREHOUSE_FIELDS,
    ZONE_FIELDS,
    lot_update_details,
    material_create,
    material_update,
    warehouse_create,
    warehouse_delete,
    warehouse_update,
    zone_create,
    zone_delete,
    zone_update,
)
from inventory.services.permits import (
    PERMIT_FIELDS,
    permit_create,
    permit_delete,
    permit_update,
)
from inventory.services.reservations import (
    reservation_hold,
    reservation_release,
    reservations_expire_due,
    reservations_warn_expiring,
    stock_reserve,
)
from inventory.services.stock import (
    stock_adjust,
    stock_deliver,
    stock_dispatch,
    stock_hand_over,
    stock_hand_over_many,
    stock_move,
    stock_receive,
    stock_transfer,
    zone_check_admission,
    zone_may_store_for,
)

__all__ = [
    "LOT_DETAIL_FIELDS",
    "MATERIAL_FIELDS",
    "MATERIAL_HAZARD_FIELDS",
    "PERMIT_FIELDS",
    "WAREHOUSE_FIELDS",
    "ZONE_FIELDS",
    "lot_update_details",
    "material_create",
    "material_update",
    "permit_create",
    "permit_delete",
    "permit_update",
    "reservation_hold",
    "reservation_release",
    "reservations_expire_due",
    "reservations_warn_expiring",
    "stock_adjust",
    "stock_deliver",
    "stock_dispatch",
    "stock_hand_over",
    "stock_hand_over_many",
    "stock_move",
    "stock_receive",
    "stock_reserve",
    "stock_transfer",
    "warehouse_create",
    "warehouse_delete",
    "warehouse_update",
    "zone_check_admission",
    "zone_create",
    "zone_delete",
    "zone_may_store_for",
    "zone_update",
]
