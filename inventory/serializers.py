"""Serializers of the inventory API: translate only (see conventions, "The layers of an app").

Read serializers are flat (``source="material.name_en"``) and read only columns the view's
queryset already joined, so a list costs the same number of queries at any page size.
Write serializers take quantities as ``quantity`` + ``unit`` (inventory.serializer_fields)
and look every foreign id up through the caller's scope.
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from access.api import ScopedRelatedField
from access.scope import Scope
from common.api import IdField
from common.serializers import FlatReadSerializer, RejectUnknownFieldsMixin
from inventory.controls import PermitKind
from inventory.hazards import validate_classes
from inventory.models import (
    MATERIAL_FIELDS,
    Material,
    Permit,
    Reservation,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)
from inventory.selectors import warehouses_writable, zone_list
from inventory.serializer_fields import percent_input, pop_quantity, quantity_input, unit_input
from inventory.services.permits import (
    MAX_PERMIT_MATERIALS,
    PERMIT_NOTE_MAX_LENGTH,
    PERMIT_NUMBER_MAX_LENGTH,
)
from parks.models import Enterprise, Park

KG_MAX_DIGITS = 16  # StockLot.on_hand_kg and friends: 13 integer digits, 3 decimals
SUM_MAX_DIGITS = 20  # a sum over many lots


def class_codes_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=3), required=False, max_length=20
    )


def check_class_codes(codes: list[str]) -> list[str]:
    unknown = validate_classes(codes)
    if unknown:
        raise serializers.ValidationError(
            _("Unknown dangerous-goods class: %s.") % ", ".join(unknown)
        )
    if len(set(codes)) != len(codes):
        raise serializers.ValidationError(_("A class is listed twice."))
    return codes


# --- Materials ---------------------------------------------------------------------------


class MaterialSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer[Material]):
    """A catalogue entry. CAS and UN numbers are checked by the model fields' validators;
    how the classes fit together, and what may change while the material is in stock, by
    material_create / material_update."""

    subsidiary_classes = class_codes_field()

    class Meta:
        model = Material
        fields = ["id", *MATERIAL_FIELDS]

    def validate_cas(self, value: str | None) -> str | None:
        # No CAS is NULL, not "": the column is unique and several mixtures have none.
        return value or None

    def validate_subsidiary_classes(self, value: list[str]) -> list[str]:
        return check_class_codes(value)


# --- Warehouses and zones ----------------------------------------------------------------


class ZoneInlineSerializer(serializers.ModelSerializer[StorageZone]):
    class Meta:
        model = StorageZone
        fields = ["id", "code", "name", "building", "capacity_kg", "allowed_classes"]
        read_only_fields = fields


WAREHOUSE_FIELDS = [
    "id",
    "code",
    "name",
    "park",
    "park_code",
    "owner",
    "owner_name_zh",
    "is_shared",
    "latitude",
    "longitude",
    "address",
    "zones",
]


class WarehouseSerializer(serializers.ModelSerializer[Warehouse]):
    park_code = serializers.CharField(source="park.code", read_only=True)
    owner_name_zh = serializers.CharField(source="owner.name_zh", read_only=True, allow_null=True)
    is_shared = serializers.BooleanField(read_only=True)
    zones = ZoneInlineSerializer(many=True, read_only=True)

    class Meta:
        model = Warehouse
        fields = WAREHOUSE_FIELDS
        read_only_fields = WAREHOUSE_FIELDS


def parks_for_new_warehouse(scope: Scope) -> QuerySet[Park]:
    """An enterprise builds in its own park; an operator in the parks it operates."""
    if scope.is_superuser:
        return Park.objects.all()
    if scope.enterprise is not None:
        return Park.objects.filter(pk=scope.enterprise.park_id)
    return Park.objects.filter(pk__in=scope.operated_park_ids)


def owners_for_new_warehouse(scope: Scope) -> QuerySet[Enterprise]:
    """An enterprise owns what it builds; an operator's warehouses are shared (no owner)."""
    if scope.is_superuser:
        return Enterprise.objects.all()
    if scope.enterprise is not None:
        return Enterprise.objects.filter(pk=scope.enterprise.pk)
    return Enterprise.objects.none()


