"""The figures of the reports, each read through the owning app's scoped selector (the
caller's Scope first, then the park) and in a constant number of queries whatever the size
of the park: nothing here decides who sees what beyond :mod:`reports.rules`.

The functions are the ``rows`` of the sections declared in ``reports/pages.py``: each
takes a :class:`~reports.sections.ParkQuery` (or a ``ComparisonQuery``) and returns plain
dicts keyed by the section's columns.

Extension points (issue 13): the energy and safety sections read, in the same way,
``energy.selectors.park_energy_series`` / ``enterprise_energy_breakdown`` /
``energy_anomalies`` and ``safety.selectors.park_safety_summary`` /
``park_hazardous_stock`` / ``park_misplaced_lots``: a function here flattens their result
into rows, and a declaration in ``reports/pages.py`` shows it.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from access.scope import Scope
from energy.models import AnomalyKind, Carrier
from energy.selectors import (
    energy_anomalies,
    enterprise_energy_breakdown,
    meters_silent,
    park_energy_series,
    parks_energy_totals,
)
from inventory.hazards import HazardClass
from inventory.selectors import lot_list, movement_list
from orders.models import OrderStatus
from orders.selectors import order_list
from parks.models import Enterprise, EnterpriseKind, Park
from pools.selectors import pool_list
from reports.rules import may_report_on
from reports.sections import ComparisonQuery, ParkQuery
from safety.models import HazardGrade, IncidentGrade
from safety.selectors import park_hazardous_stock as safety_hazardous_stock
from safety.selectors import park_misplaced_lots as safety_misplaced_lots
from safety.selectors import park_safety_summary, parks_safety_totals

KG: "DecimalField[Any, Any]" = DecimalField(max_digits=20, decimal_places=3)
ZERO = Decimal(0)
TONNE = Decimal(1000)
T3 = Decimal("0.001")
PCT = Decimal("0.1")
#: The orders that did not go ahead are not trade.
NOT_TRADED = (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
CLASS_LABELS = dict(HazardClass.choices)
CARRIER_LABELS = dict(Carrier.choices)
ANOMALY_LABELS = dict(AnomalyKind.choices)
GRADE_LABELS = dict(HazardGrade.choices)
INCIDENT_LABELS = dict(IncidentGrade.choices)
#: The anomalies listed on a page, newest first (a table, not an archive: the admin has all).
MAX_ANOMALIES = 200


def _require(scope: Scope, park_id: int) -> None:
    # The views ask the rule first (404 for a park outside the caller's); a selector
    # called from anywhere else is refused rather than read around it.
    if not may_report_on(scope, park_id=park_id):
        raise PermissionDenied


def _tonnes(kg: Decimal | None) -> Decimal:
    return (Decimal(kg or 0) / TONNE).quantize(T3)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(PCT)


def local_name(zh: str, en: str) -> str:
    """A name in the language of the request: the English one where there is one."""
    return en if get_language() == "en" and en else zh


def park_name(park: Park) -> str:
    return local_name(park.name_zh, park.name_en)


def _hazardous(prefix: str = "") -> Q:
    """Materials with a dangerous-goods class (through ``prefix`` to the material)."""
    return ~Q(**{f"{prefix}material__primary_class": ""})


# --- One park ---------------------------------------------------------------------------------


def park_enterprises(query: ParkQuery) -> list[dict[str, Any]]:
    """The park's enterprises (joint stockpiles' holders left out), each with the
    hazardous stock it holds in the park: now, or for a past period at its end (the
    ledger up to then). Two queries (three for a past period)."""
    _require(query.scope, query.park.pk)
    held = _hazardous_held_by_owner(query)
    rows = []
    enterprises = Enterprise.objects.filter(
        park_id=query.park.pk, kind=EnterpriseKind.COMPANY
    ).order_by("name_zh")
    for enterprise in enterprises.only("pk", "name_zh", "name_en", "uscc", "industry", "is_active"):
        kg, lots = held.get(enterprise.pk, (ZERO, 0))
        rows.append(
            {
                "enterprise": local_name(enterprise.name_zh, enterprise.name_en),
                "uscc": enterprise.uscc,
                "industry": enterprise.industry,
                "active": enterprise.is_active,
                "hazardous_lots": lots,
                "hazardous_t": _tonnes(kg),
            }
        )
    return rows


def _hazardous_held_by_owner(query: ParkQuery) -> dict[int, tuple[Decimal, int]]:
    """Kilograms and lots of hazardous stock each owner holds in the park's warehouses."""
    park_id = query.park.pk
    if query.period.is_current:
        return {
            row["owner_id"]: (Decimal(row["kg"]), row["lots"])
            for row in lot_list(scope=query.scope)
            .filter(_hazardous(), zone__warehouse__park_id=park_id, on_hand_kg__gt=0)
            .order_by()
            .values("owner_id")
            .annotate(kg=Sum("on_hand_kg"), lots=Count("pk"))
        }
    totals: dict[int, list[Any]] = defaultdict(lambda: [ZERO, 0])
    for row in (
        movement_list(scope=query.scope)
        .filter(
            _hazardous("lot__"),
            lot__zone__warehouse__park_id=park_id,
            created_at__lt=query.period.as_of,
        )
        .order_by()
        .values("lot_id", "lot__owner_id")
        .annotate(kg=Sum("quantity_kg"))
    ):
        if row["kg"] > 0:
            entry = totals[row["lot__owner_id"]]
            entry[0] += Decimal(row["kg"])
            entry[1] += 1
    return {owner: (kg, lots) for owner, (kg, lots) in totals.items()}


