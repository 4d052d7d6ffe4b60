"""A request body over DATA_UPLOAD_MAX_MEMORY_SIZE under /api/ is a 413 in the JSON error
shape (Django's own answer is an HTML 400 once the body is read)."""

from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from common.errors import exception_handler

pytestmark = pytest.mark.django_db

THREE_MB = 3 * 1024 * 1024


def _assert_413(response: Any) -> None:
    assert response.status_code == 413, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (413, "too_large")
    assert list(error["fields"]) == ["body"]
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]


def test_a_3_mb_body_is_a_json_413(world: dict[str, Any], api_client: Any) -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < THREE_MB
    client = api_client(world["users"]["trader"])
    body = '{"note": "' + "x" * THREE_MB + '"}'
    _assert_413(client.post("/api/v1/needs/", body, content_type="application/json"))
    _assert_413(client.put("/api/v1/needs/1/", body, content_type="application/json"))


def test_a_big_body_is_refused_before_authentication(client: Any) -> None:
    body = '{"note": "' + "x" * THREE_MB + '"}'
    _assert_413(client.post("/api/v1/needs/", body, content_type="application/json"))


def test_a_body_within_the_limit_reaches_the_serializer(
    world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["trader"])
    body = '{"note": "' + "x" * (1024 * 1024) + '"}'
    response = client.post("/api/v1/needs/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_request_data_too_big_raised_in_a_view_is_a_413() -> None:
    response: Any = exception_handler(RequestDataTooBig("too big"), {})
    assert response.status_code == 413
    assert response.data["error"]["code"] == "too_large"
    assert list(response.data["error"]["fields"]) == ["body"]