class WarehouseCreateSerializer(RejectUnknownFieldsMixin, WarehouseSerializer):
    """``park`` and ``owner`` default to the caller's: an enterprise's own warehouse in its
    park, or (for a park operator, who must name the park) a shared warehouse."""

    park = ScopedRelatedField(scoped=parks_for_new_warehouse, required=False)
    owner = ScopedRelatedField(scoped=owners_for_new_warehouse, required=False, allow_null=True)

    class Meta(WarehouseSerializer.Meta):
        read_only_fields = ["id", "park_code", "owner_name_zh", "is_shared", "zones"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # warehouse_create checks that the owner is an enterprise of the park.
        scope: Scope = self.context["scope"]
        if scope.enterprise is not None:
            attrs["owner"] = scope.enterprise
            attrs["park"] = scope.enterprise.park
            return attrs
        owner = attrs.get("owner")
        park = attrs.get("park") or (owner.park if owner is not None else None)
        if park is None:
            raise serializers.ValidationError({"park": [_("This field is required.")]})
        attrs["park"] = park
        return attrs


class WarehouseUpdateSerializer(RejectUnknownFieldsMixin, WarehouseSerializer):
    """Park and owner are fixed once zones may hold stock."""

    class Meta(WarehouseSerializer.Meta):
        read_only_fields = ["id", "park", "park_code", "owner", "owner_name_zh", "is_shared"]


class ZoneOccupancySerializer(serializers.Serializer[Any]):
    """How full a zone is (inventory.selectors.ZoneOccupancy): every owner's stock."""

    zone = serializers.IntegerField(source="zone_id", read_only=True)
    warehouse = serializers.IntegerField(source="warehouse_id", read_only=True)
    code = serializers.CharField(read_only=True)
    capacity_kg = serializers.DecimalField(
        max_digits=KG_MAX_DIGITS, decimal_places=3, read_only=True
    )
    on_hand_kg = serializers.DecimalField(
        max_digits=SUM_MAX_DIGITS, decimal_places=3, read_only=True
    )
    reserved_kg = serializers.DecimalField(
        max_digits=SUM_MAX_DIGITS, decimal_places=3, read_only=True
    )
    free_kg = serializers.DecimalField(max_digits=SUM_MAX_DIGITS, decimal_places=3, read_only=True)
    materials = serializers.IntegerField(read_only=True)
    classes = serializers.ListField(child=serializers.CharField(), read_only=True)


class ZoneSerializer(serializers.ModelSerializer[StorageZone]):
    """A zone with what it holds now (``occupancy_kg``, annotated by the view)."""

    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    park = serializers.IntegerField(source="warehouse.park_id", read_only=True)
    is_shared = serializers.BooleanField(source="warehouse.is_shared", read_only=True)
    occupancy_kg = serializers.DecimalField(
        max_digits=SUM_MAX_DIGITS, decimal_places=3, read_only=True
    )
    free_kg = serializers.DecimalField(max_digits=SUM_MAX_DIGITS, decimal_places=3, read_only=True)

    class Meta:
        model = StorageZone
        fields = [
            "id",
            "warehouse",
            "warehouse_code",
            "park",
            "is_shared",
            "code",
            "name",
            "building",
            "capacity_kg",
            "occupancy_kg",
            "free_kg",
            "allowed_classes",
        ]
        read_only_fields = fields


def warehouses_taking_zones(scope: Scope) -> QuerySet[Warehouse]:
    return warehouses_writable(scope=scope)


class _ZoneWriteSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer[StorageZone]):
    """Input of zone_create / zone_update, which check the (warehouse, code) uniqueness
    (naming ``code``) and what a change may not take from the stock in the zone."""

    allowed_classes = class_codes_field()

    class Meta:
        model = StorageZone
        fields = ["warehouse", "code", "name", "building", "capacity_kg", "allowed_classes"]
        validators: list[Any] = []

    def validate_allowed_classes(self, value: list[str]) -> list[str]:
        return check_class_codes(value)