def park_pool_coverage(query: ParkQuery) -> list[dict[str, Any]]:
    """The park's active joint stockpiles: target, held at the period's end (now for a
    period that lasts), and their ratio. One query for the current period; for a past one
    three (the pools, their zones, the ledger up to the period's end)."""
    _require(query.scope, query.park.pk)
    pools = list(
        pool_list(scope=query.scope)
        .filter(park_id=query.park.pk, is_active=True)
        .prefetch_related(None)
    )
    held = {pool.pk: Decimal(pool.held_kg) for pool in pools}  # type: ignore[attr-defined]
    if not query.period.is_current and pools:
        held = _pools_held_at(query, pools)
    return [
        {
            "pool": pool.code,
            "name": pool.name,
            "material": local_name(pool.material.name_zh, pool.material.name_en),
            "members": pool.member_count,  # type: ignore[attr-defined]
            "target_t": _tonnes(pool.target_kg),
            "held_t": _tonnes(held[pool.pk]),
            "coverage_pct": _percent(held[pool.pk], pool.target_kg),
        }
        for pool in pools
    ]


def _pools_held_at(query: ParkQuery, pools: list[Any]) -> dict[int, Decimal]:
    """What each pool held at the period's end: its holder's ledger movements in the
    pool's zones before then (the rule of ``pools.statements.held_at``, for all the pools
    of the park at once)."""
    zones: dict[int, set[int]] = defaultdict(set)
    for pool_id, zone_id in (
        type(pools[0])
        .zones.through.objects.filter(pool_id__in=[p.pk for p in pools])
        .values_list("pool_id", "storagezone_id")
    ):
        zones[pool_id].add(zone_id)
    sums: dict[tuple[int, int], Decimal] = {
        (row["lot__owner_id"], row["lot__zone_id"]): Decimal(row["kg"])
        for row in movement_list(scope=query.scope)
        .filter(lot__owner_id__in=[p.holder_id for p in pools], created_at__lt=query.period.as_of)
        .order_by()
        .values("lot__owner_id", "lot__zone_id")
        .annotate(kg=Sum("quantity_kg"))
    }
    return {
        pool.pk: sum(
            (
                kg
                for (owner, zone), kg in sums.items()
                if owner == pool.holder_id and zone in zones[pool.pk]
            ),
            ZERO,
        )
        for pool in pools
    }


