"""Translation between the energy API's JSON and Python values; no rule lives here beyond
the shape of a field (the services decide, ``energy.services``)."""

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.serializers import FlatReadSerializer, RejectUnknownFieldsMixin
from energy.models import (
    CARRIER_UNIT,
    Carrier,
    ConversionFactor,
    Meter,
    OutputValue,
    Reading,
    Unit,
)
from energy.services.ingest import MAX_BATCH_ROWS


class MeterSerializer(FlatReadSerializer):
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)

    class Meta:
        model = Meter
        fields = (
            "id",
            "enterprise",
            "code",
            "name",
            "carrier",
            "unit",
            "is_active",
            "anomaly_factor",
            "last_reading_at",
            "created_at",
        )
        read_only_fields = fields


def _factor_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("1.01"),
        allow_null=True,
        help_text="A reading above this many times the meter's recent median is flagged; "
        "null: the server's default.",
        **kwargs,
    )


class MeterCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A meter of the caller's enterprise; ``unit`` must be the carrier's (kWh for
    electricity, m3 for natural gas, MJ for heat, kg for the others)."""

    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    carrier = serializers.ChoiceField(choices=Carrier.choices)
    unit = serializers.ChoiceField(choices=Unit.choices)
    is_active = serializers.BooleanField(required=False, default=True)
    anomaly_factor = _factor_field(required=False, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        expected = CARRIER_UNIT[attrs["carrier"]]
        if attrs["unit"] != expected:
            raise serializers.ValidationError(
                {
                    "unit": [
                        _("A %(carrier)s meter counts in %(unit)s.")
                        % {"carrier": Carrier(attrs["carrier"]).label, "unit": expected}
                    ]
                }
            )
        return attrs


class MeterUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A meter's code, name, active flag and jump factor; its carrier and unit are fixed."""

    code = serializers.CharField(max_length=64, required=False)
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    is_active = serializers.BooleanField(required=False)
    anomaly_factor = _factor_field(required=False)


class ReadingSerializer(FlatReadSerializer):
    meter = serializers.IntegerField(source="meter_id", read_only=True)

    class Meta:
        model = Reading
        fields = ("id", "meter", "at", "day", "value")
        read_only_fields = fields


class ReadingRowSerializer(serializers.Serializer[Any]):
    """One reading of a batch (documentation: the rows are checked by plain Python)."""

    meter = serializers.IntegerField(min_value=1)
    at = serializers.DateTimeField(help_text="ISO 8601 with its UTC offset; the interval's end.")
    value = serializers.DecimalField(
        max_digits=15, decimal_places=3, min_value=Decimal(0), coerce_to_string=True
    )


class ReadingBatchSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    readings = ReadingRowSerializer(many=True, max_length=MAX_BATCH_ROWS)  # type: ignore[call-arg]


class RefusalSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    field = serializers.CharField()
    reason = serializers.CharField()


class IngestResultSerializer(serializers.Serializer[Any]):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    refused = RefusalSerializer(many=True)
    anomalies = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)


class OutputValueSerializer(FlatReadSerializer):
    enterprise = serializers.IntegerField(source="enterprise_id", read_only=True)

    class Meta:
        model = OutputValue
        fields = ("id", "enterprise", "month", "value_yuan", "updated_at")
        read_only_fields = fields


class OutputValueInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    month = serializers.DateField(help_text="The month's first day (YYYY-MM-01).")
    value_yuan = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal(0), help_text="Yuan."
    )

    def validate_month(self, value: Any) -> Any:
        if value.day != 1:
            raise serializers.ValidationError(_("A month's first day is expected."))
        return value


class OutputValueUpdateSerializer(OutputValueInputSerializer):
    month = serializers.DateField(required=False, help_text="The month's first day.")
    value_yuan = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal(0), required=False
    )


class ConversionFactorSerializer(FlatReadSerializer):
    class Meta:
        model = ConversionFactor
        fields = (
            "id",
            "carrier",
            "convention",
            "kgce_per_unit",
            "valid_from",
            "valid_until",
            "source",
        )
        read_only_fields = fields
