"""The statement's two integrals (pools.statements): what the pool held over the period and
each member's commitment over it, against closed forms computed another way."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import MovementKind, StockLot, StockMovement
from pools.models import MembershipRequest, PoolMember, RequestKind, RequestStatus
from pools.statements import commitment_kg_us, held_kg_us, month_bounds, pool_statement

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)
START, END = month_bounds(2025, 11)
HOUR = timedelta(hours=1)


@pytest.fixture
def pool_lot(pool_world: dict[str, Any]) -> StockLot:
    pool = pool_world["pool"]
    return StockLot.objects.create(
        material=pool.material, owner_id=pool.holder_id, zone=pool_world["zones"]["shared"]
    )


def test_what_was_held_is_integrated_exactly(
    pool_world: dict[str, Any], pool_lot: StockLot
) -> None:
    """Closed form: each movement before the period's end counts from its instant (or the
    period's start, if earlier) to the end."""
    pool = pool_world["pool"]

    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        moves=st.lists(
            st.tuples(
                st.integers(min_value=-48, max_value=31 * 24 + 48),
                st.integers(min_value=0, max_value=3_599_999_999),
                st.decimals(min_value=-500, max_value=500, places=3).filter(lambda q: q != 0),
            ),
            max_size=12,
        )
    )
    def check(moves: list[tuple[int, int, Decimal]]) -> None:
        with transaction.atomic():
            instants: list[tuple[datetime, Decimal]] = []
            for hours, micros, quantity in moves:
                at = START + hours * HOUR + micros * US
                row = StockMovement.objects.create(
                    lot=pool_lot, quantity_kg=quantity, kind=MovementKind.ADJUSTMENT
                )
                StockMovement.objects.filter(pk=row.pk).update(created_at=at)
                instants.append((at, quantity))
            integral, held = held_kg_us(pool, START, END)
            expected = sum(
                (q * ((END - max(at, START)) // US) for at, q in instants if at < END),
                Decimal(0),
            )
            assert integral == expected
            assert held == sum((q for at, q in instants if at < END), Decimal(0))
            transaction.set_rollback(True)

    check()


def test_a_commitment_counts_from_each_approval_to_the_next(pool_world: dict[str, Any]) -> None:
    """a1 joins before the month (6 t), changes to 3 t on the 11th, leaves on the 21st and
    joins again with 1 t on the 26th: 6 t x 10 days + 3 t x 10 days + 1 t x 5 days. a2
    (4 t) never approved before the month's end bears nothing; a member with no request on
    record counts from its joining."""
    pool = pool_world["pool"]
    a1, a2 = pool_world["enterprises"]["a1"], pool_world["enterprises"]["a2"]
    day = timedelta(days=1)
    approved = MembershipRequest.objects.filter(pool=pool, status=RequestStatus.APPROVED)
    approved.filter(enterprise=a1).update(decided_at=START - day)
    approved.filter(enterprise=a2).update(decided_at=END + day)
    for kind, kg, at in (
        (RequestKind.CHANGE, Decimal(3000), START + 10 * day),
        (RequestKind.LEAVE, None, START + 20 * day),
        (RequestKind.JOIN, Decimal(1000), START + 25 * day),
    ):
        MembershipRequest.objects.create(
            pool=pool,
            enterprise=a1,
            kind=kind,
            commitment_kg=kg,
            status=RequestStatus.APPROVED,
            decided_at=at,
        )
    weights = commitment_kg_us(pool, START, END)
    member = PoolMember.objects.get(pool=pool, enterprise=a1)
    assert weights == {member.pk: (6000 * 10 + 3000 * 10 + 1000 * 5) * (day // US)}

    # No request on record (rows written before requests were kept): from joined_at.
    MembershipRequest.objects.filter(pool=pool, enterprise=a2).delete()
    other = PoolMember.objects.get(pool=pool, enterprise=a2)
    PoolMember.objects.filter(pk=other.pk).update(joined_at=START + 15 * day)
    weights = commitment_kg_us(pool, START, END)
    assert weights[other.pk] == other.commitment_kg * 15 * (day // US)


def test_a_future_month_costs_nothing_yet(pool_world: dict[str, Any]) -> None:
    today = timezone.localdate()
    statement = pool_statement(pool=pool_world["pool"], year=today.year + 1, month=1)
    assert statement.total_cny == 0 and statement.lines == []
