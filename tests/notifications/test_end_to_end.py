"""From a real service's commit to the notifications of the people concerned, through the
outbox (tasks run in-process after commit, as without a broker): the order's steps reach
both parties, with the data the services wrote, and nobody else."""

from typing import Any

import pytest

from access.scope import resolve_scope
from notifications.models import Notification, WebhookDelivery
from notifications.services.webhooks import webhook_endpoint_create
from orders.services import order_confirm
from tests.test_tenancy_matrix import _order

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("eager_tasks")
def test_an_order_placed_and_confirmed_is_heard_by_both_sides(
    world: dict[str, Any], receive: Any, django_capture_on_commit_callbacks: Any
) -> None:
    users = world["users"]
    endpoint, _secret = webhook_endpoint_create(
        actor=resolve_scope(users["park_b_admin"]),
        enterprise=world["enterprises"]["b"],
        url="https://erp.b.example.test/hooks",
        event_types=["order.confirmed"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        order = _order(world, receive)
    with django_capture_on_commit_callbacks(execute=True):
        order_confirm(actor=resolve_scope(users["trader"]), order=order)
    placed = Notification.objects.filter(type="order.reserved")
    confirmed = Notification.objects.filter(type="order.confirmed")
    a1_dealers = {users["enterprise_admin"].pk, users["trader"].pk}
    assert set(placed.values_list("user", flat=True)) == a1_dealers | {users["park_b_admin"].pk}
    assert set(confirmed.values_list("user", flat=True)) == a1_dealers | {
        users["warehouse_keeper"].pk,  # the seller's keeper dispatches next
        users["park_b_admin"].pk,
    }
    data = confirmed.first().data  # type: ignore[union-attr]
    assert data["order_id"] == order.pk and data["status"] == "confirmed"
    assert (data["seller_id"], data["buyer_id"]) == (order.seller_id, order.buyer_id)
    assert data["quantity_kg"] == str(order.quantity_kg)
    outsiders = {users[n].pk for n in ("other_admin", "park_c_admin", "regulator", "viewer")}
    assert not Notification.objects.filter(user__in=outsiders).exists()
    # b's endpoint takes order.confirmed only: one delivery, of that event.
    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert delivery.event.topic == "order.confirmed"
