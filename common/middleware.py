"""Request bounds checked before a view runs (docs/architecture.md, "API edge")."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from common.errors import too_large_body


class BodySizeLimitMiddleware:
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` under /api/ is a 413 in the JSON error
    shape, decided on its Content-Length before anything reads it. (Django would raise
    RequestDataTooBig when the body is read, an HTML 400.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # Django treats a malformed length as none
            if length > limit:
                return JsonResponse(too_large_body(limit), status=413)
        return self.get_response(request)
