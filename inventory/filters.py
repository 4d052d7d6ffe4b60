"""Query-string filters of the inventory API (django-filter).

Quantity ranges are in kilograms (``on_hand_min=500``); date ranges take ISO dates or
datetimes, the lower bound inclusive and the upper bound exclusive for datetimes.
"""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from common.filters import FilterSet, IdFilter
from inventory.controls import PermitKind
from inventory.hazards import HazardClass
from inventory.models import (
    Material,
    MovementKind,
    Permit,
    PhysicalState,
    Reservation,
    ReservationStatus,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)


def _list_holds(list_field: str, code: str) -> tuple[dict[str, Any], Q]:
    """An alias and a condition: the JSON list of class codes ``list_field`` holds ``code``.

    Matches the quoted code in the list's JSON text, which works alike on SQLite and
    PostgreSQL (JSON ``contains`` does not exist on SQLite); the quotes keep "5" from
    matching "5.1".
    """
    alias = f"{list_field.replace('__', '_')}_text"
    return {alias: Cast(list_field, TextField())}, Q(**{f"{alias}__contains": f'"{code}"'})


def with_class_in_list(qs: QuerySet[Any], *, list_field: str, code: str) -> QuerySet[Any]:
    alias, holds = _list_holds(list_field, code)
    return qs.alias(**alias).filter(holds)


def with_hazard_class(qs: QuerySet[Any], *, material: str, code: str) -> QuerySet[Any]:
    """Rows whose material (reached through ``material``; "" for Material itself) has
    ``code`` as its primary class or one of its subsidiary classes."""
    prefix = f"{material}__" if material else ""
    alias, holds = _list_holds(f"{prefix}subsidiary_classes", code)
    return qs.alias(**alias).filter(Q(**{f"{prefix}primary_class": code}) | holds)


class HazardClassFilter(django_filters.ChoiceFilter):
    """``hazard_class=8``: the material's primary class or one of its subsidiary classes."""

    def __init__(self, *, material: str = "", **kwargs: Any) -> None:
        self.material = material
        kwargs.setdefault("choices", HazardClass.choices)
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        return with_hazard_class(qs, material=self.material, code=value)


class MaterialFilter(FilterSet):
    cas = django_filters.CharFilter()
    un_number = django_filters.CharFilter()
    primary_class = django_filters.ChoiceFilter(choices=HazardClass.choices)
    hazard_class = HazardClassFilter()
    physical_state = django_filters.ChoiceFilter(choices=PhysicalState.choices)
    has_gb18218_threshold = django_filters.BooleanFilter(
        field_name="gb18218_threshold_t", lookup_expr="isnull", exclude=True
    )
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Material
        fields = [
            "cas",
            "un_number",
            "primary_class",
            "hazard_class",
            "physical_state",
            "has_gb18218_threshold",
            "is_active",
        ]


class WarehouseFilter(FilterSet):
    code = django_filters.CharFilter()
    park = django_filters.NumberFilter(field_name="park_id")
    park_code = django_filters.CharFilter(field_name="park__code")
    owner = django_filters.NumberFilter(field_name="owner_id")
    shared = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull")

    class Meta:
        model = Warehouse
        fields = ["code", "park", "park_code", "owner", "shared"]


