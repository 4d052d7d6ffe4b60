"""Query-string filters of the pools API, bounded by ``common.filters.FilterSet``."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from common.filters import FilterSet, IdFilter
from pools.models import (
    Contribution,
    Draw,
    DrawSeverity,
    DrawStatus,
    MembershipRequest,
    Obligation,
    Pool,
    RequestKind,
    RequestStatus,
)
from pools.selectors import obligations_overdue_q


class PoolFilter(FilterSet):
    park = IdFilter(field_name="park_id")
    material = IdFilter(field_name="material_id")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Pool
        fields = ["park", "material", "is_active"]


class MembershipRequestFilter(FilterSet):
    pool = IdFilter(field_name="pool_id")
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    kind = django_filters.ChoiceFilter(choices=RequestKind.choices)

    class Meta:
        model = MembershipRequest
        fields = ["pool", "status", "kind"]


class DrawFilter(FilterSet):
    pool = IdFilter(field_name="pool_id")
    status = django_filters.ChoiceFilter(choices=DrawStatus.choices)
    severity = django_filters.ChoiceFilter(choices=DrawSeverity.choices)

    class Meta:
        model = Draw
        fields = ["pool", "status", "severity"]


class ObligationFilter(FilterSet):
    pool = IdFilter(field_name="pool_id")
    member = IdFilter(field_name="member_id")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", help_text="true: open and past their date; false: the others."
    )

    class Meta:
        model = Obligation
        fields = ["pool", "member", "overdue"]

    def filter_overdue(self, qs: QuerySet[Obligation], name: str, value: Any) -> Any:
        if value is None:
            return qs
        return qs.filter(obligations_overdue_q()) if value else qs.exclude(obligations_overdue_q())


class ContributionFilter(FilterSet):
    pool = IdFilter(field_name="pool_id")
    member = IdFilter(field_name="member_id")

    class Meta:
        model = Contribution
        fields = ["pool", "member"]
