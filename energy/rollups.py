"""The rollups of readings, kept on ingest and recomputed on demand.

* :func:`rollups_add`: the readings just inserted, added to ``MeterDay``, ``EnterpriseDay``
  and ``EnterpriseMonth`` in the caller's transaction with
  ``INSERT ... ON CONFLICT DO UPDATE SET q = q + excluded.q`` (SQLite and PostgreSQL alike),
  a few statements per batch whatever its size; rows are written in key order, so that
  concurrent batches lock shared rollup rows in the same order.
* :func:`rollups_reprice`: after a conversion factor changed, the kgce of the affected days
  and months recomputed from the quantities (one UPDATE per factor row, then the months).
* :func:`rollups_check`: the rollups recomputed from the raw readings and compared, for
  ``manage.py energy_rollup_check``.

kgce are products of a 3-decimal quantity and a 6-decimal factor, stored with 9 decimals:
the sums are exact on PostgreSQL, so incremental and recomputed figures agree to the digit.
(SQLite keeps decimals as floating point; its sums agree to the stored places.)
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import TruncMonth

from energy.factors import FactorTable, month_of, next_month, stored_convention
from energy.models import EnterpriseDay, EnterpriseMonth, Meter, MeterDay, Reading

ZERO = Decimal(0)
_CHUNK = 500


@dataclass(frozen=True)
class MeterFacts:
    enterprise_id: int
    park_id: int
    carrier: str


def _upsert(
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    add: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    replace: bool = False,
) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` adding (or with ``replace``, setting)
    the ``add`` columns, in chunks."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sets = ", ".join(
        f"{quote(c)} = excluded.{quote(c)}"
        if replace
        else f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}"
        for c in add
    )
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608 (our names; values are parameters)
    tail = f" ON CONFLICT ({', '.join(quote(c) for c in key)}) DO UPDATE SET {sets}"
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            params = [value for row in chunk for value in row]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)


def _day_rows(
    per_day: dict[tuple[int, int, str, date], Decimal], factors: FactorTable
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The EnterpriseDay and EnterpriseMonth rows of quantities per (enterprise, park,
    carrier, day), priced at each day's factors."""
    days: list[tuple[Any, ...]] = []
    months: dict[tuple[int, int, str, date], list[Decimal]] = defaultdict(
        lambda: [ZERO, ZERO, ZERO]
    )
    for (enterprise_id, park_id, carrier, day), quantity in sorted(per_day.items()):
        equivalent, equal_value = factors.kgce(carrier, day, quantity)
        days.append((enterprise_id, park_id, carrier, day, quantity, equivalent, equal_value))
        month = months[(enterprise_id, park_id, carrier, month_of(day))]
        month[0] += quantity
        month[1] += equivalent
        month[2] += equal_value
    month_rows = [(*key, *sums) for key, sums in sorted(months.items())]
    return days, month_rows


ROLLUP_COLUMNS = ("enterprise_id", "park_id", "carrier")
ROLLUP_SUMS = ("quantity", "kgce_equivalent", "kgce_equal_value")


