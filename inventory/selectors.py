"""Reads of the inventory app, every one scoped to the caller (see common.tenancy)."""

from typing import Any

from django.db.models import Q, QuerySet, Sum

from common.tenancy import Scope
from inventory.hazards import HazardProfile
from inventory.models import Material, StockLot, StockMovement, StorageZone, Warehouse


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
