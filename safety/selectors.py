"""Reads of the safety app, every one scoped by the one who-sees rule
(``safety.rules.visible``): an enterprise's users see their own enterprise's rows, park
operators and regulators those of their parks, superusers all.

The park-level selectors (``park_safety_summary``, ``park_hazardous_stock``,
``park_misplaced_lots``, ``enterprise_safety_breakdown``) are what the ``reports`` app
reads: each answers a park the caller may read (``rules.may_read_park``; else
``ParkNotVisible``, a 404) in a constant number of queries, whatever the number of rows.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, CharField, Count, F, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from access.scope import Scope
from inventory.admission import ZonePicture, admission_refusal
from inventory.hazards import HazardProfile
from inventory.models import StockLot, StorageZone
from inventory.selectors import zone_list
from parks.models import Enterprise, EnterpriseKind, Park
from safety.exceptions import ParkNotVisible
from safety.models import (
    HazardGrade,
    HazardStatus,
    HazardUnit,
    HiddenHazard,
    Incident,
    IncidentGrade,
    Inspection,
)
from safety.rules import (
    incidents_reportable,
    inspectable_parks,
    may_read_park,
    visible,
)

RATE_PLACES = Decimal("0.0001")


# --- Lists -----------------------------------------------------------------------------------


def warehouses_of_lots(*, lot_ids: Iterable[int]) -> list[int]:
    """The warehouses holding these lots (one query)."""
    ids = list(lot_ids)
    if not ids:
        return []
    return sorted(
        set(StockLot.objects.filter(pk__in=ids).values_list("zone__warehouse_id", flat=True))
    )


def warehouses_holding(*, material_ids: Iterable[int]) -> list[int]:
    """The warehouses with stock on hand of these materials (one query)."""
    ids = list(material_ids)
    if not ids:
        return []
    return sorted(
        set(
            StockLot.objects.filter(material_id__in=ids, on_hand_kg__gt=0)
            .order_by()
            .values_list("zone__warehouse_id", flat=True)
            .distinct()
        )
    )


def inspection_list(*, scope: Scope) -> QuerySet[Inspection]:
    return Inspection.objects.filter(visible(scope)).select_related("inspector")


def inspections_inspectable(*, scope: Scope) -> QuerySet[Inspection]:
    """Inspections whose hazards the caller may record (``rules.may_inspect``)."""
    return Inspection.objects.filter(inspectable_parks(scope))


def parks_inspectable(*, scope: Scope) -> QuerySet[Park]:
    if scope.is_superuser:
        return Park.objects.all()
    return Park.objects.filter(pk__in=scope.operated_park_ids | scope.regulated_park_ids)


def enterprises_inspectable(*, scope: Scope) -> QuerySet[Enterprise]:
    """Companies of the parks the caller inspects (a pool's holder is not inspected)."""
    return Enterprise.objects.filter(inspectable_parks(scope)).exclude(kind=EnterpriseKind.POOL)


def enterprises_reportable(*, scope: Scope) -> QuerySet[Enterprise]:
    """Enterprises whose incidents the caller reports (``rules.may_report_incident``)."""
    return Enterprise.objects.filter(incidents_reportable(scope, enterprise_field="pk")).exclude(
        kind=EnterpriseKind.POOL
    )


def hazard_status_expression(today: date | None = None) -> Case:
    """``models.hazard_status`` as a database expression (the same rule, for filters)."""
    return Case(
        When(rectified_on__isnull=False, then=Value(HazardStatus.RECTIFIED.value)),
        When(deadline__lt=today or timezone.localdate(), then=Value(HazardStatus.OVERDUE.value)),
        default=Value(HazardStatus.OPEN.value),
        output_field=CharField(),
    )


def hazard_list(*, scope: Scope) -> QuerySet[HiddenHazard]:
    return HiddenHazard.objects.filter(visible(scope)).annotate(
        current_status=hazard_status_expression()
    )


def hazards_rectifiable(*, scope: Scope) -> QuerySet[HiddenHazard]:
    """Hazards the caller may report rectified: its own enterprise's (admins; the service
    checks the role), every one for a superuser."""
    if scope.is_superuser:
        return hazard_list(scope=scope)
    if scope.enterprise is None:
        return HiddenHazard.objects.none()
    return hazard_list(scope=scope).filter(enterprise_id=scope.enterprise.pk)


def hazards_reviewable(*, scope: Scope) -> QuerySet[HiddenHazard]:
    """Hazards whose rectification the caller may confirm or reopen."""
    return HiddenHazard.objects.filter(inspectable_parks(scope)).annotate(
        current_status=hazard_status_expression()
    )


def incident_list(*, scope: Scope) -> QuerySet[Incident]:
    return Incident.objects.filter(visible(scope))


def incidents_writable(*, scope: Scope) -> QuerySet[Incident]:
    return Incident.objects.filter(incidents_reportable(scope))


def hazard_unit_list(*, scope: Scope) -> QuerySet[HazardUnit]:
    """Units of the caller's own warehouses (an enterprise), of its parks (park staff)."""
    return HazardUnit.objects.filter(visible(scope, enterprise_field="warehouse__owner_id"))


def hazard_units_profilable(*, scope: Scope) -> QuerySet[HazardUnit]:
    """Units whose profile the caller sets: those of the parks it operates."""
    if scope.is_superuser:
        return HazardUnit.objects.all()
    return HazardUnit.objects.filter(park_id__in=scope.operated_park_ids)


# --- The park's figures ----------------------------------------------------------------------


def _check_park(scope: Scope, park_id: int) -> None:
    if not may_read_park(scope, park_id):
        raise ParkNotVisible("No such park.")


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the current time zone."""
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def _rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES) if whole else None


@dataclass(frozen=True)
class HazardFigures:
    """Hidden hazards now (open: in time; overdue: past the deadline; both unrectified),
    and the closure of those due in the period: ``due`` (deadline in the period),
    ``rectified`` (of them, rectified by the period's end), ``on_time`` (rectified by their
    deadline); ``closure_rate`` = rectified / due (None when nothing was due)."""

    open_general: int
    open_major: int
    overdue_general: int
    overdue_major: int
    due: int
    rectified: int
    on_time: int
    closure_rate: Decimal | None

    @property
    def unrectified(self) -> int:
        return self.open_general + self.open_major + self.overdue_general + self.overdue_major


@dataclass(frozen=True)
class GradeFigures:
    grade: str
    count: int
    deaths: int
    serious_injuries: int
    direct_loss_yuan: Decimal


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    owner_id: int | None
    people_within_500m: int | None
    hazardous_t: Decimal
    s: Decimal
    r: Decimal
    level: int | None
    s_at_capacity: Decimal
    r_at_capacity: Decimal
    level_at_capacity: int | None
    computed_at: datetime | None


@dataclass(frozen=True)
class SafetySummary:
    park_id: int
    start: date
    end: date
    hazards: HazardFigures
    incidents: list[GradeFigures]  # every grade, gravest first
    major_hazard_units: list[UnitRow]  # S ≥ 1 now or at capacity, gravest first


def _hazard_aggregates(today: date, start: date, end: date) -> dict[str, Any]:
    unrectified = Q(rectified_on__isnull=True)
    overdue = unrectified & Q(deadline__lt=today)
    in_time = unrectified & Q(deadline__gte=today)
    due = Q(deadline__gte=start, deadline__lte=end)
    general, major = Q(grade=HazardGrade.GENERAL), Q(grade=HazardGrade.MAJOR)
    return {
        "open_general": Count("pk", filter=in_time & general),
        "open_major": Count("pk", filter=in_time & major),
        "overdue_general": Count("pk", filter=overdue & general),
        "overdue_major": Count("pk", filter=overdue & major),
        "due": Count("pk", filter=due),
        "rectified": Count("pk", filter=due & Q(rectified_on__lte=end)),
        "on_time": Count(
            "pk", filter=due & Q(rectified_on__lte=end, deadline__gte=F("rectified_on"))
        ),
    }


def _hazard_figures(row: dict[str, Any]) -> HazardFigures:
    return HazardFigures(
        open_general=row["open_general"],
        open_major=row["open_major"],
        overdue_general=row["overdue_general"],
        overdue_major=row["overdue_major"],
        due=row["due"],
        rectified=row["rectified"],
        on_time=row["on_time"],
        closure_rate=_rate(row["rectified"], row["due"]),
    )


UNIT_COLUMNS = (
    "pk",
    "warehouse_id",
    "warehouse__code",
    "warehouse__name",
    "warehouse__owner_id",
    "people_within_500m",
    "hazardous_t",
    "s",
    "r",
    "level",
    "s_at_capacity",
    "r_at_capacity",
    "level_at_capacity",
    "computed_at",
)


def _unit_row(values: tuple[Any, ...]) -> UnitRow:
    return UnitRow(*values)


def park_safety_summary(*, scope: Scope, park_id: int, start: date, end: date) -> SafetySummary:
    """The park's safety at a glance: hidden hazards open and overdue (general / major) and
    the closure of those due in [start, end]; incidents of the period by grade with their
    casualties and losses; the major hazard units with S, R and level. Three queries."""
    _check_park(scope, park_id)
    today = timezone.localdate()
    hazards = (
        HiddenHazard.objects.filter(visible(scope), park_id=park_id)
        .order_by()
        .aggregate(**_hazard_aggregates(today, start, end))
    )
    since, until = _period(start, end)
    by_grade = {
        row["grade"]: row
        for row in Incident.objects.filter(
            visible(scope), park_id=park_id, occurred_at__gte=since, occurred_at__lt=until
        )
        .order_by()
        .values("grade")
        .annotate(
            count=Count("pk"),
            deaths=Sum("deaths"),
            injuries=Sum("serious_injuries"),
            loss=Sum("direct_loss_yuan"),
        )
    }
    incidents = [
        GradeFigures(
            grade=grade,
            count=by_grade.get(grade, {}).get("count", 0),
            deaths=by_grade.get(grade, {}).get("deaths") or 0,
            serious_injuries=by_grade.get(grade, {}).get("injuries") or 0,
            direct_loss_yuan=Decimal(by_grade.get(grade, {}).get("loss") or 0),
        )
        for grade in IncidentGrade.values
    ]
    units = (
        hazard_unit_list(scope=scope)
        .filter(park_id=park_id)
        .filter(Q(level__isnull=False) | Q(level_at_capacity__isnull=False))
        .order_by("level", "-s", "pk")
        .values_list(*UNIT_COLUMNS)
    )
    rows = sorted(
        (_unit_row(u) for u in units),
        key=lambda u: (u.level is None, u.level or 9, -u.s, u.unit_id),
    )
    return SafetySummary(
        park_id=park_id,
        start=start,
        end=end,
        hazards=_hazard_figures(hazards),
        incidents=incidents,
        major_hazard_units=rows,
    )


@dataclass(frozen=True)
class EnterpriseSafetyRow:
    enterprise_id: int
    name_zh: str
    name_en: str
    hazards: HazardFigures
    incidents: int
    deaths: int
    serious_injuries: int
    direct_loss_yuan: Decimal
    gravest_incident: str | None  # the gravest grade of the period's incidents
    major_hazard_units: int  # its own warehouses with S ≥ 1 now
    gravest_level: int | None


def enterprise_safety_breakdown(
    *, scope: Scope, park_id: int, start: date, end: date
) -> list[EnterpriseSafetyRow]:
    """Per enterprise of the park (the caller's own only, for an enterprise's user): its
    hidden hazards, incidents of the period and major hazard units. Four queries."""
    _check_park(scope, park_id)
    today = timezone.localdate()
    enterprises = list(
        Enterprise.objects.filter(visible(scope, enterprise_field="pk"), park_id=park_id)
        .exclude(kind=EnterpriseKind.POOL)
        .order_by("pk")
        .values_list("pk", "name_zh", "name_en")
    )
    hazards = {
        row["enterprise_id"]: row
        for row in HiddenHazard.objects.filter(visible(scope), park_id=park_id)
        .order_by()
        .values("enterprise_id")
        .annotate(**_hazard_aggregates(today, start, end))
    }
    since, until = _period(start, end)
    gravity = {grade: i for i, grade in enumerate(IncidentGrade.values)}
    incidents: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "deaths": 0, "injuries": 0, "loss": Decimal(0), "gravest": None}
    )
    rows = (
        Incident.objects.filter(
            visible(scope), park_id=park_id, occurred_at__gte=since, occurred_at__lt=until
        )
        .order_by()
        .values("enterprise_id", "grade")
        .annotate(
            count=Count("pk"),
            deaths=Sum("deaths"),
            injuries=Sum("serious_injuries"),
            loss=Sum("direct_loss_yuan"),
        )
    )
    for row in rows:
        tally = incidents[row["enterprise_id"]]
        tally["count"] += row["count"]
        tally["deaths"] += row["deaths"] or 0
        tally["injuries"] += row["injuries"] or 0
        tally["loss"] += Decimal(row["loss"] or 0)
        if tally["gravest"] is None or gravity[row["grade"]] < gravity[tally["gravest"]]:
            tally["gravest"] = row["grade"]
    units = {
        row["warehouse__owner_id"]: row
        for row in hazard_unit_list(scope=scope)
        .filter(park_id=park_id, level__isnull=False, warehouse__owner__isnull=False)
        .order_by()
        .values("warehouse__owner_id")
        .annotate(count=Count("pk"), gravest=Min("level"))
    }
    empty = dict.fromkeys(_hazard_aggregates(today, start, end), 0)
    out = []
    for pk, name_zh, name_en in enterprises:
        acc: dict[str, Any] | None = incidents.get(pk)
        unit = units.get(pk)
        out.append(
            EnterpriseSafetyRow(
                enterprise_id=pk,
                name_zh=name_zh,
                name_en=name_en,
                hazards=_hazard_figures(hazards.get(pk, empty)),
                incidents=acc["count"] if acc else 0,
                deaths=acc["deaths"] if acc else 0,
                serious_injuries=acc["injuries"] if acc else 0,
                direct_loss_yuan=acc["loss"] if acc else Decimal(0),
                gravest_incident=acc["gravest"] if acc else None,
                major_hazard_units=unit["count"] if unit else 0,
                gravest_level=unit["gravest"] if unit else None,
            )
        )
    return out


@dataclass(frozen=True)
class ClassStock:
    """Hazardous stock of one dangerous-goods class (the materials' primary class) in the
    park against the capacity of the zones licensed for that class."""

    hazard_class: str
    on_hand_kg: Decimal
    licensed_capacity_kg: Decimal
    licensed_zones: int
    utilisation: Decimal | None  # on hand / licensed capacity; None without a licensed zone

    @property
    def over_capacity(self) -> bool:
        return self.on_hand_kg > self.licensed_capacity_kg


def park_hazardous_stock(*, scope: Scope, park_id: int) -> list[ClassStock]:
    """Per class: stock on hand in the park's zones (an enterprise's user: its own lots)
    against the capacity of the zones licensed for it (the zones the caller sees:
    ``inventory.selectors.zone_list``). A zone licensed for several classes counts for
    each: the capacities of classes do not add up. Two queries."""
    _check_park(scope, park_id)
    stock = dict(
        StockLot.objects.filter(
            visible(scope, enterprise_field="owner_id", park_field="zone__warehouse__park_id"),
            zone__warehouse__park_id=park_id,
            on_hand_kg__gt=0,
        )
        .exclude(material__primary_class="")
        .order_by()
        .values("material__primary_class")
        .annotate(kg=Sum("on_hand_kg"))
        .values_list("material__primary_class", "kg")
    )
    capacity: dict[str, Decimal] = defaultdict(Decimal)
    zones: dict[str, int] = defaultdict(int)
    for capacity_kg, licensed in (
        zone_list(scope=scope)
        .filter(warehouse__park_id=park_id)
        .values_list("capacity_kg", "allowed_classes")
    ):
        for code in set(licensed or ()):
            capacity[code] += capacity_kg
            zones[code] += 1
    out = []
    for code in sorted(set(stock) | set(capacity), key=_class_order):
        on_hand = Decimal(stock.get(code) or 0)
        cap = capacity.get(code, Decimal(0))
        out.append(
            ClassStock(
                hazard_class=code,
                on_hand_kg=on_hand,
                licensed_capacity_kg=cap,
                licensed_zones=zones.get(code, 0),
                utilisation=_rate_decimal(on_hand, cap),
            )
        )
    return out


def _rate_decimal(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(RATE_PLACES) if whole else None


def _class_order(code: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in code.split("."))


@dataclass(frozen=True)
class MisplacedLot:
    lot_id: int
    owner_id: int
    material_id: int
    material_name_en: str
    zone_id: int
    zone: str  # warehouse code / zone code
    on_hand_kg: Decimal
    check: str  # licence, capacity or segregation (inventory.admission)
    reason: str


def park_misplaced_lots(*, scope: Scope, park_id: int) -> list[MisplacedLot]:
    """Lots on hand in the park (an enterprise's user: its own) held in a zone that would
    not admit them now: ``inventory.admission.admission_refusal`` of the lot's material,
    for no more kilograms, against the zone as it is (its licence, a zone over its capacity,
    and everything else stored in it, its building and its warehouse: the lot's own
    material in its own zone excepted). Three queries."""
    _check_park(scope, park_id)
    lots = list(
        StockLot.objects.filter(
            visible(scope, enterprise_field="owner_id", park_field="zone__warehouse__park_id"),
            zone__warehouse__park_id=park_id,
            on_hand_kg__gt=0,
        )
        .order_by("pk")
        .values_list("pk", "owner_id", "material_id", "zone_id", "on_hand_kg", "zone__warehouse_id")
    )
    if not lots:
        return []
    warehouse_ids = {lot[5] for lot in lots}
    zones = {
        pk: (warehouse_id, f"{warehouse_code}/{code}", building, capacity, licensed)
        for pk, warehouse_id, warehouse_code, code, building, capacity, licensed in (
            StorageZone.objects.filter(warehouse_id__in=warehouse_ids).values_list(
                "pk",
                "warehouse_id",
                "warehouse__code",
                "code",
                "building",
                "capacity_kg",
                "allowed_classes",
            )
        )
    }
    stored: dict[int, dict[int, HazardProfile]] = defaultdict(dict)  # zone -> material -> profile
    occupancy: dict[int, Decimal] = defaultdict(Decimal)
    names: dict[int, str] = {}
    for zone_id, material_id, name, primary, subsidiary, family, state, kg in (
        StockLot.objects.filter(zone__warehouse_id__in=warehouse_ids, on_hand_kg__gt=0)
        .order_by()
        .values(
            "zone_id",
            "material_id",
            "material__name_en",
            "material__primary_class",
            "material__subsidiary_classes",
            "material__family",
            "material__physical_state",
        )
        .annotate(kg=Sum("on_hand_kg"))
        .values_list(
            "zone_id",
            "material_id",
            "material__name_en",
            "material__primary_class",
            "material__subsidiary_classes",
            "material__family",
            "material__physical_state",
            "kg",
        )
    ):
        classes = (primary, *(subsidiary or [])) if primary else ()
        stored[zone_id][material_id] = HazardProfile(
            classes=tuple(classes), family=family, liquid=state == "liquid", label=name
        )
        occupancy[zone_id] += Decimal(kg)
        names[material_id] = name
    by_warehouse: dict[int, list[int]] = defaultdict(list)
    for zone_id, (warehouse_id, *_rest) in zones.items():
        by_warehouse[warehouse_id].append(zone_id)
    pictures: dict[tuple[int, int], ZonePicture] = {}

    def picture_of(zone_id: int, material_id: int) -> ZonePicture:
        key = (zone_id, material_id)
        if key not in pictures:
            warehouse_id, label, building, capacity, licensed = zones[zone_id]
            in_zone, in_building, in_warehouse = [], [], []
            for other_zone in by_warehouse[warehouse_id]:
                for other_material, profile in stored.get(other_zone, {}).items():
                    if other_zone == zone_id:
                        if other_material != material_id:
                            in_zone.append(profile)
                    elif zones[other_zone][2] == building:
                        in_building.append(profile)
                    else:
                        in_warehouse.append(profile)
            pictures[key] = ZonePicture(
                label=label,
                licensed=frozenset(licensed or ()),
                free_kg=capacity - occupancy[zone_id],
                in_zone=tuple(in_zone),
                in_building=tuple(in_building),
                in_warehouse=tuple(in_warehouse),
            )
        return pictures[key]

    out = []
    for lot_id, owner_id, material_id, zone_id, on_hand, _warehouse_id in lots:
        picture = picture_of(zone_id, material_id)
        refusal = admission_refusal(
            picture=picture, incoming=stored[zone_id][material_id], quantity_kg=Decimal(0)
        )
        if refusal is not None:
            out.append(
                MisplacedLot(
                    lot_id=lot_id,
                    owner_id=owner_id,
                    material_id=material_id,
                    material_name_en=names[material_id],
                    zone_id=zone_id,
                    zone=picture.label,
                    on_hand_kg=on_hand,
                    check=refusal.check,
                    reason=refusal.message,
                )
            )
    return out


@dataclass(frozen=True)
class ParkSafetyTotal:
    park_id: int
    open_hazards: int  # unrectified, before their deadline
    overdue_hazards: int  # unrectified, past their deadline
    units_by_level: dict[int, int]  # major hazard units (S ≥ 1 now) per level 1..4


def parks_safety_totals(*, scope: Scope, park_ids: list[int]) -> dict[int, ParkSafetyTotal]:
    """Several parks side by side (the reports' comparison): hidden hazards open and
    overdue now, and the major hazard units now by level. Every park must be the caller's
    (``ParkNotVisible`` otherwise). Two queries whatever the number of parks."""
    for park_id in park_ids:
        _check_park(scope, park_id)
    today = timezone.localdate()
    unrectified = Q(rectified_on__isnull=True)
    hazards = {
        row["park_id"]: row
        for row in HiddenHazard.objects.filter(visible(scope), park_id__in=park_ids)
        .order_by()
        .values("park_id")
        .annotate(
            open=Count("pk", filter=unrectified & Q(deadline__gte=today)),
            overdue=Count("pk", filter=unrectified & Q(deadline__lt=today)),
        )
    }
    levels: dict[int, dict[int, int]] = defaultdict(dict)
    for park_id, level, count in (
        hazard_unit_list(scope=scope)
        .filter(park_id__in=park_ids, level__isnull=False)
        .order_by()
        .values("park_id", "level")
        .annotate(n=Count("pk"))
        .values_list("park_id", "level", "n")
    ):
        levels[park_id][int(level or 0)] = count
    return {
        park_id: ParkSafetyTotal(
            park_id=park_id,
            open_hazards=hazards.get(park_id, {}).get("open", 0),
            overdue_hazards=hazards.get(park_id, {}).get("overdue", 0),
            units_by_level={level: levels[park_id].get(level, 0) for level in (1, 2, 3, 4)},
        )
        for park_id in park_ids
    }
