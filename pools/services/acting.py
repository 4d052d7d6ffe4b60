"""The operator acts for the pool's holder in the market: it decides the proposals the
matching engine makes for the pool's need (pools.services.shortfall), orders the agreed ones and
receives them into the pool's zone, where the delivery becomes the pool's own
contribution.

The holder has no staff of its own: each of these steps checks that the caller operates
the pool (pools.rules.may_operate), then calls the matching's or the orders' service with
the holder's Scope: the caller's user, the holder as enterprise, the enterprise admin's
role. Their own checks (which side, which step) then apply to the holder as to any buyer,
and their audit rows name the operator's user in the holder's trail.
"""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from access.roles import EnterpriseRole
from access.scope import Scope
from audit.services import audit_record
from common.exceptions import DomainError, NotPermitted
from inventory.models import StorageZone
from matching.models import Match
from matching.services.decisions import match_accept, match_decline
from orders.models import Order
from orders.services import order_from_match, order_receive
from pools.models import Contribution, ContributionSource, Pool
from pools.rules import may_operate
from pools.services.shortfall import pool_shortfall_sync


def holder_scope(actor: Scope, pool: Pool) -> Scope:
    """The Scope the operator acts in for ``pool``'s holder; refused to anyone else."""
    if actor.is_system or not may_operate(actor, pool):
        raise NotPermitted(_("Only the pool's operator acts for the pool."))
    return Scope(user=actor.user, enterprise=pool.holder, role=EnterpriseRole.ENTERPRISE_ADMIN)


def _pool_match(pool: Pool, match: Match) -> Match:
    if match.buyer_id != pool.holder_id:
        raise DomainError(_("Not a proposal for this pool."), field="match")
    return match


@transaction.atomic
def pool_proposal_accept(*, actor: Scope, pool: Pool, match: Match) -> Match:
    """Accept, for the pool, a proposal the engine made for its need."""
    return match_accept(actor=holder_scope(actor, pool), match=_pool_match(pool, match))


@transaction.atomic
def pool_proposal_decline(*, actor: Scope, pool: Pool, match: Match, reason: str = "") -> Match:
    """Decline, for the pool, a proposal made for its need."""
    return match_decline(
        actor=holder_scope(actor, pool), match=_pool_match(pool, match), reason=reason
    )


@transaction.atomic
def pool_proposal_order(*, actor: Scope, pool: Pool, match: Match) -> Order:
    """Order, for the pool, a proposal both sides agreed: delivered into the pool's zone."""
    return order_from_match(actor=holder_scope(actor, pool), match=_pool_match(pool, match))


@transaction.atomic
def pool_order_receive(
    *, actor: Scope, pool: Pool, order: Order, zone: StorageZone | None = None
) -> Contribution:
    """Receive, for the pool, an order it placed, into one of its zones (the need's
    delivery zone by default): the goods become a lot of the pool's, recorded as the pool's
    own contribution (no member's), and the pool's need is brought in step."""
    scope = holder_scope(actor, pool)
    if order.buyer_id != pool.holder_id:
        raise DomainError(_("Not an order of this pool."), field="order")
    zone = zone or pool.zones.order_by("pk").first()
    if zone is None or not pool.zones.filter(pk=zone.pk).exists():
        raise DomainError(_("Receive into one of the pool's zones."), field="zone")
    order = order_receive(actor=scope, order=order, zone=zone)
    assert order.buyer_lot is not None
    contribution = Contribution.objects.create(
        pool=pool,
        member=None,
        quantity_kg=Decimal(order.quantity_kg),
        lot=order.buyer_lot,
        source=ContributionSource.ORDER,
        reference=f"order:{order.pk}",
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="pool.receive",
        target=contribution,
        changes={"quantity_kg": [None, str(order.quantity_kg)], "order": [None, order.pk]},
        enterprise=pool.lead_id,
        park=pool.park_id,
    )
    pool_shortfall_sync(pool=pool)
    return contribution
