"""``?search=`` is bounded: every term adds an OR over the search fields to the SQL, so a
search of 1,800 terms once built 442 KB of SQL. Now more than MAX_SEARCH_TERMS terms or
MAX_SEARCH_LENGTH characters is a 400 naming ``search``, on every list that searches."""

from typing import Any

import pytest
from rest_framework import filters as drf_filters

from common.filters import MAX_SEARCH_LENGTH, MAX_SEARCH_TERMS, SearchFilter
from config.api_urls import router

pytestmark = pytest.mark.django_db

SEARCHED = [
    prefix
    for prefix, viewset, _basename in router.registry
    if hasattr(viewset, "list") and getattr(viewset, "search_fields", None)
]


def test_every_search_goes_through_the_bounded_filter() -> None:
    assert len(SEARCHED) >= 10
    for prefix, viewset, _basename in router.registry:
        for backend in getattr(viewset, "filter_backends", []):
            if issubclass(backend, drf_filters.SearchFilter):
                assert issubclass(backend, SearchFilter), prefix


def _assert_400_on_search(response: Any) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["search"]


@pytest.mark.parametrize("prefix", SEARCHED)
def test_too_many_terms_or_characters_are_a_400_on_search(
    prefix: str, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    url = f"/api/v1/{prefix}/"
    _assert_400_on_search(client.get(url, {"search": " ".join(["ab"] * (MAX_SEARCH_TERMS + 1))}))
    _assert_400_on_search(client.get(url, {"search": "x" * (MAX_SEARCH_LENGTH + 1)}))
    assert client.get(url, {"search": " ".join(["ab"] * MAX_SEARCH_TERMS)}).status_code == 200
    assert client.get(url, {"search": "x" * MAX_SEARCH_LENGTH}).status_code == 200


def test_the_search_of_1800_terms_never_reaches_the_database(
    world: dict[str, Any], api_client: Any, django_assert_max_num_queries: Any
) -> None:
    client = api_client(world["users"]["superuser"])
    terms = ",".join(f"t{i}" for i in range(1800))
    with django_assert_max_num_queries(2):  # the token and the user, nothing searched
        response = client.get("/api/v1/listings/", {"search": terms})
    _assert_400_on_search(response)
    assert "200" in response.json()["error"]["message"]
