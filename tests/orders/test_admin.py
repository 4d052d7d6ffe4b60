"""The admin of orders: rows per role, read-only pages with the steps inline, the steps as
admin actions through the services (refusals reported per row), receiving into a zone
chosen on an intermediate page, constant queries."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order, OrderStatus, OrderTransition
from tests import factories as f
from tests.orders.conftest import World, order_in, place

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")
STEPS = reverse("admin:orders_ordertransition_changelist")


@pytest.fixture
def staff(deal: World) -> World:
    users = [*deal["users"].values(), *deal["sellers"].values(), *deal["buyers"].values()]
    for user in users:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return deal


def client_of(deal: World, who: str) -> Client:
    side, _, role = who.partition(".")
    user = deal[f"{side}s"][role] if side in ("seller", "buyer") else deal["users"][who]
    client = Client()
    client.force_login(user)
    return client


def changelist_pks(client: Client, url: str = CHANGELIST) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def action_names(client: Client) -> set[str]:
    form = client.get(CHANGELIST).context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices if name}


def run_action(client: Client, action: str, *orders: Order, **extra: Any) -> list[str]:
    response = client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [o.pk for o in orders], **extra},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("seller.trader", True),
        ("buyer.viewer", True),
        ("park_b_admin", False),
        ("park_operator", True),
        ("regulator", True),
        ("regulator_c", False),
        ("superuser", True),
    ],
)
def test_changelists_show_the_orders_in_scope(who: str, sees: bool, staff: World) -> None:
    order = place(staff)
    client = client_of(staff, who)
    assert changelist_pks(client) == ({order.pk} if sees else set())
    steps = changelist_pks(client, STEPS)
    assert steps == (set(order.transitions.values_list("pk", flat=True)) if sees else set())
    detail = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert detail.status_code == (200 if sees else 302)


def test_the_detail_page_is_read_only_with_its_steps(staff: World) -> None:
    order = order_in(staff, OrderStatus.CONFIRMED)
    client = client_of(staff, "seller.admin")
    url = reverse("admin:orders_order_change", args=[order.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    inline = response.context["inline_admin_formsets"][0]
    assert [form.original.to_status for form in inline] == ["reserved", "confirmed"]
    assert client.post(url, {"status": "completed"}).status_code == 403
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    assert client.get(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


STEP_ACTIONS = {"confirm", "reject", "cancel", "dispatch", "receive", "transfer", "complete"}
TRADER_STEPS = {"confirm", "reject", "cancel", "complete"}
KEEPER_STEPS = {"dispatch", "receive", "transfer"}


@pytest.mark.parametrize(
    ("who", "actions"),
    [
        # The list offers the steps of the user's role only (orders.services.STEPS).
        ("seller.admin", STEP_ACTIONS),
        ("seller.trader", TRADER_STEPS),
        ("buyer.trader", TRADER_STEPS),
        ("seller.keeper", KEEPER_STEPS),
        ("buyer.keeper", KEEPER_STEPS),
        ("buyer.viewer", set()),
        ("park_operator", set()),
        ("regulator", set()),
        ("superuser", set()),  # not a party to any order
    ],
)
def test_who_is_offered_the_steps(who: str, actions: set[str], staff: World) -> None:
    place(staff)
    assert action_names(client_of(staff, who)) == actions


def test_steps_go_through_the_services_and_refusals_are_per_row(staff: World) -> None:
    first, second = place(staff, "10"), place(staff, "10")
    seller = client_of(staff, "seller.trader")
    messages = run_action(seller, "confirm", first, second)
    assert any("2 order(s) confirmed" in m for m in messages), messages
    # Confirming again: each row says why not; the buyer's trader may not confirm at all.
    messages = run_action(seller, "confirm", first)
    assert any(f"#{first.pk}" in m and "confirmed" in m for m in messages), messages
    messages = run_action(client_of(staff, "buyer.trader"), "confirm", first)
    assert any("Only the seller confirms" in m for m in messages), messages
    messages = run_action(client_of(staff, "seller.keeper"), "dispatch", first)
    assert any("1 order(s) dispatched" in m for m in messages), messages
    messages = run_action(client_of(staff, "buyer.trader"), "cancel", first, second)
    assert any("1 order(s) cancelled" in m for m in messages), messages
    assert any(f"#{first.pk}" in m for m in messages), messages
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "dispatched", second.pk: "cancelled"}
    actors = list(OrderTransition.objects.filter(order=second).values_list("actor", flat=True))
    assert actors[-1] == staff["buyers"]["trader"].pk


def test_receiving_asks_for_a_zone_of_the_buyers(staff: World) -> None:
    order = order_in(staff, OrderStatus.DISPATCHED)
    keeper = client_of(staff, "buyer.keeper")
    response = keeper.post(CHANGELIST, {"action": "receive", "_selected_action": [order.pk]})
    assert response.status_code == 200
    zones = set(response.context["form"].fields["zone"].queryset)
    assert staff["zones"]["a2"] in zones and staff["zones"]["shared"] in zones
    assert staff["zones"]["a1"] not in zones and staff["zones"]["c"] not in zones
    # A zone outside the choices is refused by the form; nothing happens.
    response = keeper.post(
        CHANGELIST,
        {
            "action": "receive",
            "_selected_action": [order.pk],
            "apply": "1",
            "zone": staff["zones"]["c"].pk,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DISPATCHED
    tiny = f.StorageZoneFactory.create(warehouse=staff["zones"]["a2"].warehouse, capacity_kg=1)
    messages = run_action(keeper, "receive", order, apply="1", zone=tiny.pk)
    assert any("free" in m for m in messages), messages
    messages = run_action(keeper, "receive", order, apply="1", zone=staff["zones"]["a2"].pk)
    assert any("1 order(s) received" in m for m in messages), messages
    order.refresh_from_db()
    assert (order.status, order.delivery_zone) == ("received", staff["zones"]["a2"])


def test_transfer_and_complete_in_the_admin(staff: World) -> None:
    order = order_in(staff, OrderStatus.CONFIRMED, listing=staff["shared_listing"])
    messages = run_action(client_of(staff, "buyer.keeper"), "transfer", order)
    assert any("taken over" in m for m in messages), messages
    messages = run_action(client_of(staff, "buyer.trader"), "complete", order)
    assert any("1 order(s) completed" in m for m in messages), messages
    order.refresh_from_db()
    assert (order.status, order.shared_transfer) == ("completed", True)


@pytest.mark.parametrize("who", ["buyer.viewer", "regulator", "park_operator"])
def test_read_only_users_take_no_step(who: str, staff: World) -> None:
    order = place(staff)
    client = client_of(staff, who)
    for action in ("confirm", "cancel", "reject"):
        client.post(CHANGELIST, {"action": action, "_selected_action": [order.pk]})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED
    assert order.transitions.count() == 1


@pytest.mark.parametrize("who", ["seller.trader", "regulator", "superuser"])
def test_changelist_queries_do_not_grow_with_rows(who: str, staff: World) -> None:
    client = client_of(staff, who)
    place(staff, "10")

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    few = (count(CHANGELIST), count(STEPS))
    for _ in range(5):
        order_in(staff, OrderStatus.CONFIRMED, kg="10")
    assert (count(CHANGELIST), count(STEPS)) == few


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", ("订单", "确认所选订单")), ("en", ("Orders", "Confirm selected orders"))],
)
def test_the_admin_speaks_chinese_and_english(
    language: str, words: tuple[str, ...], staff: World
) -> None:
    place(staff)
    client = client_of(staff, "seller.trader")
    page = client.get(CHANGELIST, headers={"accept-language": language}).content.decode()
    for word in words:
        assert word in page, word


# --- The buttons of an order's page and their confirmation pages ---------------------------


def change_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def step_url(order: Order, step: str) -> str:
    return reverse("admin:orders_order_step", args=[order.pk, step])


def buttons(client: Client, order: Order) -> list[str]:
    """The steps shown as buttons on the order's page (checked in the HTML as well)."""
    response = client.get(change_url(order))
    assert response.status_code == 200
    steps = [s["step"] for s in response.context["steps_open"]]
    page = response.content.decode()
    for step in STEP_ACTIONS:
        assert (f'href="{step_url(order, step)}"' in page) == (step in steps), step
    return steps


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            OrderStatus.RESERVED,
            {
                "seller.admin": ["confirm", "reject"],
                "seller.trader": ["confirm", "reject"],
                "buyer.admin": ["cancel"],
                "buyer.trader": ["cancel"],
            },
        ),
        (
            OrderStatus.CONFIRMED,
            {
                "seller.admin": ["dispatch"],
                "seller.keeper": ["dispatch"],
                "buyer.admin": ["cancel"],
                "buyer.trader": ["cancel"],
            },
        ),
        (OrderStatus.DISPATCHED, {"buyer.admin": ["receive"], "buyer.keeper": ["receive"]}),
        (OrderStatus.RECEIVED, {"buyer.admin": ["complete"], "buyer.trader": ["complete"]}),
        (OrderStatus.COMPLETED, {}),
    ],
)
def test_each_role_sees_exactly_its_buttons(
    status: str, expected: dict[str, list[str]], staff: World
) -> None:
    order = order_in(staff, status)
    everyone = [f"{side}.{role}" for side in ("seller", "buyer") for role in staff["sellers"]]
    for who in [*everyone, "park_operator", "regulator", "superuser"]:
        assert buttons(client_of(staff, who), order) == expected.get(who, []), who


