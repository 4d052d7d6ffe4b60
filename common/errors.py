"""The one JSON error shape of the API.

Every 4xx answers::

    {"error": {"status": 400, "code": "invalid",
               "message": "quantity: Ensure this value is greater than 0.",
               "fields": {"quantity": ["Ensure this value is greater than 0."]}}}

``fields`` maps each offending field (dotted for nested input, ``non_field_errors`` for the
body as a whole) to its messages; ``message`` repeats the first one for humans and logs.
A 404 names no field: its ``message`` says what was not found and ``fields`` is ``{}``.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.exceptions import DomainError

logger = logging.getLogger(__name__)


def constraint_of(exc: IntegrityError) -> str:
    """The name of the constraint ``exc`` broke: from psycopg's diagnostics on PostgreSQL,
    else the first line of the message (SQLite: "UNIQUE constraint failed: parks_park.code")."""
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    text = str(exc.__cause__ or exc).strip()
    return text.splitlines()[0] if text else "unknown"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                for k, v in _flatten(item, name).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_body(
    *, status_code: int, code: str, fields: dict[str, list[str]], message: str | None = None
) -> dict[str, Any]:
    if message is None:
        first_field, first_messages = next(iter(fields.items()), ("", [""]))
        message = (
            first_messages[0]
            if first_field in ("", "non_field_errors", "detail")
            else f"{first_field}: {first_messages[0]}"
        )
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields}}


def too_large_body(limit: int | None) -> dict[str, Any]:
    """The 413 of a request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``limit`` bytes)."""
    message = f"The request body exceeds the limit of {limit} bytes."
    return error_body(
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        code="too_large",
        fields={"body": [message]},
        message=message,
    )


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(
            error_body(
                status_code=exc.status_code,
                code=exc.code,
                fields={exc.field: [exc.message]},
            ),
            status=exc.status_code,
        )
    if isinstance(exc, RequestDataTooBig):
        # A body read past the limit without a Content-Length that said so up front
        # (common.middleware.BodySizeLimitMiddleware answers the others).
        return Response(too_large_body(settings.DATA_UPLOAD_MAX_MEMORY_SIZE), status=413)
    if isinstance(exc, IntegrityError):
        # A uniqueness race the serializer's own check could not see (two concurrent
        # creates of one code): the loser gets a 409, never a 500. Logged with the
        # constraint, so that a bug (a constraint no race can break) is not hidden as a
        # conflict.
        request = context.get("request")
        logger.warning(
            "IntegrityError answered 409: constraint %s on %s %s (request %s)",
            constraint_of(exc),
            getattr(request, "method", "-"),
            getattr(request, "path", "-"),
            getattr(getattr(request, "_request", request), "request_id", "-"),
        )
        return Response(
            error_body(
                status_code=409,
                code="conflict",
                fields={"non_field_errors": ["This conflicts with data saved meanwhile."]},
            ),
            status=409,
        )
    if isinstance(exc, ObjectDoesNotExist):
        # A row the view found was deleted before the service locked it (a DELETE racing
        # a PATCH): gone, as if the request had come a moment later. Logged, so that a
        # lookup that is simply wrong is still seen.
        logger.warning("Not found after the view's lookup: %s", exc, exc_info=exc)
        return Response(
            error_body(
                status_code=404,
                code="not_found",
                fields={},
                message="The object no longer exists.",
            ),
            status=404,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        code = "invalid"
    elif isinstance(exc, exceptions.ParseError):
        fields = {"body": [str(exc.detail)]}
        code = "parse_error"
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        fields = {"content_type": [str(exc.detail)]}
        code = "unsupported_media_type"
    elif isinstance(exc, exceptions.MethodNotAllowed):
        fields = {"method": [str(exc.detail)]}
        code = "method_not_allowed"
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        fields = {"authorization": [str(exc.detail)]}
        code = _code_of(exc)
    elif isinstance(exc, exceptions.NotFound):
        # Nothing the client sent is wrong by itself: the object (or page) is not there.
        response.data = error_body(
            status_code=404, code="not_found", fields={}, message=str(exc.detail)
        )
        return response
    elif isinstance(exc, exceptions.Throttled):
        # DRF's handler has set Retry-After; nothing in the request itself is wrong.
        response.data = error_body(
            status_code=429, code="throttled", fields={}, message=str(exc.detail)
        )
        return response
    else:
        fields = {"detail": [str(exc.detail)]}
        code = _code_of(exc)
    response.data = error_body(status_code=response.status_code, code=code, fields=fields)
    return response


def json_404(request: Any, exception: Exception | None = None) -> Any:
    from django.http import JsonResponse

    body = error_body(
        status_code=status.HTTP_404_NOT_FOUND, code="not_found", fields={}, message="Not found."
    )
    return JsonResponse(body, status=404)


def handler404(request: Any, exception: Exception | None = None) -> Any:
    """Unknown paths: the JSON error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return json_404(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception())


def handler500(request: Any) -> Any:
    """Server errors: the JSON error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        body = error_body(
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
            code="server_error",
            fields={},
            message="A server error occurred.",
        )
        return JsonResponse(body, status=500)
    from django.views.defaults import server_error

    return server_error(request)
