"""The pools' events: written by the transaction of a granted draw (``pool.draw_granted``,
and ``pool.shortfall`` when it leaves the pool below its target), never by a draw that
waits, is rejected or is refused; and who hears of each pool type (the catalogue's
audience, as the notifications apply it)."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from common.events import topic_named
from common.exceptions import NotPermitted
from common.models import OutboxEvent
from notifications.catalogue import event_type
from notifications.models import Notification
from notifications.services.fanout import audience
from pools.models import Obligation, Pool, RequestKind
from pools.services import (
    draw_decide,
    membership_decide,
    membership_request,
    pool_contribute,
    pool_create,
    pool_draw,
    pool_held_kg,
    pools_sweep,
)
from tests import factories as f
from tests.concurrency import run_concurrently
from tests.pools.conftest import stock_in_pool_zone

pytestmark = pytest.mark.django_db


def events(topic: str) -> list[dict[str, Any]]:
    return [e.payload for e in OutboxEvent.objects.filter(topic=topic).order_by("pk")]


def pool_events() -> list[str]:
    return list(
        OutboxEvent.objects.filter(topic__startswith="pool.")
        .order_by("pk")
        .values_list("topic", flat=True)
    )


def fill(world: dict[str, Any], receive: Any, pool: Pool, a1_kg: str, a2_kg: str) -> None:
    """a1 and a2 contribute; their lots expire 2028 (a1) and 2027 (a2)."""
    users = world["users"]
    for owner, kg, user, expires in (
        ("a1", a1_kg, "trader", date(2028, 1, 1)),
        ("a2", a2_kg, "a2_trader", date(2027, 3, 1)),
    ):
        lot = stock_in_pool_zone(world, receive, owner, kg, expires_on=expires)
        pool_contribute(
            actor=resolve_scope(users[user]), pool=pool, lot=lot, quantity_kg=Decimal(kg)
        )


def heard_by(world: dict[str, Any], topic: str, data: dict[str, Any]) -> set[str]:
    kind = event_type(topic)
    assert kind is not None
    names = {user.pk: name for name, user in world["users"].items()}
    return {names.get(uid, f"#{uid}") for uid, _enterprise in audience(kind, data)}


def test_an_emergency_draw_writes_draw_granted_and_shortfall(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "3000", "2000")
    assert pool_events() == []  # contributions announce nothing
    draw = pool_draw(
        actor=resolve_scope(world["users"]["a2_trader"]),
        pool=pool,
        quantity_kg=Decimal(2500),
        severity="emergency",
        reason="泄漏",
    )
    assert pool_events() == ["pool.draw_granted", "pool.shortfall"]
    (granted,) = events("pool.draw_granted")
    park_id = world["parks"]["a"].pk
    assert granted == {
        "pool_id": pool.pk,
        "park_id": park_id,
        "material_ids": [world["material"].pk],
        "draw_id": draw.pk,
        "enterprise_id": world["enterprises"]["a2"].pk,
        "requested_kg": "2500.000",
        "granted_kg": "2500.000",
        "severity": "emergency",
        "park_ids": [park_id],
    }
    (short,) = events("pool.shortfall")
    assert short == {
        "pool_id": pool.pk,
        "park_id": park_id,
        "material_ids": [world["material"].pk],
        "lead_id": None,
        "park_ids": [park_id],  # no lead: the park's operators run it
        "held_kg": "2500.000",
        "target_kg": "10000.000",
    }
    for topic in ("pool.draw_granted", "pool.shortfall"):
        assert topic_named(topic).refusal(events(topic)[0]) is None


def test_a_draw_that_leaves_the_target_held_writes_no_shortfall(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "8000", "3000")  # 11,000 kg of a 10,000 kg target
    pool_draw(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        quantity_kg=Decimal(1000),
        severity="emergency",
        reason="drill",
    )
    assert pool_events() == ["pool.draw_granted"]
    pool_draw(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        quantity_kg=Decimal("0.001"),
        severity="emergency",
        reason="one gram under",
    )
    assert pool_events() == ["pool.draw_granted", "pool.draw_granted", "pool.shortfall"]
    assert events("pool.shortfall")[0]["held_kg"] == "9999.999"


def test_an_emergency_on_an_empty_pool_is_announced_with_nothing_granted(
    pool_world: dict[str, Any],
) -> None:
    world, pool = pool_world, pool_world["pool"]
    pool_draw(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        quantity_kg=Decimal(10),
        severity="emergency",
        reason="fire",
    )
    assert pool_events() == ["pool.draw_granted", "pool.shortfall"]
    assert events("pool.draw_granted")[0]["granted_kg"] == "0.000"
    assert events("pool.shortfall")[0]["held_kg"] == "0.000"


def test_other_draws_are_announced_when_the_operator_grants_them_only(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "3000", "2000")
    a2 = resolve_scope(world["users"]["a2_trader"])
    operator = resolve_scope(world["users"]["park_operator"])
    waiting = pool_draw(
        actor=a2, pool=pool, quantity_kg=Decimal(800), severity="urgent", reason="batch"
    )
    rejected = pool_draw(
        actor=a2, pool=pool, quantity_kg=Decimal(100), severity="routine", reason="stock up"
    )
    assert pool_events() == []  # waiting for the operator
    draw_decide(actor=operator, draw=rejected, approve=False, note="not now")
    assert pool_events() == []
    draw_decide(actor=operator, draw=waiting, approve=True, quantity_kg=Decimal(500))
    assert pool_events() == ["pool.draw_granted", "pool.shortfall"]
    granted = events("pool.draw_granted")[0]
    assert (granted["draw_id"], granted["requested_kg"], granted["granted_kg"]) == (
        waiting.pk,
        "800.000",
        "500.000",
    )
    assert granted["severity"] == "urgent"
    assert events("pool.shortfall")[0]["held_kg"] == "4500.000"


def test_a_refused_draw_writes_no_event(pool_world: dict[str, Any], receive: Any) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "3000", "2000")
    with pytest.raises(NotPermitted):
        pool_draw(
            actor=resolve_scope(world["users"]["park_b_admin"]),  # not a member
            pool=pool,
            quantity_kg=Decimal(10),
            severity="emergency",
            reason="x",
        )
    assert pool_events() == []


# --- Who hears of each pool type ------------------------------------------------------------


def led_pool(world: dict[str, Any]) -> Pool:
    """A second pool of park A, led by a1 (its staff run it, not the park's operators),
    with a1 as its member."""
    pool = pool_create(
        actor=resolve_scope(world["users"]["park_operator"]),
        park=world["parks"]["a"],
        code="foam",
        name="泡沫联储",
        material=world["material"],
        target_kg=Decimal(1000),
        zones=[world["zones"]["shared"]],
        lead=world["enterprises"]["a1"],
    )
    a1 = resolve_scope(world["users"]["trader"])
    request = membership_request(
        actor=a1, pool=pool, kind=RequestKind.JOIN, commitment_kg=Decimal(1000)
    )
    membership_decide(actor=a1, request=request, approve=True)  # a1 runs it
    return pool


def test_a_shortfall_is_heard_by_the_operator_only(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world = pool_world
    led = led_pool(world)
    pools_sweep(today=date(2026, 12, 7))  # both pools are empty: under target
    by_pool = {e["pool_id"]: e for e in events("pool.shortfall")}
    # Without a lead: the park's operators (not its regulator, not the members).
    assert heard_by(world, "pool.shortfall", by_pool[world["pool"].pk]) == {"park_operator"}
    # With a lead: the lead's traders and admins (not its keeper or viewer, not the park).
    assert by_pool[led.pk]["lead_id"] == world["enterprises"]["a1"].pk
    assert by_pool[led.pk]["park_ids"] == []
    assert heard_by(world, "pool.shortfall", by_pool[led.pk]) == {"enterprise_admin", "trader"}


def test_a_granted_draw_is_heard_by_the_drawers_dealers_and_the_park_operators(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "3000", "2000")
    pool_draw(
        actor=resolve_scope(world["users"]["a2_trader"]),
        pool=pool,
        quantity_kg=Decimal(100),
        severity="emergency",
        reason="leak",
    )
    heard = heard_by(world, "pool.draw_granted", events("pool.draw_granted")[0])
    # a2's trader and admin, the park's operator; not a1 (the other member), not the
    # regulator, not park C.
    assert heard == {"a2_trader", "other_admin", "park_operator"}


def test_obligations_are_heard_by_the_members_traders_and_admins(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "3000", "2000")
    pool_draw(
        actor=resolve_scope(world["users"]["a2_trader"]),
        pool=pool,
        quantity_kg=Decimal(1000),
        severity="emergency",
        reason="leak",
    )
    a1_obligation = Obligation.objects.get(member__enterprise=world["enterprises"]["a1"])
    pools_sweep(today=a1_obligation.due_on)  # due today: within the window
    pools_sweep(today=date.fromordinal(a1_obligation.due_on.toordinal() + 1))  # overdue
    for topic in ("pool.obligation_due", "pool.obligation_overdue"):
        data = next(e for e in events(topic) if e["obligation_id"] == a1_obligation.pk)
        heard = heard_by(world, topic, data)
        # a1's admin and trader; not its keeper or viewer, not a2, not the park's staff.
        assert heard == {"enterprise_admin", "trader"}, topic


def test_an_expiring_lot_is_heard_by_the_operator(pool_world: dict[str, Any], receive: Any) -> None:
    world = pool_world
    led = led_pool(world)
    for pool in (world["pool"], led):
        lot = stock_in_pool_zone(world, receive, "a1", "50", expires_on=date(2027, 1, 1))
        pool_contribute(
            actor=resolve_scope(world["users"]["trader"]),
            pool=pool,
            lot=lot,
            quantity_kg=Decimal(50),
        )
    pools_sweep(today=date(2026, 12, 7))
    by_pool = {e["pool_id"]: e for e in events("pool.lot_expiring")}
    assert heard_by(world, "pool.lot_expiring", by_pool[world["pool"].pk]) == {"park_operator"}
    # The lead's staff who run it, its keepers too (rotating a lot moves goods).
    assert heard_by(world, "pool.lot_expiring", by_pool[led.pk]) == {
        "enterprise_admin",
        "trader",
        "warehouse_keeper",
    }


def test_regulators_and_other_parks_hear_of_no_pool_event(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    f.ParkRoleFactory.create(park=world["parks"]["c"], role="park_operator")
    fill(world, receive, pool, "3000", "2000")
    pool_draw(
        actor=resolve_scope(world["users"]["a2_trader"]),
        pool=pool,
        quantity_kg=Decimal(4000),
        severity="emergency",
        reason="leak",
    )
    pools_sweep(today=date(2030, 1, 1))  # overdue, lots past expiry, under target
    outsiders = {"regulator", "regulator_c", "park_b_admin", "park_c_admin", "viewer"}
    topics = set(pool_events())
    assert topics == {
        "pool.draw_granted",
        "pool.shortfall",
        "pool.obligation_overdue",
        "pool.lot_expiring",
    }
    for topic in topics:
        for data in events(topic):
            heard = heard_by(world, topic, data)
            assert heard and not heard & outsiders, (topic, heard)
            assert not any(name.startswith("#") for name in heard), (topic, heard)


@pytest.mark.usefixtures("eager_tasks")
def test_a_granted_draw_reaches_the_notifications_after_commit(
    pool_world: dict[str, Any], receive: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "3000", "2000")
    with django_capture_on_commit_callbacks(execute=True):
        pool_draw(
            actor=resolve_scope(world["users"]["a2_trader"]),
            pool=pool,
            quantity_kg=Decimal(100),
            severity="emergency",
            reason="leak",
        )
    users = world["users"]
    granted = Notification.objects.filter(type="pool.draw_granted")
    assert set(granted.values_list("user", flat=True)) == {
        users["a2_trader"].pk,
        users["other_admin"].pk,
        users["park_operator"].pk,
    }
    short = Notification.objects.filter(type="pool.shortfall")
    assert set(short.values_list("user", flat=True)) == {users["park_operator"].pk}


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_concurrent_draws_each_announce_what_they_left(
    pool_world: dict[str, Any], receive: Any
) -> None:
    """Under the pool's lock, each draw's shortfall says what that draw left: 8 draws at
    once, 8 different amounts, the last what the pool holds."""
    world, pool = pool_world, pool_world["pool"]
    fill(world, receive, pool, "700", "300")
    drawers = [world["users"]["trader"], world["users"]["a2_trader"]] * 4
    results = run_concurrently(
        8,
        lambda i: pool_draw(
            actor=resolve_scope(drawers[i]),
            pool=Pool.objects.get(pk=pool.pk),
            quantity_kg=Decimal(100),
            severity="emergency",
            reason=f"incident {i}",
        ),
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(e["draw_id"] for e in events("pool.draw_granted")) == sorted(
        r.pk for r in results
    )
    held = sorted(Decimal(e["held_kg"]) for e in events("pool.shortfall"))
    assert held == [Decimal(200 + 100 * k) for k in range(8)]  # 900 … 200, each once
    assert min(held) == pool_held_kg(pool)