def rollups_add(
    readings: Iterable[tuple[int, date, Decimal]],
    meters: dict[int, MeterFacts],
    factors: FactorTable,
) -> None:
    """Add readings (meter id, day, value) just inserted to every rollup, in the caller's
    transaction. Every day must have its factors (the ingest refuses a row without)."""
    meter_days: dict[tuple[int, date], list[Any]] = defaultdict(lambda: [ZERO, 0])
    for meter_id, day, value in readings:
        item = meter_days[(meter_id, day)]
        item[0] += value
        item[1] += 1
    if not meter_days:
        return
    per_day: dict[tuple[int, int, str, date], Decimal] = defaultdict(lambda: ZERO)
    for (meter_id, day), (quantity, _count) in meter_days.items():
        facts = meters[meter_id]
        per_day[(facts.enterprise_id, facts.park_id, facts.carrier, day)] += quantity
    adapt = connection.ops.adapt_datefield_value
    _upsert(
        MeterDay._meta.db_table,
        ("meter_id", "day", "quantity", "readings"),
        ("meter_id", "day"),
        ("quantity", "readings"),
        [(m, adapt(d), q, n) for (m, d), (q, n) in sorted(meter_days.items())],
    )
    day_rows, month_rows = _day_rows(per_day, factors)
    _upsert(
        EnterpriseDay._meta.db_table,
        (*ROLLUP_COLUMNS, "day", *ROLLUP_SUMS),
        ("enterprise_id", "carrier", "day"),
        ROLLUP_SUMS,
        [(*r[:3], adapt(r[3]), *r[4:]) for r in day_rows],
    )
    _upsert(
        EnterpriseMonth._meta.db_table,
        (*ROLLUP_COLUMNS, "month", *ROLLUP_SUMS),
        ("enterprise_id", "carrier", "month"),
        ROLLUP_SUMS,
        [(*r[:3], adapt(r[3]), *r[4:]) for r in month_rows],
    )


def rollups_reprice(*, carrier: str, start: date, end: date | None) -> None:
    """Recompute the kgce of ``carrier`` from ``start`` to ``end`` (None: on) at the
    factors now in the table: each day's quantity (the sum of its meters' days) times the
    factor of each factor row's stretch, one UPDATE per stretch, then the months touched
    summed again from their days. Call it inside the transaction that changed the factor."""
    factors = FactorTable.load([carrier])
    days = EnterpriseDay.objects.filter(carrier=carrier, day__gte=start)
    if end is not None:
        days = days.filter(day__lte=end)
    bounds = days.order_by().values_list("day", flat=True)
    first, last = bounds.order_by("day").first(), bounds.order_by("-day").first()
    if first is None or last is None:
        return
    # Each stretch of one factor row (per convention) gets one UPDATE.
    for convention, column in (
        ("equivalent", "kgce_equivalent"),
        ("equal_value", "kgce_equal_value"),
    ):
        for stretch_start, stretch_end, value in _stretches(
            factors, carrier, convention, first, last
        ):
            days.filter(day__gte=stretch_start, day__lte=stretch_end).update(
                **{column: F("quantity") * Value(value)}
            )
    months = (
        EnterpriseDay.objects.filter(carrier=carrier, day__gte=month_of(first))
        .filter(day__lt=next_month(last))
        .annotate(m=TruncMonth("day"))
        .values("enterprise_id", "park_id", "m")
        .annotate(q=Sum("quantity"), eq=Sum("kgce_equivalent"), ev=Sum("kgce_equal_value"))
        .order_by("enterprise_id", "m")
    )
    adapt = connection.ops.adapt_datefield_value
    rows = []
    # A month's days outside [first, last] are summed too: the month is recomputed whole.
    for row in months:
        month = row["m"].date() if hasattr(row["m"], "date") else row["m"]
        rows.append(
            (
                row["enterprise_id"],
                row["park_id"],
                carrier,
                adapt(month),
                row["q"],
                row["eq"],
                row["ev"],
            )
        )
    _upsert(
        EnterpriseMonth._meta.db_table,
        (*ROLLUP_COLUMNS, "month", *ROLLUP_SUMS),
        ("enterprise_id", "carrier", "month"),
        ROLLUP_SUMS,
        rows,
        replace=True,
    )


def _stretches(
    factors: FactorTable, carrier: str, convention: str, first: date, last: date
) -> list[tuple[date, date, Decimal]]:
    """The stretches of days from ``first`` to ``last`` with one factor each."""
    key = (carrier, stored_convention(carrier, convention))
    out = []
    for valid_from, valid_until, value in factors._rows.get(key, []):
        lo = max(valid_from, first)
        hi = last if valid_until is None else min(valid_until, last)
        if lo <= hi:
            out.append((lo, hi, value))
    return out


# --- The check ----------------------------------------------------------------------------


