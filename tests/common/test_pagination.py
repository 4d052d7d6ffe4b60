"""Bounded counts and next links of the list endpoints."""

from typing import Any

import pytest

from common.pagination import PageNumberPagination
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_materials(world: dict[str, Any]) -> int:
    f.MaterialFactory.create_batch(24)
    return 25  # with the world's own material


def test_exact_count_below_the_limit_and_next_links(
    world: dict[str, Any], many_materials: int, api_client: Any
) -> None:
    client = api_client(world["users"]["viewer"])
    body = client.get("/api/v1/materials/?page_size=10").json()
    assert body["count"] == many_materials
    assert body["count_capped"] is False
    assert len(body["results"]) == 10
    assert body["previous"] is None
    assert "page=2" in body["next"]
    last = client.get("/api/v1/materials/?page_size=10&page=3").json()
    assert len(last["results"]) == 5
    assert last["next"] is None
    assert "page=2" in last["previous"]
    seen = {
        r["id"]
        for p in (1, 2, 3)
        for r in client.get(f"/api/v1/materials/?page_size=10&page={p}").json()["results"]
    }
    assert len(seen) == many_materials


def test_count_stops_at_the_limit_unless_exact_is_asked(
    world: dict[str, Any], many_materials: int, api_client: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(PageNumberPagination, "count_limit", 20)
    client = api_client(world["users"]["viewer"])
    capped = client.get("/api/v1/materials/?page_size=10").json()
    assert (capped["count"], capped["count_capped"]) == (20, True)
    beyond = client.get("/api/v1/materials/?page_size=10&page=3").json()
    assert len(beyond["results"]) == 5  # pages past the limit stay reachable
    exact = client.get("/api/v1/materials/?page_size=10&count=exact").json()
    assert (exact["count"], exact["count_capped"]) == (many_materials, False)


@pytest.mark.parametrize("page", ["0", "-1", "x", "4"])
def test_invalid_pages_are_404_in_the_error_shape(
    world: dict[str, Any], many_materials: int, api_client: Any, page: str
) -> None:
    response = api_client(world["users"]["viewer"]).get(
        f"/api/v1/materials/?page_size=10&page={page}"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("size", ["0", "-1", "501", "99999999999999999999", "1e400", "ten"])
def test_a_page_size_out_of_bounds_is_a_400_on_the_parameter(
    size: str, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["viewer"])
    response = client.get("/api/v1/materials/", {"page_size": size})
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["page_size"]
    assert "1 to 500" in error["message"]


def test_the_largest_page_size_is_served(world: dict[str, Any], api_client: Any) -> None:
    client = api_client(world["users"]["viewer"])
    response = client.get("/api/v1/materials/", {"page_size": "500"})
    assert response.status_code == 200


def test_count_takes_only_exact(world: dict[str, Any], api_client: Any) -> None:
    client = api_client(world["users"]["viewer"])
    response = client.get("/api/v1/materials/", {"count": "approximately"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["count"]
