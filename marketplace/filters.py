"""Query-string filters of the marketplace lists (django-filter FilterSets).

A bad filter value (``price_min=abc``) answers 400 naming the parameter, through the one
error shape of ``common.errors``.
"""

from datetime import date
from typing import Any

import django_filters
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from common.filters import FilterSet, IdInFilter
from inventory.hazards import HazardClass
from marketplace.models import Listing, ListingStatus, Need, NeedStatus, Visibility


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` with ``id`` as the last key, so that pages never overlap or skip rows
    when many rows share a price or a date."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> list[str] | None:
        terms = list(super().get_ordering(request, queryset, view) or ())
        if not terms:
            return None
        if not any(term.lstrip("-") in ("id", "pk") for term in terms):
            terms.append("-id")
        return terms


class ListingFilter(FilterSet):
    material = IdInFilter(field_name="material_id", help_text="Material ids, comma-separated.")
    cas = django_filters.CharFilter(field_name="material__cas", help_text="CAS number.")
    hazard_class = django_filters.ChoiceFilter(
        field_name="material__primary_class",
        choices=HazardClass.choices,
        help_text="Primary dangerous-goods class of the material.",
    )
    park = IdInFilter(field_name="seller__park_id", help_text="Seller's park ids.")
    seller = IdInFilter(field_name="seller_id", help_text="Seller enterprise ids.")
    status = django_filters.MultipleChoiceFilter(choices=ListingStatus.choices, distinct=False)
    visibility = django_filters.MultipleChoiceFilter(choices=Visibility.choices, distinct=False)
    price_min = django_filters.NumberFilter(field_name="price_per_t", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="price_per_t", lookup_expr="lte")
    quantity_min = django_filters.NumberFilter(
        field_name="quantity_kg", lookup_expr="gte", help_text="Kilograms."
    )
    quantity_max = django_filters.NumberFilter(
        field_name="quantity_kg", lookup_expr="lte", help_text="Kilograms."
    )
    available_from = django_filters.DateFromToRangeFilter(
        help_text="available_from_after / available_from_before (dates, inclusive)."
    )
    available_on = django_filters.DateFilter(
        method="filter_available_on", help_text="Available on this date."
    )
    published_at = django_filters.DateFromToRangeFilter(
        help_text="published_at_after / published_at_before (dates, inclusive)."
    )

    class Meta:
        model = Listing
        fields: list[str] = []

    def filter_available_on(self, queryset: Any, name: str, value: date) -> Any:
        return queryset.filter(available_from__lte=value).exclude(available_until__lt=value)


class NeedFilter(FilterSet):
    material = IdInFilter(field_name="material_id", help_text="Material ids, comma-separated.")
    cas = django_filters.CharFilter(field_name="material__cas", help_text="CAS number.")
    hazard_class = django_filters.ChoiceFilter(
        field_name="material__primary_class",
        choices=HazardClass.choices,
        help_text="Primary dangerous-goods class of the material.",
    )
    park = IdInFilter(field_name="enterprise__park_id", help_text="Enterprise's park ids.")
    enterprise = IdInFilter(field_name="enterprise_id", help_text="Enterprise ids.")
    status = django_filters.MultipleChoiceFilter(choices=NeedStatus.choices, distinct=False)
    price_min = django_filters.NumberFilter(field_name="max_price_per_t", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="max_price_per_t", lookup_expr="lte")
    quantity_min = django_filters.NumberFilter(
        field_name="quantity_kg", lookup_expr="gte", help_text="Kilograms."
    )
    quantity_max = django_filters.NumberFilter(
        field_name="quantity_kg", lookup_expr="lte", help_text="Kilograms."
    )
    needed_by = django_filters.DateFromToRangeFilter(
        help_text="needed_by_after / needed_by_before (dates, inclusive)."
    )

    class Meta:
        model = Need
        fields: list[str] = []
