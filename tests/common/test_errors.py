"""The one error shape, including errors raised below the serializers."""

from typing import Any

from django.db import IntegrityError
from rest_framework import exceptions

from common.errors import exception_handler
from common.exceptions import DomainError


def test_validation_errors_name_nested_fields() -> None:
    exc = exceptions.ValidationError({"substitutes": [{"id": ["bad"]}], "quantity": ["neg"]})
    body = exception_handler(exc, {}).data  # type: ignore[union-attr]
    assert body["error"]["status"] == 400
    assert body["error"]["fields"] == {"substitutes.0.id": ["bad"], "quantity": ["neg"]}
    assert body["error"]["message"] == "substitutes.0.id: bad"


def test_domain_error_names_its_field() -> None:
    response: Any = exception_handler(DomainError("too much", field="delta"), {})
    assert response.status_code == 400
    assert response.data["error"]["fields"] == {"delta": ["too much"]}


def test_integrity_error_is_a_conflict_not_a_500() -> None:
    response: Any = exception_handler(IntegrityError("duplicate key"), {})
    assert response.status_code == 409
    assert response.data["error"]["code"] == "conflict"


def test_a_404_has_its_message_at_the_top_and_names_no_field() -> None:
    response: Any = exception_handler(exceptions.NotFound("No such lot."), {})
    assert response.status_code == 404
    assert response.data["error"] == {
        "status": 404,
        "code": "not_found",
        "message": "No such lot.",
        "fields": {},
    }
