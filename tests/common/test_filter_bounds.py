"""Numbers in query strings are bounded at the edge: every numeric filter of every list
endpoint, discovered from the router and the FilterSets (so a new filter cannot slip past),
answers 400 naming its parameter for values the database cannot take, never a 500."""

from typing import Any

import django_filters
import pytest
from django import forms
from django.http import QueryDict
from django_filters.rest_framework import DjangoFilterBackend

from common.filters import MAX_ID, MAX_IDS_PER_FILTER, FilterSet, IdFormField
from config.api_urls import router
from marketplace.models import Listing
from parks.models import Park

pytestmark = pytest.mark.django_db

NUMERIC_FIELDS = (forms.DecimalField, forms.IntegerField, forms.FloatField, forms.ModelChoiceField)


def _list_viewsets() -> list[tuple[str, Any]]:
    return [
        (prefix, viewset)
        for prefix, viewset, _basename in router.registry
        if hasattr(viewset, "list")
        and any(
            issubclass(backend, DjangoFilterBackend)
            for backend in getattr(viewset, "filter_backends", [])
        )
    ]


def _is_numeric(filter_: django_filters.Filter) -> bool:
    field = filter_.field
    parts = getattr(field, "fields", None) or [field]  # a range's two fields
    return any(isinstance(part, NUMERIC_FIELDS) for part in parts)


def _params(name: str, filter_: django_filters.Filter) -> list[str]:
    if isinstance(filter_, django_filters.RangeFilter):
        return [f"{name}_min", f"{name}_max"]
    return [name]


def numeric_filters() -> list[Any]:
    cases = []
    for prefix, viewset in _list_viewsets():
        for name, filter_ in viewset.filterset_class.base_filters.items():
            if not _is_numeric(filter_):
                continue
            is_key = issubclass(filter_.field_class, IdFormField | forms.ModelChoiceField)
            for param in _params(name, filter_):
                cases.append(pytest.param(prefix, param, is_key, id=f"{prefix}?{param}"))
    return cases


NUMERIC = numeric_filters()
KEYS = [case for case in NUMERIC if case.values[2]]
COMMA_SEPARATED = [
    pytest.param(prefix, name, id=f"{prefix}?{name}")
    for prefix, viewset in _list_viewsets()
    for name, filter_ in viewset.filterset_class.base_filters.items()
    if isinstance(filter_, django_filters.filters.BaseCSVFilter) and _is_numeric(filter_)
]


def test_every_list_endpoint_filters_through_the_bounded_base() -> None:
    viewsets = _list_viewsets()
    lists = [prefix for prefix, viewset, _basename in router.registry if hasattr(viewset, "list")]
    assert len(viewsets) == len(lists) >= 14
    for prefix, viewset in viewsets:
        assert issubclass(viewset.filterset_class, FilterSet), prefix
        assert not getattr(viewset, "filterset_fields", None), prefix
    # The discovery finds the filters the issue named, and plenty of others.
    params = {(case.values[0], case.values[1]) for case in NUMERIC}
    assert {("listings", "material"), ("lots", "on_hand_min"), ("permits", "material")} <= params
    assert len(NUMERIC) >= 40
    assert len(COMMA_SEPARATED) >= 10


BAD_NUMBERS = [
    "99999999999999999999",
    str(2**63),
    "-99999999999999999999",
    "1e400",
    "-1e400",
    "1e-20000",
    "NaN",
    "Infinity",
    "abc",
]


def _assert_400_on(response: Any, param: str) -> None:
    assert response.status_code == 400, (param, response.content)
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert param in error["fields"], error


