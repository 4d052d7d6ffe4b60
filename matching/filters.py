"""Query-string filters of the match and run lists (django-filter FilterSets).

A bad filter value (``status=maybe``) answers 400 naming the parameter, through the one
error shape of ``common.errors``.
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from access.scope import request_scope
from common.filters import FilterSet, IdInFilter
from matching.models import Match, MatchRun, MatchStatus, RunKind, RunStatus, RunTrigger

ROLE_CHOICES = (("seller", _("seller")), ("buyer", _("buyer")))


class MatchFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=MatchStatus.choices, distinct=False)
    material = IdInFilter(field_name="material_id", help_text="Material ids, comma-separated.")
    listing = IdInFilter(field_name="listing_id", help_text="Listing ids, comma-separated.")
    need = IdInFilter(field_name="need_id", help_text="Need ids, comma-separated.")
    role = django_filters.ChoiceFilter(
        choices=ROLE_CHOICES,
        method="filter_role",
        help_text="The side the caller's enterprise takes: seller or buyer. "
        "Ignored for users who do not act for an enterprise.",
    )
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO date or datetime, inclusive."
    )

    class Meta:
        model = Match
        fields: list[str] = []

    def filter_role(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        enterprise_id = request_scope(self.request).enterprise_id if self.request else None
        if not value or enterprise_id is None:
            return queryset
        return queryset.filter(**{f"{value}_id": enterprise_id})


class MatchRunFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices, distinct=False)
    kind = django_filters.ChoiceFilter(choices=RunKind.choices)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices)

    class Meta:
        model = MatchRun
        fields: list[str] = []