def park_trade_by_month(query: ParkQuery) -> list[dict[str, Any]]:
    """Orders placed each month of the period with the park's enterprises on either side
    (cancelled, rejected and expired ones left out): their count, the tonnes sold and
    bought by the park's enterprises and the value of their sales. Every month of the
    period has its row. Two queries (the park's enterprises, the orders)."""
    _require(query.scope, query.park.pk)
    park_id = query.park.pk
    sold, bought = Q(seller__park_id=park_id), Q(buyer__park_id=park_id)
    monthly = (
        order_list(scope=query.scope)
        .filter(sold | bought)
        .exclude(status__in=NOT_TRADED)
        .filter(created_at__gte=query.period.start, created_at__lt=query.period.end)
        .order_by()
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(
            orders=Count("pk"),
            sold_kg=Coalesce(Sum("quantity_kg", filter=sold), ZERO, output_field=KG),
            bought_kg=Coalesce(Sum("quantity_kg", filter=bought), ZERO, output_field=KG),
            sales=Coalesce(Sum("total_yuan", filter=sold), ZERO, output_field=KG),
        )
    )
    by_month: dict[date, dict[str, Any]] = {}
    for row in monthly:
        month = row["month"]
        key = date(month.year, month.month, 1)
        by_month[key] = row
    out = []
    for month in query.period.months:
        row = by_month.get(month, {})
        out.append(
            {
                "month": month.strftime("%Y-%m"),
                "orders": row.get("orders", 0),
                "sold_t": _tonnes(row.get("sold_kg")),
                "bought_t": _tonnes(row.get("bought_kg")),
                "sales_cny": Decimal(row.get("sales", 0)).quantize(Decimal("0.01")),
            }
        )
    return out


def park_hazardous_stock(query: ParkQuery) -> list[dict[str, Any]]:
    """Dangerous goods stored in the park's warehouses, whoever owns them, by primary
    class: the lots on hand now, or for a past period the ledger up to its end. One query
    (two for a past period)."""
    _require(query.scope, query.park.pk)
    park_id = query.park.pk
    if query.period.is_current:
        rows = (
            lot_list(scope=query.scope)
            .filter(_hazardous(), zone__warehouse__park_id=park_id, on_hand_kg__gt=0)
            .order_by()
            .values("material__primary_class")
            .annotate(kg=Sum("on_hand_kg"), lots=Count("pk"))
        )
        found = {row["material__primary_class"]: (Decimal(row["kg"]), row["lots"]) for row in rows}
    else:
        moves = (
            movement_list(scope=query.scope)
            .filter(
                _hazardous("lot__"),
                lot__zone__warehouse__park_id=park_id,
                created_at__lt=query.period.as_of,
            )
            .order_by()
            .values("lot_id", "lot__material__primary_class")
            .annotate(kg=Sum("quantity_kg"))
        )
        totals: dict[str, list[Any]] = defaultdict(lambda: [ZERO, 0])
        for row in moves:
            if row["kg"] > 0:
                entry = totals[row["lot__material__primary_class"]]
                entry[0] += Decimal(row["kg"])
                entry[1] += 1
        found = {cls: (kg, lots) for cls, (kg, lots) in totals.items()}
    order = list(CLASS_LABELS)
    return [
        {
            "class": cls,
            "label": str(CLASS_LABELS.get(cls, cls)),
            "lots": lots,
            "on_hand_t": _tonnes(kg),
        }
        for cls, (kg, lots) in sorted(
            found.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
        )
    ]


# --- Energy (energy.selectors, from the rollups) ----------------------------------------------


def _energy_series(query: ParkQuery) -> Any:
    if "energy_series" not in query.memo:
        query.memo["energy_series"] = park_energy_series(
            scope=query.scope,
            park_id=query.park.pk,
            start=query.period.first,
            end=query.period.last_day,
            granularity="day" if query.granularity == "day" else "month",
            convention=query.convention,
        )
    return query.memo["energy_series"]


def _step(day: date, granularity: str) -> str:
    return day.isoformat() if granularity == "day" else day.strftime("%Y-%m")


