"""Reads of the inventory app, every one scoped to the caller (see access.scope), but
for the ledger check (``ledger_discrepancies``), which reads the whole database for
operators and the test suite."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from access.scope import Scope
from inventory.admission import ZonePicture
from inventory.controls import PermitFacts
from inventory.hazards import HazardClass, HazardProfile
from inventory.models import (
    Material,
    Permit,
    Reservation,
    ReservationStatus,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)


def material_list() -> QuerySet[Material]:
    """The catalogue is shared by every park and readable by every user."""
    return Material.objects.all()


def warehouse_list(*, scope: Scope) -> QuerySet[Warehouse]:
    """Own warehouses and the shared ones of the own park; a park's for its operator and
    regulators."""
    qs = Warehouse.objects.select_related("park", "owner")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(
            Q(owner_id=scope.enterprise.pk)
            | Q(owner__isnull=True, park_id=scope.enterprise.park_id)
        )
    return qs.filter(park_id__in=scope.park_ids)


def zone_list(*, scope: Scope) -> QuerySet[StorageZone]:
    qs = StorageZone.objects.select_related("warehouse")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(
            Q(warehouse__owner_id=scope.enterprise.pk)
            | Q(warehouse__owner__isnull=True, warehouse__park_id=scope.enterprise.park_id)
        )
    return qs.filter(warehouse__park_id__in=scope.park_ids)


def zones_writable(*, scope: Scope) -> QuerySet[StorageZone]:
    """Zones the caller may change: an enterprise its own warehouses' zones, an operator the
    shared warehouses' zones of its parks."""
    qs = StorageZone.objects.select_related("warehouse")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(warehouse__owner_id=scope.enterprise.pk)
    return qs.filter(warehouse__owner__isnull=True, warehouse__park_id__in=scope.operated_park_ids)


def warehouses_writable(*, scope: Scope) -> QuerySet[Warehouse]:
    qs = Warehouse.objects.select_related("park", "owner")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(owner_id=scope.enterprise.pk)
    return qs.filter(owner__isnull=True, park_id__in=scope.operated_park_ids)


def lot_list(*, scope: Scope) -> QuerySet[StockLot]:
    """An enterprise's own lots; for park operators and regulators, the lots stored in
    their parks."""
    qs = StockLot.objects.select_related("material", "owner", "zone__warehouse")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(owner_id=scope.enterprise.pk)
    return qs.filter(zone__warehouse__park_id__in=scope.park_ids)


def movement_list(*, scope: Scope) -> QuerySet[StockMovement]:
    qs = StockMovement.objects.select_related("lot__material", "actor")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(lot__owner_id=scope.enterprise.pk)
    return qs.filter(lot__zone__warehouse__park_id__in=scope.park_ids)


def reservation_list(*, scope: Scope) -> QuerySet[Reservation]:
    """Reservations on an enterprise's own lots and those it holds; for park operators and
    regulators, the reservations on lots stored in their parks."""
    qs = Reservation.objects.select_related("lot__material", "holder", "created_by")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(Q(lot__owner_id=scope.enterprise.pk) | Q(holder_id=scope.enterprise.pk))
    return qs.filter(lot__zone__warehouse__park_id__in=scope.park_ids)


def permit_list(*, scope: Scope) -> QuerySet[Permit]:
    """Permits of the caller's enterprise; for park operators and regulators, those of the
    enterprises in their parks."""
    qs = Permit.objects.select_related("enterprise").prefetch_related(
        Prefetch("materials", queryset=Material.objects.only("id"))
    )
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(enterprise_id=scope.enterprise.pk)
    return qs.filter(enterprise__park_id__in=scope.park_ids)


def permits_writable(*, scope: Scope) -> QuerySet[Permit]:
    """Permits the caller may change: its own enterprise's (every one for a superuser)."""
    qs = Permit.objects.select_related("enterprise")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(enterprise_id=scope.enterprise.pk)
    return qs.none()


