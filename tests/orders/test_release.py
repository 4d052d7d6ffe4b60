"""An order made from a match that ends without delivery (rejected, cancelled, expired)
releases its match (matching.services.decisions.match_release); a delivered one, or a direct
order, leaves matches alone."""

from typing import Any

import pytest

from access.scope import SYSTEM
from common.models import OutboxEvent
from matching.models import Match, MatchStatus, PendingRematch, RunTrigger
from matching.services.decisions import match_release
from matching.services.runs import run_materials
from orders.models import OrderStatus
from tests.orders.conftest import PATHS, expire, from_match, order_in, take
from tests.outbox import deliver

World = dict[str, Any]

pytestmark = pytest.mark.django_db


def match_status(deal: World) -> str:
    return Match.objects.get(pk=deal["match"].pk).status


def released_events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic="match.released").order_by("id"))


def last_event_id() -> int:
    last = OutboxEvent.objects.order_by("-id").first()
    return last.pk if last else 0


def topics_since(first_id: int) -> list[str]:
    return list(
        OutboxEvent.objects.filter(pk__gt=first_id).order_by("id").values_list("topic", flat=True)
    )


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (("reject",), "rejected"),
        (("cancel",), "cancelled"),
        (("confirm", "cancel"), "cancelled"),
    ],
)
def test_an_order_ended_by_a_party_releases_its_match(
    path: tuple[str, ...], reason: str, deal: World
) -> None:
    order = from_match(deal)
    for action in path[:-1]:
        order = take(deal, order, action)
    start = last_event_id()
    order = take(deal, order, path[-1])
    assert order.status == reason
    assert match_status(deal) == MatchStatus.RELEASED
    (event,) = released_events()
    assert event.payload == {
        "match_id": deal["match"].pk,
        "material_ids": [deal["material"].pk],
        "reason": reason,
    }
    # The match first: the lock order of the order's creation (match, listing, lot, need).
    topics = topics_since(start)
    assert topics[0] == "match.released"
    assert topics[-1] == f"order.{reason}"


def test_an_expired_order_releases_its_match(deal: World) -> None:
    order = expire(from_match(deal))
    assert order.status == OrderStatus.EXPIRED
    assert match_status(deal) == MatchStatus.RELEASED
    assert [e.payload["reason"] for e in released_events()] == ["expired"]


def test_the_release_asks_the_engine_for_a_rematch(deal: World) -> None:
    take(deal, from_match(deal), "cancel")
    PendingRematch.objects.all().delete()
    (event,) = released_events()
    assert deliver(event)
    assert list(PendingRematch.objects.values_list("material_id", flat=True)) == [
        deal["material"].pk
    ]


@pytest.mark.parametrize("status", [OrderStatus.DISPATCHED, OrderStatus.COMPLETED])
def test_an_order_on_its_way_or_delivered_keeps_its_match_ordered(status: str, deal: World) -> None:
    order = from_match(deal)
    for action in PATHS[status]:
        order = take(deal, order, action)
    assert order.status == status
    assert match_status(deal) == MatchStatus.ORDERED
    assert released_events() == []


@pytest.mark.parametrize(
    "status", [OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED]
)
def test_a_direct_order_ending_touches_no_match(status: str, deal: World) -> None:
    order = order_in(deal, status)
    assert order.match_id is None
    assert match_status(deal) == MatchStatus.AGREED
    assert released_events() == []


def test_cancelled_between_the_sweep_and_the_handler_releases_once(deal: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from inventory.services import reservations_expire_due

    order = from_match(deal)
    reservations_expire_due(now=timezone.now() + timedelta(days=1))
    take(deal, order, "cancel")
    # The expiry event then finds the order cancelled: nothing more to release.
    event = OutboxEvent.objects.get(topic="reservation.expired")
    assert deliver(event)
    assert match_status(deal) == MatchStatus.RELEASED
    assert [e.payload["reason"] for e in released_events()] == ["cancelled"]


def test_releasing_a_released_match_again_is_harmless(deal: World) -> None:
    take(deal, from_match(deal), "reject")
    match_release(actor=SYSTEM, match_id=deal["match"].pk, reason="cancelled")
    assert match_status(deal) == MatchStatus.RELEASED
    assert len(released_events()) == 1


def test_a_released_match_is_not_ordered_again(deal: World) -> None:
    from common.exceptions import Conflict

    take(deal, from_match(deal), "cancel")
    with pytest.raises(Conflict) as refused:
        from_match(deal)
    assert (refused.value.status_code, refused.value.field) == (409, "match")
    assert match_status(deal) == MatchStatus.RELEASED


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_reject_and_cancel_at_once_release_the_match_once(deal: World) -> None:
    from common.exceptions import DomainError
    from orders.models import Order
    from tests.concurrency import run_concurrently
    from tests.ledger import assert_ledger_balanced

    order = from_match(deal)
    steps = ("reject", "cancel")
    results = run_concurrently(2, lambda i: take(deal, Order.objects.get(pk=order.pk), steps[i]))
    assert sum(isinstance(r, Order) for r in results) == 1, results
    assert sum(isinstance(r, DomainError) for r in results) == 1, results
    assert match_status(deal) == MatchStatus.RELEASED
    assert len(released_events()) == 1
    assert_ledger_balanced()


def test_the_engine_proposes_a_released_pair_again_naming_the_released_match(
    deal: World,
) -> None:
    order = from_match(deal)
    take(deal, order, "cancel")
    released = Match.objects.get(pk=deal["match"].pk)
    assert released.status == MatchStatus.RELEASED

    run_materials(material_ids=[released.material_id], trigger=RunTrigger.COMMAND)

    again = Match.objects.get(
        listing=released.listing_id, need=released.need_id, status=MatchStatus.PROPOSED
    )
    assert again.previous_id == released.pk
    assert list(released.reproposals.all()) == [again]
