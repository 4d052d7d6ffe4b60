"""A pool's monthly statement: what holding its stock cost over the month, split among its
members by what they committed over the month.

Read-only computations (no service, no audit row), exact to the microsecond and the fen:

* **the period** is the month, from its first instant to the next month's, in the local
  time zone (Asia/Shanghai); for the current month, from its first instant to now (the
  statement "to date");
* **tonne-months** = what the pool held, integrated over the period, divided by the
  month's length: what it held at the period's start (its lots' ledger movements before
  then), then each movement from its instant on. 1 t held for the whole month is one
  tonne-month; 1 t from the 16th of a 30-day month, half of one;
* **cost** = tonne-months x ``holding_rate_per_t_month`` + ``storage_fee_per_month`` x
  (the period's share of the month), rounded half up to the fen (0.01 CNY);
* it is split among the members by **commitment x time** within the period: a member's
  commitment changes at the instant the operator approved its request (join, change or
  leave; ``MembershipRequest`` keeps each, with who and when), so that a member who joined
  on the 16th of a 30-day month bears half of what the same commitment bears for the whole
  month; in whole fen summing exactly to the cost (:func:`split_fen`, the rule of
  ``pools.split.split_grams``). Each line shows the member's average commitment over the
  period.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import StockMovement
from pools.models import MembershipRequest, Pool, PoolMember, RequestKind, RequestStatus
from pools.split import GRAM, split_grams

FEN = Decimal("0.01")
KG = Decimal("0.001")
BASIS = "tonne-months held; commitment x time"


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
    commitment_kg: Decimal  # the average over the period
    cost_cny: Decimal


@dataclass(frozen=True)
class Statement:
    pool_id: int
    month: str  # YYYY-MM
    basis: str
    period_start: datetime
    period_end: datetime
    tonne_months: Decimal
    average_held_kg: Decimal
    held_at_end_kg: Decimal
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


def _us(delta: timedelta) -> int:
    """A duration in whole microseconds (exact: what the database stores)."""
    return delta // timedelta(microseconds=1)


def _pool_movements(pool: Pool) -> "QuerySet[StockMovement]":
    return StockMovement.objects.filter(
        lot__owner_id=pool.holder_id, lot__zone__in=pool.zones.all()
    ).order_by()


def held_at(pool: Pool, when: datetime) -> Decimal:
    """What the pool held at ``when``: the ledger movements of its lots before then, to the
    gram (SQLite sums decimals as floats: a sum of thousands can come back as 12.3000000001,
    which the integral over a month of microseconds would magnify)."""
    total = (
        _pool_movements(pool)
        .filter(created_at__lt=when)
        .aggregate(kg=Coalesce(Sum("quantity_kg"), Decimal(0)))["kg"]
    )
    return Decimal(total).quantize(GRAM)


def held_kg_us(pool: Pool, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
    """What the pool held integrated over [start, end), in kg x microseconds, and what it
    held at ``end`` (two queries: the balance at the start, the movements within)."""
    held = held_at(pool, start)
    integral = Decimal(0)
    at = start
    movements = (
        _pool_movements(pool)
        .filter(created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "pk")
        .values_list("created_at", "quantity_kg")
    )
    for moved_at, quantity in movements:
        integral += held * _us(moved_at - at)
        held += quantity
        at = moved_at
    integral += held * _us(end - at)
    return integral, held


def commitment_kg_us(pool: Pool, start: datetime, end: datetime) -> dict[int, Decimal]:
    """Each member's commitment integrated over [start, end), in kg x microseconds, from
    the approved requests (a join or a change sets the commitment from its approval, a
    leave ends it); members with none over the period are left out. One query for the
    requests, one for the members."""
    members = {
        m.enterprise_id: m
        for m in PoolMember.objects.filter(pool=pool).only(
            "id", "enterprise_id", "commitment_kg", "joined_at", "left_at"
        )
    }
    steps: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    decided = (
        MembershipRequest.objects.filter(
            pool=pool, status=RequestStatus.APPROVED, decided_at__lt=end
        )
        .order_by("decided_at", "pk")
        .values_list("enterprise_id", "kind", "commitment_kg", "decided_at")
    )
    for enterprise_id, kind, commitment, decided_at in decided:
        assert decided_at is not None  # filtered: decided before the period's end
        kg = commitment if kind != RequestKind.LEAVE and commitment is not None else Decimal(0)
        steps[enterprise_id].append((decided_at, kg))
    weights: dict[int, Decimal] = {}
    for enterprise_id, member in members.items():
        timeline = steps.get(enterprise_id)
        if not timeline:  # a member with no request on record: as the row says
            timeline = [(member.joined_at, member.commitment_kg)]
            if member.left_at is not None:
                timeline.append((member.left_at, Decimal(0)))
        total = Decimal(0)
        for (since, kg), (until, _next) in zip(
            timeline, [*timeline[1:], (end, Decimal(0))], strict=True
        ):
            overlap = min(until, end) - max(since, start)
            if overlap > timedelta(0):
                total += kg * _us(overlap)
        if total > 0:
            weights[member.pk] = total
    return weights


def pool_statement(*, pool: Pool, year: int, month: int) -> Statement:
    """The pool's statement of ``year``-``month`` (see the module's docstring)."""
    start, month_end = month_bounds(year, month)
    end = max(start, min(month_end, timezone.now()))
    month_us = _us(month_end - start)
    period_us = _us(end - start)
    held_us, held_at_end = held_kg_us(pool, start, end)
    tonne_months = held_us / 1000 / month_us
    cost = (
        tonne_months * pool.holding_rate_per_t_month
        + pool.storage_fee_per_month * period_us / month_us
    )
    total = cost.quantize(FEN, rounding=ROUND_HALF_UP)
    weights = commitment_kg_us(pool, start, end)
    shares = split_fen(int(total / FEN), weights) if weights else {}
    members = PoolMember.objects.filter(pk__in=weights).select_related("enterprise").order_by("pk")
    lines = [
        StatementLine(
            member_id=m.pk,
            enterprise_id=m.enterprise_id,
            enterprise_name=str(m.enterprise),
            commitment_kg=(weights[m.pk] / period_us).quantize(KG, rounding=ROUND_HALF_UP),
            cost_cny=Decimal(shares.get(m.pk, 0)) * FEN,
        )
        for m in members
    ]
    return Statement(
        pool_id=pool.pk,
        month=f"{year:04d}-{month:02d}",
        basis=BASIS,
        period_start=start,
        period_end=end,
        tonne_months=tonne_months.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
        average_held_kg=(
            (held_us / period_us).quantize(KG, rounding=ROUND_HALF_UP) if period_us else Decimal(0)
        ),
        held_at_end_kg=held_at_end.quantize(KG),
        holding_rate_per_t_month=pool.holding_rate_per_t_month,
        storage_fee_per_month=pool.storage_fee_per_month,
        total_cny=total,
        lines=lines,
    )