def permits_of(
    enterprise_ids: Iterable[int], *, valid_on: date | None = None
) -> dict[int, tuple[PermitFacts, ...]]:
    """Every permit of the given enterprises as PermitFacts (for inventory.controls), keyed
    by enterprise id; an enterprise without permits maps to (). With ``valid_on``, only the
    permits valid that day. Two queries: the permits, and the materials they name."""
    ids = set(enterprise_ids)
    out: dict[int, tuple[PermitFacts, ...]] = dict.fromkeys(ids, ())
    if not ids:
        return out
    permits = Permit.objects.filter(enterprise_id__in=ids)
    if valid_on is not None:
        permits = permits.filter(valid_from__lte=valid_on, expires_on__gte=valid_on)
    rows = list(
        permits.order_by("id").values_list(
            "id", "enterprise_id", "kind", "valid_from", "expires_on"
        )
    )
    named: dict[int, set[int]] = defaultdict(set)
    if rows:
        through = Permit.materials.through.objects.filter(permit_id__in=[r[0] for r in rows])
        for permit_id, material_id in through.values_list("permit_id", "material_id"):
            named[permit_id].add(material_id)
    grouped: dict[int, list[PermitFacts]] = defaultdict(list)
    for permit_id, enterprise_id, kind, valid_from, expires_on in rows:
        grouped[enterprise_id].append(
            PermitFacts(
                kind=kind,
                material_ids=frozenset(named.get(permit_id, ())),
                valid_from=valid_from,
                expires_on=expires_on,
            )
        )
    out.update({pk: tuple(facts) for pk, facts in grouped.items()})
    return out


def zone_occupancy_kg(*, zone_id: int) -> Any:
    """Kilograms on hand in a zone (all owners)."""
    total = StockLot.objects.filter(zone_id=zone_id).aggregate(total=Sum("on_hand_kg"))["total"]
    return total or 0


def zone_hazard_profiles(*, zone_ids: list[int]) -> list[tuple[int, HazardProfile]]:
    """(zone id, profile) of every material with stock on hand in the given zones."""
    rows = (
        StockLot.objects.filter(zone_id__in=zone_ids, on_hand_kg__gt=0)
        .values_list(
            "zone_id",
            "material__name_en",
            "material__primary_class",
            "material__subsidiary_classes",
            "material__family",
            "material__physical_state",
        )
        .distinct()
    )
    out = []
    for zone_id, name, primary, subsidiary, family, state in rows:
        classes = (primary, *(subsidiary or [])) if primary else ()
        out.append(
            (
                zone_id,
                HazardProfile(
                    classes=tuple(classes), family=family, liquid=state == "liquid", label=name
                ),
            )
        )
    return out


def zone_picture(*, zone: StorageZone) -> ZonePicture:
    """What admission reads of ``zone`` (``inventory.admission``), read now: its licence and
    free capacity, and the hazards stored in it, in its building and in its warehouse.
    The caller of a receipt holds the warehouse lock, so the picture stays true."""
    licensed, capacity_kg, building = (
        StorageZone.objects.filter(pk=zone.pk)
        .values_list("allowed_classes", "capacity_kg", "building")
        .get()
    )
    buildings = dict(
        StorageZone.objects.filter(warehouse_id=zone.warehouse_id).values_list("pk", "building")
    )
    in_zone: list[HazardProfile] = []
    in_building: list[HazardProfile] = []
    in_warehouse: list[HazardProfile] = []
    for zone_id, profile in zone_hazard_profiles(zone_ids=list(buildings)):
        if zone_id == zone.pk:
            in_zone.append(profile)
        elif buildings[zone_id] == building:
            in_building.append(profile)
        else:
            in_warehouse.append(profile)
    return ZonePicture(
        label=str(zone),
        licensed=frozenset(licensed or ()),
        free_kg=capacity_kg - Decimal(zone_occupancy_kg(zone_id=zone.pk)),
        in_zone=tuple(in_zone),
        in_building=tuple(in_building),
        in_warehouse=tuple(in_warehouse),
    )


