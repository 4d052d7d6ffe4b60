"""One rule for "may this user take this step now": for every user of both parties (and
outsiders) and every state an order can be in, the steps ``order_steps_open`` offers (the
admin's buttons) are exactly the steps whose service accepts the call; the same for the
decisions on a match."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from access.scope import resolve_scope
from common.exceptions import DomainError
from matching.models import Match, MatchStatus
from matching.services.decisions import (
    DECISIONS,
    match_accept,
    match_decision_refusal,
    match_decisions_open,
    match_decline,
)
from orders.models import Order, OrderStatus
from orders.services import STEPS, order_step_refusal, order_steps_open
from tests.orders.conftest import World, order_in, take

pytestmark = pytest.mark.django_db

OUTSIDERS = ("park_operator", "regulator", "superuser", "park_b_admin")


class _Undo(Exception):
    pass


def users_of(deal: World) -> dict[str, Any]:
    users = {f"seller.{role}": user for role, user in deal["sellers"].items()}
    users.update({f"buyer.{role}": user for role, user in deal["buyers"].items()})
    users.update({who: deal["users"][who] for who in OUTSIDERS})
    return users


def service_accepts(deal: World, order: Order, step: str, user: Any) -> bool:
    """Whether the step's service takes the call (then undone)."""
    try:
        with transaction.atomic():
            take(deal, Order.objects.get(pk=order.pk), step, actor=user)
            raise _Undo
    except _Undo:
        return True
    except DomainError:
        return False


# Every status an order can be in, and a confirmed order in the shared warehouse (the only
# one that can be taken over) and a reserved one whose hold has run out (not confirmable).
STATES = [*OrderStatus.values, "confirmed-shared", "reserved-run-out"]


@pytest.mark.parametrize("state", STATES)
def test_the_steps_offered_are_the_steps_the_services_take(state: str, deal: World) -> None:
    if state == "confirmed-shared":
        order = order_in(deal, OrderStatus.CONFIRMED, listing=deal["shared_listing"])
    elif state == "reserved-run-out":
        order = order_in(deal, OrderStatus.RESERVED)
        Order.objects.filter(pk=order.pk).update(hold_until=timezone.now() - timedelta(minutes=1))
    else:
        order = order_in(deal, state)
    order = Order.objects.select_related("lot__zone__warehouse", "buyer").get(pk=order.pk)
    offered_anywhere: set[Any] = set()
    for who, user in users_of(deal).items():
        scope = resolve_scope(user)
        offered = order_steps_open(scope=scope, order=order)
        accepted = [step for step in STEPS if service_accepts(deal, order, step, user)]
        assert offered == accepted, (state, who)
        for step in STEPS:
            refusal = order_step_refusal(scope=scope, order=order, step=step)
            assert (refusal is None) == (step in offered), (state, who, step)
        offered_anywhere.update(offered)
    # The matrix is not vacuous: each open status offers its steps to someone.
    expected = {
        "reserved": {"confirm", "reject", "cancel"},
        "confirmed": {"cancel", "dispatch"},
        "confirmed-shared": {"cancel", "dispatch", "transfer"},
        "dispatched": {"receive"},
        "received": {"complete"},
        "reserved-run-out": {"reject", "cancel"},
    }
    assert offered_anywhere == expected.get(state, set())


def decision_accepted(match: Match, decision: str, user: Any) -> bool:
    service = match_accept if decision == "accept" else match_decline
    try:
        with transaction.atomic():
            service(actor=resolve_scope(user), match=Match.objects.get(pk=match.pk))
            raise _Undo
    except _Undo:
        return True
    except DomainError:
        return False


@pytest.mark.parametrize(
    "state", ["proposed", "seller-accepted", "agreed", "declined", "superseded"]
)
def test_the_decisions_offered_are_the_decisions_the_services_take(state: str, deal: World) -> None:
    match = deal["match"]
    status = {"seller-accepted": MatchStatus.ACCEPTED}.get(state, state)
    Match.objects.filter(pk=match.pk).update(
        status=status,
        seller_accepted_at=timezone.now() if state in ("seller-accepted", "agreed") else None,
        buyer_accepted_at=timezone.now() if state == "agreed" else None,
    )
    match.refresh_from_db()
    offered_anywhere: set[Any] = set()
    for who, user in users_of(deal).items():
        scope = resolve_scope(user)
        offered = match_decisions_open(scope=scope, match=match)
        accepted = [d for d in DECISIONS if decision_accepted(match, d, user)]
        assert offered == accepted, (state, who)
        for decision in DECISIONS:
            refusal = match_decision_refusal(scope=scope, match=match, decision=decision)
            assert (refusal is None) == (decision in offered), (state, who, decision)
        offered_anywhere.update((who.partition(".")[0], d) for d in offered)
    expected = {
        "proposed": {(s, d) for s in ("seller", "buyer") for d in DECISIONS},
        "seller-accepted": {("seller", "decline"), ("buyer", "accept"), ("buyer", "decline")},
    }
    assert offered_anywhere == expected.get(state, set())
