"""Serializers of the parks API: translate only (see conventions, "The layers of an app")."""

from django.db.models import QuerySet
from rest_framework import serializers

from access.api import ScopedRelatedField
from access.scope import Scope
from common.serializers import RejectUnknownFieldsMixin
from parks.models import Enterprise, Park


class ParkSerializer(serializers.ModelSerializer[Park]):
    region_code = serializers.CharField(read_only=True)

    class Meta:
        model = Park
        fields = [
            "id",
            "code",
            "name_zh",
            "name_en",
            "division_code",
            "region_code",
            "latitude",
            "longitude",
            "area_mu",
        ]
        read_only_fields = fields


ENTERPRISE_FIELDS = [
    "id",
    "uscc",
    "name_zh",
    "name_en",
    "park",
    "park_code",
    "industry",
    "hazchem_licence_no",
    "latitude",
    "longitude",
    "is_active",
]


class EnterpriseSerializer(serializers.ModelSerializer[Enterprise]):
    """An entry of the enterprise directory (readable by every user)."""

    park_code = serializers.CharField(source="park.code", read_only=True)

    class Meta:
        model = Enterprise
        fields = ENTERPRISE_FIELDS
        read_only_fields = ENTERPRISE_FIELDS


def parks_taking_new_enterprises(scope: Scope) -> QuerySet[Park]:
    """A park operator registers enterprises in the parks it operates; superusers anywhere."""
    if scope.is_superuser:
        return Park.objects.all()
    return Park.objects.filter(pk__in=scope.operated_park_ids)


class _EnterpriseWriteSerializer(RejectUnknownFieldsMixin, EnterpriseSerializer):
    """The USCC is checked by the model field's validator (format and check character) and
    its uniqueness; the ranges of the coordinates likewise."""


class EnterpriseCreateSerializer(_EnterpriseWriteSerializer):
    park = ScopedRelatedField(scoped=parks_taking_new_enterprises)

    class Meta(EnterpriseSerializer.Meta):
        read_only_fields = ["id", "park_code", "is_active"]


class EnterpriseUpdateSerializer(_EnterpriseWriteSerializer):
    """What an enterprise admin may change about its own enterprise: not its USCC or park."""

    class Meta(EnterpriseSerializer.Meta):
        read_only_fields = ["id", "uscc", "park", "park_code", "is_active"]


class EnterpriseSuperuserUpdateSerializer(_EnterpriseWriteSerializer):
    park = ScopedRelatedField(scoped=parks_taking_new_enterprises)

    class Meta(EnterpriseSerializer.Meta):
        read_only_fields = ["id", "park_code"]
