"""Rotation: pooled lots are drawn first expiry first out (pools.services); a lot within
the pool's ``rotation_lead_days`` of its expiry is flagged, and the operator lists it on
the marketplace in one step, so that it is sold before it expires and the pool's need
(pools.services.shortfall) refills what it sold."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record
from common.exceptions import DomainError, NotPermitted
from inventory.models import StockLot
from marketplace.models import Listing
from marketplace.services import listing_create
from pools.models import Pool
from pools.rules import may_operate


def pool_lots_expiring(pool: Pool, *, today: Any = None) -> Any:
    """The pool's lots with stock that expire within its rotation lead time, soonest
    first."""
    today = today or timezone.localdate()
    return StockLot.objects.filter(
        owner_id=pool.holder_id,
        zone__in=pool.zones.all(),
        on_hand_kg__gt=0,
        expires_on__isnull=False,
        expires_on__lte=today + timedelta(days=pool.rotation_lead_days),
    ).order_by("expires_on", "pk")


@transaction.atomic
def pool_lot_list(
    *,
    actor: Scope,
    pool: Pool,
    lot: StockLot,
    price_per_t: Decimal,
    quantity_kg: Decimal | None = None,
) -> Listing:
    """The operator lists a pooled lot on the marketplace in one step (published at
    once, park visibility, the pool's holder the seller): all its free stock, or
    ``quantity_kg`` of it. One audit row, ``pool.rotate`` (beside the listing's own)."""
    if not may_operate(actor, pool):
        raise NotPermitted(_("Only the pool's operator lists its stock."))
    lot = StockLot.objects.get(pk=lot.pk)
    if lot.owner_id != pool.holder_id or not pool.zones.filter(pk=lot.zone_id).exists():
        raise DomainError(_("Not a lot of this pool."), field="lot")
    free = lot.on_hand_kg - lot.reserved_kg
    quantity = free if quantity_kg is None else quantity_kg
    if not Decimal(0) < quantity <= free:
        raise DomainError(
            _("More than 0 and at most the %(free)s kg free.") % {"free": free}, field="quantity"
        )
    listing = listing_create(
        actor=actor,
        seller=pool.holder,
        lot=lot,
        quantity_kg=quantity,
        price_per_t=price_per_t,
        available_from=timezone.localdate(),
        available_until=lot.expires_on,
        note=f"pool:{pool.pk} rotation",
        publish=True,
    )
    audit_record(
        actor=actor,
        action="pool.rotate",
        target=pool,
        changes={"listing": [None, listing.pk], "quantity_kg": [None, str(quantity)]},
        enterprise=pool.lead_id,
        park=pool.park_id,
        note=f"lot {lot.pk} expires {lot.expires_on}",
    )
    return listing
