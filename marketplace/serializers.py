"""Translation between the marketplace's JSON and its services: no rule of the domain here.

Read serializers are flat: every related value comes from a ``source=`` dotted path over
the ``select_related`` of the selector, so a page costs no query per row, and rows are
rendered by a plan compiled once per serializer (``FlatReadSerializer``). Write serializers
turn ``quantity`` + ``unit`` into kilograms with the material's density
(``inventory.serializer_fields``) and look every foreign id up through the caller's scope.
"""

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from access.api import ScopedRelatedField
from access.scope import Scope
from common.api import MAX_ID, IdField
from common.serializers import FlatReadSerializer, RejectUnknownFieldsMixin
from inventory.models import Material, StockLot, StorageZone
from inventory.selectors import lot_list, material_list, zone_list
from inventory.serializer_fields import (
    percent_input,
    pop_quantity,
    quantity_in_kg,
    quantity_input,
    unit_input,
)
from inventory.units import MAX_QUANTITY_KG
from marketplace.models import Listing, Need, Visibility

NOTE_MAX_LENGTH = 500
MAX_SUBSTITUTES = 50

# Columns a listing page reads; the view loads only these (with the selector's joins).
LISTING_READ_COLUMNS = (
    "id",
    "status",
    "visibility",
    "seller",
    "seller__name_zh",
    "seller__park",
    "seller__park__code",
    "lot",
    "material",
    "material__name_en",
    "material__name_zh",
    "material__cas",
    "material__primary_class",
    "lot__zone",
    "lot__zone__warehouse",
    "lot__zone__warehouse__latitude",
    "lot__zone__warehouse__longitude",
    "quantity_kg",
    "min_order_kg",
    "price_per_t",
    "available_from",
    "available_until",
    "published_at",
    "created_at",
    "note",
)


# --- Scoped lookups of foreign ids ------------------------------------------------------


def lots_of_caller(scope: Scope) -> QuerySet[StockLot]:
    """Lots the caller may offer: its enterprise's own (any lot for a superuser)."""
    qs = lot_list(scope=scope)
    if scope.enterprise is not None:
        return qs.filter(owner_id=scope.enterprise.pk)
    return qs if scope.is_superuser else qs.none()


def delivery_zones_of_caller(scope: Scope) -> QuerySet[StorageZone]:
    """Zones the caller's enterprise may store in: its own warehouses' and its park's shared
    warehouses' zones."""
    return zone_list(scope=scope)


def active_materials() -> QuerySet[Material]:
    return material_list().filter(is_active=True)


# --- Input fields -----------------------------------------------------------------------


def price_input(*, required: bool = True, allow_null: bool = False) -> serializers.DecimalField:
    """CNY per tonne, two decimals, never negative."""
    return serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=required,
        allow_null=allow_null,
    )


def min_order_input() -> serializers.DecimalField:
    """Like ``quantity`` but 0 (no minimum) is accepted."""
    return serializers.DecimalField(
        max_digits=19,
        decimal_places=6,
        min_value=Decimal(0),
        max_value=MAX_QUANTITY_KG * 1000,
        required=False,
        write_only=True,
        help_text="Minimum order in min_order_unit; 0 for none.",
    )


def note_input() -> serializers.CharField:
    return serializers.CharField(max_length=NOTE_MAX_LENGTH, allow_blank=True, required=False)


def coordinate_input(*, limit: int) -> serializers.DecimalField:
    """Degrees within ±``limit``, six decimals (about 0.1 m), as the models store them."""
    return serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-limit),
        max_value=Decimal(limit),
        required=False,
        allow_null=True,
    )


def _quantities_to_kg(
    attrs: dict[str, Any], *, material: Material, with_min_order: bool
) -> dict[str, Any]:
    """Replace ``quantity``/``unit`` (and ``min_order``/``min_order_unit``) by kilograms.

    ``min_order_unit`` defaults to the ``unit`` of the same request, then to the material's
    default unit.
    """
    unit = attrs.get("unit")
    if "quantity" in attrs:
        attrs["quantity_kg"] = pop_quantity(attrs, material=material)
    elif attrs.pop("unit", None) is not None:
        raise serializers.ValidationError({"quantity": [_("Required when unit is given.")]})
    if not with_min_order:
        return attrs
    min_order = attrs.pop("min_order", None)
    min_order_unit = attrs.pop("min_order_unit", None)
    if min_order is None:
        if min_order_unit is not None:
            raise serializers.ValidationError(
                {"min_order": [_("Required when min_order_unit is given.")]}
            )
        return attrs
    attrs["min_order_kg"] = (
        Decimal(0)
        if min_order == 0
        else quantity_in_kg(
            quantity=min_order,
            unit=min_order_unit or unit,
            material=material,
            quantity_field="min_order",
            unit_field="min_order_unit",
        )
    )
    return attrs


# --- Listings ---------------------------------------------------------------------------


