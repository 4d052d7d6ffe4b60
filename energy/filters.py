"""The filters of the energy lists (bounded at the edge by ``common.filters.FilterSet``)."""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from common.filters import FilterSet, IdFilter
from energy.models import Carrier, Convention, ConversionFactor, Meter, OutputValue, Reading


class MeterFilter(FilterSet):
    enterprise = IdFilter(field_name="enterprise_id")
    park = IdFilter(field_name="enterprise__park_id")
    carrier = django_filters.MultipleChoiceFilter(choices=Carrier.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Meter
        fields = ["enterprise", "park", "carrier", "is_active"]


class ReadingFilter(FilterSet):
    meter = IdFilter(field_name="meter_id")
    enterprise = IdFilter(field_name="meter__enterprise_id")
    at_after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    at_before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")
    day = django_filters.DateFilter()

    class Meta:
        model = Reading
        fields = ["meter", "enterprise", "day"]


class OutputValueFilter(FilterSet):
    enterprise = IdFilter(field_name="enterprise_id")
    park = IdFilter(field_name="enterprise__park_id")
    month_from = django_filters.DateFilter(field_name="month", lookup_expr="gte")
    month_until = django_filters.DateFilter(field_name="month", lookup_expr="lte")

    class Meta:
        model = OutputValue
        fields = ["enterprise", "park"]


class ConversionFactorFilter(FilterSet):
    carrier = django_filters.MultipleChoiceFilter(choices=Carrier.choices)
    convention = django_filters.ChoiceFilter(choices=Convention.choices)
    valid_on = django_filters.DateFilter(method="filter_valid_on")

    class Meta:
        model = ConversionFactor
        fields = ["carrier", "convention"]

    def filter_valid_on(
        self, qs: QuerySet[ConversionFactor], name: str, value: Any
    ) -> QuerySet[ConversionFactor]:
        return qs.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=value), valid_from__lte=value
        )
