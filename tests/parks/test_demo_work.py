"""What ``seed_demo`` leaves waiting for the README's example login ``zh01.trader``
(parks.demo.work), and ``manage.py demo_walkthrough``, which names it with real ids.

The world is built once for the module inside a transaction rolled back at the end (as in
tests/orders/test_demo.py); each test runs in a savepoint within it.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import Membership
from inventory.models import Reservation
from marketplace.models import Listing
from matching.models import Match, MatchStatus
from orders.models import Order, OrderStatus
from parks.demo.work import (
    NEED_CAS,
    TRADER,
    leave_work_waiting,
    waiting_need,
    waiting_order_for_completion,
    waiting_order_for_confirmation,
)
from parks.demo.world import DEMO_PASSWORD
from tests.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            out = StringIO()
            call_command("seed_demo", stdout=out, stderr=StringIO())
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def client_of(username: str) -> APIClient:
    client = APIClient()
    assert client.login(username=username, password=DEMO_PASSWORD), username
    return client


def zh01() -> Any:
    return Membership.objects.get(user__username=TRADER).enterprise


def walkthrough(base_url: str = "http://testserver") -> str:
    out = StringIO()
    call_command("demo_walkthrough", base_url=base_url, stdout=out)
    return out.getvalue()


# --- The work waiting for zh01.trader -------------------------------------------------------


def test_a_proposal_waits_for_zh01_trader(demo: str) -> None:
    need = waiting_need()
    assert need is not None and need.enterprise == zh01() and need.material.cas == NEED_CAS
    match = Match.objects.get(need=need)
    assert match.status == MatchStatus.PROPOSED
    client = client_of(TRADER)
    listed = client.get("/api/v1/matches/", {"status": "proposed"}).json()["results"]
    assert match.pk in {m["id"] for m in listed}
    response = client.post(f"/api/v1/matches/{match.pk}/accept/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"


def test_an_order_waits_for_zh01_trader_to_confirm(demo: str) -> None:
    order = waiting_order_for_confirmation()
    assert order is not None
    assert (order.status, order.seller) == (OrderStatus.RESERVED, zh01())
    client = client_of(TRADER)
    assert order.pk in {o["id"] for o in client.get("/api/v1/orders/").json()["results"]}
    response = client.post(f"/api/v1/orders/{order.pk}/confirm/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"


def test_an_order_waits_for_zh01_trader_to_complete(demo: str) -> None:
    order = waiting_order_for_completion()
    assert order is not None
    assert (order.status, order.buyer, order.shared_transfer) == (
        OrderStatus.RECEIVED,
        zh01(),
        True,
    )
    assert order.hold_until is None  # received: nothing of it can expire
    response = client_of(TRADER).post(f"/api/v1/orders/{order.pk}/complete/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"


def test_the_work_is_made_once(demo: str) -> None:
    orders = Order.objects.count()
    report = leave_work_waiting(today=timezone.localdate())
    assert report.created == {}
    assert report.existing == {"needs": 1, "orders": 2}
    assert Order.objects.count() == orders
    assert "  orders           2 created" in demo


def test_a_later_run_replaces_the_order_whose_hold_ran_out(demo: str) -> None:
    old = waiting_order_for_confirmation()
    assert old is not None and old.reservation is not None
    past = timezone.now() - timedelta(minutes=1)
    Order.objects.filter(pk=old.pk).update(hold_until=past)
    Reservation.objects.filter(pk=old.reservation.pk).update(expires_at=past)
    report = leave_work_waiting(today=timezone.localdate())
    assert report.created == {"orders": 1}
    old.refresh_from_db()
    assert old.status == OrderStatus.EXPIRED
    assert old.reservation is not None and old.reservation.status == "expired"
    new = waiting_order_for_confirmation()
    assert new is not None and new.pk != old.pk
    assert new.status == OrderStatus.RESERVED and new.hold_until is not None
    assert new.hold_until > timezone.now()
    assert new.listing_id == old.listing_id and new.quantity_kg == old.quantity_kg
    # The expired order gave its quantity back to the listing: only the new one holds it.
    assert Listing.objects.get(pk=new.listing_id).ordered_kg == new.quantity_kg
    response = client_of(TRADER).post(f"/api/v1/orders/{new.pk}/confirm/", {}, format="json")
    assert response.status_code == 200, response.content
    assert_ledger_balanced()


# --- demo_walkthrough -----------------------------------------------------------------------


def test_walkthrough_names_objects_that_exist(demo: str) -> None:
    text = walkthrough()
    need = waiting_need()
    match = Match.objects.get(need=need)
    to_confirm, to_complete = waiting_order_for_confirmation(), waiting_order_for_completion()
    assert to_confirm is not None and to_complete is not None
    assert f"Proposal #{match.pk} (proposed)" in text
    assert f"/api/v1/matches/{match.pk}/accept/" in text
    assert f"Order #{to_confirm.pk} (reserved)" in text
    assert f"/api/v1/orders/{to_confirm.pk}/confirm/" in text
    assert f"Order #{to_complete.pk} (received)" in text
    assert f"/api/v1/orders/{to_complete.pk}/complete/" in text
    listing_id = int(re.search(r"Listing #(\d+)", text).group(1))  # type: ignore[union-attr]
    assert Listing.objects.filter(pk=listing_id).exists()
    assert f"issue_api_token --user {TRADER}" in text


def test_walkthrough_urls_answer(demo: str) -> None:
    text = walkthrough()
    admin = Client()
    assert admin.login(username="admin", password=DEMO_PASSWORD)
    admin_paths = re.findall(r"http://testserver(/admin/\S+/change/)", text)
    assert len(admin_paths) == 4
    for path in admin_paths:
        assert admin.get(path).status_code == 200, path
    api = client_of(TRADER)
    detail_paths = re.findall(r"http://testserver(/api/v1/(?:listings|orders)/\d+/)(?:\s|$)", text)
    assert detail_paths
    for path in set(detail_paths):
        assert api.get(path).status_code == 200, path


def test_walkthrough_without_the_demo_says_how_to_load_it(demo: str) -> None:
    need = waiting_need()
    assert need is not None
    Match.objects.filter(need=need).delete()
    need.delete()
    with pytest.raises(CommandError, match="seed_demo"):
        walkthrough()


def test_walkthrough_names_the_readme_longer_walks(demo: str) -> None:
    text = walkthrough()
    found = re.findall(r"proposal #(\d+), (\S+) and (\S+) accept it", text)
    assert len(found) == 2
    for pk, seller, buyer in found:
        match = Match.objects.get(pk=int(pk))
        assert match.status == MatchStatus.PROPOSED
        assert match.seller == Membership.objects.get(user__username=seller).enterprise
        assert match.buyer == Membership.objects.get(user__username=buyer).enterprise


def test_walkthrough_says_when_the_hold_has_run_out(demo: str) -> None:
    order = waiting_order_for_confirmation()
    assert order is not None
    assert "that time has passed" not in walkthrough()
    Order.objects.filter(pk=order.pk).update(hold_until=timezone.now() - timedelta(minutes=1))
    assert "that time has passed: the next make run" in walkthrough()
