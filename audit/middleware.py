"""``X-Request-ID``: ties a partner's call to the audit rows it wrote."""

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from audit.context import audit_context

HEADER = "X-Request-ID"
# A partner's id is kept if it is 1-128 visible ASCII characters (no space, no control
# character: it goes into logs and a header); anything else is replaced by a new id.
VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def request_id_of(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if VALID_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Takes the caller's ``X-Request-ID`` (validated) or makes one (a uuid4 in hex), keeps
    it in the audit context for the request (``request.request_id`` too), and echoes it on
    every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        request_id = request_id_of(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        with audit_context(request_id=request_id, request=request):
            response = self.get_response(request)
        response[HEADER] = request_id
        return response
