"""The shortfall -> proposal -> order -> contribution path end to end: the engine
proposes a surplus of the park for the pool's need, the operator accepts and orders it for
the pool, the seller confirms and dispatches, the operator receives it into the pool's
zone, and the pool holds more and needs less."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from audit.models import AuditEntry
from common.exceptions import DomainError, NotPermitted
from marketplace.services import listing_create, listing_publish
from matching.models import Match, MatchStatus
from matching.services.runs import run_full
from orders.models import OrderStatus
from orders.services import order_confirm, order_dispatch
from pools.models import ContributionSource
from pools.services import pool_held_kg
from pools.services.acting import pool_order_receive, pool_proposal_accept, pool_proposal_order
from pools.services.shortfall import pool_need, pool_shortfall_sync

pytestmark = pytest.mark.django_db


def test_a_shortfall_is_filled_by_an_order_delivered_into_the_pool(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    users = world["users"]
    seller = resolve_scope(users["other_admin"])  # a2's admin
    operator = resolve_scope(users["park_operator"])
    need = pool_shortfall_sync(pool=pool)
    assert need is not None and need.quantity_kg == Decimal(10000)
    offer = receive(zone=world["zones"]["a2"], material=world["material"], quantity="4000")
    listing = listing_create(
        actor=seller,
        seller=world["enterprises"]["a2"],
        lot=offer,
        quantity_kg=Decimal(4000),
        price_per_t=Decimal(900),
        available_from=date.today(),
    )
    listing_publish(actor=seller, listing=listing)
    run_full(trigger="command")
    proposal = Match.objects.get(need=need, status=MatchStatus.PROPOSED)
    assert proposal.buyer_id == pool.holder_id and proposal.quantity_kg == Decimal(4000)
    # Only the pool's operator acts for the pool; a member may not.
    with pytest.raises(NotPermitted):
        pool_proposal_accept(actor=resolve_scope(users["trader"]), pool=pool, match=proposal)
    from matching.services.decisions import match_accept

    match_accept(actor=seller, match=proposal)
    agreed = pool_proposal_accept(actor=operator, pool=pool, match=proposal)
    assert agreed.status == MatchStatus.AGREED
    order = pool_proposal_order(actor=operator, pool=pool, match=agreed)
    assert order.buyer_id == pool.holder_id and order.status == OrderStatus.RESERVED
    order = order_confirm(actor=seller, order=order)
    order = order_dispatch(actor=seller, order=order)
    contribution = pool_order_receive(actor=operator, pool=pool, order=order)
    assert contribution.source == ContributionSource.ORDER and contribution.member is None
    assert contribution.lot.owner_id == pool.holder_id
    assert contribution.lot.zone == world["zones"]["shared"]
    assert pool_held_kg(pool) == Decimal(4000)
    need = pool_need(pool)
    assert need is not None  # 6 t still short; its quantity kept while orders are on it
    row = AuditEntry.objects.get(action="pool.receive")
    assert row.user == users["park_operator"]
    accepted = AuditEntry.objects.filter(action="match.accept", user=users["park_operator"])
    assert accepted.get().enterprise_id == pool.holder_id  # in the pool's own trail


def test_a_match_of_another_buyer_is_refused(pool_world: dict[str, Any], receive: Any) -> None:
    from tests.test_tenancy_matrix import _match

    match = _match(pool_world, receive)  # a1 sells to b: nothing of the pool's
    with pytest.raises(DomainError) as refused:
        pool_proposal_accept(
            actor=resolve_scope(pool_world["users"]["park_operator"]),
            pool=pool_world["pool"],
            match=match,
        )
    assert refused.value.field == "match"
