"""Inputs that used to answer 500 or an HTML page under /api/: each now gets a 4xx in the one
JSON error shape, naming what is wrong (issue: no input ever gets a 500)."""

from typing import Any

import pytest

from common.parsers import MAX_JSON_DEPTH, json_depth

pytestmark = pytest.mark.django_db

World = dict[str, Any]


def test_json_depth_counts_nesting_outside_strings() -> None:
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth(b'{"note": "[[[[[[[[[[ not nesting {{{{"}') == 1
    assert json_depth(b'["\\"[[[["]') == 1
    assert json_depth(b"1") == 0


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,
        '{"note": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}",
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    ],
)
def test_deeply_nested_json_is_a_400_on_body(body: str, world: World, api_client: Any) -> None:
    client = api_client(world["users"]["trader"])
    response = client.post("/api/v1/needs/", body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "nested deeper" in error["fields"]["body"][0]


def test_json_nested_within_the_bound_reaches_the_serializer(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["trader"])
    body = '{"note": ' + "[" * 10 + "]" * 10 + "}"
    response = client.post("/api/v1/needs/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"  # the fields, not the parser


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63), "1e400"])
def test_a_page_beyond_any_list_is_a_404_in_json(page: str, world: World, api_client: Any) -> None:
    client = api_client(world["users"]["trader"])
    response = client.get("/api/v1/lots/", {"page": page})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["fields"] == {}
    assert error["message"].startswith("Invalid page")


def test_an_unknown_path_under_the_api_is_a_json_404(client: Any) -> None:
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["code"], error["message"], error["fields"]) == ("not_found", "Not found.", {})


def test_an_unknown_path_elsewhere_is_a_page(client: Any) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_server_error_under_the_api_is_json(rf: Any) -> None:
    from common.errors import handler500

    response = handler500(rf.get("/api/v1/lots/"))
    assert response.status_code == 500
    assert b'"server_error"' in response.content
    assert handler500(rf.get("/admin/")).status_code == 500


@pytest.mark.parametrize("value", ["1e400", str(2**64), "-1", "true", '"abc"', "1.5"])
def test_a_foreign_id_out_of_range_is_a_400_on_its_field(
    value: str, world: World, api_client: Any
) -> None:
    client = api_client(world["users"]["trader"])
    body = f'{{"material": {value}, "quantity": "5", "unit": "t", "needed_by": "2030-01-01"}}'
    response = client.post("/api/v1/needs/", body, content_type="application/json")
    assert response.status_code == 400
    assert "material" in response.json()["error"]["fields"]
