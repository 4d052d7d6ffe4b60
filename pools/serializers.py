"""Serializers of the pools API: translate only. Reads are flat over the columns and
figures the selectors already fetched; writes are bounded at the edge (quantities in kg,
three decimals, within a column's range) and look every foreign id up through the caller's
scope, then the views hand them to ``pools.services``."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from access.api import ScopedRelatedField
from access.scope import Scope
from common.serializers import RejectUnknownFieldsMixin
from inventory.models import Material
from inventory.selectors import lot_list, zone_list
from matching.selectors import match_list
from orders.selectors import order_list
from parks.models import Enterprise, Park
from pools.models import (
    Contribution,
    Draw,
    DrawSeverity,
    MembershipRequest,
    Obligation,
    Pool,
    PoolMember,
    ReplenishRule,
    RequestKind,
)

KG_DIGITS = 16  # the pools' kg columns: 13 integer digits, 3 decimals
MAX_KG = Decimal("9999999999999.999")


def kg_input(*, required: bool = True) -> serializers.DecimalField:
    """A quantity in kilograms, to the gram, more than 0."""
    return serializers.DecimalField(
        max_digits=KG_DIGITS,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=MAX_KG,
        required=required,
    )


def kg_output() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=3, read_only=True)


def text_input(max_length: int = 500) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default=""
    )


# --- Reads ------------------------------------------------------------------------------------


class PoolSerializer(serializers.ModelSerializer[Pool]):
    """A pool with its figures: held (kg on hand in its zones), coverage (held / target),
    active members, open and overdue replenishment obligations."""

    park = serializers.IntegerField(source="park_id", read_only=True)
    material = serializers.IntegerField(source="material_id", read_only=True)
    material_name_en = serializers.CharField(source="material.name_en", read_only=True)
    lead = serializers.IntegerField(source="lead_id", read_only=True, allow_null=True)
    zones = serializers.SerializerMethodField()
    held_kg = kg_output()
    coverage = serializers.SerializerMethodField()
    member_count = serializers.IntegerField(read_only=True)
    open_obligations = serializers.IntegerField(read_only=True)
    overdue_obligations = serializers.IntegerField(read_only=True)

    class Meta:
        model = Pool
        fields = (
            "id",
            "park",
            "code",
            "name",
            "material",
            "material_name_en",
            "lead",
            "zones",
            "target_kg",
            "held_kg",
            "coverage",
            "member_count",
            "open_obligations",
            "overdue_obligations",
            "max_price_per_t",
            "holding_rate_per_t_month",
            "storage_fee_per_month",
            "replenish_rule",
            "replenish_days",
            "rotation_lead_days",
            "is_active",
            "created_at",
        )
        read_only_fields = fields

    def get_zones(self, pool: Pool) -> list[int]:
        return [zone.pk for zone in pool.zones.all()]  # prefetched by the view

    def get_coverage(self, pool: Pool) -> str:
        """Held ÷ target, four decimals (0.5000 is half the target)."""
        held = getattr(pool, "held_kg", Decimal(0)) or Decimal(0)
        return f"{(held / pool.target_kg).quantize(Decimal('0.0001')):f}"


class PoolMemberSerializer(serializers.ModelSerializer[PoolMember]):
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    enterprise_name = serializers.CharField(source="enterprise.__str__", read_only=True)

    class Meta:
        model = PoolMember
        fields = (
            "id",
            "enterprise",
            "enterprise_name",
            "commitment_kg",
            "status",
            "joined_at",
            "left_at",
        )
        read_only_fields = fields


class MembershipRequestSerializer(serializers.ModelSerializer[MembershipRequest]):
    pool = serializers.IntegerField(source="pool_id", read_only=True)
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)
    enterprise_name = serializers.CharField(source="enterprise.__str__", read_only=True)

    class Meta:
        model = MembershipRequest
        fields = (
            "id",
            "pool",
            "enterprise",
            "enterprise_name",
            "kind",
            "commitment_kg",
            "status",
            "reason",
            "requested_at",
            "decided_at",
            "decision_note",
        )
        read_only_fields = fields


class ContributionSerializer(serializers.ModelSerializer[Contribution]):
    pool = serializers.IntegerField(source="pool_id", read_only=True)
    member = serializers.IntegerField(source="member_id", read_only=True, allow_null=True)
    enterprise = serializers.IntegerField(
        source="member.enterprise_id", read_only=True, allow_null=True
    )
    lot = serializers.IntegerField(source="lot_id", read_only=True)

    class Meta:
        model = Contribution
        fields = (
            "id",
            "pool",
            "member",
            "enterprise",
            "quantity_kg",
            "lot",
            "source",
            "reference",
            "created_at",
        )
        read_only_fields = fields


class DrawSerializer(serializers.ModelSerializer[Draw]):
    pool = serializers.IntegerField(source="pool_id", read_only=True)
    member = serializers.IntegerField(source="member_id", read_only=True)
    enterprise = serializers.IntegerField(source="member.enterprise_id", read_only=True)

    class Meta:
        model = Draw
        fields = (
            "id",
            "pool",
            "member",
            "enterprise",
            "requested_kg",
            "granted_kg",
            "severity",
            "reason",
            "status",
            "requested_at",
            "decided_at",
            "note",
        )
        read_only_fields = fields


class ObligationSerializer(serializers.ModelSerializer[Obligation]):
    pool = serializers.IntegerField(source="pool_id", read_only=True)
    draw = serializers.IntegerField(source="draw_id", read_only=True)
    member = serializers.IntegerField(source="member_id", read_only=True)
    enterprise = serializers.IntegerField(source="member.enterprise_id", read_only=True)

    class Meta:
        model = Obligation
        fields = (
            "id",
            "pool",
            "draw",
            "member",
            "enterprise",
            "quantity_kg",
            "met_kg",
            "due_on",
            "met_at",
        )
        read_only_fields = fields


class StatementLineSerializer(serializers.Serializer[Any]):
    member = serializers.IntegerField(source="member_id")
    enterprise = serializers.IntegerField(source="enterprise_id")
    enterprise_name = serializers.CharField()
    commitment_kg = serializers.DecimalField(
        max_digits=16, decimal_places=3, help_text="The average over the period."
    )
    cost_cny = serializers.DecimalField(max_digits=20, decimal_places=2)


class StatementSerializer(serializers.Serializer[Any]):
    pool = serializers.IntegerField(source="pool_id")
    month = serializers.CharField()
    basis = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    tonne_months = serializers.DecimalField(max_digits=24, decimal_places=6)
    average_held_kg = serializers.DecimalField(max_digits=20, decimal_places=3)
    held_at_end_kg = serializers.DecimalField(max_digits=20, decimal_places=3)
    holding_rate_per_t_month = serializers.DecimalField(max_digits=12, decimal_places=2)
    storage_fee_per_month = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_cny = serializers.DecimalField(max_digits=20, decimal_places=2)
    lines = StatementLineSerializer(many=True)


# --- Writes -----------------------------------------------------------------------------------


def _parks_operated(scope: Scope) -> Any:
    if scope.is_superuser:
        return Park.objects.all()
    return Park.objects.filter(pk__in=scope.operated_park_ids)


def _enterprises_seen(scope: Scope) -> Any:
    if scope.is_superuser:
        return Enterprise.objects.all()
    return Enterprise.objects.filter(park_id__in=scope.operated_park_ids)


class PoolTermsSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """The terms of a pool its operator sets when it opens it and may change later."""

    max_price_per_t = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    holding_rate_per_t_month = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    storage_fee_per_month = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), required=False
    )
    replenish_rule = serializers.ChoiceField(choices=ReplenishRule.choices, required=False)
    replenish_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    rotation_lead_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)


class PoolCreateSerializer(PoolTermsSerializer):
    """A new pool in a park the caller operates (pools.services.pool_create checks the
    zones, the lead's park and the code)."""

    park = ScopedRelatedField(scoped=_parks_operated)
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    material = ScopedRelatedField(scoped=lambda scope: Material.objects.filter(is_active=True))
    target_kg = kg_input()
    zones = ScopedRelatedField(
        scoped=lambda scope: zone_list(scope=scope).select_related("warehouse"),
        many=True,
        allow_empty=False,
    )
    lead = ScopedRelatedField(scoped=_enterprises_seen, required=False, allow_null=True)
    substitutes = ScopedRelatedField(
        scoped=lambda scope: Material.objects.filter(is_active=True), many=True, required=False
    )


class PoolUpdateSerializer(PoolTermsSerializer):
    """The operator's terms of a pool (pools.services.pool_update: the target never below
    the members' commitments)."""

    name = serializers.CharField(max_length=200, required=False)
    target_kg = kg_input(required=False)
    is_active = serializers.BooleanField(required=False)


class MembershipRequestInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """join (with a commitment), change (with the new commitment) or leave."""

    kind = serializers.ChoiceField(choices=RequestKind.choices)
    commitment_kg = kg_input(required=False)
    reason = text_input()


def _own_lots(scope: Scope) -> Any:
    return lot_list(scope=scope).select_related("zone__warehouse")


def _deals_seen(scope: Scope) -> Any:
    return match_list(scope=scope)


def _orders_seen(scope: Scope) -> Any:
    return order_list(scope=scope)


class PoolProposalSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A proposal the matching engine made for the pool's need."""

    match = ScopedRelatedField(scoped=_deals_seen)


class PoolProposalDeclineSerializer(PoolProposalSerializer):
    reason = text_input()


class PoolReceiveSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """An order the pool placed, received into one of its zones (by default the first)."""

    order = ScopedRelatedField(scoped=_orders_seen)
    zone = ScopedRelatedField(scoped=lambda scope: zone_list(scope=scope), required=False)


class ContributeSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """Own stock lying in one of the pool's zones, put into the pool."""

    lot = ScopedRelatedField(scoped=_own_lots)
    quantity_kg = kg_input()


class DrawInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    quantity_kg = kg_input()
    severity = serializers.ChoiceField(choices=DrawSeverity.choices)
    reason = serializers.CharField(max_length=500)


class DecisionSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """The operator's decision: an optional note."""

    note = text_input()


class GrantSerializer(DecisionSerializer):
    """Grant all the draw asked (no ``quantity_kg``) or part of it."""

    quantity_kg = kg_input(required=False)