class ZoneCreateSerializer(_ZoneWriteSerializer):
    warehouse = ScopedRelatedField(scoped=warehouses_taking_zones)


class ZoneUpdateSerializer(_ZoneWriteSerializer):
    """A zone stays in its warehouse: its lots' ledger is tied to it."""

    warehouse = serializers.PrimaryKeyRelatedField[Warehouse](read_only=True)


# --- Lots and the ledger -----------------------------------------------------------------


class LotSerializer(FlatReadSerializer):
    material_name_en = serializers.CharField(source="material.name_en", read_only=True)
    material_name_zh = serializers.CharField(source="material.name_zh", read_only=True)
    material_cas = serializers.CharField(source="material.cas", read_only=True, allow_null=True)
    material_primary_class = serializers.CharField(source="material.primary_class", read_only=True)
    owner_name_zh = serializers.CharField(source="owner.name_zh", read_only=True)
    zone_code = serializers.CharField(source="zone.code", read_only=True)
    warehouse = serializers.IntegerField(source="zone.warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="zone.warehouse.code", read_only=True)
    park = serializers.IntegerField(source="zone.warehouse.park_id", read_only=True)
    park_code = serializers.CharField(source="zone.warehouse.park.code", read_only=True)
    available_kg = serializers.DecimalField(
        max_digits=KG_MAX_DIGITS, decimal_places=3, read_only=True
    )
    value_expressions = {"available_kg": F("on_hand_kg") - F("reserved_kg")}

    class Meta:
        model = StockLot
        fields = [
            "id",
            "material",
            "material_name_en",
            "material_name_zh",
            "material_cas",
            "material_primary_class",
            "owner",
            "owner_name_zh",
            "zone",
            "zone_code",
            "warehouse",
            "warehouse_code",
            "park",
            "park_code",
            "on_hand_kg",
            "reserved_kg",
            "available_kg",
            "batch_no",
            "purity_pct",
            "grade",
            "produced_on",
            "expires_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def zones_to_store_in(scope: Scope) -> QuerySet[StorageZone]:
    """Zones of the caller's own warehouses and of its park's shared ones."""
    return zone_list(scope=scope)


def note_field() -> serializers.CharField:
    return serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class LotReceiveSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A receipt: a new lot of the caller's enterprise with ``quantity`` on hand."""

    material = IdField(queryset=Material.objects.filter(is_active=True))
    zone = ScopedRelatedField(scoped=zones_to_store_in)
    quantity = quantity_input()
    unit = unit_input()
    batch_no = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    purity_pct = percent_input(default=None)
    grade = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    produced_on = serializers.DateField(required=False, allow_null=True, default=None)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = note_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        produced, expires = attrs.get("produced_on"), attrs.get("expires_on")
        if produced and expires and expires < produced:
            raise serializers.ValidationError({"expires_on": [_("Expiry is before production.")]})
        attrs["quantity_kg"] = pop_quantity(attrs, material=attrs["material"])
        return attrs


class LotAdjustSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A correction of the lot's on-hand quantity; ``delta`` is negative for a decrease."""

    delta = quantity_input(allow_negative=True)
    unit = unit_input()
    note = note_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lot: StockLot = self.context["lot"]
        attrs["delta_kg"] = pop_quantity(
            attrs, material=lot.material, quantity_field="delta", allow_negative=True
        )
        return attrs


class LotMoveSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """Move ``quantity`` of unreserved stock into a lot of the same batch in ``to_zone``."""

    to_zone = ScopedRelatedField(scoped=zones_to_store_in)
    quantity = quantity_input()
    unit = unit_input()
    note = note_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lot: StockLot = self.context["lot"]
        attrs["quantity_kg"] = pop_quantity(attrs, material=lot.material)
        return attrs


class LotMoveResultSerializer(serializers.Serializer[Any]):
    source_lot = LotSerializer(read_only=True)
    target_lot = LotSerializer(read_only=True)


class MovementSerializer(FlatReadSerializer):
    material = serializers.IntegerField(source="lot.material_id", read_only=True)
    material_name_en = serializers.CharField(source="lot.material.name_en", read_only=True)
    material_cas = serializers.CharField(source="lot.material.cas", read_only=True, allow_null=True)
    owner = serializers.IntegerField(source="lot.owner_id", read_only=True)
    zone = serializers.IntegerField(source="lot.zone_id", read_only=True)
    actor_username = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "lot",
            "material",
            "material_name_en",
            "material_cas",
            "owner",
            "zone",
            "quantity_kg",
            "kind",
            "reference",
            "note",
            "actor",
            "actor_username",
            "created_at",
        ]
        read_only_fields = fields


class ReservationSerializer(FlatReadSerializer):
    material = serializers.IntegerField(source="lot.material_id", read_only=True)
    material_name_en = serializers.CharField(source="lot.material.name_en", read_only=True)
    owner = serializers.IntegerField(source="lot.owner_id", read_only=True)
    zone = serializers.IntegerField(source="lot.zone_id", read_only=True)
    holder_name_zh = serializers.CharField(source="holder.name_zh", read_only=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "lot",
            "material",
            "material_name_en",
            "owner",
            "zone",
            "holder",
            "holder_name_zh",
            "quantity_kg",
            "status",
            "expires_at",
            "reference",
            "created_by",
            "created_at",
            "closed_at",
            "close_reason",
        ]
        read_only_fields = fields


# --- Permits ------------------------------------------------------------------------------


class PermitSerializer(FlatReadSerializer):
    """A permit to buy controlled chemicals, as its enterprise and its park's staff read it.
    ``materials`` empty: every material the kind of permit may cover."""

    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    enterprise_name_zh = serializers.CharField(source="enterprise.name_zh", read_only=True)
    materials: "serializers.PrimaryKeyRelatedField[Material]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Permit
        fields = (
            "id",
            "enterprise",
            "enterprise_name_zh",
            "kind",
            "number",
            "materials",
            "valid_from",
            "expires_on",
            "note",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class _PermitInput(RejectUnknownFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=PermitKind.choices)
    number = serializers.CharField(max_length=PERMIT_NUMBER_MAX_LENGTH)
    materials = IdField(  # the catalogue is public: no scope to apply
        queryset=Material.objects.all(),
        many=True,
        required=False,
        help_text="Ids of the materials the permit names; none: every material its kind covers.",
    )
    valid_from = serializers.DateField()
    expires_on = serializers.DateField()
    note = serializers.CharField(
        max_length=PERMIT_NOTE_MAX_LENGTH, allow_blank=True, required=False
    )

    def to_internal_value(self, data: Any) -> Any:
        # Bounded before each id is looked up.
        materials = data.get("materials") if isinstance(data, Mapping) else None
        if isinstance(materials, list) and len(materials) > MAX_PERMIT_MATERIALS:
            raise serializers.ValidationError(
                {"materials": [_("At most %(max)d materials.") % {"max": MAX_PERMIT_MATERIALS}]}
            )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        valid_from = attrs.get("valid_from", getattr(instance, "valid_from", None))
        expires_on = attrs.get("expires_on", getattr(instance, "expires_on", None))
        if valid_from and expires_on and expires_on < valid_from:
            raise serializers.ValidationError(
                {"expires_on": [_("The permit expires before it becomes valid.")]}
            )
        return attrs


class PermitCreateSerializer(_PermitInput):
    """A permit of the caller's enterprise."""


class PermitUpdateSerializer(_PermitInput):
    """A permit's fields (``materials`` replaces the list); its enterprise is fixed."""

    kind = serializers.ChoiceField(choices=PermitKind.choices, required=False)
    number = serializers.CharField(max_length=PERMIT_NUMBER_MAX_LENGTH, required=False)
    valid_from = serializers.DateField(required=False)
    expires_on = serializers.DateField(required=False)
