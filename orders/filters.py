"""Query-string filters of the order list (django-filter). A bad value answers 400 naming
the parameter, through the one error shape of ``common.errors``."""

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _

from access.scope import request_scope
from common.filters import FilterSet, IdInFilter
from orders.models import Order, OrderStatus

ROLE_CHOICES = (("seller", _("seller")), ("buyer", _("buyer")))


class OrderFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices, distinct=False)
    role = django_filters.ChoiceFilter(
        choices=ROLE_CHOICES,
        method="filter_role",
        help_text="The side the caller's enterprise takes: orders it sells or buys in "
        "(none for users who act for no enterprise).",
    )
    material = IdInFilter(field_name="material_id", help_text="Material ids, comma-separated.")
    listing = IdInFilter(field_name="listing_id", help_text="Listing ids, comma-separated.")
    created_after = django_filters.DateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Created at or after (a date or an ISO 8601 time).",
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_role(self, queryset: Any, name: str, value: str) -> Any:
        enterprise_id = request_scope(self.request).enterprise_id
        if enterprise_id is None:
            return queryset.none()
        return queryset.filter(**{f"{value}_id": enterprise_id})