class ZoneFilter(FilterSet):
    warehouse = django_filters.NumberFilter(field_name="warehouse_id")
    warehouse_code = django_filters.CharFilter(field_name="warehouse__code")
    park = django_filters.NumberFilter(field_name="warehouse__park_id")
    shared = django_filters.BooleanFilter(field_name="warehouse__owner", lookup_expr="isnull")
    building = django_filters.CharFilter()
    allows_class = django_filters.ChoiceFilter(
        choices=HazardClass.choices, method="filter_allows_class"
    )
    capacity_min = django_filters.NumberFilter(field_name="capacity_kg", lookup_expr="gte")
    capacity_max = django_filters.NumberFilter(field_name="capacity_kg", lookup_expr="lte")
    occupancy_min = django_filters.NumberFilter(field_name="occupancy_kg", lookup_expr="gte")
    occupancy_max = django_filters.NumberFilter(field_name="occupancy_kg", lookup_expr="lte")

    class Meta:
        model = StorageZone
        fields = ["warehouse", "warehouse_code", "park", "shared", "building"]

    def filter_allows_class(self, qs: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return with_class_in_list(qs, list_field="allowed_classes", code=value)


class LotFilter(FilterSet):
    material = django_filters.NumberFilter(field_name="material_id")
    cas = django_filters.CharFilter(field_name="material__cas")
    un_number = django_filters.CharFilter(field_name="material__un_number")
    hazard_class = HazardClassFilter(material="material")
    owner = django_filters.NumberFilter(field_name="owner_id")
    zone = django_filters.NumberFilter(field_name="zone_id")
    warehouse = django_filters.NumberFilter(field_name="zone__warehouse_id")
    park = django_filters.NumberFilter(field_name="zone__warehouse__park_id")
    batch_no = django_filters.CharFilter()
    grade = django_filters.CharFilter()
    in_stock = django_filters.BooleanFilter(method="filter_in_stock")
    on_hand_min = django_filters.NumberFilter(field_name="on_hand_kg", lookup_expr="gte")
    on_hand_max = django_filters.NumberFilter(field_name="on_hand_kg", lookup_expr="lte")
    available_min = django_filters.NumberFilter(field_name="available", lookup_expr="gte")
    available_max = django_filters.NumberFilter(field_name="available", lookup_expr="lte")
    purity_min = django_filters.NumberFilter(field_name="purity_pct", lookup_expr="gte")
    expires_after = django_filters.DateFilter(field_name="expires_on", lookup_expr="gte")
    expires_before = django_filters.DateFilter(field_name="expires_on", lookup_expr="lte")
    produced_after = django_filters.DateFilter(field_name="produced_on", lookup_expr="gte")
    produced_before = django_filters.DateFilter(field_name="produced_on", lookup_expr="lte")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockLot
        fields = ["material", "owner", "zone", "batch_no", "grade"]

    def filter_in_stock(self, qs: QuerySet[Any], name: str, value: bool | None) -> QuerySet[Any]:
        if value is None:
            return qs
        return qs.filter(on_hand_kg__gt=0) if value else qs.filter(on_hand_kg=0)


class MovementFilter(FilterSet):
    lot = django_filters.NumberFilter(field_name="lot_id")
    kind = django_filters.MultipleChoiceFilter(choices=MovementKind.choices)
    material = django_filters.NumberFilter(field_name="lot__material_id")
    cas = django_filters.CharFilter(field_name="lot__material__cas")
    hazard_class = HazardClassFilter(material="lot__material")
    zone = django_filters.NumberFilter(field_name="lot__zone_id")
    park = django_filters.NumberFilter(field_name="lot__zone__warehouse__park_id")
    reference = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    quantity_min = django_filters.NumberFilter(field_name="quantity_kg", lookup_expr="gte")
    quantity_max = django_filters.NumberFilter(field_name="quantity_kg", lookup_expr="lte")

    class Meta:
        model = StockMovement
        fields = ["lot", "kind", "material", "reference"]


class ReservationFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ReservationStatus.choices)
    lot = django_filters.NumberFilter(field_name="lot_id")
    holder = django_filters.NumberFilter(field_name="holder_id")
    owner = django_filters.NumberFilter(field_name="lot__owner_id")
    material = django_filters.NumberFilter(field_name="lot__material_id")
    reference = django_filters.CharFilter()
    expires_before = django_filters.IsoDateTimeFilter(field_name="expires_at", lookup_expr="lt")

    class Meta:
        model = Reservation
        fields = ["status", "lot", "holder", "owner", "material", "reference"]


class PermitFilter(FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=PermitKind.choices)
    enterprise = django_filters.NumberFilter(field_name="enterprise_id")
    park = django_filters.NumberFilter(field_name="enterprise__park_id")
    material = IdFilter(
        method="filter_material",
        help_text="Permits that name this material id or name none (cover any of their kind).",
    )
    valid_on = django_filters.DateFilter(
        method="filter_valid_on", help_text="Permits valid on this date (ISO)."
    )
    expires_before = django_filters.DateFilter(field_name="expires_on", lookup_expr="lt")

    class Meta:
        model = Permit
        fields = ["kind", "enterprise", "park"]

    def filter_material(self, qs: QuerySet[Permit], name: str, value: Any) -> QuerySet[Permit]:
        named = Permit.materials.through.objects.filter(material_id=value).values("permit_id")
        unnamed = Permit.materials.through.objects.values("permit_id")
        return qs.filter(Q(pk__in=named) | ~Q(pk__in=unnamed))

    def filter_valid_on(self, qs: QuerySet[Permit], name: str, value: Any) -> QuerySet[Permit]:
        return qs.filter(valid_from__lte=value, expires_on__gte=value)
