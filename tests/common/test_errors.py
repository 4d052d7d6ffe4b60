"""The one error shape, including errors raised below the serializers."""

import logging
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework import exceptions

from common.errors import exception_handler
from common.exceptions import DomainError
from tests import factories as f


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


@pytest.mark.django_db
def test_an_integrity_error_answered_409_is_logged_with_its_constraint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 409 must not hide a bug: the log names the constraint the database refused."""
    park = f.ParkFactory.create()
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        f.ParkFactory.create(code=park.code)
    with caplog.at_level(logging.WARNING, logger="common.errors"):
        response: Any = exception_handler(raised.value, {})
    assert response.status_code == 409
    (record,) = [r for r in caplog.records if r.name == "common.errors"]
    assert record.levelno == logging.WARNING
    # PostgreSQL names the constraint (parks_park_code_..._uniq / _key); SQLite the column.
    assert "parks_park" in record.getMessage()
    assert "code" in record.getMessage()


def test_a_404_has_its_message_at_the_top_and_names_no_field() -> None:
    response: Any = exception_handler(exceptions.NotFound("No such lot."), {})
    assert response.status_code == 404
    assert response.data["error"] == {
        "status": 404,
        "code": "not_found",
        "message": "No such lot.",
        "fields": {},
    }
