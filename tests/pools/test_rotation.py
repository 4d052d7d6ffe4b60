"""Rotation: a pooled lot near its expiry is flagged, and the operator lists it on the
marketplace in one step."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from common.exceptions import DomainError, NotPermitted
from marketplace.models import ListingStatus
from pools.services import pool_contribute
from pools.services.rotation import pool_lot_list, pool_lots_expiring
from tests.pools.conftest import stock_in_pool_zone

pytestmark = pytest.mark.django_db


def test_a_lot_near_expiry_is_flagged_and_listed_in_one_step(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    trader = resolve_scope(world["users"]["trader"])
    today = date.today()
    soon = stock_in_pool_zone(world, receive, "a1", "500", expires_on=today + timedelta(days=20))
    later = stock_in_pool_zone(world, receive, "a1", "500", expires_on=today + timedelta(days=400))
    for lot in (soon, later):
        pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(500))
    flagged = list(pool_lots_expiring(pool))
    assert [lot.expires_on for lot in flagged] == [today + timedelta(days=20)]
    with pytest.raises(NotPermitted):
        pool_lot_list(actor=trader, pool=pool, lot=flagged[0], price_per_t=Decimal(800))
    operator = resolve_scope(world["users"]["park_operator"])
    listing = pool_lot_list(actor=operator, pool=pool, lot=flagged[0], price_per_t=Decimal(800))
    assert listing.status == ListingStatus.PUBLISHED
    assert listing.seller_id == pool.holder_id and listing.quantity_kg == Decimal(500)
    assert listing.available_until == today + timedelta(days=20)
    with pytest.raises(DomainError) as over:
        pool_lot_list(
            actor=operator,
            pool=pool,
            lot=flagged[0],
            price_per_t=Decimal(800),
            quantity_kg=Decimal(501),
        )
    assert over.value.field == "quantity"
