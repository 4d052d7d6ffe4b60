"""Every read of the energy app, scoped by the caller's Scope (``energy.rules``, one rule).

Rows: meters, readings, output values, factors, anomalies. Figures: the park's series by
day or month and the enterprises' breakdown, read from the rollups only (never the raw
readings), a few queries each whatever the number of readings. Every figure names the
convention it is in; tce are kgce / 1000.

Periods are local days (settings.TIME_ZONE; a reading counts to the day its interval ends
in, ``energy.factors.reading_day``) and calendar months. Year-on-year compares a period with
the same period a year before (None when that period has no use recorded, or for 29
February). Intensity is tce per 10⁴ yuan of output value, by month only: output values are
monthly.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from access.scope import Scope
from common.exceptions import DomainError
from energy.factors import month_of, next_month
from energy.models import (
    Convention,
    ConversionFactor,
    EnergyAnomaly,
    EnterpriseDay,
    EnterpriseMonth,
    Meter,
    OutputValue,
    Reading,
)
from energy.rules import enterprises_visible_q, enterprises_writable_q, may_read_park
from parks.models import Enterprise

Granularity = Literal["day", "month"]
KGCE_PER_TCE = Decimal(1000)
YUAN_PER_10K = Decimal(10000)
TCE_PLACES = Decimal("0.000001")  # a gram of standard coal
RATIO_PLACES = Decimal("0.0001")
PCT_PLACES = Decimal("0.01")
MAX_DAYS = 3 * 366
MAX_MONTHS = 10 * 12


class ParkNotVisible(Http404):
    """A park whose figures the caller does not read (another's, or any park for an
    enterprise's staff): answered as not found, like any object outside the scope."""


# --- Rows ---------------------------------------------------------------------------------


def meter_list(*, scope: Scope) -> QuerySet[Meter]:
    return Meter.objects.filter(enterprises_visible_q(scope)).select_related("enterprise")


def meters_writable(*, scope: Scope) -> QuerySet[Meter]:
    return Meter.objects.filter(enterprises_writable_q(scope)).select_related("enterprise")


def reading_list(*, scope: Scope) -> QuerySet[Reading]:
    return Reading.objects.filter(enterprises_visible_q(scope, "meter__enterprise"))


def output_value_list(*, scope: Scope) -> QuerySet[OutputValue]:
    return OutputValue.objects.filter(enterprises_visible_q(scope)).select_related("enterprise")


def output_values_writable(*, scope: Scope) -> QuerySet[OutputValue]:
    return OutputValue.objects.filter(enterprises_writable_q(scope)).select_related("enterprise")


def factor_list() -> QuerySet[ConversionFactor]:
    """The conversion factors: reference data every user reads."""
    return ConversionFactor.objects.all()


def ingest_batch_list(*, scope: Scope) -> QuerySet[Any]:
    from energy.models import IngestBatch

    if scope.is_superuser:
        return IngestBatch.objects.all()
    if scope.enterprise is not None:
        return IngestBatch.objects.filter(enterprise_id=scope.enterprise.pk)
    return IngestBatch.objects.none()


def _check_park(scope: Scope, park_id: int) -> None:
    if not may_read_park(scope, park_id):
        raise ParkNotVisible("No such park among yours.")


# --- Figures ------------------------------------------------------------------------------


def _tce(kgce: Decimal | None) -> Decimal:
    return (Decimal(kgce or 0) / KGCE_PER_TCE).quantize(TCE_PLACES)


def _ratio(tce: Decimal, output_10k: Decimal | None) -> Decimal | None:
    if not output_10k:
        return None
    return (tce / output_10k).quantize(RATIO_PLACES)


def _yoy(now: Decimal, before: Decimal | None) -> Decimal | None:
    if not before:
        return None
    return ((now - before) * 100 / before).quantize(PCT_PLACES)


def _year_before(day: date) -> date | None:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return None


def _same_days_a_year_before(first: date, last: date) -> tuple[date, date]:
    """The days a year before ``first`` to ``last``, what their year-on-year change compares
    with (29 February: 365 days before)."""
    return (
        _year_before(first) or first - timedelta(days=365),
        _year_before(last) or last - timedelta(days=365),
    )


def _kgce_column(convention: str) -> str:
    if convention not in Convention.values:
        raise DomainError("Unknown convention.", field="convention")
    return f"kgce_{convention}"


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class EnergyPeriod:
    """One day or month of a park's (or an enterprise's) use."""

    start: date
    tce: Decimal
    tce_by_carrier: dict[str, Decimal]
    output_10k_yuan: Decimal | None  # months only
    intensity: Decimal | None  # tce per 10⁴ yuan; months with an output value only
    yoy_pct: Decimal | None  # change of tce against the same period a year before


@dataclass(frozen=True)
class EnergySeries:
    park_id: int
    convention: str
    granularity: str
    start: date
    end: date
    periods: list[EnergyPeriod]
    total_tce: Decimal
    tce_by_carrier: dict[str, Decimal] = field(default_factory=dict)
    output_10k_yuan: Decimal | None = None
    intensity: Decimal | None = None
    yoy_pct: Decimal | None = None


def _period_bounds(start: date, end: date, granularity: str) -> tuple[date, date, list[date]]:
    if end < start:
        raise DomainError("The end is before the start.", field="end")
    if granularity == "day":
        if (end - start).days + 1 > MAX_DAYS:
            raise DomainError(f"At most {MAX_DAYS} days.", field="end")
        return start, end, [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if granularity == "month":
        first, months = month_of(start), []
        month = first
        while month <= end:
            months.append(month)
            month = next_month(month)
        if len(months) > MAX_MONTHS:
            raise DomainError(f"At most {MAX_MONTHS} months.", field="end")
        return first, next_month(months[-1]) - timedelta(days=1), months
    raise DomainError("day or month.", field="granularity")


def _use(
    *,
    park_id: int,
    granularity: str,
    first: date,
    last: date,
    column: str,
    enterprise_id: int | None = None,
) -> dict[date, dict[str, Decimal]]:
    """kgce per period and carrier from the rollups: one query."""
    model: Any = EnterpriseDay if granularity == "day" else EnterpriseMonth
    period = "day" if granularity == "day" else "month"
    rows = model.objects.filter(
        park_id=park_id, **{f"{period}__gte": first, f"{period}__lte": last}
    )
    if enterprise_id is not None:
        rows = rows.filter(enterprise_id=enterprise_id)
    out: dict[date, dict[str, Decimal]] = defaultdict(dict)
    for row in rows.order_by().values(period, "carrier").annotate(k=Sum(column)):
        out[_as_date(row[period])][row["carrier"]] = Decimal(row["k"] or 0)
    return out


def _outputs(*, park_id: int, first: date, last: date) -> dict[date, Decimal]:
    rows = (
        OutputValue.objects.filter(enterprise__park_id=park_id, month__gte=first, month__lte=last)
        .order_by()
        .values("month")
        .annotate(v=Sum("value_yuan"))
    )
    return {_as_date(r["month"]): Decimal(r["v"] or 0) / YUAN_PER_10K for r in rows}


def park_energy_series(
    *,
    scope: Scope,
    park_id: int,
    start: date,
    end: date,
    granularity: Granularity = "month",
    convention: str = Convention.EQUIVALENT,
) -> EnergySeries:
    """The park's energy use per day or month from ``start`` to ``end`` (months: the whole
    months they touch): tce in total and by carrier, output value and intensity (months),
    year-on-year change. Park operators and regulators of the park and superusers only
    (``ParkNotVisible``, a 404, to anyone else, an enterprise's staff included). Three
    queries: this range's rollups, the year before's, the output values.

    Year on year compares like with like: a period not begun yet (after today) has none, and
    the month under way is compared with the same days of its month a year before (one
    more query, when the range holds the current month), not with that whole month.
    """
    _check_park(scope, park_id)
    column = _kgce_column(convention)
    first, last, periods = _period_bounds(start, end, granularity)
    today = timezone.localdate()
    use = _use(park_id=park_id, granularity=granularity, first=first, last=last, column=column)
    prior_first, prior_last = _same_days_a_year_before(first, last)
    prior = _use(
        park_id=park_id, granularity=granularity, first=prior_first, last=prior_last, column=column
    )
    this_month = month_of(today)
    if granularity == "month" and first <= this_month <= last:
        so_far_first, so_far_last = _same_days_a_year_before(this_month, today)
        so_far = _use(
            park_id=park_id, granularity="day", first=so_far_first, last=so_far_last, column=column
        )
        before_month = _year_before(this_month)
        if before_month is not None:
            by_carrier: dict[str, Decimal] = defaultdict(Decimal)
            for day in so_far.values():
                for carrier, kgce in day.items():
                    by_carrier[carrier] += kgce
            prior[before_month] = by_carrier
    outputs = _outputs(park_id=park_id, first=first, last=last) if granularity == "month" else {}
    out: list[EnergyPeriod] = []
    by_carrier_total: dict[str, Decimal] = defaultdict(Decimal)
    total_kgce = Decimal(0)
    prior_total = Decimal(0)
    for period in periods:
        carriers = use.get(period, {})
        kgce = sum(carriers.values(), Decimal(0))
        total_kgce += kgce
        for carrier, value in carriers.items():
            by_carrier_total[carrier] += value
        before_day = _year_before(period) if period <= today else None
        before = sum(prior.get(before_day, {}).values(), Decimal(0)) if before_day else None
        prior_total += before or 0
        tce = _tce(kgce)
        output = outputs.get(period) if granularity == "month" else None
        out.append(
            EnergyPeriod(
                start=period,
                tce=tce,
                tce_by_carrier={c: _tce(v) for c, v in sorted(carriers.items())},
                output_10k_yuan=output.quantize(RATIO_PLACES) if output is not None else None,
                intensity=_ratio(tce, output),
                yoy_pct=_yoy(tce, _tce(before) if before else None),
            )
        )
    total = _tce(total_kgce)
    output_total = sum(outputs.values(), Decimal(0)) if outputs else None
    return EnergySeries(
        park_id=park_id,
        convention=convention,
        granularity=granularity,
        start=first,
        end=last,
        periods=out,
        total_tce=total,
        tce_by_carrier={c: _tce(v) for c, v in sorted(by_carrier_total.items())},
        output_10k_yuan=output_total.quantize(RATIO_PLACES) if output_total is not None else None,
        intensity=_ratio(total, output_total),
        yoy_pct=_yoy(total, _tce(prior_total) if prior_total else None),
    )


@dataclass(frozen=True)
class EnterpriseEnergy:
    enterprise_id: int
    name_zh: str
    name_en: str
    convention: str
    tce: Decimal
    tce_by_carrier: dict[str, Decimal]
    output_10k_yuan: Decimal | None
    intensity: Decimal | None
    yoy_pct: Decimal | None


def enterprise_energy_breakdown(
    *,
    scope: Scope,
    park_id: int,
    start: date,
    end: date,
    convention: str = Convention.EQUIVALENT,
) -> list[EnterpriseEnergy]:
    """Each enterprise of the park with energy use or output from ``start`` to ``end``
    (days, inclusive): tce in total and by carrier, the output value of the months whose
    first day falls in the range, intensity, year-on-year change against the same days a
    year before (those up to today, for a range that runs past it; none for a range not
    begun). Largest use first. Park staff and superusers only, like
    :func:`park_energy_series`. Four queries."""
    _check_park(scope, park_id)
    column = _kgce_column(convention)
    if end < start:
        raise DomainError("The end is before the start.", field="end")
    if (end - start).days + 1 > MAX_DAYS:
        raise DomainError(f"At most {MAX_DAYS} days.", field="end")

    def per_enterprise(first: date, last: date) -> dict[int, dict[str, Decimal]]:
        out: dict[int, dict[str, Decimal]] = defaultdict(dict)
        rows = (
            EnterpriseDay.objects.filter(park_id=park_id, day__gte=first, day__lte=last)
            .order_by()
            .values("enterprise_id", "carrier")
            .annotate(k=Sum(column))
        )
        for row in rows:
            out[row["enterprise_id"]][row["carrier"]] = Decimal(row["k"] or 0)
        return out

    use = per_enterprise(start, end)
    # The days that have passed only: a range that runs past today is compared with the
    # same days a year before up to today's, not with the whole range.
    today = timezone.localdate()
    prior = (
        per_enterprise(*_same_days_a_year_before(start, min(end, today))) if start <= today else {}
    )
    outputs = {
        r["enterprise_id"]: Decimal(r["v"] or 0) / YUAN_PER_10K
        for r in OutputValue.objects.filter(
            enterprise__park_id=park_id, month__gte=start, month__lte=end
        )
        .order_by()
        .values("enterprise_id")
        .annotate(v=Sum("value_yuan"))
    }
    ids = set(use) | set(outputs)
    names = {
        e["id"]: e
        for e in Enterprise.objects.filter(pk__in=ids, park_id=park_id).values(
            "id", "name_zh", "name_en"
        )
    }
    out = []
    for enterprise_id in ids:
        if enterprise_id not in names:
            continue
        carriers = use.get(enterprise_id, {})
        tce = _tce(sum(carriers.values(), Decimal(0)))
        before = prior.get(enterprise_id)
        output = outputs.get(enterprise_id)
        out.append(
            EnterpriseEnergy(
                enterprise_id=enterprise_id,
                name_zh=names[enterprise_id]["name_zh"],
                name_en=names[enterprise_id]["name_en"],
                convention=convention,
                tce=tce,
                tce_by_carrier={c: _tce(v) for c, v in sorted(carriers.items())},
                output_10k_yuan=output.quantize(RATIO_PLACES) if output is not None else None,
                intensity=_ratio(tce, output),
                yoy_pct=_yoy(tce, _tce(sum(before.values(), Decimal(0))) if before else None),
            )
        )
    out.sort(key=lambda e: (-e.tce, e.enterprise_id))
    return out


def energy_anomalies(
    *,
    scope: Scope,
    park_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    kind: str | None = None,
) -> QuerySet[EnergyAnomaly]:
    """The park's anomaly flags, newest first, with their meters and enterprises. Park
    staff and superusers only."""
    _check_park(scope, park_id)
    qs = EnergyAnomaly.objects.filter(meter__enterprise__park_id=park_id).select_related(
        "meter", "meter__enterprise"
    )
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    if kind is not None:
        qs = qs.filter(kind=kind)
    return qs.order_by("-at", "-id")


def meters_silent(
    *, scope: Scope, park_id: int, hours: float | None = None, now: datetime | None = None
) -> QuerySet[Meter]:
    """The park's active meters with no reading for more than ``hours`` (the setting
    ENERGY_SILENT_HOURS), longest silent first. Park staff and superusers only."""
    from django.conf import settings

    _check_park(scope, park_id)
    hours = float(settings.ENERGY_SILENT_HOURS if hours is None else hours)
    since = (now or timezone.now()) - timedelta(hours=hours)
    return (
        Meter.objects.filter(enterprise__park_id=park_id, is_active=True)
        .filter(
            Q(last_reading_at__lt=since) | Q(last_reading_at__isnull=True, created_at__lt=since)
        )
        .select_related("enterprise")
        .order_by("last_reading_at", "id")
    )


@dataclass(frozen=True)
class ParkEnergyTotal:
    park_id: int
    convention: str
    tce: Decimal
    output_10k_yuan: Decimal | None
    intensity: Decimal | None  # tce per 10⁴ yuan of the months' output value


def parks_energy_totals(
    *,
    scope: Scope,
    park_ids: list[int],
    start: date,
    end: date,
    convention: str = Convention.EQUIVALENT,
) -> dict[int, ParkEnergyTotal]:
    """Several parks side by side (the reports' comparison): each park's tce from ``start``
    to ``end`` (days, inclusive, from the daily rollups), the output value of the months
    whose first day falls in the range, and the intensity. Every park must be the caller's
    (``ParkNotVisible`` otherwise). Two queries whatever the number of parks."""
    for park_id in park_ids:
        _check_park(scope, park_id)
    column = _kgce_column(convention)
    if end < start:
        raise DomainError("The end is before the start.", field="end")
    if (end - start).days + 1 > MAX_DAYS:
        raise DomainError(f"At most {MAX_DAYS} days.", field="end")
    use = dict(
        EnterpriseDay.objects.filter(park_id__in=park_ids, day__gte=start, day__lte=end)
        .order_by()
        .values("park_id")
        .annotate(k=Sum(column))
        .values_list("park_id", "k")
    )
    outputs = {
        park_id: Decimal(value or 0) / YUAN_PER_10K
        for park_id, value in OutputValue.objects.filter(
            enterprise__park_id__in=park_ids, month__gte=start, month__lte=end
        )
        .order_by()
        .values("enterprise__park_id")
        .annotate(v=Sum("value_yuan"))
        .values_list("enterprise__park_id", "v")
    }
    out = {}
    for park_id in park_ids:
        tce = _tce(use.get(park_id))
        output = outputs.get(park_id)
        out[park_id] = ParkEnergyTotal(
            park_id=park_id,
            convention=convention,
            tce=tce,
            output_10k_yuan=output.quantize(RATIO_PLACES) if output is not None else None,
            intensity=_ratio(tce, output),
        )
    return out
