"""The reports API's query parameters (bounded at the edge) and, for the schema, the shape
of its answers: a document of tables (``common.exports``)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.filters import MAX_ID, MAX_IDS
from parks.models import Park
from reports.pages import section_keys
from reports.periods import (
    CONVENTIONS,
    GRANULARITIES,
    MAX_DAYS,
    MAX_MONTHS,
    Period,
    PeriodError,
    parse_granularity,
)


class ReportParkSerializer(serializers.ModelSerializer[Park]):
    class Meta:
        model = Park
        fields = ["id", "code", "name_zh", "name_en"]


class ColumnSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    kind = serializers.ChoiceField(choices=["text", "int", "decimal", "percent", "month"])


class TableSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text=_(
            "One object per row, keyed by the columns' keys; decimals as strings, "
            "an absent figure as null."
        ),
    )


class PeriodSerializer(serializers.Serializer[Any]):
    start = serializers.CharField(help_text="YYYY-MM")
    end = serializers.CharField(help_text="YYYY-MM")


class ParkReportSerializer(serializers.Serializer[Any]):
    park = ReportParkSerializer()
    period = PeriodSerializer()
    as_of = serializers.DateTimeField(
        help_text=_("When stock and stockpiles are read: the period's end, or now.")
    )
    sections = TableSerializer(many=True)


class ComparisonSerializer(serializers.Serializer[Any]):
    period = PeriodSerializer()
    parks = ReportParkSerializer(many=True)
    sections = TableSerializer(many=True)


class _PeriodQuery(serializers.Serializer[Any]):
    start = serializers.CharField(required=False, max_length=7)
    end = serializers.CharField(required=False, max_length=7)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["period"] = Period.of(attrs.get("start"), attrs.get("end"))
        except PeriodError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        return attrs


def _convention() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=list(CONVENTIONS),
        default=CONVENTIONS[0],
        help_text=_("The convention of electricity in tce: equivalent (default) or equal_value."),
    )


class ParkReportQuery(_PeriodQuery):
    section = serializers.ChoiceField(choices=[], required=False)
    convention = _convention()
    granularity = serializers.ChoiceField(
        choices=list(GRANULARITIES),
        default=GRANULARITIES[0],
        help_text=_(
            "The steps of the energy series: month (default) or day (at most %(max)s days)."
        )
        % {"max": MAX_DAYS},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        try:
            parse_granularity(attrs.get("granularity"), attrs["period"])
        except PeriodError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        return attrs

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = section_keys()  # type: ignore[attr-defined]


class MonthlyQuery(serializers.Serializer[Any]):
    month = serializers.CharField(required=False, max_length=7)
    convention = _convention()

    def validate_month(self, value: str) -> Period:
        try:
            return Period.month(value)
        except PeriodError as exc:
            raise serializers.ValidationError(exc.message) from exc


class ComparisonQuery(_PeriodQuery):
    convention = _convention()
    park = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_IDS,
    )


PERIOD_HELP = _(
    "YYYY-MM. The period runs from start to end, both months included, at most "
    "%(max)s months; by default the last twelve months up to this one."
) % {"max": MAX_MONTHS}