def energy_trend(query: ParkQuery) -> list[dict[str, Any]]:
    """The park's tce by month (or day) and carrier, in the query's convention: one row per
    step and carrier used in the period (0 for a step without use), long form for a chart of
    one series per carrier. Three queries (energy.selectors.park_energy_series)."""
    _require(query.scope, query.park.pk)
    series = _energy_series(query)
    carriers = sorted(series.tce_by_carrier)
    return [
        {
            "period": _step(step.start, series.granularity),
            "carrier": str(CARRIER_LABELS.get(carrier, carrier)),
            "tce": step.tce_by_carrier.get(carrier, ZERO),
        }
        for step in series.periods
        for carrier in carriers
    ]


def energy_share(query: ParkQuery) -> list[dict[str, Any]]:
    """Each carrier's tce over the period and its share of the park's total, in the order
    of the trend's series (so that a carrier has the same colour in both charts)."""
    _require(query.scope, query.park.pk)
    series = _energy_series(query)
    return [
        {
            "carrier": carrier,
            "label": str(CARRIER_LABELS.get(carrier, carrier)),
            "tce": tce,
            "share_pct": _percent(tce, series.total_tce),
        }
        for carrier, tce in sorted(series.tce_by_carrier.items())  # the trend's order, colours
    ]


def energy_by_month(query: ParkQuery) -> list[dict[str, Any]]:
    """The park's tce, output value, intensity (tce per 10⁴ yuan) and change against the
    same month (or day) a year before, step by step."""
    _require(query.scope, query.park.pk)
    series = _energy_series(query)
    return [
        {
            "period": _step(step.start, series.granularity),
            "tce": step.tce,
            "output_10k_cny": step.output_10k_yuan,
            "intensity": step.intensity,
            "yoy_pct": step.yoy_pct,
        }
        for step in series.periods
    ]


def energy_intensity(query: ParkQuery) -> list[dict[str, Any]]:
    """Each enterprise of the park with energy use or output value in the period: tce,
    output value (10⁴ yuan), intensity and change against the same days a year before.
    Largest use first. Four queries (energy.selectors.enterprise_energy_breakdown)."""
    _require(query.scope, query.park.pk)
    return [
        {
            "enterprise": local_name(row.name_zh, row.name_en),
            "tce": row.tce,
            "output_10k_cny": row.output_10k_yuan,
            "intensity": row.intensity,
            "yoy_pct": row.yoy_pct,
        }
        for row in enterprise_energy_breakdown(
            scope=query.scope,
            park_id=query.park.pk,
            start=query.period.first,
            end=query.period.last_day,
            convention=query.convention,
        )
    ]


def energy_anomaly_rows(query: ParkQuery) -> list[dict[str, Any]]:
    """The meters silent now (no reading for ENERGY_SILENT_HOURS), then the jumps and
    silences flagged in the period, newest first (at most :data:`MAX_ANOMALIES`). Two
    queries."""
    _require(query.scope, query.park.pk)
    rows: list[dict[str, Any]] = [
        {
            "at": timezone.localtime(meter.last_reading_at).strftime("%Y-%m-%d %H:%M")
            if meter.last_reading_at
            else "",
            "kind": str(_("silent now")),
            "enterprise": local_name(meter.enterprise.name_zh, meter.enterprise.name_en),
            "meter": meter.code,
            "carrier": str(CARRIER_LABELS.get(meter.carrier, meter.carrier)),
            "value": None,
            "median": None,
        }
        for meter in meters_silent(scope=query.scope, park_id=query.park.pk)
    ]
    flagged = energy_anomalies(
        scope=query.scope, park_id=query.park.pk, since=query.period.start, until=query.period.end
    )[:MAX_ANOMALIES]
    rows += [
        {
            "at": timezone.localtime(anomaly.at).strftime("%Y-%m-%d %H:%M"),
            "kind": str(ANOMALY_LABELS.get(anomaly.kind, anomaly.kind)),
            "enterprise": local_name(
                anomaly.meter.enterprise.name_zh, anomaly.meter.enterprise.name_en
            ),
            "meter": anomaly.meter.code,
            "carrier": str(CARRIER_LABELS.get(anomaly.meter.carrier, anomaly.meter.carrier)),
            "value": anomaly.value,
            "median": anomaly.median,
        }
        for anomaly in flagged
    ]
    return rows


# --- Safety (safety.selectors) ----------------------------------------------------------------


