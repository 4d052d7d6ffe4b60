"""Concurrent receipts and recomputes of one warehouse, on PostgreSQL: the recomputes are
decided one after the other under the unit's lock, each on the stock committed before it,
so the last one holds the final figures and S crossing 1 is announced exactly once."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.models import OutboxEvent
from inventory.services import stock_receive
from safety.models import HazardUnit
from safety.services import hazard_unit_update, major_hazards_recompute
from tests.concurrency import run_concurrently
from tests.ledger import assert_ledger_balanced

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]


def test_concurrent_receipts_each_followed_by_its_recompute(
    world: dict[str, Any], chlorine: Any
) -> None:
    zone = world["zones"]["a1"]
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])  # the unit's row, S = 0
    hazard_unit_update(  # nobody within 500 m: α 0.5, R = 2 S stays at level 4
        actor=resolve_scope(world["users"]["park_operator"]),
        unit=HazardUnit.objects.get(warehouse_id=zone.warehouse_id),
        people_within_500m=0,
    )

    def receive_then_recompute(i: int) -> Any:
        stock_receive(
            actor=SYSTEM,
            owner=world["enterprises"]["a1"],
            material=chlorine,
            zone=zone,
            quantity_kg=Decimal(1000),
            batch_no=f"race-{i}",
        )
        return major_hazards_recompute(warehouse_ids=[zone.warehouse_id])

    results = run_concurrently(8, receive_then_recompute)
    assert not [r for r in results if isinstance(r, Exception)], results
    unit = HazardUnit.objects.get(warehouse_id=zone.warehouse_id)
    assert (unit.s, unit.r, unit.level) == (Decimal("1.6"), Decimal("3.2"), 4)  # 8 t / 5 t
    events = OutboxEvent.objects.filter(topic="major_hazard.changed")
    assert [(e.payload["old_level"], e.payload["new_level"]) for e in events] == [(None, 4)]
    assert_ledger_balanced()
