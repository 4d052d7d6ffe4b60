"""Serializers of the safety API: translate only. Writes are bounded at the edge (counts
0 to a million, yuan to the fen within the column, texts within their length) and look
every foreign id up through the caller's scope; the views hand them to
``safety.services``."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from access.api import ScopedRelatedField
from common.serializers import RejectUnknownFieldsMixin
from safety.gb18218 import alpha_of
from safety.models import (
    MAX_LOSS_YUAN,
    MAX_PEOPLE,
    TEXT_LENGTH,
    HazardGrade,
    HazardUnit,
    HiddenHazard,
    Incident,
    Inspection,
)
from safety.selectors import (
    enterprises_inspectable,
    enterprises_reportable,
    inspections_inspectable,
    parks_inspectable,
)


def text_input(*, required: bool = False) -> serializers.CharField:
    if required:
        return serializers.CharField(max_length=TEXT_LENGTH)
    return serializers.CharField(
        max_length=TEXT_LENGTH, required=False, allow_blank=True, default=""
    )


def count_input() -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=MAX_PEOPLE, required=False, default=0)


# --- Inspections and hidden hazards ------------------------------------------------------------


class InspectionSerializer(serializers.ModelSerializer[Inspection]):
    park = serializers.IntegerField(source="park_id", read_only=True)
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    inspector = serializers.IntegerField(source="inspector_id", read_only=True, allow_null=True)
    inspector_name = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = (
            "id",
            "park",
            "enterprise",
            "inspected_on",
            "inspector",
            "inspector_name",
            "notes",
            "created_at",
        )
        read_only_fields = fields

    def get_inspector_name(self, inspection: Inspection) -> str:
        user = inspection.inspector
        return user.get_username() if user is not None else ""


class InspectionCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    park = ScopedRelatedField(scoped=lambda scope: parks_inspectable(scope=scope))
    enterprise = ScopedRelatedField(scoped=lambda scope: enterprises_inspectable(scope=scope))
    inspected_on = serializers.DateField()
    notes = text_input()


class HiddenHazardSerializer(serializers.ModelSerializer[HiddenHazard]):
    inspection = serializers.IntegerField(source="inspection_id", read_only=True)
    park = serializers.IntegerField(source="park_id", read_only=True)
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    status = serializers.SerializerMethodField()
    confirmed_by = serializers.IntegerField(
        source="confirmed_by_id", read_only=True, allow_null=True
    )

    class Meta:
        model = HiddenHazard
        fields = (
            "id",
            "inspection",
            "park",
            "enterprise",
            "description",
            "grade",
            "found_on",
            "deadline",
            "status",
            "rectified_on",
            "rectification_note",
            "confirmed_at",
            "confirmed_by",
            "created_at",
        )
        read_only_fields = fields

    def get_status(self, hazard: HiddenHazard) -> str:
        """open, overdue (open past its deadline) or rectified: from the dates, today (the
        row's own dates: a step just taken is already in them)."""
        return hazard.status


class HazardCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    inspection = ScopedRelatedField(scoped=lambda scope: inspections_inspectable(scope=scope))
    description = text_input(required=True)
    grade = serializers.ChoiceField(choices=HazardGrade.choices)
    deadline = serializers.DateField()


class RectifySerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    rectified_on = serializers.DateField()
    note = text_input()


class ReopenSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    note = text_input()


# --- Incidents -----------------------------------------------------------------------------------


def loss_input(*, required: bool = False) -> serializers.DecimalField:
    extra: dict[str, Any] = {} if required else {"default": Decimal(0)}
    return serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=MAX_LOSS_YUAN,
        required=required,
        **extra,
    )


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    park = serializers.IntegerField(source="park_id", read_only=True)
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    reported_by = serializers.IntegerField(source="reported_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Incident
        fields = (
            "id",
            "park",
            "enterprise",
            "occurred_at",
            "description",
            "deaths",
            "serious_injuries",
            "direct_loss_yuan",
            "grade",
            "reported_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class IncidentCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    enterprise = ScopedRelatedField(
        scoped=lambda scope: enterprises_reportable(scope=scope),
        required=False,
        help_text="The enterprise; an enterprise's admin may leave it out (its own).",
    )
    occurred_at = serializers.DateTimeField()
    description = text_input(required=True)
    deaths = count_input()
    serious_injuries = count_input()
    direct_loss_yuan = loss_input()


class IncidentUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    occurred_at = serializers.DateTimeField(required=False)
    description = serializers.CharField(max_length=TEXT_LENGTH, required=False)
    deaths = serializers.IntegerField(min_value=0, max_value=MAX_PEOPLE, required=False)
    serious_injuries = serializers.IntegerField(min_value=0, max_value=MAX_PEOPLE, required=False)
    direct_loss_yuan = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=MAX_LOSS_YUAN,
        required=False,
    )


# --- Hazard units --------------------------------------------------------------------------------


class HazardUnitSerializer(serializers.ModelSerializer[HazardUnit]):
    warehouse = serializers.IntegerField(source="warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    warehouse_name = serializers.CharField(source="warehouse.name", read_only=True)
    park = serializers.IntegerField(source="park_id", read_only=True)
    owner = serializers.IntegerField(source="warehouse.owner_id", read_only=True, allow_null=True)
    alpha = serializers.SerializerMethodField()
    is_major = serializers.BooleanField(read_only=True)

    class Meta:
        model = HazardUnit
        fields = (
            "id",
            "warehouse",
            "warehouse_code",
            "warehouse_name",
            "park",
            "owner",
            "people_within_500m",
            "alpha",
            "hazardous_t",
            "s",
            "r",
            "level",
            "is_major",
            "s_at_capacity",
            "r_at_capacity",
            "level_at_capacity",
            "computed_at",
        )
        read_only_fields = fields

    def get_alpha(self, unit: HazardUnit) -> str:
        """α of GB 18218 Table 5 from the people within 500 m (2.0 when not surveyed)."""
        return f"{alpha_of(unit.people_within_500m):.1f}"


class HazardUnitProfileSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    people_within_500m = serializers.IntegerField(
        min_value=0, max_value=MAX_PEOPLE, allow_null=True
    )