def _safety_summary(query: ParkQuery) -> Any:
    if "safety_summary" not in query.memo:
        query.memo["safety_summary"] = park_safety_summary(
            scope=query.scope,
            park_id=query.park.pk,
            start=query.period.first,
            end=query.period.last_day,
        )
    return query.memo["safety_summary"]


def safety_hazards(query: ParkQuery) -> list[dict[str, Any]]:
    """Hidden hazards unrectified now by grade: open (in time) and overdue. Three queries
    (safety.selectors.park_safety_summary)."""
    _require(query.scope, query.park.pk)
    h = _safety_summary(query).hazards
    return [
        {
            "grade": str(GRADE_LABELS[HazardGrade.GENERAL]),
            "open": h.open_general,
            "overdue": h.overdue_general,
        },
        {
            "grade": str(GRADE_LABELS[HazardGrade.MAJOR]),
            "open": h.open_major,
            "overdue": h.overdue_major,
        },
    ]


def safety_closure(query: ParkQuery) -> list[dict[str, Any]]:
    """The hidden hazards due in the period: how many, rectified by its end, on time, and
    the closure rate (rectified / due)."""
    _require(query.scope, query.park.pk)
    h = _safety_summary(query).hazards
    return [
        {
            "label": str(_("due in the period")),
            "due": h.due,
            "rectified": h.rectified,
            "on_time": h.on_time,
            "closure_pct": (h.closure_rate * 100).quantize(PCT)
            if h.closure_rate is not None
            else None,
        }
    ]


def safety_incidents(query: ParkQuery) -> list[dict[str, Any]]:
    """The period's incidents by grade (every grade, gravest first): count, deaths,
    serious injuries, direct loss."""
    _require(query.scope, query.park.pk)
    return [
        {
            "grade": str(INCIDENT_LABELS.get(g.grade, g.grade)),
            "incidents": g.count,
            "deaths": g.deaths,
            "serious_injuries": g.serious_injuries,
            "direct_loss_cny": Decimal(g.direct_loss_yuan).quantize(Decimal("0.01")),
        }
        for g in _safety_summary(query).incidents
    ]


def safety_major_hazard_units(query: ParkQuery) -> list[dict[str, Any]]:
    """The park's major hazard units (GB 18218: S ≥ 1 now or at the warehouse's licensed
    capacity), gravest first: S, R and level now and at capacity."""
    _require(query.scope, query.park.pk)
    return [
        {
            "warehouse": unit.warehouse_code,
            "name": unit.warehouse_name,
            "hazardous_t": unit.hazardous_t,
            "s": unit.s,
            "r": unit.r,
            "level": unit.level,
            "s_at_capacity": unit.s_at_capacity,
            "level_at_capacity": unit.level_at_capacity,
        }
        for unit in _safety_summary(query).major_hazard_units
    ]


def safety_stock_capacity(query: ParkQuery) -> list[dict[str, Any]]:
    """Hazardous stock on hand now by class against the capacity of the zones licensed for
    that class (a zone licensed for several classes counts for each). Two queries."""
    _require(query.scope, query.park.pk)
    return [
        {
            "class": row.hazard_class,
            "label": str(CLASS_LABELS.get(row.hazard_class, row.hazard_class)),
            "on_hand_t": _tonnes(row.on_hand_kg),
            "capacity_t": _tonnes(row.licensed_capacity_kg),
            "zones": row.licensed_zones,
            "utilisation_pct": (row.utilisation * 100).quantize(PCT)
            if row.utilisation is not None
            else None,
        }
        for row in safety_hazardous_stock(scope=query.scope, park_id=query.park.pk)
    ]


def safety_misplaced(query: ParkQuery) -> list[dict[str, Any]]:
    """Lots on hand now in a zone that would not admit them today (its licence, its
    capacity, segregation). Three queries."""
    _require(query.scope, query.park.pk)
    return [
        {
            "lot": lot.lot_id,
            "zone": lot.zone,
            "material": lot.material_name_en,
            "on_hand_t": _tonnes(lot.on_hand_kg),
            "check": lot.check,
            "reason": str(lot.reason),
        }
        for lot in safety_misplaced_lots(scope=query.scope, park_id=query.park.pk)
    ]


