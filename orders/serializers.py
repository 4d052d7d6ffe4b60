"""Translation between the orders' JSON and their services: no rule of the domain here.

The order serializer is flat (every related value a ``source=`` path over the selector's
``select_related``); the detail adds the transitions, prefetched by the selector. Input
serializers refuse unknown fields and look every foreign id up through the caller's
scope: a match or listing the caller cannot see, a zone it may not store in, is "does not
exist" on that field.
"""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from access.api import ScopedRelatedField
from access.scope import Scope
from common.serializers import FlatReadSerializer, RejectUnknownFieldsMixin
from inventory.models import StorageZone
from inventory.serializer_fields import pop_quantity, quantity_input, unit_input
from marketplace.models import Listing
from marketplace.selectors import listing_list
from matching.models import Match
from matching.selectors import match_list
from orders.models import Order, OrderTransition
from orders.selectors import receipt_zones
from orders.services import REASON_MAX_LENGTH


def matches_of_caller(scope: Scope) -> QuerySet[Match]:
    return match_list(scope=scope)


def listings_of_caller(scope: Scope) -> QuerySet[Listing]:
    """The listings the caller reads: its own (refused by the service, with the reason)
    and the published ones visible to its park."""
    return listing_list(scope=scope)


def zones_of_caller(scope: Scope) -> QuerySet[StorageZone]:
    return receipt_zones(scope=scope)


class OrderTransitionSerializer(serializers.ModelSerializer[OrderTransition]):
    # Plain strings in the schema: the order's own ``status`` documents the values ("" is
    # the creation's "from").
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    actor_username = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = OrderTransition
        fields = ("from_status", "to_status", "actor", "actor_username", "at", "reason")
        read_only_fields = fields


class OrderSerializer(FlatReadSerializer):
    """An order as its seller and buyer (and their parks' operators and regulators) read
    it. ``reservation_status`` is the lot reservation's: held, released, expired or
    consumed."""

    seller = serializers.IntegerField(source="seller_id", read_only=True)
    seller_name_zh = serializers.CharField(source="seller.name_zh", read_only=True)
    seller_name_en = serializers.CharField(source="seller.name_en", read_only=True)
    buyer = serializers.IntegerField(source="buyer_id", read_only=True)
    buyer_name_zh = serializers.CharField(source="buyer.name_zh", read_only=True)
    buyer_name_en = serializers.CharField(source="buyer.name_en", read_only=True)
    listing = serializers.IntegerField(source="listing_id", read_only=True)
    need = serializers.IntegerField(source="need_id", read_only=True, allow_null=True)
    match = serializers.IntegerField(source="match_id", read_only=True, allow_null=True)
    material = serializers.IntegerField(source="material_id", read_only=True)
    material_name_en = serializers.CharField(source="material.name_en", read_only=True)
    material_name_zh = serializers.CharField(source="material.name_zh", read_only=True)
    material_cas = serializers.CharField(source="material.cas", read_only=True, allow_null=True)
    lot = serializers.IntegerField(source="lot_id", read_only=True)
    reservation = serializers.IntegerField(source="reservation_id", read_only=True, allow_null=True)
    reservation_status = serializers.CharField(
        source="reservation.status", read_only=True, allow_null=True
    )
    delivery_zone = serializers.IntegerField(
        source="delivery_zone_id", read_only=True, allow_null=True
    )
    buyer_lot = serializers.IntegerField(source="buyer_lot_id", read_only=True, allow_null=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Order
        fields: tuple[str, ...] = (
            "id",
            "status",
            "seller",
            "seller_name_zh",
            "seller_name_en",
            "buyer",
            "buyer_name_zh",
            "buyer_name_en",
            "listing",
            "need",
            "match",
            "material",
            "material_name_en",
            "material_name_zh",
            "material_cas",
            "lot",
            "quantity_kg",
            "price_per_t",
            "transport_per_t",
            "total_yuan",
            "reservation",
            "reservation_status",
            "hold_until",
            "delivery_zone",
            "buyer_lot",
            "shared_transfer",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields


class OrderDetailSerializer(OrderSerializer):
    """An order with every step it took, oldest first."""

    transitions = OrderTransitionSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = (*OrderSerializer.Meta.fields, "transitions")
        read_only_fields = fields


class OrderCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """``{"match": id}`` to order an agreed match, or ``{"listing": id, "quantity": "5",
    "unit": "t"}`` to order directly from a listing."""

    match = ScopedRelatedField(
        scoped=matches_of_caller,
        required=False,
        help_text="An agreed match the caller's enterprise sells or buys in.",
    )
    listing = ScopedRelatedField(
        scoped=listings_of_caller,
        required=False,
        help_text="A published listing of another enterprise, visible to the caller's park.",
    )
    quantity = quantity_input(required=False)
    unit = unit_input()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        match, listing = attrs.get("match"), attrs.get("listing")
        if (match is None) == (listing is None):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Give either a match or a listing.")]}
            )
        if match is not None:
            given = [name for name in ("quantity", "unit") if name in attrs]
            if given:
                raise serializers.ValidationError(
                    {name: [_("An order of a match takes the match's quantity.")] for name in given}
                )
            return attrs
        if "quantity" not in attrs:
            raise serializers.ValidationError(
                {"quantity": [_("Required when ordering from a listing.")]}
            )
        assert listing is not None
        attrs["quantity_kg"] = pop_quantity(attrs, material=listing.material)
        return attrs


class OrderReasonSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """``confirm``, ``reject`` and ``cancel`` take an optional reason; the body may be left out."""

    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why, for the other side and the record (optional).",
    )


class OrderReceiveSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    zone = ScopedRelatedField(
        scoped=zones_of_caller,
        help_text="A zone of the buyer's own warehouses or of its park's shared warehouses.",
    )


class OrderTransferSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    zone = ScopedRelatedField(
        scoped=zones_of_caller,
        required=False,
        allow_null=True,
        help_text="Another zone of the shared warehouse; leave out to keep the goods where "
        "they lie.",
    )
