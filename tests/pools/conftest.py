"""A pool in park A's shared warehouse, run by the park's operator, with a1 and a2 as
members (commitments 6 t and 4 t of a 10 t target)."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from pools.models import Pool, RequestKind
from pools.services import membership_decide, membership_request, pool_create
from tests import factories as f


@pytest.fixture
def pool_world(world: dict[str, Any]) -> dict[str, Any]:
    users = world["users"]
    users["a2_trader"] = f.MembershipFactory.create(
        enterprise=world["enterprises"]["a2"], role="trader"
    ).user
    operator = resolve_scope(users["park_operator"])
    pool = pool_create(
        actor=operator,
        park=world["parks"]["a"],
        code="naoh",
        name="烧碱联储",
        material=world["material"],
        target_kg=Decimal(10000),
        zones=[world["zones"]["shared"]],
        holding_rate_per_t_month=Decimal("30.00"),
        storage_fee_per_month=Decimal("500.00"),
    )
    for user, commitment in ((users["trader"], 6000), (users["a2_trader"], 4000)):
        request = membership_request(
            actor=resolve_scope(user),
            pool=pool,
            kind=RequestKind.JOIN,
            commitment_kg=Decimal(commitment),
        )
        membership_decide(actor=operator, request=request, approve=True)
    world["pool"] = Pool.objects.get(pk=pool.pk)
    return world


def stock_in_pool_zone(
    world: dict[str, Any], receive: Any, owner_key: str, kg: str, **batch: Any
) -> Any:
    """A lot of ``owner_key``'s enterprise in the pool's zone (the park's shared warehouse)."""
    return receive(
        zone=world["zones"]["shared"],
        material=world["material"],
        quantity=kg,
        owner=world["enterprises"][owner_key],
        **batch,
    )