# --- Several parks ----------------------------------------------------------------------------


def park_comparison(query: ComparisonQuery) -> list[dict[str, Any]]:
    """Each of the parks side by side: enterprises, joint stockpiles and their coverage
    now, orders and tonnes traded over the period, hazardous stock on hand now. A constant
    number of queries whatever the number of parks (one per figure, grouped by park)."""
    for park in query.parks:
        _require(query.scope, park.pk)
    ids = [park.pk for park in query.parks]
    scope = query.scope
    enterprises = dict(
        Enterprise.objects.filter(park_id__in=ids, kind=EnterpriseKind.COMPANY)
        .order_by()
        .values("park_id")
        .annotate(n=Count("pk"))
        .values_list("park_id", "n")
    )
    pools: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for pool in (
        pool_list(scope=scope).filter(park_id__in=ids, is_active=True).prefetch_related(None)
    ):
        figures = pools[pool.park_id]
        figures[0] += 1
        figures[1] += pool.target_kg
        figures[2] += min(Decimal(pool.held_kg), pool.target_kg)  # type: ignore[attr-defined]
    window = Q(created_at__gte=query.period.start, created_at__lt=query.period.end)
    traded = order_list(scope=scope).filter(window).exclude(status__in=NOT_TRADED).order_by()
    sold = {
        row["seller__park_id"]: row
        for row in traded.filter(seller__park_id__in=ids)
        .values("seller__park_id")
        .annotate(n=Count("pk"), kg=Sum("quantity_kg"))
    }
    bought = {
        row["buyer__park_id"]: row
        for row in traded.filter(buyer__park_id__in=ids)
        .values("buyer__park_id")
        .annotate(n=Count("pk"), kg=Sum("quantity_kg"))
    }
    hazardous = dict(
        lot_list(scope=scope)
        .filter(_hazardous(), zone__warehouse__park_id__in=ids, on_hand_kg__gt=0)
        .order_by()
        .values("zone__warehouse__park_id")
        .annotate(kg=Sum("on_hand_kg"))
        .values_list("zone__warehouse__park_id", "kg")
    )
    rows = []
    for park in query.parks:
        count, target, covered = pools[park.pk]
        rows.append(
            {
                "park": park_name(park),
                "code": park.code,
                "enterprises": enterprises.get(park.pk, 0),
                "pools": int(count),
                "pool_coverage_pct": _percent(covered, target),
                "orders_sold": sold.get(park.pk, {}).get("n", 0),
                "sold_t": _tonnes(sold.get(park.pk, {}).get("kg")),
                "orders_bought": bought.get(park.pk, {}).get("n", 0),
                "bought_t": _tonnes(bought.get(park.pk, {}).get("kg")),
                "hazardous_t": _tonnes(hazardous.get(park.pk)),
            }
        )
    return rows


def park_comparison_energy_safety(query: ComparisonQuery) -> list[dict[str, Any]]:
    """Each of the parks side by side: tce over the period in the query's convention, output
    value and intensity; hidden hazards open and overdue now; the major hazard units now by
    level. Four queries whatever the number of parks (energy.selectors.parks_energy_totals,
    safety.selectors.parks_safety_totals)."""
    for park in query.parks:
        _require(query.scope, park.pk)
    ids = [park.pk for park in query.parks]
    if not ids:
        return []
    energy = parks_energy_totals(
        scope=query.scope,
        park_ids=ids,
        start=query.period.first,
        end=query.period.last_day,
        convention=query.convention,
    )
    safety = parks_safety_totals(scope=query.scope, park_ids=ids)
    rows = []
    for park in query.parks:
        e, s = energy[park.pk], safety[park.pk]
        rows.append(
            {
                "park": park_name(park),
                "code": park.code,
                "tce": e.tce,
                "output_10k_cny": e.output_10k_yuan,
                "intensity": e.intensity,
                "open_hazards": s.open_hazards,
                "overdue_hazards": s.overdue_hazards,
                **{f"units_level_{level}": s.units_by_level[level] for level in (1, 2, 3, 4)},
            }
        )
    return rows