# --- Zone occupancy ---------------------------------------------------------------------

_CLASS_ORDER = {code: i for i, code in enumerate(HazardClass.values)}


@dataclass(frozen=True)
class ZoneOccupancy:
    zone_id: int
    warehouse_id: int
    code: str
    capacity_kg: Decimal
    on_hand_kg: Decimal  # every owner's stock in the zone
    reserved_kg: Decimal  # the part of it held for buyers (still in the zone)
    free_kg: Decimal  # capacity left: reserved stock still takes room
    materials: int  # materials with stock on hand
    classes: tuple[str, ...]  # dangerous-goods classes (primary and subsidiary) on hand


def zone_occupancy(
    *, scope: Scope, warehouse_id: int | None = None, zone_id: int | None = None
) -> list[ZoneOccupancy]:
    """How full each zone the caller sees is (optionally of one warehouse, or one zone), in
    two queries whatever the number of zones: the sums, then the classes present."""
    zones = zone_list(scope=scope)
    if warehouse_id is not None:
        zones = zones.filter(warehouse_id=warehouse_id)
    if zone_id is not None:
        zones = zones.filter(pk=zone_id)
    kg: DecimalField[Any, Any] = DecimalField(max_digits=20, decimal_places=3)
    stocked = Q(lots__on_hand_kg__gt=0)
    rows = (
        zones.annotate(
            on_hand=Coalesce(Sum("lots__on_hand_kg"), Value(Decimal(0)), output_field=kg),
            reserved=Coalesce(Sum("lots__reserved_kg"), Value(Decimal(0)), output_field=kg),
            materials=Count("lots__material", filter=stocked, distinct=True),
        )
        .order_by("warehouse_id", "code", "pk")
        .values_list(
            "pk", "warehouse_id", "code", "capacity_kg", "on_hand", "reserved", "materials"
        )
    )
    classes: dict[int, set[str]] = {}
    for zone, primary, subsidiary in (
        StockLot.objects.filter(zone__in=zones.values("pk"), on_hand_kg__gt=0)
        .exclude(material__primary_class="")
        .values_list("zone_id", "material__primary_class", "material__subsidiary_classes")
        .distinct()
    ):
        classes.setdefault(zone, set()).update([primary, *(subsidiary or [])])
    return [
        ZoneOccupancy(
            zone_id=pk,
            warehouse_id=warehouse,
            code=code,
            capacity_kg=capacity,
            on_hand_kg=on_hand,
            reserved_kg=reserved,
            free_kg=capacity - on_hand,
            materials=materials,
            classes=tuple(
                sorted(classes.get(pk, ()), key=lambda c: _CLASS_ORDER.get(c, len(_CLASS_ORDER)))
            ),
        )
        for pk, warehouse, code, capacity, on_hand, reserved, materials in rows
    ]


