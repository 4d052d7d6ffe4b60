"""The FilterSet base caches its form class, except where a filter's choices are a queryset."""

import django_filters
import pytest
from django.http import QueryDict

from common.filters import FilterSet
from marketplace.filters import ListingFilter
from marketplace.models import Listing
from parks.models import Park

pytestmark = pytest.mark.django_db


def test_form_class_is_built_once_and_still_validates() -> None:
    first = ListingFilter(QueryDict("price_min=abc"), Listing.objects.all())
    second = ListingFilter(QueryDict("price_min=10"), Listing.objects.all())
    assert first.get_form_class() is second.get_form_class()
    assert not first.is_valid()
    assert "price_min" in first.errors
    assert second.is_valid()
    assert first.form is not second.form


class ParkChoiceFilter(FilterSet):
    park = django_filters.ModelChoiceFilter(queryset=Park.objects.all())

    class Meta:
        model = Listing
        fields: list[str] = []


def test_queryset_choices_are_never_cached() -> None:
    first = ParkChoiceFilter(QueryDict(), Listing.objects.all())
    second = ParkChoiceFilter(QueryDict(), Listing.objects.all())
    assert first.get_form_class() is not second.get_form_class()


def test_filters_are_copies_bound_to_their_filterset() -> None:
    first = ListingFilter(QueryDict("available_on=2026-06-01"), Listing.objects.all())
    second = ListingFilter(QueryDict(), Listing.objects.all())
    on_first, on_second = first.filters["available_on"], second.filters["available_on"]
    assert on_first is not on_second
    assert on_first is not ListingFilter.base_filters["available_on"]
    assert on_first.parent is first
    assert on_second.parent is second
    # The method filter calls its own FilterSet's method.
    assert on_first.filter.f is on_first
    assert first.is_valid()
    assert "available_until" in str(first.qs.query)
