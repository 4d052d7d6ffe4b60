"""The pools in the admin: scoped like the API, written through the services only."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from access.scope import resolve_scope
from audit.models import AuditEntry
from pools.models import Draw, DrawStatus, MembershipRequest, Pool, RequestStatus
from pools.services import membership_request, pool_contribute, pool_draw
from tests.pools.conftest import stock_in_pool_zone

pytestmark = pytest.mark.django_db


@pytest.fixture
def aw(pool_world: dict[str, Any]) -> dict[str, Any]:
    for user in pool_world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return pool_world


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def changelist(client: Client, model: str) -> set[int]:
    response = client.get(reverse(f"admin:pools_{model}_changelist"))
    assert response.status_code == 200, model
    return {obj.pk for obj in response.context["cl"].result_list}


def run_action(client: Client, model: str, action: str, pks: list[int]) -> Any:
    return client.post(
        reverse(f"admin:pools_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


MODELS = ("pool", "poolmember", "membershiprequest", "draw", "obligation", "contribution")


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("trader", True),
        ("viewer", True),
        ("park_operator", True),
        ("regulator", True),
        ("superuser", True),
        ("park_b_admin", False),
        ("park_c_admin", False),
        ("regulator_c", False),
    ],
)
def test_the_pools_changelist_is_scoped(aw: dict[str, Any], who: str, sees: bool) -> None:
    client = client_for(aw["users"][who])
    assert changelist(client, "pool") == ({aw["pool"].pk} if sees else set())
    for model in MODELS[1:]:
        changelist(client, model)  # every list answers


def test_the_pool_list_shows_its_coverage(aw: dict[str, Any], receive: Any) -> None:
    lot = stock_in_pool_zone(aw, receive, "a1", "5000")
    pool_contribute(
        actor=resolve_scope(aw["users"]["trader"]),
        pool=aw["pool"],
        lot=lot,
        quantity_kg=Decimal(2500),
    )
    response = client_for(aw["users"]["park_operator"]).get(reverse("admin:pools_pool_changelist"))
    assert "25%" in response.content.decode()


def test_the_operator_approves_requests_through_the_service(aw: dict[str, Any]) -> None:
    asked = membership_request(
        actor=resolve_scope(aw["users"]["a2_trader"]),
        pool=aw["pool"],
        kind="change",
        commitment_kg=Decimal(3000),
    )
    # A member (not the operator) sees its request but the service refuses its decision.
    member = client_for(aw["users"]["a2_trader"])
    assert asked.pk in changelist(member, "membershiprequest")
    response = run_action(member, "membershiprequest", "approve", [asked.pk])
    assert any("operator" in str(m) for m in get_messages(response.wsgi_request))
    asked.refresh_from_db()
    assert asked.status == RequestStatus.PENDING
    # A regulator is not offered the action at all.
    regulator = client_for(aw["users"]["regulator"])
    response = regulator.get(reverse("admin:pools_membershiprequest_changelist"))
    action_form = response.context["action_form"]
    assert action_form is None or "approve" not in dict(action_form.fields["action"].choices)
    before = AuditEntry.objects.filter(action="pool_request.approve").count()
    operator = client_for(aw["users"]["park_operator"])
    run_action(operator, "membershiprequest", "approve", [asked.pk])
    asked.refresh_from_db()
    assert asked.status == RequestStatus.APPROVED
    assert AuditEntry.objects.filter(action="pool_request.approve").count() == before + 1
    assert MembershipRequest.objects.count() == 3


def test_the_operator_grants_and_rejects_draws(aw: dict[str, Any], receive: Any) -> None:
    trader = resolve_scope(aw["users"]["trader"])
    lot = stock_in_pool_zone(aw, receive, "a1", "1000")
    pool_contribute(actor=trader, pool=aw["pool"], lot=lot, quantity_kg=Decimal(1000))
    draws = [
        pool_draw(
            actor=trader, pool=aw["pool"], quantity_kg=Decimal(10), severity="routine", reason="x"
        )
        for _ in range(2)
    ]
    operator = client_for(aw["users"]["park_operator"])
    run_action(operator, "draw", "grant", [draws[0].pk])
    run_action(operator, "draw", "reject", [draws[1].pk])
    assert [Draw.objects.get(pk=d.pk).status for d in draws] == [
        DrawStatus.GRANTED,
        DrawStatus.REJECTED,
    ]
    assert AuditEntry.objects.filter(action="pool_draw.grant").count() == 1


def test_a_park_operator_opens_a_pool_in_the_admin(aw: dict[str, Any]) -> None:
    operator = client_for(aw["users"]["park_operator"])
    data = {
        "park": aw["parks"]["a"].pk,
        "code": "n2",
        "name": "氮气联储",
        "material": aw["material"].pk,
        "target_kg": "2000",
        "zones": [aw["zones"]["shared"].pk],
        "holding_rate_per_t_month": "0",
        "storage_fee_per_month": "0",
        "replenish_rule": "pro_rata",
        "replenish_days": "30",
        "rotation_lead_days": "60",
    }
    response = operator.post(reverse("admin:pools_pool_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    pool = Pool.objects.get(code="n2")
    assert list(pool.zones.all()) == [aw["zones"]["shared"]]
    assert AuditEntry.objects.filter(action="pool.create", object_id=str(pool.pk)).exists()
    # An enterprise's staff are not offered it.
    trader = client_for(aw["users"]["trader"])
    assert trader.get(reverse("admin:pools_pool_add")).status_code == 403


def test_the_operator_decides_orders_and_receives_for_the_pool_in_the_admin(
    aw: dict[str, Any], receive: Any
) -> None:
    from matching.models import Match, MatchStatus
    from matching.services.decisions import match_accept
    from matching.services.runs import run_full
    from orders.models import Order, OrderStatus
    from orders.services import order_confirm, order_dispatch
    from pools.services import pool_held_kg
    from pools.services.shortfall import pool_shortfall_sync
    from tests.pools.test_market_api import _offer

    pool = aw["pool"]
    pool_shortfall_sync(pool=pool)
    _offer(aw, receive)
    run_full(trigger="command")
    proposal = Match.objects.get(buyer_id=pool.holder_id, status=MatchStatus.PROPOSED)
    operator = client_for(aw["users"]["park_operator"])
    member = client_for(aw["users"]["a2_trader"])  # a member and the seller: sees the deal
    assert changelist(operator, "poolproposal") == {proposal.pk}
    assert changelist(client_for(aw["users"]["trader"]), "poolproposal") == set()

    response = run_action(member, "poolproposal", "accept", [proposal.pk])
    assert any("operator" in str(m) for m in get_messages(response.wsgi_request))
    proposal.refresh_from_db()
    assert proposal.buyer_accepted_at is None  # refused: a message, not a 500

    run_action(operator, "poolproposal", "accept", [proposal.pk])
    seller = resolve_scope(aw["users"]["other_admin"])
    match_accept(actor=seller, match=proposal)
    run_action(operator, "poolproposal", "order", [proposal.pk])
    order = Order.objects.get(match=proposal)
    order_dispatch(actor=seller, order=order_confirm(actor=seller, order=order))
    assert changelist(operator, "poolorder") == {order.pk}
    run_action(operator, "poolorder", "receive", [order.pk])
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED
    assert pool_held_kg(pool) == Decimal(4000)


def test_the_operator_changes_a_pools_terms_in_the_admin(aw: dict[str, Any]) -> None:
    pool = aw["pool"]
    url = reverse("admin:pools_pool_change", args=[pool.pk])
    member = client_for(aw["users"]["trader"])
    page = member.get(url)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    operator = client_for(aw["users"]["park_operator"])
    form = operator.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data.update(target_kg="9000", name=pool.name, replenish_rule=pool.replenish_rule)
    refused = operator.post(url, data)
    assert refused.status_code == 200  # the form again, with the service's refusal
    assert "target_kg" in refused.context["adminform"].form.errors
    data["target_kg"] = "15000"
    done = operator.post(url, data)
    assert done.status_code == 302, done.content[:2000]
    pool.refresh_from_db()
    assert pool.target_kg == Decimal(15000)
    assert AuditEntry.objects.filter(action="pool.update", user=aw["users"]["park_operator"])
