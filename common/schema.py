"""The OpenAPI schema class of the API: every operation documents the errors it can answer.

The errors are those of ``common.errors`` (one JSON shape, the ``Error`` component) and each
operation lists only the statuses its kind of request can get:

* 400: a body, a query parameter or the ``Idempotency-Key`` header that does not validate;
* 401: every operation (no endpoint of the API is anonymous);
* 403: writes (``ScopedPermission``: the caller's role; the services' ``NotPermitted``),
  and the reads of views that refuse some roles outright (``refuses_reads = True``: the
  audit trail, the park reports);
* 404: operations on one object (another tenant's object or an unknown id) and lists
  (a page beyond the last answers 404, ``common.pagination``);
* 409: POST (a state transition the status refuses, ``Conflict`` of the services, a key
  still ``in_flight``), PUT and PATCH (a change of a withdrawn or closed row, a uniqueness
  race answered by ``common.errors``);
* 413 and 415: operations that take a body (too large; not JSON);
* 422: POST of views that honour ``Idempotency-Key`` (the key reused for another request);
* 429: every operation (throttles), with ``Retry-After``.

Path ids, ``page`` and ``page_size`` carry the bounds the server enforces, so a client
generated from the schema, and a fuzzer, know them.
"""

from typing import Any

from drf_spectacular.plumbing import ResolvedComponent

from common.api import MAX_ID
from common.idempotency import IdempotentAutoSchema, IdempotentPostMixin
from common.pagination import MAX_OFFSET, PageNumberPagination

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error shape of the API (4xx and 5xx).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "description": "The HTTP status, repeated."},
                "code": {
                    "type": "string",
                    "description": "Machine-readable reason: `invalid`, `not_found`, "
                    "`permission_denied`, `conflict`, `throttled`, a domain error's code...",
                },
                "message": {
                    "type": "string",
                    "description": "The first message, prefixed with its field; for humans.",
                },
                "fields": {
                    "type": "object",
                    "description": "Each offending field (dotted when nested; "
                    "`non_field_errors` for the body as a whole) with its messages.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["status", "code", "message", "fields"],
        }
    },
    "required": ["error"],
}

#: What each error status means, whatever the operation.
ERROR_DESCRIPTIONS = {
    400: "Invalid input: the body, a query parameter or a header, named in `fields`.",
    401: "No valid credentials (`Authorization: Bearer <token>` or a session).",
    403: "The caller's role or side may not do this.",
    404: "No such object in the caller's scope, or a page beyond the last.",
    409: "The object's state, or data saved meanwhile, refuses this; or a request with this "
    "`Idempotency-Key` is still running.",
    413: "The request body is too large.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    422: "This `Idempotency-Key` was used with another request.",
    429: "Too many requests; retry after `Retry-After` seconds.",
}

RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before retrying.",
    }
}

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ParkShareAutoSchema(IdempotentAutoSchema):
    """drf-spectacular's AutoSchema with the ``Idempotency-Key`` header on POSTs, the error
    responses each operation can answer (``Error``), and bounds on ids and pages."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self.registry.register_on_missing(
            ResolvedComponent(
                name=ERROR_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                object=ERROR_COMPONENT,
                schema=ERROR_SCHEMA,
            )
        )
        parameters = operation.get("parameters", [])
        self._bound_parameters(parameters)
        responses = operation.setdefault("responses", {})
        for status in sorted(self.error_statuses(parameters)):
            response = responses.setdefault(str(status), {})
            response["content"] = {"application/json": {"schema": ERROR_REF}}
            if not response.get("description"):
                response["description"] = ERROR_DESCRIPTIONS[status]
            if status == 429:
                response.setdefault("headers", {}).update(RETRY_AFTER_HEADER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_statuses(self, parameters: list[dict[str, Any]]) -> set[int]:
        """The error statuses this operation can answer (see the module's docstring)."""
        method = self.method
        locations = {parameter["in"] for parameter in parameters}
        statuses = {401, 429}
        if method in BODY_METHODS or "query" in locations:
            statuses.add(400)
        if method in WRITE_METHODS or getattr(self.view, "refuses_reads", False):
            statuses.add(403)
        if "path" in locations or self._is_paginated_list():
            statuses.add(404)
        if method in BODY_METHODS:
            statuses |= {409, 413, 415}
        if method == "POST" and isinstance(self.view, IdempotentPostMixin):
            statuses.add(422)
        return statuses

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _bound_parameters(self, parameters: list[dict[str, Any]]) -> None:
        paginator = self._get_paginator()
        page_param = getattr(paginator, "page_query_param", None)
        size_param = getattr(paginator, "page_size_query_param", None)
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") != "integer":
                continue
            if parameter["in"] == "path":
                schema.update(minimum=1, maximum=MAX_ID)
            elif parameter["in"] == "query" and parameter["name"] == page_param:
                schema.update(minimum=1, maximum=MAX_OFFSET)
            elif parameter["in"] == "query" and parameter["name"] == size_param:
                assert isinstance(paginator, PageNumberPagination)
                schema.update(minimum=1, maximum=paginator.max_page_size)
