"""``/api/v1/audit/``: the audit trail, read-only (list, retrieve, CSV and XLSX export).

Who reads what is decided by ``audit.selectors``: superusers every row, enterprise admins
their enterprise's rows, park operators and regulators their parks' rows. Other roles
(traders, warehouse keepers, viewers) are refused with a 403: the trail names who did what
in the whole enterprise, which is the admin's to see.

``?format=csv`` or ``?format=xlsx`` (or the Accept header) exports the filtered rows,
newest first, at most ``EXPORT_MAX_ROWS`` of them, unpaged; ``X-Export-Truncated: true``
says that more rows matched (narrow the ``at`` range to get the rest). An export counts
against the ``expensive_list`` rate.
"""

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from access.api import ScopedReadOnlyViewSet
from access.scope import Scope
from audit.filters import AuditEntryFilter
from audit.models import AuditEntry
from audit.renderers import (
    EXPORT_FORMATS,
    EXPORT_RENDERERS,
    AuditCSVRenderer,
    AuditXLSXRenderer,
)
from audit.selectors import audit_entry_list, may_read_audit
from audit.serializers import AuditEntrySerializer
from common.renderers import ORJSONRenderer

# The most rows one export holds; the newest come first.
EXPORT_MAX_ROWS = 10_000


class AuditReadPermission(permissions.BasePermission):
    message = _("Only enterprise admins, park operators and regulators read the audit trail.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return may_read_audit(view.scope)


FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv", "xlsx"],
    description=(
        f"csv or xlsx: export the filtered rows, newest first, at most {EXPORT_MAX_ROWS} "
        "(unpaged; X-Export-Truncated: true when more matched)."
    ),
)


@extend_schema_view(
    list=extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): AuditEntrySerializer(many=True),
            (200, AuditCSVRenderer.media_type): OpenApiTypes.STR,
            (200, AuditXLSXRenderer.media_type): OpenApiTypes.BINARY,
        },
    )
)
class AuditEntryViewSet(ScopedReadOnlyViewSet):
    """Who did what, when, through which token or session, in which request (X-Request-ID)."""

    queryset_model = AuditEntry
    serializer_class = AuditEntrySerializer
    refuses_reads = True  # traders, keepers and viewers: 403 (common.schema documents it)
    permission_classes = [*ScopedReadOnlyViewSet.permission_classes, AuditReadPermission]
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, *EXPORT_RENDERERS]  # type: ignore[list-item]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEntryFilter

    @property
    def throttle_scopes(self) -> dict[str, str]:
        """An export (up to EXPORT_MAX_ROWS rows) counts against the stricter rate of
        expensive lists (common.throttles.ExpensiveThrottle)."""
        renderer = getattr(getattr(self, "request", None), "accepted_renderer", None)
        return (
            {"list": "expensive_list"}
            if getattr(renderer, "format", None) in EXPORT_FORMATS
            else {}
        )

    def scoped_queryset(self, scope: Scope) -> Any:
        return audit_entry_list(scope=scope).order_by("-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of the trail, newest first; or, with ``format=csv`` / ``format=xlsx``, an
        export of the filtered rows."""
        export_format = getattr(request.accepted_renderer, "format", None)
        if export_format not in EXPORT_FORMATS:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        rows = list(queryset[: EXPORT_MAX_ROWS + 1])
        truncated = len(rows) > EXPORT_MAX_ROWS
        data = self.get_serializer(rows[:EXPORT_MAX_ROWS], many=True).data
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response = Response(data)
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{export_format}"'
        response["X-Export-Truncated"] = "true" if truncated else "false"
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # An error (a bad filter, a 403) is answered in the one JSON error shape, not as a
        # spreadsheet of the error body.
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) in EXPORT_FORMATS:
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = ORJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


ROUTES: list[tuple[str, Any, str]] = [("audit", AuditEntryViewSet, "audit-entry")]
