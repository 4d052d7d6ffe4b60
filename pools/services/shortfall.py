"""A pool under its target is a need of the pool: the matching engine fills it like any
need (the same feasibility, the pool's first zone as the delivery point, the pool's price
limit), proposing the park's surplus listings to the pool's holder.

``pool_shortfall_sync`` keeps that need in step with what the pool holds: opened (by the
system, through ``marketplace.services``, audited there) when the pool falls short,
resized while nothing is ordered on it yet, closed once the pool is full again.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from access.scope import SYSTEM
from marketplace.models import Need, NeedStatus
from marketplace.services import need_close, need_create, need_update
from pools.models import Pool
from pools.services import pool_held_kg


def pool_need(pool: Pool) -> Need | None:
    """The pool's open need, if any (its holder's: the holder buys for the pool only)."""
    return Need.objects.filter(enterprise_id=pool.holder_id, status=NeedStatus.OPEN).first()


@transaction.atomic
def pool_shortfall_sync(*, pool: Pool) -> Need | None:
    """Open, resize or close the pool's need so that it asks for the shortfall (target -
    held); returns the open need, if any. A need with orders on it keeps its quantity
    (what is ordered is on its way) and closes only once the pool is full."""
    pool = (
        Pool.objects.select_for_update(of=("self",), no_key=True)
        .select_related("holder")
        .get(pk=pool.pk)
    )
    shortfall = (pool.target_kg - pool_held_kg(pool)).quantize(Decimal("0.001"))
    need = pool_need(pool)
    if not pool.is_active or shortfall <= 0:
        if need is not None and need.ordered_kg == 0:
            need_close(actor=SYSTEM, need=need)
            return None
        return need
    needed_by = timezone.localdate() + timedelta(days=pool.replenish_days)
    if need is None:
        zone = pool.zones.order_by("pk").first()
        return need_create(
            actor=SYSTEM,
            enterprise=pool.holder,
            material=pool.material,
            quantity_kg=shortfall,
            needed_by=needed_by,
            max_price_per_t=pool.max_price_per_t,
            delivery_zone=zone,
            substitutes=list(pool.substitutes.all()),
            note=f"pool:{pool.pk}",
        )
    changes: dict[str, Any] = {}
    if need.ordered_kg == 0 and need.quantity_kg != shortfall:
        changes["quantity_kg"] = Decimal(shortfall)
    if need.max_price_per_t != pool.max_price_per_t:
        changes["max_price_per_t"] = pool.max_price_per_t
    if changes:
        return need_update(actor=SYSTEM, need=need, **changes)
    return need
