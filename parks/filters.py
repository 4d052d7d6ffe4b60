"""Query-string filters of the parks API (django-filter)."""

import django_filters

from common.filters import FilterSet
from parks.models import Enterprise, Park


class ParkFilter(FilterSet):
    code = django_filters.CharFilter()
    division_code = django_filters.CharFilter()
    region_code = django_filters.CharFilter()

    class Meta:
        model = Park
        fields = ["code", "division_code", "region_code"]


class EnterpriseFilter(FilterSet):
    uscc = django_filters.CharFilter()
    park = django_filters.NumberFilter(field_name="park_id")
    park_code = django_filters.CharFilter(field_name="park__code")
    region_code = django_filters.CharFilter(field_name="park__region_code")
    industry = django_filters.CharFilter(lookup_expr="icontains")
    is_active = django_filters.BooleanFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Enterprise
        fields = ["uscc", "park", "park_code", "region_code", "industry", "is_active"]
