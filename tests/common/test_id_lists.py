"""Lists of ids in a request body are bounded in value and count before any is looked up."""

from typing import Any

import pytest

from common.api import MAX_ID, MAX_IDS

pytestmark = pytest.mark.django_db

World = dict[str, Any]


def need_body(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "material": world["material"].pk,
        "quantity": "5",
        "unit": "t",
        "needed_by": "2030-01-01",
        **changes,
    }


@pytest.mark.parametrize("bad", [2**64, MAX_ID + 1, 1e400, -1, 0])
def test_a_substitute_beyond_the_keys_is_a_400_on_substitutes(
    bad: Any, world: World, api_client: Any
) -> None:
    client = api_client(world["users"]["trader"])
    body = need_body(world, substitutes=[bad])
    if bad == 1e400:  # JSON has no infinity literal: send the number as written
        raw = '{"material": %d, "quantity": "5", "unit": "t", "needed_by": "2030-01-01", '
        raw = (raw % world["material"].pk) + '"substitutes": [1e400]}'
        response = client.post("/api/v1/needs/", raw, content_type="application/json")
    else:
        response = client.post("/api/v1/needs/", body, format="json")
    assert response.status_code == 400, response.content
    assert any(key.startswith("substitutes") for key in response.json()["error"]["fields"])


def test_too_many_substitutes_are_a_400(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["trader"])
    body = need_body(world, substitutes=list(range(1, 1000)))
    response = client.post("/api/v1/needs/", body, format="json")
    assert response.status_code == 400
    assert "substitutes" in response.json()["error"]["fields"]


PERMIT = {
    "kind": "safe_use_licence",
    "number": "P-1",
    "valid_from": "2026-01-01",
    "expires_on": "2028-12-31",
}


def test_a_permit_names_at_most_max_ids_materials_checked_before_any_lookup(
    world: World, api_client: Any, django_assert_max_num_queries: Any
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    many = list(range(1, MAX_IDS + 2))
    with django_assert_max_num_queries(5):  # not one query per id
        response = client.post("/api/v1/permits/", {**PERMIT, "materials": many}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "materials" in error["fields"]
    assert str(MAX_IDS) in error["fields"]["materials"][0]


def test_a_permit_material_beyond_the_keys_is_a_400(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    response = client.post("/api/v1/permits/", {**PERMIT, "materials": [2**64]}, format="json")
    assert response.status_code == 400
    assert any(key.startswith("materials") for key in response.json()["error"]["fields"])