class ListingSerializer(FlatReadSerializer):
    """A listing as buyers and the seller read it."""

    seller = serializers.IntegerField(source="seller_id", read_only=True)
    seller_name_zh = serializers.CharField(source="seller.name_zh", read_only=True)
    park = serializers.IntegerField(source="seller.park_id", read_only=True)
    park_code = serializers.CharField(source="seller.park.code", read_only=True)
    lot = serializers.IntegerField(source="lot_id", read_only=True)
    material = serializers.IntegerField(source="material_id", read_only=True)
    material_name_en = serializers.CharField(source="material.name_en", read_only=True)
    material_name_zh = serializers.CharField(source="material.name_zh", read_only=True)
    material_cas = serializers.CharField(source="material.cas", read_only=True, allow_null=True)
    material_primary_class = serializers.CharField(source="material.primary_class", read_only=True)
    warehouse = serializers.IntegerField(source="lot.zone.warehouse_id", read_only=True)
    warehouse_latitude = serializers.DecimalField(
        source="lot.zone.warehouse.latitude", max_digits=9, decimal_places=6, read_only=True
    )
    warehouse_longitude = serializers.DecimalField(
        source="lot.zone.warehouse.longitude", max_digits=9, decimal_places=6, read_only=True
    )

    class Meta:
        model = Listing
        fields = (
            "id",
            "status",
            "visibility",
            "seller",
            "seller_name_zh",
            "park",
            "park_code",
            "lot",
            "material",
            "material_name_en",
            "material_name_zh",
            "material_cas",
            "material_primary_class",
            "warehouse",
            "warehouse_latitude",
            "warehouse_longitude",
            "quantity_kg",
            "min_order_kg",
            "price_per_t",
            "available_from",
            "available_until",
            "published_at",
            "created_at",
            "note",
        )
        read_only_fields = fields


class ListingCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    lot = ScopedRelatedField(scoped=lots_of_caller, help_text="One of the caller's own lots.")
    quantity = quantity_input()
    unit = unit_input()
    min_order = min_order_input()
    min_order_unit = unit_input()
    price_per_t = price_input()
    available_from = serializers.DateField()
    available_until = serializers.DateField(required=False, allow_null=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PARK)
    note = note_input()
    publish = serializers.BooleanField(
        default=False, help_text="Publish at once (the lot must hold the quantity unreserved)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _quantities_to_kg(attrs, material=attrs["lot"].material, with_min_order=True)


class ListingUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The terms of a listing; its lot is fixed."""

    quantity = quantity_input(required=False)
    unit = unit_input()
    min_order = min_order_input()
    min_order_unit = unit_input()
    price_per_t = price_input(required=False)
    available_from = serializers.DateField(required=False)
    available_until = serializers.DateField(required=False, allow_null=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    note = note_input()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(self.instance, Listing)
        return _quantities_to_kg(attrs, material=self.instance.material, with_min_order=True)


# --- Needs ------------------------------------------------------------------------------


class NeedSerializer(FlatReadSerializer):
    """A need as its enterprise (and its park's regulators) read it."""

    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    enterprise_name_zh = serializers.CharField(source="enterprise.name_zh", read_only=True)
    park = serializers.IntegerField(source="enterprise.park_id", read_only=True)
    park_code = serializers.CharField(source="enterprise.park.code", read_only=True)
    material = serializers.IntegerField(source="material_id", read_only=True)
    material_name_en = serializers.CharField(source="material.name_en", read_only=True)
    material_name_zh = serializers.CharField(source="material.name_zh", read_only=True)
    material_cas = serializers.CharField(source="material.cas", read_only=True, allow_null=True)
    material_primary_class = serializers.CharField(source="material.primary_class", read_only=True)
    substitutes: "serializers.PrimaryKeyRelatedField[Material]" = (
        serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    )
    delivery_zone = serializers.IntegerField(
        source="delivery_zone_id", read_only=True, allow_null=True
    )
    delivery_warehouse = serializers.IntegerField(
        source="delivery_zone.warehouse_id", read_only=True, allow_null=True
    )

    class Meta:
        model = Need
        fields = (
            "id",
            "status",
            "enterprise",
            "enterprise_name_zh",
            "park",
            "park_code",
            "material",
            "material_name_en",
            "material_name_zh",
            "material_cas",
            "material_primary_class",
            "substitutes",
            "quantity_kg",
            "max_price_per_t",
            "needed_by",
            "delivery_zone",
            "delivery_warehouse",
            "delivery_latitude",
            "delivery_longitude",
            "max_distance_km",
            "min_purity_pct",
            "note",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class _NeedInput(RejectUnknownFieldsMixin, serializers.Serializer):
    substitutes = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_SUBSTITUTES,
        required=False,
        write_only=True,
        help_text="Ids of materials accepted instead.",
    )
    max_price_per_t = price_input(required=False, allow_null=True)
    delivery_zone = ScopedRelatedField(
        scoped=delivery_zones_of_caller,
        required=False,
        allow_null=True,
        help_text="A zone of the caller's warehouses or of its park's shared warehouses.",
    )
    delivery_latitude = coordinate_input(limit=90)
    delivery_longitude = coordinate_input(limit=180)
    max_distance_km = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(20000),
        required=False,
        allow_null=True,
    )
    min_purity_pct = percent_input()
    note = note_input()

    def validate_substitutes(self, ids: list[int]) -> list[Material]:
        ids = list(dict.fromkeys(ids))
        found = active_materials().in_bulk(ids)
        unknown = [str(pk) for pk in ids if pk not in found]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown material ids: %(ids)s.") % {"ids": ", ".join(unknown)}
            )
        return [found[pk] for pk in ids]

    def validate_needed_by(self, value: Any) -> Any:
        if value < timezone.localdate():
            raise serializers.ValidationError(_("Must not be in the past."))
        return value


class NeedCreateSerializer(_NeedInput):
    material = IdField(queryset=active_materials())
    quantity = quantity_input()
    unit = unit_input()
    needed_by = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _quantities_to_kg(attrs, material=attrs["material"], with_min_order=False)


class NeedUpdateSerializer(_NeedInput):
    """The terms of an open need (or of an expired one, to give it a later date before it
    is reopened); its material is fixed."""

    quantity = quantity_input(required=False)
    unit = unit_input()
    needed_by = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(self.instance, Need)
        return _quantities_to_kg(attrs, material=self.instance.material, with_min_order=False)
