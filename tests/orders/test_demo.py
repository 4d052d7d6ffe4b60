"""On the demo world (``manage.py seed_demo``): a proposal of the matching engine taken to
a completed order with the demo logins, once through the API and once through the admin,
as README.md ("Orders in the demo") tells.

The world is built once for the module inside a transaction rolled back at the end (as in
tests/parks/test_seed_demo.py); each test runs in a savepoint within it.
"""

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import constants
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from access.models import Membership
from inventory.models import MovementKind, StockMovement
from matching.models import Match, MatchStatus
from orders.models import Order, OrderStatus
from parks.demo.world import DEMO_PASSWORD
from tests.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def enterprise_of(username: str) -> Any:
    return Membership.objects.select_related("enterprise").get(user__username=username).enterprise


def proposal(seller: str, buyer: str, cas: str, **where: Any) -> Match:
    """The engine's proposal of ``cas`` from ``seller``'s enterprise to ``buyer``'s."""
    return Match.objects.select_related("need__delivery_zone", "listing__lot__zone").get(
        seller=enterprise_of(seller),
        buyer=enterprise_of(buyer),
        material__cas=cas,
        status=MatchStatus.PROPOSED,
        **where,
    )


def api_login(username: str) -> APIClient:
    client = APIClient()
    assert client.login(username=username, password=DEMO_PASSWORD), username
    return client


def api_post(username: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api_login(username).post(url, body or {}, format="json")
    assert response.status_code in (200, 201), (username, url, response.content)
    return response.json()


def test_through_the_api_dispatched_and_received(demo: None) -> None:
    # dx01 (Daxie) offers TDI that dx07 needs in the park's shared toxics store.
    match = proposal("dx01.trader", "dx07.admin", "26471-62-5")
    api_post("dx01.trader", f"/api/v1/matches/{match.pk}/accept/")
    assert api_post("dx07.admin", f"/api/v1/matches/{match.pk}/accept/")["status"] == "agreed"
    order = api_post("dx07.admin", "/api/v1/orders/", {"match": match.pk})
    assert (order["status"], order["reservation_status"]) == ("reserved", "held")
    url = f"/api/v1/orders/{order['id']}"
    api_post("dx01.trader", f"{url}/confirm/", {"reason": "drums ready"})
    api_post("dx01.keeper", f"{url}/dispatch/")
    zone = match.need.delivery_zone
    assert zone is not None
    received = api_post("dx07.admin", f"{url}/receive/", {"zone": zone.pk})
    assert received["delivery_zone"] == zone.pk
    done = api_post("dx07.admin", f"{url}/complete/")
    assert done["status"] == "completed"
    assert [t["to_status"] for t in done["transitions"]] == [
        "reserved",
        "confirmed",
        "dispatched",
        "received",
        "completed",
    ]
    assert Match.objects.get(pk=match.pk).status == MatchStatus.ORDERED
    kinds = set(
        StockMovement.objects.filter(reference=f"order:{order['id']}").values_list(
            "kind", flat=True
        )
    )
    assert kinds == {MovementKind.DISPATCH, MovementKind.DELIVERY}
    assert_ledger_balanced()


def admin_login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD), username
    return client


def admin_action(username: str, model: str, action: str, pk: int) -> list[str]:
    response = admin_login(username).post(
        reverse(f"admin:{model}_changelist"),
        {"action": action, "_selected_action": [pk]},
        follow=True,
    )
    assert response.status_code == 200
    messages = list(response.context["messages"])
    assert messages, (username, action)
    assert all(m.level == constants.SUCCESS for m in messages), [str(m) for m in messages]
    return [str(m) for m in messages]


def test_through_the_admin_in_the_shared_warehouse(demo: None) -> None:
    # sy09 stores liquid oxygen in Shangyu's shared warehouse, where sy01 wants it.
    match = proposal(
        "sy09.admin",
        "sy01.trader",
        "7782-44-7",
        listing__lot__zone__warehouse__owner__isnull=True,
    )
    assert match.listing.lot.zone.warehouse.is_shared
    admin_action("sy09.admin", "matching_match", "accept", match.pk)
    admin_action("sy01.trader", "matching_match", "accept", match.pk)
    assert Match.objects.get(pk=match.pk).status == MatchStatus.AGREED
    # Orders are placed through the API (or by a partner system).
    order_id = api_post("sy01.trader", "/api/v1/orders/", {"match": match.pk})["id"]
    admin_action("sy09.admin", "orders_order", "confirm", order_id)
    admin_action("sy01.keeper", "orders_order", "transfer", order_id)
    admin_action("sy01.trader", "orders_order", "complete", order_id)
    order = Order.objects.select_related("buyer_lot").get(pk=order_id)
    assert (order.status, order.shared_transfer) == (OrderStatus.COMPLETED, True)
    assert order.buyer_lot is not None
    assert order.buyer_lot.owner == enterprise_of("sy01.trader")
    assert order.buyer_lot.zone_id == match.listing.lot.zone_id  # the goods did not move
    page = admin_login("sy01.viewer").get(reverse("admin:orders_order_change", args=[order_id]))
    assert page.status_code == 200
    assert get_user_model().objects.get(username="sy01.viewer").is_staff
    assert_ledger_balanced()
