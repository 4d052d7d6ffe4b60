"""Emergency draws under concurrency, on PostgreSQL: members drawing the last units at
once never get more than the pool holds, and the ledger balances."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from pools import services as pool_services
from pools.models import Draw, Pool
from pools.services import pool_contribute, pool_draw, pool_held_kg
from tests.concurrency import run_concurrently
from tests.ledger import assert_ledger_balanced
from tests.pools.conftest import stock_in_pool_zone

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]


@pytest.mark.parametrize("unlocked_attempts", [3, 0], ids=["planned-unlocked", "pool-locked"])
def test_concurrent_emergency_draws_never_take_more_than_held(
    pool_world: dict[str, Any], receive: Any, unlocked_attempts: int, monkeypatch: Any
) -> None:
    """Both ways a draw is served: planned without the pool's lock (and planned again when
    another draw overtook it), and under the pool's lock (after the attempts)."""
    monkeypatch.setattr(pool_services, "UNLOCKED_DRAW_ATTEMPTS", unlocked_attempts)
    world, pool = pool_world, pool_world["pool"]
    users = world["users"]
    for owner, kg in (("a1", "700"), ("a2", "300")):
        lot = stock_in_pool_zone(world, receive, owner, kg)
        actor = resolve_scope(users["trader" if owner == "a1" else "a2_trader"])
        pool_contribute(actor=actor, pool=pool, lot=lot, quantity_kg=Decimal(kg))
    assert pool_held_kg(pool) == Decimal(1000)
    drawers = [users["trader"], users["a2_trader"]] * 8  # 16 threads, 150 kg each

    results = run_concurrently(
        16,
        lambda i: pool_draw(
            actor=resolve_scope(drawers[i]),
            pool=Pool.objects.get(pk=pool.pk),
            quantity_kg=Decimal(150),
            severity="emergency",
            reason=f"incident {i}",
        ),
    )

    draws = [r for r in results if isinstance(r, Draw)]
    assert len(draws) == 16, results  # every draw is answered, none fails
    granted = sum((d.granted_kg for d in draws), Decimal(0))
    assert granted == Decimal(1000)  # all of it, and not a gram more
    assert sorted(d.granted_kg for d in draws).count(Decimal(150)) == 6  # 6 × 150 + 100
    assert pool_held_kg(pool) == 0
    assert_ledger_balanced()
