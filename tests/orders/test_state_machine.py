"""The state machine of an order, as a table: for every status and every step, every
actor (each role of the seller and of the buyer, a third enterprise, the park's operator
and regulator, a superuser) is allowed or refused, and a refusal changes nothing.

The table is written out here, independently of ``orders.services.STEPS``: who takes each
step, and from which statuses it may be taken.
"""

from typing import Any

import pytest
from django.db import transaction

from common.exceptions import NotPermitted
from common.models import OutboxEvent
from inventory.models import Reservation, StockLot, StockMovement
from marketplace.models import Listing, Need
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus, OrderTransition
from orders.services import STEPS
from tests.orders.conftest import World, order_in, take

pytestmark = pytest.mark.django_db

S = OrderStatus
# step: (side, roles of that side, statuses it starts from, status it leads to)
TABLE: dict[str, tuple[str, set[str], set[str], str]] = {
    "confirm": ("seller", {"admin", "trader"}, {S.RESERVED}, S.CONFIRMED),
    "reject": ("seller", {"admin", "trader"}, {S.RESERVED}, S.REJECTED),
    "cancel": ("buyer", {"admin", "trader"}, {S.RESERVED, S.CONFIRMED}, S.CANCELLED),
    "dispatch": ("seller", {"admin", "keeper"}, {S.CONFIRMED}, S.DISPATCHED),
    "receive": ("buyer", {"admin", "keeper"}, {S.DISPATCHED}, S.RECEIVED),
    "transfer": ("buyer", {"admin", "keeper"}, {S.CONFIRMED}, S.RECEIVED),
    "complete": ("buyer", {"admin", "trader"}, {S.RECEIVED}, S.COMPLETED),
}
# Parties' users by (side, role); the rest act for neither party.
ACTORS = [
    *(
        (side, role)
        for side in ("seller", "buyer")
        for role in ("admin", "trader", "keeper", "viewer")
    ),
    ("outsider", "park_b_admin"),
    ("outsider", "other_park_a_admin"),
    ("outsider", "park_operator"),
    ("outsider", "regulator"),
    ("outsider", "superuser"),
]


def test_the_table_is_the_services_table() -> None:
    assert set(TABLE) == set(STEPS)
    roles = {"admin": "enterprise_admin", "trader": "trader", "keeper": "warehouse_keeper"}
    for action, (side, who, sources, target) in TABLE.items():
        step = STEPS[action]
        assert (step.side, set(step.sources), step.target) == (side, sources, target)
        assert set(step.roles) == {roles[r] for r in who}


def actor_of(deal: World, side: str, role: str) -> Any:
    if side == "seller":
        return deal["sellers"][role]
    if side == "buyer":
        return deal["buyers"][role]
    if role == "other_park_a_admin":
        from tests import factories as f

        third = f.EnterpriseFactory.create(park=deal["parks"]["a"])
        return f.MembershipFactory.create(enterprise=third, role="enterprise_admin").user
    return deal["users"][role]


def snapshot(order: Order) -> dict[str, Any]:
    """Everything a step could change."""
    return {
        "order": Order.objects.filter(pk=order.pk).values().get(),
        "transitions": OrderTransition.objects.count(),
        "lots": list(StockLot.objects.order_by("pk").values()),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "movements": StockMovement.objects.count(),
        "ordered": (
            list(Listing.objects.order_by("pk").values_list("ordered_kg", flat=True)),
            list(Need.objects.order_by("pk").values_list("ordered_kg", flat=True)),
        ),
        "events": OutboxEvent.objects.count(),
    }


@pytest.mark.parametrize("action", list(TABLE))
@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_step_from_every_status_by_every_actor(status: str, action: str, deal: World) -> None:
    # On the listing of the shared-warehouse lot, so that a confirmed order can also be
    # taken over in place (transfer).
    order = order_in(deal, status, listing=deal["shared_listing"])
    side, roles, sources, target = TABLE[action]
    before = snapshot(order)
    allowed_by = []
    for actor_side, role in ACTORS:
        actor = actor_of(deal, actor_side, role)
        may_act = actor_side == side and role in roles
        if not may_act:
            with pytest.raises(NotPermitted) as forbidden:
                take(deal, order, action, actor=actor)
            assert forbidden.value.status_code == 403, (actor_side, role)
        elif status not in sources:
            with pytest.raises(InvalidTransition) as refused:
                take(deal, order, action, actor=actor)
            assert (refused.value.status_code, refused.value.field) == (409, "status")
        else:
            with transaction.atomic():
                done = take(deal, order, action, actor=actor)
                assert done.status == target
                step = OrderTransition.objects.filter(order=order).latest("id")
                assert (step.from_status, step.to_status, step.actor) == (status, target, actor)
                event = OutboxEvent.objects.latest("id")
                assert event.topic == f"order.{target}"
                assert event.payload == {
                    "order_id": order.pk,
                    "material_ids": [order.material_id],
                    "seller_id": order.seller_id,
                    "buyer_id": order.buyer_id,
                    "material_id": order.material_id,
                    "quantity_kg": f"{order.quantity_kg:.3f}",
                    "price_per_t": f"{order.price_per_t:.2f}",
                    "total_yuan": f"{order.total_yuan:.2f}",
                    "status": target,
                    "match_id": order.match_id,
                }
                allowed_by.append(role)
                transaction.set_rollback(True)  # the next actor starts from `status` again
            continue
        assert snapshot(order) == before, (actor_side, role)
    assert snapshot(order) == before
    assert sorted(allowed_by) == (sorted(roles) if status in sources else [])
