"""A pool's monthly statement: its holding cost, split among its members by commitment.

Read-only computations (no service, no audit row). The basis is deliberately simple:

* **held** is what the pool holds at the month's end (the sum of the ledger movements of
  the pool's lots up to the first instant of the next month, or now for the current
  month): no average over the month;
* **cost** = held tonnes x ``holding_rate_per_t_month`` + ``storage_fee_per_month``,
  rounded half up to the fen (0.01 CNY);
* the cost is split among the members active at the month's end, by their commitments
  (their current commitments: a change approved later in the month counts for the whole
  month), in whole fen summing exactly to the cost (:func:`split_fen`, the rule of
  ``pools.split.split_grams``).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import StockMovement
from pools.models import Pool, PoolMember
from pools.split import GRAM, split_grams

FEN = Decimal("0.01")


def split_fen(total_fen: int, weights: dict[int, Decimal]) -> dict[int, int]:
    """``total_fen`` (whole fen, ≥ 0) split among the keys of ``weights`` in proportion to
    them: whole fen summing exactly to the total, the fen left by rounding given one at a
    time to the largest fractional part, ties to the lower key (``split_grams``'s rule, one
    fen standing for one gram)."""
    if total_fen < 0:
        raise ValueError(f"a cost is not negative: {total_fen}")
    shares = split_grams(Decimal(total_fen) * GRAM, weights)
    return {key: int(share / GRAM) for key, share in shares.items()}


@dataclass(frozen=True)
class StatementLine:
    member_id: int
    enterprise_id: int
    enterprise_name: str
    commitment_kg: Decimal
    cost_cny: Decimal


@dataclass(frozen=True)
class Statement:
    pool_id: int
    month: str  # YYYY-MM
    basis: str
    held_kg: Decimal
    holding_rate_per_t_month: Decimal
    storage_fee_per_month: Decimal
    total_cny: Decimal
    lines: list[StatementLine]


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next one, in the local time zone."""
    zone = timezone.get_current_timezone()
    first = date(year, month, 1)
    following = first + timedelta(days=calendar.monthrange(year, month)[1])
    return (
        timezone.make_aware(datetime.combine(first, time.min), zone),
        timezone.make_aware(datetime.combine(following, time.min), zone),
    )


def held_at(pool: Pool, when: datetime) -> Decimal:
    """What the pool held at ``when``: the ledger movements of its lots before then."""
    total = StockMovement.objects.filter(
        lot__owner_id=pool.holder_id, lot__zone__in=pool.zones.all(), created_at__lt=when
    ).aggregate(kg=Coalesce(Sum("quantity_kg"), Decimal(0)))["kg"]
    return Decimal(total)


def pool_statement(*, pool: Pool, year: int, month: int) -> Statement:
    """The pool's statement of ``year``-``month`` (see the module's docstring)."""
    _start, end = month_bounds(year, month)
    cutoff = min(end, timezone.now())
    held_kg = held_at(pool, cutoff)
    cost = held_kg / 1000 * pool.holding_rate_per_t_month + pool.storage_fee_per_month
    total = cost.quantize(FEN, rounding=ROUND_HALF_UP)
    members = list(
        PoolMember.objects.filter(pool=pool, joined_at__lt=end)
        .filter(Q(left_at__isnull=True) | Q(left_at__gte=end))
        .select_related("enterprise")
        .order_by("pk")
    )
    weights = {m.pk: m.commitment_kg for m in members}
    shares: dict[int, int] = {}
    if weights and sum(weights.values()) > 0:
        shares = split_fen(int(total / FEN), weights)
    lines = [
        StatementLine(
            member_id=m.pk,
            enterprise_id=m.enterprise_id,
            enterprise_name=str(m.enterprise),
            commitment_kg=m.commitment_kg,
            cost_cny=Decimal(shares.get(m.pk, 0)) * FEN,
        )
        for m in members
    ]
    return Statement(
        pool_id=pool.pk,
        month=f"{year:04d}-{month:02d}",
        basis="held at month end",
        held_kg=held_kg,
        holding_rate_per_t_month=pool.holding_rate_per_t_month,
        storage_fee_per_month=pool.storage_fee_per_month,
        total_cny=total,
        lines=lines,
    )
