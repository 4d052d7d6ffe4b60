"""Translation between matching's JSON and its services: no rule of the domain here.

The match serializer is flat (every related value a ``source=`` path over the selector's
``select_related``), so list pages render from ``.values()`` rows (``FlatReadSerializer``).
Input serializers refuse unknown fields: a client that sends ``{"quantity_kg": 5}`` to
``accept`` must not believe it changed anything.
"""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from common.serializers import FlatReadSerializer, RejectUnknownFieldsMixin
from inventory.selectors import material_list
from matching.models import RUN_FIELDS, Match, MatchRun
from matching.services.decisions import REASON_MAX_LENGTH

MAX_RUN_MATERIALS = 200


class MatchSerializer(FlatReadSerializer):
    """A proposal as its seller and buyer (and their parks' operators and regulators) read it."""

    listing = serializers.IntegerField(source="listing_id", read_only=True)
    need = serializers.IntegerField(source="need_id", read_only=True)
    seller = serializers.IntegerField(source="seller_id", read_only=True)
    seller_name_zh = serializers.CharField(source="seller.name_zh", read_only=True)
    seller_name_en = serializers.CharField(source="seller.name_en", read_only=True)
    buyer = serializers.IntegerField(source="buyer_id", read_only=True)
    buyer_name_zh = serializers.CharField(source="buyer.name_zh", read_only=True)
    buyer_name_en = serializers.CharField(source="buyer.name_en", read_only=True)
    material = serializers.IntegerField(source="material_id", read_only=True)
    material_name_en = serializers.CharField(source="material.name_en", read_only=True)
    material_name_zh = serializers.CharField(source="material.name_zh", read_only=True)
    material_cas = serializers.CharField(source="material.cas", read_only=True, allow_null=True)
    run = serializers.IntegerField(source="run_id", read_only=True, allow_null=True)
    previous = serializers.IntegerField(source="previous_id", read_only=True, allow_null=True)

    class Meta:
        model = Match
        fields = (
            "id",
            "status",
            "listing",
            "need",
            "seller",
            "seller_name_zh",
            "seller_name_en",
            "buyer",
            "buyer_name_zh",
            "buyer_name_en",
            "material",
            "material_name_en",
            "material_name_zh",
            "material_cas",
            "quantity_kg",
            "price_per_t",
            "transport_per_t",
            "distance_km",
            "total_yuan",
            "explanation",
            "explanation_zh",
            "decline_reason",
            "seller_accepted_at",
            "buyer_accepted_at",
            "decided_at",
            "created_at",
            "superseded_at",
            "run",
            "previous",
        )
        read_only_fields = fields


class MatchAcceptSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """``accept`` takes no input; a body, if any, must be empty (``{}``)."""


class MatchDeclineSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """``decline`` takes an optional reason; the body may be left out."""

    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the match is declined, for the other side (optional).",
    )


class MatchRunSerializer(FlatReadSerializer):
    """An engine run with its figures; ``quantity_gap`` is the share of the relaxed
    optimum's quantity that minimum order quantities cost (0 = none)."""

    requested_by = serializers.IntegerField(
        source="requested_by_id", read_only=True, allow_null=True
    )
    material_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    quantity_gap = serializers.DecimalField(max_digits=9, decimal_places=6, read_only=True)

    class Meta:
        model = MatchRun
        fields = ("id", *RUN_FIELDS)
        read_only_fields = fields


class MatchRunRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """``{}`` for a full rematch, or the CAS numbers of the materials to rematch."""

    materials = serializers.ListField(
        child=serializers.CharField(max_length=12),
        max_length=MAX_RUN_MATERIALS,
        allow_empty=False,
        required=False,
        help_text="CAS numbers of the materials to rematch; leave out for a full rematch.",
    )

    def validate_materials(self, cas_numbers: list[str]) -> list[int]:
        """The materials' ids, in the order given (each once)."""
        wanted = list(dict.fromkeys(cas.strip() for cas in cas_numbers))
        found = dict(material_list().filter(cas__in=wanted).values_list("cas", "pk"))
        unknown = [cas for cas in wanted if cas not in found]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown CAS numbers: %(cas)s.") % {"cas": ", ".join(unknown)}
            )
        return [found[cas] for cas in wanted]
