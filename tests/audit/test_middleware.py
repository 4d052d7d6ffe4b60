"""X-Request-ID: a partner's valid id is kept and echoed, a missing or invalid one replaced
by a new one; every response carries it, errors and non-API pages included."""

import re
from typing import Any

import pytest
from django.test import Client

from audit.middleware import request_id_of

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/parks/", "/api/v1/no-such-thing/", "/"])
def test_a_valid_id_is_echoed_on_every_response(path: str) -> None:
    response = Client().get(path, headers={"X-Request-ID": "erp:2026-12-06/42"})
    assert response["X-Request-ID"] == "erp:2026-12-06/42"


@pytest.mark.django_db
def test_an_id_is_made_when_none_is_given() -> None:
    first = Client().get("/api/v1/parks/")["X-Request-ID"]
    second = Client().get("/api/v1/parks/")["X-Request-ID"]
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "given",
    ["", "with space", "x" * 129, "tab\there", "控制", "new\nline", "\x7f"],
)
def test_an_invalid_id_is_replaced(given: str, rf: Any) -> None:
    request = rf.get("/", HTTP_X_REQUEST_ID=given)
    assert NEW_ID.fullmatch(request_id_of(request))


def test_the_longest_valid_id_is_kept(rf: Any) -> None:
    given = "~" + "a" * 127
    assert request_id_of(rf.get("/", HTTP_X_REQUEST_ID=given)) == given


@pytest.mark.django_db
def test_a_413_carries_it_too() -> None:
    response = Client().generic(
        "POST",
        "/api/v1/listings/",
        b"{}",
        content_type="application/json",
        headers={"X-Request-ID": "big-1", "Content-Length": str(10**9)},
    )
    assert response.status_code == 413
    assert response["X-Request-ID"] == "big-1"