def test_take_over_is_offered_only_in_the_shared_warehouse(staff: World) -> None:
    shared = order_in(staff, OrderStatus.CONFIRMED, listing=staff["shared_listing"])
    private = order_in(staff, OrderStatus.CONFIRMED)
    keeper = client_of(staff, "buyer.keeper")
    assert buttons(keeper, shared) == ["transfer"]
    assert buttons(keeper, private) == []


def test_confirmation_page_then_post_takes_the_step(staff: World) -> None:
    order = place(staff)
    seller = client_of(staff, "seller.trader")
    page = seller.get(step_url(order, "confirm"))
    assert page.status_code == 200
    assert page.context["refusal"] is None
    assert "csrfmiddlewaretoken" in page.content.decode()
    # GET changes nothing.
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED
    response = seller.post(step_url(order, "confirm"), {"reason": "ok"}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(order)
    assert any("confirmed" in str(m) for m in response.context["messages"])
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    last = order.transitions.order_by("id").last()
    assert last is not None
    assert (last.actor, last.reason) == (staff["sellers"]["trader"], "ok")


def test_the_confirmation_post_needs_the_csrf_token(staff: World) -> None:
    order = place(staff)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff["sellers"]["trader"])
    assert client.post(step_url(order, "confirm")).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED


