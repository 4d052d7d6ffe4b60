"""The OpenAPI schema builds without a warning: a new field or choice set that drf-spectacular
cannot name or type fails here, not first in the deploy checks. Every operation documents the
errors it can answer in the one error shape (common/schema.py), and the bounds of its ids and
pages."""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from common.api import MAX_ID
from common.errors import error_body
from common.exceptions import DomainError
from common.pagination import MAX_OFFSET, PageNumberPagination

ERROR_REF = "#/components/schemas/Error"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.mark.django_db
def test_the_schema_builds_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    text = target.read_text(encoding="utf-8")
    assert "/api/v1/permits/" in text
    assert "PermitKindEnum" in text and "RunKindEnum" in text
    assert "#/components/schemas/Error" in text


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return generated


def reads_refused() -> list[str]:
    """The paths of the views that refuse some roles even a read (``refuses_reads``)."""
    from config.api_urls import router

    return [
        f"/api/v1/{prefix}/"
        for prefix, viewset, _basename in router.registry
        if getattr(viewset, "refuses_reads", False)
    ]


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in operation.get("parameters", []) if p["name"] == name), None)


def test_the_error_component_is_the_shape_of_the_error_handler(schema: dict[str, Any]) -> None:
    component = schema["components"]["schemas"]["Error"]
    body = error_body(status_code=409, code="conflict", fields={"status": ["Already done."]})
    assert set(component["required"]) == set(body) == {"error"}
    inner = component["properties"]["error"]
    assert set(inner["required"]) == set(inner["properties"]) == set(body["error"])
    assert inner["properties"]["fields"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }


def test_every_error_status_of_every_operation_answers_the_error_shape(
    schema: dict[str, Any],
) -> None:
    ops = operations(schema)
    assert len(ops) >= 60
    for method, path, operation in ops:
        errors = {int(s): r for s, r in operation["responses"].items() if int(s) >= 400}
        assert {401, 429} <= set(errors), (method, path)
        for status, response in errors.items():
            schema_of = response.get("content", {}).get("application/json", {}).get("schema")
            assert schema_of == {"$ref": ERROR_REF}, (method, path, status)
            assert response["description"], (method, path, status)
        assert "Retry-After" in errors[429]["headers"], (method, path)


def test_each_operation_documents_the_errors_its_kind_of_request_can_get(
    schema: dict[str, Any],
) -> None:
    for method, path, operation in operations(schema):
        statuses = {int(s) for s in operation["responses"] if int(s) >= 400}
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        on_object = "{id}" in path
        paginated = parameter(operation, "page") is not None
        writes = method in ("POST", "PUT", "PATCH", "DELETE")
        takes_body = method in ("POST", "PUT", "PATCH")
        where = (method, path, sorted(statuses))
        assert (400 in statuses) == (takes_body or has_query), where
        refused = any(path.startswith(prefix) for prefix in reads_refused())
        assert (403 in statuses) == (writes or refused), where
        assert (404 in statuses) == (on_object or paginated), where
        assert (409 in statuses) == takes_body, where
        assert ({413, 415} <= statuses) == takes_body, where
        # Only a POST's Idempotency-Key answers 422 (reused for another request).
        assert (422 in statuses) == (method == "POST"), where
        if method == "POST":
            assert parameter(operation, "Idempotency-Key") is not None, where


def test_reads_of_one_object_are_not_documented_with_a_400(schema: dict[str, Any]) -> None:
    retrieve = schema["paths"]["/api/v1/listings/{id}/"]["get"]
    assert sorted(retrieve["responses"]) == ["200", "401", "404", "429"]
    publish = schema["paths"]["/api/v1/listings/{id}/publish/"]["post"]
    assert sorted(publish["responses"]) == [
        "200", "400", "401", "403", "404", "409", "413", "415", "422", "429"
    ]  # fmt: skip
    destroy = schema["paths"]["/api/v1/permits/{id}/"]["delete"]
    assert sorted(destroy["responses"]) == ["204", "401", "403", "404", "429"]


def test_ids_and_pages_carry_their_bounds(schema: dict[str, Any]) -> None:
    lists = 0
    for method, path, operation in operations(schema):
        for param in operation.get("parameters", []):
            if param["in"] == "path":
                assert param["schema"]["minimum"] == 1, (method, path)
                assert param["schema"]["maximum"] == MAX_ID == 2**63 - 1, (method, path)
        page, page_size = parameter(operation, "page"), parameter(operation, "page_size")
        if page is None:
            continue
        lists += 1
        assert page_size is not None
        assert (page["schema"]["minimum"], page["schema"]["maximum"]) == (1, MAX_OFFSET)
        assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (
            1,
            PageNumberPagination.max_page_size,
        )
    assert lists >= 14


def test_every_domain_error_status_is_documented_on_the_writes(schema: dict[str, Any]) -> None:
    """A domain error with a status the writes do not document (a new 423, say) fails here."""

    def subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    errors = subclasses(DomainError)
    assert {"InvalidTransition", "InsufficientStock", "IdempotencyKeyReused"} <= {
        cls.__name__ for cls in errors
    }  # the services' modules are loaded with the schema
    statuses = {cls.status_code for cls in errors | {DomainError}}
    assert statuses == {400, 403, 409, 422}
    for method, path, operation in operations(schema):
        if method == "POST":
            documented = {int(s) for s in operation["responses"]}
            assert statuses <= documented, (method, path)