@dataclass
class CheckResult:
    meter_days: int = 0
    enterprise_days: int = 0
    enterprise_months: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def _same(a: Any, b: Any, places: int) -> bool:
    if connection.vendor == "postgresql":
        return a == b
    # SQLite keeps decimals as floats: equal to the stored places.
    quantum = Decimal(1).scaleb(-places)
    return abs(Decimal(a) - Decimal(b)) <= max(quantum * 10, abs(Decimal(a)) * Decimal("1e-12"))


def rollups_check(*, limit: int = 20) -> CheckResult:
    """Recompute every rollup from the raw readings (the meters' days by one GROUP BY of the
    readings, the enterprises' days and months from those at the factors in the table) and
    compare with the stored rollups. At most ``limit`` mismatches are described."""
    result = CheckResult()

    def mismatch(text: str) -> None:
        if len(result.mismatches) < limit:
            result.mismatches.append(text)
        elif len(result.mismatches) == limit:
            result.mismatches.append("... more mismatches not shown")

    raw = {
        (r["meter_id"], _as_date(r["day"])): (r["q"], r["n"])
        for r in Reading.objects.order_by()
        .values("meter_id", "day")
        .annotate(q=Sum("value"), n=Count("id"))
    }
    stored = {
        (r[0], _as_date(r[1])): (r[2], r[3])
        for r in MeterDay.objects.values_list("meter_id", "day", "quantity", "readings")
    }
    result.meter_days = len(raw)
    for meter_key in sorted(raw.keys() | stored.keys()):
        raw_q, raw_n = raw.get(meter_key, (ZERO, 0))
        got_q, got_n = stored.get(meter_key, (ZERO, 0))
        if raw_n != got_n or not _same(raw_q, got_q, 3):
            mismatch(
                f"meter {meter_key[0]} day {meter_key[1]}: readings sum {raw_q} ({raw_n}), "
                f"rollup {got_q} ({got_n})"
            )
    facts = {
        m["id"]: MeterFacts(m["enterprise_id"], m["enterprise__park_id"], m["carrier"])
        for m in Meter.objects.values("id", "enterprise_id", "enterprise__park_id", "carrier")
    }
    per_day: dict[tuple[int, int, str, date], Decimal] = defaultdict(lambda: ZERO)
    for (meter_id, day), (quantity, _n) in raw.items():
        f = facts[meter_id]
        per_day[(f.enterprise_id, f.park_id, f.carrier, day)] += Decimal(quantity)
    factors = FactorTable.load()
    day_rows, month_rows = _day_rows(per_day, factors)
    result.enterprise_days, result.enterprise_months = len(day_rows), len(month_rows)
    models: tuple[tuple[Any, str, list[tuple[Any, ...]]], ...] = (
        (EnterpriseDay, "day", day_rows),
        (EnterpriseMonth, "month", month_rows),
    )
    for model, period, rows in models:
        want_rows: dict[tuple[Any, ...], tuple[Any, ...]] = {(r[0], r[2], r[3]): r for r in rows}
        got_rows: dict[tuple[Any, ...], tuple[Any, ...]] = {
            (r[0], r[2], _as_date(r[3])): tuple(r)
            for r in model.objects.values_list(
                "enterprise_id", "park_id", "carrier", period, *ROLLUP_SUMS
            )
        }
        for key in sorted(want_rows.keys() | got_rows.keys()):
            want: tuple[Any, ...] | None = want_rows.get(key)
            got = got_rows.get(key)
            if want is None or got is None:
                mismatch(f"{model.__name__} {key}: {'missing' if got is None else 'extra'}")
                continue
            for name, a, b, places in zip(
                ("park", *ROLLUP_SUMS),
                want[1:2] + want[4:],
                got[1:2] + got[4:],
                (0, 3, 9, 9),
                strict=True,
            ):
                if name == "park":
                    if a != b:
                        mismatch(f"{model.__name__} {key}: park {b}, expected {a}")
                elif not _same(a, b, places):
                    mismatch(f"{model.__name__} {key}: {name} {b}, expected {a}")
    return result