def test_a_forbidden_step_is_refused_with_its_reason(staff: World) -> None:
    order = place(staff)
    buyer = client_of(staff, "buyer.trader")
    page = buyer.get(step_url(order, "confirm"))
    assert page.status_code == 200
    assert "Only the seller confirms" in page.context["refusal"]
    assert "<form" not in page.content.decode().split('id="content-main"')[1]
    response = buyer.post(step_url(order, "confirm"), follow=True)
    assert any("Only the seller confirms" in str(m) for m in response.context["messages"])
    keeper = client_of(staff, "seller.keeper")
    response = keeper.post(step_url(order, "confirm"), follow=True)
    assert any("role" in str(m) for m in response.context["messages"])
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED
    assert order.transitions.count() == 1


def test_a_step_no_longer_open_is_refused(staff: World) -> None:
    order = order_in(staff, OrderStatus.CANCELLED)
    response = client_of(staff, "seller.trader").post(step_url(order, "confirm"), follow=True)
    assert any("cancelled" in str(m) for m in response.context["messages"])
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_receiving_from_the_order_page_asks_for_a_zone(staff: World) -> None:
    order = order_in(staff, OrderStatus.DISPATCHED)
    keeper = client_of(staff, "buyer.keeper")
    page = keeper.get(step_url(order, "receive"))
    zones = set(page.context["form"].fields["zone"].queryset)
    assert staff["zones"]["a2"] in zones and staff["zones"]["a1"] not in zones
    # A zone outside the choices: the form says so, nothing happens.
    page = keeper.post(step_url(order, "receive"), {"zone": staff["zones"]["c"].pk})
    assert page.status_code == 200 and page.context["form"].errors
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DISPATCHED
    keeper.post(step_url(order, "receive"), {"zone": staff["zones"]["a2"].pk})
    order.refresh_from_db()
    assert (order.status, order.delivery_zone) == (OrderStatus.RECEIVED, staff["zones"]["a2"])


def test_another_enterprises_order_and_its_steps_do_not_exist(staff: World) -> None:
    order = place(staff)
    outsider = client_of(staff, "park_b_admin")
    for url in (change_url(order), step_url(order, "confirm"), step_url(order, "cancel")):
        response = outsider.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    outsider.post(step_url(order, "cancel"))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RESERVED
    assert client_of(staff, "seller.trader").get(step_url(order, "nonsense")).status_code == 404


# --- List columns that fit 1400 px with the figures -------------------------------------------


@pytest.mark.parametrize(
    ("model", "columns"),
    [
        ("orders_order", ("status", "material_name", "quantity", "price", "total")),
        ("matching_match", ("status", "material_name", "quantity", "price", "total")),
        ("marketplace_listing", ("status", "material_name", "quantity", "left", "price")),
    ],
)
def test_lists_show_quantity_price_and_status_in_few_columns(
    model: str, columns: tuple[str, ...], staff: World
) -> None:
    place(staff, "12.5")
    material = staff["material"]
    material.name_zh = "一种名字非常非常长的危险化学品原料"
    material.save(update_fields=["name_zh"])
    response = client_of(staff, "seller.trader").get(
        reverse(f"admin:{model}_changelist"), headers={"accept-language": "zh-hans"}
    )
    assert response.status_code == 200
    list_display = response.context["cl"].list_display
    assert set(columns) <= set(list_display)
    assert len(list_display) <= 11  # action checkbox + at most ten columns
    page = response.content.decode()
    assert " kg</td>" in page and "¥" in page and "/t</td>" in page
    # Long names are cut by the stylesheet, whole in the title; no navigation sidebar.
    assert f'<span class="parkshare-cut" title="{material.name_zh}">' in page
    assert 'id="nav-sidebar"' not in page


@pytest.mark.parametrize("object_id", ["99999999999999999999999", "abc", "0"])
def test_step_pages_of_ids_out_of_range_do_not_exist(object_id: str, staff: World) -> None:
    client = client_of(staff, "seller.trader")
    for url in (
        f"/admin/orders/order/{object_id}/step/confirm/",
        f"/admin/matching/match/{object_id}/decide/accept/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")
        assert client.post(url).status_code == 302