@pytest.mark.parametrize(("prefix", "param", "is_key"), NUMERIC)
def test_numbers_out_of_range_are_a_400_naming_the_parameter(
    prefix: str, param: str, is_key: bool, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    url = f"/api/v1/{prefix}/"
    for value in BAD_NUMBERS:
        _assert_400_on(client.get(url, {param: value}), param)
    # In range, and empty (no filter, as django-filter has it), the list answers.
    assert client.get(url, {param: "1"}).status_code == 200
    assert client.get(url, {param: ""}).status_code == 200


@pytest.mark.parametrize(("prefix", "param", "is_key"), KEYS)
def test_ids_are_whole_numbers_within_the_keys(
    prefix: str, param: str, is_key: bool, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    url = f"/api/v1/{prefix}/"
    for value in ("0", "-1", "1.5", str(MAX_ID + 1), " ", "1e3"):
        _assert_400_on(client.get(url, {param: value}), param)
    assert client.get(url, {param: str(MAX_ID)}).status_code == 200


@pytest.mark.parametrize(("prefix", "param"), COMMA_SEPARATED)
def test_lists_of_ids_are_bounded_in_value_and_count(
    prefix: str, param: str, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    url = f"/api/v1/{prefix}/"
    _assert_400_on(client.get(url, {param: f"1,{2**64}"}), param)
    many = ",".join(str(i) for i in range(1, MAX_IDS_PER_FILTER + 2))
    _assert_400_on(client.get(url, {param: many}), param)
    enough = ",".join(str(i) for i in range(1, MAX_IDS_PER_FILTER + 1))
    assert client.get(url, {param: enough}).status_code == 200


class ParkChoiceFilter(FilterSet):
    park = django_filters.ModelChoiceFilter(queryset=Park.objects.all())
    parks = django_filters.ModelMultipleChoiceFilter(field_name="park", queryset=Park.objects.all())

    class Meta:
        model = Listing
        fields: list[str] = []


@pytest.mark.parametrize("value", [str(2**64), "99999999999999999999", "-1", "1e400"])
def test_model_choice_filters_check_the_key_before_the_lookup(value: str) -> None:
    one = ParkChoiceFilter(QueryDict(f"park={value}"), Listing.objects.all())
    assert not one.is_valid()
    assert "park" in one.errors
    many = ParkChoiceFilter(QueryDict(f"parks=1&parks={value}"), Listing.objects.all())
    assert not many.is_valid()
    assert "parks" in many.errors


def test_a_number_filter_keeps_working_within_its_bounds(
    world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    response = client.get("/api/v1/lots/", {"on_hand_min": "0.5", "purity_min": "99.9"})
    assert response.status_code == 200
    response = client.get("/api/v1/lots/", {"purity_min": "1001"})
    _assert_400_on(response, "purity_min")
    assert client.get("/api/v1/lots/", {"on_hand_min": "0.000000000001"}).status_code == 200
    _assert_400_on(client.get("/api/v1/lots/", {"on_hand_min": "0.0000000000001"}), "on_hand_min")


BOOLEANS = [
    pytest.param(prefix, name, id=f"{prefix}?{name}")
    for prefix, viewset in _list_viewsets()
    for name, filter_ in viewset.filterset_class.base_filters.items()
    if isinstance(filter_, django_filters.BooleanFilter)
]


def test_the_discovery_finds_the_boolean_filters() -> None:
    assert {("warehouses", "shared"), ("zones", "shared")} <= {tuple(c.values) for c in BOOLEANS}


@pytest.mark.parametrize(("prefix", "param"), BOOLEANS)
def test_a_boolean_filter_takes_true_or_false_only(
    prefix: str, param: str, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    url = f"/api/v1/{prefix}/"
    for value in ("abc", "maybe", "2", "truthy"):
        response = client.get(url, {param: value})
        _assert_400_on(response, param)
        assert response.json()["error"]["fields"][param] == ["Use true or false."]
    counts = {v: client.get(url, {param: v}).json()["count"] for v in ("true", "false", "")}
    assert counts["true"] + counts["false"] == counts[""]
    assert client.get(url, {param: "1"}).json()["count"] == counts["true"]
