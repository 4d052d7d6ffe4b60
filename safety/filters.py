"""Query-string filters of the safety API, bounded by ``common.filters.FilterSet``."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from common.filters import FilterSet, IdFilter
from safety.models import (
    HazardGrade,
    HazardStatus,
    HazardUnit,
    HiddenHazard,
    Incident,
    IncidentGrade,
    Inspection,
)


class InspectionFilter(FilterSet):
    park = IdFilter(field_name="park_id")
    enterprise = IdFilter(field_name="enterprise_id")
    inspected_from = django_filters.DateFilter(field_name="inspected_on", lookup_expr="gte")
    inspected_to = django_filters.DateFilter(field_name="inspected_on", lookup_expr="lte")

    class Meta:
        model = Inspection
        fields = ["park", "enterprise", "inspected_from", "inspected_to"]


class HiddenHazardFilter(FilterSet):
    park = IdFilter(field_name="park_id")
    enterprise = IdFilter(field_name="enterprise_id")
    inspection = IdFilter(field_name="inspection_id")
    grade = django_filters.ChoiceFilter(choices=HazardGrade.choices)
    status = django_filters.ChoiceFilter(
        field_name="current_status",
        choices=HazardStatus.choices,
        help_text="open (in time), overdue (open past its deadline) or rectified.",
    )

    class Meta:
        model = HiddenHazard
        fields = ["park", "enterprise", "inspection", "grade", "status"]


class IncidentFilter(FilterSet):
    park = IdFilter(field_name="park_id")
    enterprise = IdFilter(field_name="enterprise_id")
    grade = django_filters.ChoiceFilter(choices=IncidentGrade.choices)
    occurred_from = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__gte")
    occurred_to = django_filters.DateFilter(field_name="occurred_at", lookup_expr="date__lte")

    class Meta:
        model = Incident
        fields = ["park", "enterprise", "grade", "occurred_from", "occurred_to"]


class HazardUnitFilter(FilterSet):
    park = IdFilter(field_name="park_id")
    major = django_filters.BooleanFilter(
        method="filter_major", help_text="true: S ≥ 1 now (a major hazard installation)."
    )
    level = django_filters.NumberFilter(field_name="level")

    class Meta:
        model = HazardUnit
        fields = ["park", "major", "level"]

    def filter_major(self, qs: QuerySet[HazardUnit], name: str, value: Any) -> Any:
        if value is None:
            return qs
        return qs.filter(level__isnull=not value)
