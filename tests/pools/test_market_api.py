"""The operator's market steps for a pool through the API: the engine's proposals for the
pool's need listed for its operator, accepted, ordered and received into the pool (the
pool's own contribution); refused to members, regulators and other enterprises; a lead
enterprise sees its pool's proposals in its own match list."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from marketplace.services import listing_create, listing_publish
from matching.models import Match, MatchStatus
from matching.services.decisions import match_accept
from matching.services.runs import run_full
from orders.models import Order
from orders.services import order_confirm, order_dispatch
from pools.models import Contribution, ContributionSource, Pool
from pools.services import pool_create, pool_held_kg
from pools.services.shortfall import pool_shortfall_sync

pytestmark = pytest.mark.django_db

POOLS = "/api/v1/pools/"


def _offer(world: dict[str, Any], receive: Any, kg: str = "4000") -> None:
    """a2 lists a surplus of the pool's material in its own warehouse of the park."""
    seller = resolve_scope(world["users"]["other_admin"])
    lot = receive(zone=world["zones"]["a2"], material=world["material"], quantity=kg)
    listing = listing_create(
        actor=seller,
        seller=world["enterprises"]["a2"],
        lot=lot,
        quantity_kg=Decimal(kg),
        price_per_t=Decimal(900),
        available_from=date.today(),
    )
    listing_publish(actor=seller, listing=listing)


@pytest.fixture
def proposed(pool_world: dict[str, Any], receive: Any) -> dict[str, Any]:
    """The pool (10 t short) with the engine's proposal of a2's 4 t for its need."""
    world, pool = pool_world, pool_world["pool"]
    pool_shortfall_sync(pool=pool)
    _offer(world, receive)
    run_full(trigger="command")
    world["proposal"] = Match.objects.get(buyer_id=pool.holder_id, status=MatchStatus.PROPOSED)
    world["url"] = f"{POOLS}{pool.pk}/"
    return world


def test_the_operator_lists_accepts_orders_and_receives_for_the_pool(
    proposed: dict[str, Any], api_client: Any
) -> None:
    world, proposal = proposed, proposed["proposal"]
    operator = api_client(world["users"]["park_operator"])
    listed = operator.get(f"{world['url']}proposals/")
    assert listed.status_code == 200, listed.content
    assert [row["id"] for row in listed.json()["results"]] == [proposal.pk]

    accepted = operator.post(
        f"{world['url']}proposal-accept/", {"match": proposal.pk}, format="json"
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["buyer_accepted_at"] is not None
    match_accept(actor=resolve_scope(world["users"]["other_admin"]), match=proposal)

    ordered = operator.post(f"{world['url']}proposal-order/", {"match": proposal.pk}, format="json")
    assert ordered.status_code == 201, ordered.content
    order = Order.objects.get(pk=ordered.json()["id"])
    assert order.buyer_id == world["pool"].holder_id
    seller = resolve_scope(world["users"]["other_admin"])
    order_dispatch(actor=seller, order=order_confirm(actor=seller, order=order))

    received = operator.post(f"{world['url']}receive/", {"order": order.pk}, format="json")
    assert received.status_code == 201, received.content
    contribution = Contribution.objects.get(pk=received.json()["id"])
    assert contribution.source == ContributionSource.ORDER and contribution.member is None
    assert pool_held_kg(world["pool"]) == Decimal(4000)


def test_members_regulators_and_others_may_not_act_for_the_pool(
    proposed: dict[str, Any], api_client: Any
) -> None:
    world, proposal = proposed, proposed["proposal"]
    body = {"match": proposal.pk}
    member = api_client(world["users"]["trader"])  # a1: a member, not the operator
    refused = member.post(f"{world['url']}proposal-accept/", body, format="json")
    assert refused.status_code == 400 and "match" in refused.json()["error"]["fields"]
    assert member.get(f"{world['url']}proposals/").json()["results"] == []  # not its deal
    seller = api_client(world["users"]["a2_trader"])  # a member, and the deal's seller
    assert seller.post(f"{world['url']}proposal-accept/", body, format="json").status_code == 403
    regulator = api_client(world["users"]["regulator"])
    listed = regulator.get(f"{world['url']}proposals/")
    assert [row["id"] for row in listed.json()["results"]] == [proposal.pk]  # reads
    refused = regulator.post(f"{world['url']}proposal-accept/", body, format="json")
    assert refused.status_code == 403
    outsider = api_client(world["users"]["park_b_admin"])  # another park: no such pool
    assert outsider.get(f"{world['url']}proposals/").status_code == 404
    assert outsider.post(f"{world['url']}proposal-order/", body, format="json").status_code == 404
    proposal.refresh_from_db()
    assert proposal.buyer_accepted_at is None and not Order.objects.exists()


def test_bad_input_names_the_field(proposed: dict[str, Any], api_client: Any) -> None:
    world = proposed
    operator = api_client(world["users"]["park_operator"])
    for body, field in (
        ({}, "match"),
        ({"match": 2**64}, "match"),
        ({"match": "1e400"}, "match"),
        ({"match": world["proposal"].pk, "extra": 1}, "extra"),
    ):
        answer = operator.post(f"{world['url']}proposal-accept/", body, format="json")
        assert answer.status_code == 400, (body, answer.content)
        assert field in dict(answer.json()["error"]["fields"]), answer.content
    answer = operator.post(f"{world['url']}proposal-decline/", {"reason": "x" * 501}, format="json")
    assert answer.status_code == 400
    assert {"match", "reason"} <= set(dict(answer.json()["error"]["fields"]))
    answer = operator.post(f"{world['url']}receive/", {"order": 10**9}, format="json")
    assert answer.status_code == 400 and "order" in answer.json()["error"]["fields"]


def test_a_proposal_of_another_buyer_is_not_the_pools(
    proposed: dict[str, Any], api_client: Any, receive: Any
) -> None:
    """A deal the operator sees (of its park) but not for this pool: refused on ``match``."""
    from tests.test_tenancy_matrix import _match

    other = _match(proposed, receive)  # a1 sells to b
    operator = api_client(proposed["users"]["park_operator"])
    answer = operator.post(f"{proposed['url']}proposal-accept/", {"match": other.pk}, format="json")
    assert answer.status_code == 400 and "match" in answer.json()["error"]["fields"]


def test_a_lead_enterprise_sees_its_pools_proposals_in_its_match_list(
    pool_world: dict[str, Any], receive: Any, api_client: Any
) -> None:
    world = pool_world
    led = pool_create(
        actor=resolve_scope(world["users"]["park_operator"]),
        park=world["parks"]["a"],
        code="led",
        name="a1 leads",
        material=world["material"],
        target_kg=Decimal(3000),
        zones=[world["zones"]["shared"]],
        lead=world["enterprises"]["a1"],
    )
    Pool.objects.filter(pk=world["pool"].pk).update(is_active=False)
    pool_shortfall_sync(pool=led)
    _offer(world, receive, kg="3000")
    run_full(trigger="command")
    proposal = Match.objects.get(buyer_id=led.holder_id, status=MatchStatus.PROPOSED)

    lead_staff = api_client(world["users"]["trader"])  # a1 trader
    seen = lead_staff.get("/api/v1/matches/").json()["results"]
    assert proposal.pk in [row["id"] for row in seen]
    accepted = lead_staff.post(
        f"{POOLS}{led.pk}/proposal-accept/", {"match": proposal.pk}, format="json"
    )
    assert accepted.status_code == 200, accepted.content
    stranger = api_client(world["users"]["park_b_admin"])
    assert proposal.pk not in [
        row["id"] for row in stranger.get("/api/v1/matches/").json()["results"]
    ]
