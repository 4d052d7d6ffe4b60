"""The draw's hand-written first-expiry-first-out read (``pool_held_lots_page``, through
``common.sql``) is the twin of the rule's queryset (``pool_held_lots``, ``pool_held_kg``):
same lots, same order, same values, whatever the pool's lots are."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import StockLot
from pools.services import pool_held_kg, pool_held_lots, pool_held_lots_page
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)

# (owner: the pool's holder or not, zone: 0-1 the pool's, 2 another, on hand, reserved
# share, expiry in days or none)
lot_strategy = st.tuples(
    st.booleans(),
    st.integers(min_value=0, max_value=2),
    st.decimals(min_value=0, max_value=5000, places=3),
    st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)]),
    st.one_of(st.none(), st.integers(min_value=-3, max_value=6)),
)


def values(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_fast_read_is_the_querysets_twin(pool_world: dict[str, Any]) -> None:
    """(Lots written straight, without their ledger rows, and rolled back.)"""
    pool = pool_world["pool"]
    shared = pool_world["zones"]["shared"]
    second = f.StorageZoneFactory.create(warehouse=shared.warehouse, allowed_classes=["8"])
    other = f.StorageZoneFactory.create(warehouse=shared.warehouse)
    pool.zones.add(second)
    zones = [shared, second, other]
    stranger = pool_world["enterprises"]["a1"]

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        lots=st.lists(lot_strategy, max_size=14),
        limit=st.integers(min_value=1, max_value=5),
        lock=st.booleans(),
    )
    def check(
        lots: list[tuple[bool, int, Decimal, Decimal, int | None]], limit: int, lock: bool
    ) -> None:
        with transaction.atomic():
            for held_by_pool, zone, on_hand, reserved_share, expiry in lots:
                StockLot.objects.create(
                    material=pool.material,
                    owner_id=pool.holder_id if held_by_pool else stranger.pk,
                    zone=zones[zone],
                    on_hand_kg=on_hand,
                    reserved_kg=(on_hand * reserved_share).quantize(Decimal("0.001")),
                    expires_on=None if expiry is None else TODAY + timedelta(days=expiry),
                )
            expected = list(pool_held_lots(pool))
            for offset in range(0, len(expected) + limit, limit):
                page, held = pool_held_lots_page(pool, offset=offset, limit=limit, lock=lock)
                want = expected[offset : offset + limit]
                assert [values(lot) for lot in page] == [values(lot) for lot in want]
                for got, lot in zip(page, want, strict=True):
                    assert values(got.zone) == values(lot.zone)
                    assert values(got.zone.warehouse) == values(lot.zone.warehouse)
                assert held == (pool_held_kg(pool) if want else None)
            transaction.set_rollback(True)

    check()


def test_the_fast_read_loads_zone_and_warehouse_in_its_one_query(
    pool_world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    """(Rows written straight, without their ledger rows, and rolled back.)"""
    pool = pool_world["pool"]
    with transaction.atomic():
        StockLot.objects.create(
            material=pool.material,
            owner_id=pool.holder_id,
            zone=pool_world["zones"]["shared"],
            on_hand_kg=Decimal(10),
        )
        with django_assert_num_queries(1):
            (lot,), held = pool_held_lots_page(pool, offset=0, limit=4)
            assert lot.zone.warehouse.is_shared
            assert lot.zone.allowed_classes == pool_world["zones"]["shared"].allowed_classes
        assert held == Decimal("10.000")
        transaction.set_rollback(True)
