"""Who hears of what: decided once (access.rules.people_concerned over the catalogue's
parties), by role and tenancy, never by the event's author alone."""

from typing import Any

import pytest

from access.rules import people_concerned
from common.events import topic_named
from notifications.catalogue import EVENT_TYPES, EventType, event_type, event_types
from notifications.services.fanout import audience
from tests import factories as f
from tests.notifications.helpers import match_data, order_data

pytestmark = pytest.mark.django_db


def kind_of(topic: str) -> EventType:
    kind = event_type(topic)
    assert kind is not None
    return kind


def heard_by(world: dict[str, Any], topic: str, data: dict[str, Any]) -> set[str]:
    kind = event_type(topic)
    assert kind is not None
    names = {user.pk: name for name, user in world["users"].items()}
    return {names.get(uid, f"#{uid}") for uid, _enterprise in audience(kind, data)}


def test_both_parties_dealers_hear_of_a_proposal_and_nobody_else(world: dict[str, Any]) -> None:
    heard = heard_by(world, "match.agreed", match_data(world))
    # a1's admin and trader (seller), b's admin (buyer); not a1's keeper or viewer, not
    # a2 (same park, not a party), not the park's staff, not the superuser.
    assert heard == {"enterprise_admin", "trader", "park_b_admin"}


def test_the_keepers_of_the_side_that_moves_goods_next_hear_of_the_step(
    world: dict[str, Any],
) -> None:
    confirmed = heard_by(world, "order.confirmed", order_data(world, "confirmed"))
    assert "warehouse_keeper" in confirmed  # the seller's keeper dispatches next
    placed = heard_by(world, "order.reserved", order_data(world, "reserved"))
    assert "warehouse_keeper" not in placed
    keeper_b = f.MembershipFactory.create(
        enterprise=world["enterprises"]["b"], role="warehouse_keeper"
    ).user
    dispatched = audience(kind_of("order.dispatched"), order_data(world, "dispatched"))
    assert keeper_b.pk in {uid for uid, _ in dispatched}  # the buyer's keeper receives
    assert "viewer" not in confirmed | placed


def test_the_author_alone_does_not_decide(world: dict[str, Any]) -> None:
    """A buyer's acceptance is heard by the seller too, and by the buyer's other staff."""
    heard = heard_by(world, "match.accepted", match_data(world, side="buyer"))
    assert {"enterprise_admin", "trader", "park_b_admin"} <= heard


def test_park_operators_hear_of_their_parks_runs_only(world: dict[str, Any]) -> None:
    park_a, park_c = world["parks"]["a"], world["parks"]["c"]
    operator_c = f.ParkRoleFactory.create(park=park_c, role="park_operator").user
    data = {
        "run_id": 5,
        "kind": "full",
        "trigger": "schedule",
        "park_ids": [park_a.pk],
        "created": 3,
        "superseded": 1,
    }
    heard = heard_by(world, "matching.run_finished", data)
    assert heard == {"park_operator"}  # not park A's regulator, not park C's operator
    heard_ids = {uid for uid, _ in audience(kind_of("matching.run_finished"), data)}
    assert operator_c.pk not in heard_ids


def test_inactive_logins_hear_nothing(world: dict[str, Any]) -> None:
    trader = world["users"]["trader"]
    trader.is_active = False
    trader.save(update_fields=["is_active"])
    assert "trader" not in heard_by(world, "match.agreed", match_data(world))


def test_people_concerned_takes_two_queries_whatever_the_parties(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    ents = world["enterprises"]
    roles = frozenset({"enterprise_admin", "trader"})
    with django_assert_num_queries(2):
        people_concerned(
            enterprises=[(e.pk, roles) for e in ents.values()],
            park_ids=[world["parks"]["a"].pk],
            park_roles=frozenset({"park_operator"}),
        )


def test_every_catalogued_type_is_a_declared_public_topic_with_its_audience_keys() -> None:
    assert len(event_types()) == len(EVENT_TYPES)
    for kind in event_types():
        topic = topic_named(kind.topic)
        assert topic.public, kind.topic
        keys = set(topic.payload.__annotations__)
        for party in kind.parties:
            assert party.key in keys, (kind.topic, party.key)
        if kind.park_key:
            assert kind.park_key in keys, kind.topic
        assert kind.parties or kind.park_roles, f"{kind.topic}: nobody hears of it"
