"""The admin home: a "waiting for you" panel per role (tenant-scoped, constant queries, the
selectors held equal to the step rule), the language switch and object names in Chinese."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from access.scope import resolve_scope
from matching.models import Match
from matching.selectors import match_list, matches_waiting_for
from matching.services.decisions import match_accept, match_decisions_open
from orders.models import Order, OrderStatus, OrderTransition
from orders.selectors import order_list, order_steps_forward, orders_waiting_for
from orders.services import order_steps_open
from tests import factories as f
from tests.orders.conftest import World, order_in, place
from tests.orders.test_admin import client_of, staff  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def panel(client: Client) -> dict[str, Any]:
    response = client.get(INDEX)
    assert response.status_code == 200
    return {
        "html": response.content.decode(),
        "orders": {o.pk for o in _context(response, "orders")},
        "matches": {m.pk for m in _context(response, "matches")},
        "reservations": {r.pk for r in _context(response, "reservations")},
    }


def _context(response: Any, key: str) -> list[Any]:
    for context in response.context:
        value = context.get(key) if hasattr(context, "get") else None
        if isinstance(value, dict) and "items" in value:
            return list(value["items"])
    return []


def proposal(deal: World) -> Match:
    need = f.NeedFactory.create(enterprise=deal["buyer"], material=deal["material"])
    return f.MatchFactory.create(
        listing=deal["listing"], need=need, quantity_kg=Decimal("50"), status="proposed"
    )


def test_the_panel_lists_what_waits_for_each_role(staff: World) -> None:  # noqa: F811
    reserved = place(staff, "10")
    confirmed = order_in(staff, OrderStatus.CONFIRMED, kg="10")
    dispatched = order_in(staff, OrderStatus.DISPATCHED, kg="10")
    match = proposal(staff)
    seller_trader = panel(client_of(staff, "seller.trader"))
    assert seller_trader["orders"] == {reserved.pk}  # to confirm
    assert seller_trader["matches"] == {match.pk}
    assert reserved.reservation_id in seller_trader["reservations"]  # runs out in 2 hours
    assert (
        f'href="{reverse("admin:orders_order_change", args=[reserved.pk])}"'
        in (seller_trader["html"])
    )
    assert panel(client_of(staff, "seller.keeper"))["orders"] == {confirmed.pk}  # to dispatch
    assert panel(client_of(staff, "buyer.keeper"))["orders"] == {dispatched.pk}  # to receive
    buyer_trader = panel(client_of(staff, "buyer.trader"))
    assert buyer_trader["orders"] == set()  # cancelling is not waiting
    assert buyer_trader["matches"] == {match.pk}
    # Once the seller has accepted, the proposal waits for the buyer only.
    match_accept(actor=resolve_scope(staff["sellers"]["trader"]), match=match)
    assert panel(client_of(staff, "seller.trader"))["matches"] == set()
    assert panel(client_of(staff, "buyer.admin"))["matches"] == {match.pk}
    assert panel(client_of(staff, "buyer.viewer"))["matches"] == set()


def test_the_panel_shows_nothing_of_another_tenant(staff: World) -> None:  # noqa: F811
    order = place(staff, "10")
    proposal(staff)
    outsider = panel(client_of(staff, "park_b_admin"))
    assert outsider["orders"] == outsider["matches"] == outsider["reservations"] == set()
    assert (
        f"#{order.pk}"
        not in outsider["html"].split('id="waiting-for-you"')[1].split('id="content-related"')[0]
    )


def test_operators_see_the_counts_of_their_parks(staff: World) -> None:  # noqa: F811
    place(staff, "10")
    proposal(staff)
    f.MatchRunFactory.create()
    response = client_of(staff, "park_operator").get(INDEX)
    html = response.content.decode()
    assert 'id="park-counts"' in html and 'id="recent-runs"' in html
    counts = {
        key: response.context[key] for key in ("undecided_matches", "agreed_matches", "open_orders")
    }
    assert counts == {"undecided_matches": 1, "agreed_matches": 1, "open_orders": 1}
    response = client_of(staff, "regulator_c").get(INDEX)  # another park's regulator
    assert response.context["open_orders"] == 0


def test_the_panel_queries_do_not_grow_with_rows(staff: World) -> None:  # noqa: F811
    place(staff, "10")
    for who in ("seller.trader", "park_operator"):
        client = client_of(staff, who)

        def count(client: Client = client) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(INDEX).status_code == 200
            return len(queries.captured_queries)

        before = count()
        for _ in range(3):
            place(staff, "10")
            proposal(staff)
        assert count() == before, who


def test_the_waiting_selectors_equal_the_step_rule(staff: World) -> None:  # noqa: F811
    for status in OrderStatus.values:
        order_in(staff, status, kg="5")
    order_in(staff, OrderStatus.CONFIRMED, kg="5", listing=staff["shared_listing"])
    late = place(staff, "5")
    Order.objects.filter(pk=late.pk).update(hold_until=timezone.now() - timedelta(minutes=1))
    accepted = proposal(staff)
    match_accept(actor=resolve_scope(staff["sellers"]["trader"]), match=accepted)
    proposal(staff)
    forward = set(order_steps_forward())
    users = [*staff["sellers"].values(), *staff["buyers"].values()]
    users += [staff["users"][who] for who in ("park_operator", "superuser", "park_b_admin")]
    for user in users:
        scope = resolve_scope(user)
        orders = order_list(scope=scope).select_related("lot__zone__warehouse")
        expected = {o.pk for o in orders if forward & set(order_steps_open(scope=scope, order=o))}
        assert set(orders_waiting_for(scope=scope).values_list("pk", flat=True)) == expected
        matches = match_list(scope=scope)
        expected = {m.pk for m in matches if "accept" in match_decisions_open(scope=scope, match=m)}
        assert set(matches_waiting_for(scope=scope).values_list("pk", flat=True)) == expected


# --- Language -------------------------------------------------------------------------


def test_the_language_switch_is_in_the_header(staff: World) -> None:  # noqa: F811
    client = client_of(staff, "seller.trader")
    html = client.get(INDEX).content.decode()
    assert 'id="language-switch"' in html
    assert f'action="{reverse("set_language")}"' in html
    assert 'value="zh-hans"' in html and 'value="en"' in html
    login = Client().get(reverse("admin:login")).content.decode()
    assert 'id="language-switch"' in login
    # Switching to Chinese: the next page speaks it.
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": INDEX})
    assert response.status_code == 302
    assert "等待您处理" in client.get(INDEX).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": INDEX})
    assert "Waiting for you" in client.get(INDEX).content.decode()


def test_object_names_are_translated(staff: World) -> None:  # noqa: F811
    order = order_in(staff, OrderStatus.CONFIRMED)
    step = OrderTransition.objects.filter(order=order).order_by("id").last()
    assert step is not None
    listing, need, match = staff["listing"], staff["need"], staff["match"]
    with translation.override("en"):
        assert str(order) == f"Order #{order.pk} (confirmed)"
        assert str(step) == f"Order #{order.pk}: reserved → confirmed"
        assert str(listing) == f"Listing #{listing.pk} (published)"
    with translation.override("zh-hans"):
        assert str(order) == f"订单 #{order.pk}（已确认）"
        assert str(step) == f"订单 #{order.pk}：已预留 → 已确认"
        assert str(listing) == f"闲置物资 #{listing.pk}（已发布）"
        assert str(need).startswith(f"需求 #{need.pk}（")
        assert str(match) == f"撮合方案 #{match.pk}（双方已达成）"
        page = client_of(staff, "seller.trader").get(
            reverse("admin:orders_order_change", args=[order.pk]),
            headers={"accept-language": "zh-hans"},
        )
        assert f"订单 #{order.pk}（已确认）" in page.content.decode()