# --- The ledger check ---------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    """A lot that breaks a rule of the ledger: ``actual`` is what the lot says, ``expected``
    what the ledger (or the rule) says it should be."""

    lot_id: int
    kind: str
    expected: Decimal
    actual: Decimal


ON_HAND_VS_MOVEMENTS = "on_hand_vs_movements"
NEGATIVE_ON_HAND = "negative_on_hand"
RESERVED_OVER_ON_HAND = "reserved_over_on_hand"
RESERVED_VS_RESERVATIONS = "reserved_vs_reservations"
NEGATIVE_RESERVED = "negative_reserved"

_KG = Decimal("0.001")
# Half a gram: on PostgreSQL sums are exact numerics; on SQLite they are floating point,
# where equal sums may differ in the last bits.
_TOLERANCE = "0.0005"


def _kg(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(_KG)


def ledger_discrepancies(*, lot_ids: list[int] | None = None) -> list[Discrepancy]:
    """Every lot (or the lots ``lot_ids``) whose quantities disagree with the ledger: on
    hand vs the sum of its movements, on hand or reserved below zero, reserved above on
    hand, reserved vs the sum of its held reservations. Empty when the ledger balances.

    One query: movements and held reservations are summed per lot (GROUP BY) and joined
    to the lots in the database, and only offending lots come back: a scan of each table,
    not a round trip per lot (about 1 s on PostgreSQL for 200k lots, 1M movements and
    100k held reservations; the held ones are read from a covering partial index).
    """
    lot_table = StockLot._meta.db_table
    movement_table = StockMovement._meta.db_table
    reservation_table = Reservation._meta.db_table
    ids: list[int] = []
    only_lots = only_movements = only_reservations = ""
    if lot_ids is not None:
        if not lot_ids:
            return []
        ids = list(lot_ids)
        marks = ", ".join(["%s"] * len(ids))
        only_lots = f"WHERE l.id IN ({marks})"
        only_movements = f"WHERE lot_id IN ({marks})"
        only_reservations = f"AND lot_id IN ({marks})"
    sql = f"""
        SELECT l.id, l.on_hand_kg, l.reserved_kg, COALESCE(m.total, 0), COALESCE(r.held, 0)
        FROM {lot_table} l
        LEFT JOIN (
            SELECT lot_id, SUM(quantity_kg) AS total FROM {movement_table}
            {only_movements} GROUP BY lot_id
        ) m ON m.lot_id = l.id
        LEFT JOIN (
            SELECT lot_id, SUM(quantity_kg) AS held FROM {reservation_table}
            WHERE status = %s {only_reservations} GROUP BY lot_id
        ) r ON r.lot_id = l.id
        {only_lots}
        {"AND" if only_lots else "WHERE"} (
            ABS(l.on_hand_kg - COALESCE(m.total, 0)) >= {_TOLERANCE}
            OR ABS(l.reserved_kg - COALESCE(r.held, 0)) >= {_TOLERANCE}
            OR l.on_hand_kg < 0 OR l.reserved_kg < 0 OR l.reserved_kg > l.on_hand_kg
        )
        ORDER BY l.id
    """  # noqa: S608 -- table names from the models, values as parameters
    # The parameters in the order they appear: movements, reservations, lots.
    params: list[int | str] = [*ids, str(ReservationStatus.HELD.value), *ids, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: list[Discrepancy] = []
    for lot_id, on_hand_raw, reserved_raw, moved_raw, held_raw in rows:
        on_hand, reserved = _kg(on_hand_raw), _kg(reserved_raw)
        moved, held = _kg(moved_raw), _kg(held_raw)
        if on_hand != moved:
            found.append(Discrepancy(lot_id, ON_HAND_VS_MOVEMENTS, moved, on_hand))
        if on_hand < 0:
            found.append(Discrepancy(lot_id, NEGATIVE_ON_HAND, Decimal(0), on_hand))
        if reserved < 0:
            found.append(Discrepancy(lot_id, NEGATIVE_RESERVED, Decimal(0), reserved))
        if reserved > on_hand:
            found.append(Discrepancy(lot_id, RESERVED_OVER_ON_HAND, on_hand, reserved))
        if reserved != held:
            found.append(Discrepancy(lot_id, RESERVED_VS_RESERVATIONS, held, reserved))
    return found


@dataclass(frozen=True)
class LedgerSize:
    lots: int
    movements: int
    reservations: int


def ledger_size(*, lot_ids: list[int] | None = None) -> LedgerSize:
    """How much ``ledger_discrepancies`` reads: lots, movements and reservations."""
    lots, movements, reservations = (
        StockLot.objects.all(),
        StockMovement.objects.all(),
        Reservation.objects.all(),
    )
    if lot_ids is not None:
        lots = lots.filter(pk__in=lot_ids)
        movements = movements.filter(lot_id__in=lot_ids)
        reservations = reservations.filter(lot_id__in=lot_ids)
    return LedgerSize(
        lots=lots.count(), movements=movements.count(), reservations=reservations.count()
    )
