"""The pools' daily sweep (pools.services.pools_sweep, beat ``pools-sweep``): obligations
due soon (once each) and overdue (every day while they are), pooled lots to rotate (once
each), pools under target (every day while they are); nothing for a met obligation, a lot
far from its expiry or without one, an inactive pool."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from access.scope import resolve_scope
from common.models import OutboxEvent
from pools import tasks
from pools.models import Obligation, Pool
from pools.services import pool_contribute, pool_draw, pools_sweep
from tests.pools.conftest import stock_in_pool_zone

pytestmark = pytest.mark.django_db

ZERO = {"obligation_overdue": 0, "obligation_due": 0, "lot_expiring": 0, "shortfall": 0}


def named(topic: str, key: str) -> list[Any]:
    return [e.payload[key] for e in OutboxEvent.objects.filter(topic=topic).order_by("pk")]


def contribute(world: dict[str, Any], receive: Any, owner: str, kg: str, **batch: Any) -> Any:
    user = "trader" if owner == "a1" else "a2_trader"
    lot = stock_in_pool_zone(world, receive, owner, kg, **batch)
    return pool_contribute(
        actor=resolve_scope(world["users"][user]),
        pool=world["pool"],
        lot=lot,
        quantity_kg=Decimal(kg),
    ).lot


def drawn(world: dict[str, Any], kg: int) -> list[Obligation]:
    """a2 draws ``kg`` in an emergency; the obligations it leaves (a1's first)."""
    draw = pool_draw(
        actor=resolve_scope(world["users"]["a2_trader"]),
        pool=world["pool"],
        quantity_kg=Decimal(kg),
        severity="emergency",
        reason="leak",
    )
    return list(Obligation.objects.filter(draw=draw).order_by("member__enterprise_id"))


def test_obligations_due_soon_are_announced_once_and_overdue_ones_every_day(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world = pool_world
    contribute(world, receive, "a1", "10000")  # at target: no shortfall after the draw's
    contribute(world, receive, "a2", "1000")
    obligations = drawn(world, 1000)
    assert [o.quantity_kg for o in obligations] == [Decimal(600), Decimal(400)]  # 6 : 4
    due_on = obligations[0].due_on
    window = settings.POOL_OBLIGATION_DUE_DAYS

    assert pools_sweep(today=due_on - timedelta(days=window + 1)) == ZERO  # not yet
    first = pools_sweep(today=due_on - timedelta(days=window))
    assert first == {**ZERO, "obligation_due": 2}
    assert sorted(named("pool.obligation_due", "obligation_id")) == sorted(
        o.pk for o in obligations
    )
    assert pools_sweep(today=due_on - timedelta(days=1)) == ZERO  # said once
    assert pools_sweep(today=due_on) == ZERO  # due today: not overdue yet

    # a1 meets its share; a2's is overdue the day after, and every day until met.
    contribute(world, receive, "a1", "600")
    assert pools_sweep(today=due_on + timedelta(days=1)) == {**ZERO, "obligation_overdue": 1}
    assert pools_sweep(today=due_on + timedelta(days=2)) == {**ZERO, "obligation_overdue": 1}
    overdue = OutboxEvent.objects.filter(topic="pool.obligation_overdue").last()
    assert overdue is not None
    a2_share = obligations[1]
    assert overdue.payload == {
        "pool_id": world["pool"].pk,
        "park_id": world["parks"]["a"].pk,
        "material_ids": [world["material"].pk],
        "obligation_id": a2_share.pk,
        "draw_id": a2_share.draw_id,
        "enterprise_id": world["enterprises"]["a2"].pk,
        "quantity_kg": "400.000",
        "met_kg": "0.000",
        "due_on": due_on.isoformat(),
    }
    contribute(world, receive, "a2", "400")
    assert pools_sweep(today=due_on + timedelta(days=3)) == ZERO


def test_a_partly_met_obligation_says_what_is_met(pool_world: dict[str, Any], receive: Any) -> None:
    world = pool_world
    contribute(world, receive, "a1", "11000")
    obligations = drawn(world, 1000)
    contribute(world, receive, "a1", "250")  # a1 owes 600
    pools_sweep(today=obligations[0].due_on)
    by_id = {
        e.payload["obligation_id"]: e.payload
        for e in OutboxEvent.objects.filter(topic="pool.obligation_due")
    }
    assert by_id[obligations[0].pk]["met_kg"] == "250.000"
    assert by_id[obligations[1].pk]["met_kg"] == "0.000"


def test_lots_to_rotate_are_announced_once(pool_world: dict[str, Any], receive: Any) -> None:
    world, pool = pool_world, pool_world["pool"]
    today = date(2026, 12, 7)
    lead = pool.rotation_lead_days  # 60
    soon = contribute(world, receive, "a1", "4000", expires_on=today + timedelta(days=lead))
    later = contribute(world, receive, "a2", "4000", expires_on=today + timedelta(days=lead + 1))
    contribute(world, receive, "a2", "2000")  # no expiry: never rotated
    counts = pools_sweep(today=today)
    assert counts == {**ZERO, "lot_expiring": 1}  # 10,000 kg held: at target
    (event,) = OutboxEvent.objects.filter(topic="pool.lot_expiring")
    assert event.payload == {
        "pool_id": pool.pk,
        "park_id": pool.park_id,
        "material_ids": [world["material"].pk],
        "lead_id": None,
        "park_ids": [pool.park_id],
        "lot_id": soon.pk,
        "expires_on": (today + timedelta(days=lead)).isoformat(),
        "on_hand_kg": "4000.000",
    }
    assert pools_sweep(today=today) == ZERO  # said once
    assert pools_sweep(today=today + timedelta(days=1)) == {**ZERO, "lot_expiring": 1}
    assert named("pool.lot_expiring", "lot_id") == [soon.pk, later.pk]
    assert pools_sweep(today=today + timedelta(days=400)) == ZERO  # expired: said already


def test_a_lot_drawn_empty_is_not_announced(pool_world: dict[str, Any], receive: Any) -> None:
    world = pool_world
    today = date(2026, 12, 7)
    contribute(world, receive, "a2", "500", expires_on=today + timedelta(days=5))
    contribute(world, receive, "a1", "11000", expires_on=today + timedelta(days=900))
    drawn(world, 500)  # FEFO: the lot expiring first goes first, all of it
    counts = pools_sweep(today=today)
    assert counts["lot_expiring"] == 0


def test_pools_under_target_are_announced_every_day_and_inactive_pools_never(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    contribute(world, receive, "a1", "9999.999")
    today = date(2026, 12, 7)
    assert pools_sweep(today=today) == {**ZERO, "shortfall": 1}
    assert pools_sweep(today=today + timedelta(days=1)) == {**ZERO, "shortfall": 1}
    assert named("pool.shortfall", "held_kg") == ["9999.999", "9999.999"]
    contribute(world, receive, "a2", "0.001")
    assert pools_sweep(today=today + timedelta(days=2)) == ZERO  # at target
    drawn(world, 5000)  # under target, with obligations
    OutboxEvent.objects.all().delete()
    Pool.objects.filter(pk=pool.pk).update(is_active=False)
    assert pools_sweep(today=today + timedelta(days=400)) == ZERO  # inactive: not swept


def test_the_task_runs_the_sweep_and_beat_runs_it_daily(
    pool_world: dict[str, Any],
) -> None:
    assert tasks.pools_sweep() == {**ZERO, "shortfall": 1}  # the pool is empty
    entry = settings.CELERY_BEAT_SCHEDULE["pools-sweep"]
    assert entry["task"] == "pools.tasks.pools_sweep"
    schedule = entry["schedule"]
    assert len(schedule.hour) == 1 and schedule.minute == {0}  # once a day
