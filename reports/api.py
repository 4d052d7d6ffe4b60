"""``/api/v1/reports/parks/``: the park reports, read-only, as JSON, CSV or XLSX.

* ``GET reports/parks/``: the parks whose reports the caller reads (``reports.rules``);
* ``GET reports/parks/{id}/``: the park's overview over a period (``?start=``/``?end=``,
  ``YYYY-MM``), every section of the park's pages or one (``?section=``);
* ``GET reports/parks/{id}/monthly/?month=YYYY-MM``: the monthly report (last month by
  default);
* ``GET reports/parks/comparison/``: the caller's parks side by side (``?park=`` repeated
  to choose some).

``?format=csv`` / ``?format=xlsx`` (or the Accept header) exports the same tables
(``common.exports``). Regulators and park operators read their parks, superusers every
park; enterprise staff are refused (403); another park is not found (404); nobody writes
(there is no write method).
"""

from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from access.api import ScopedViewSetMixin
from access.scope import Scope
from common.exports import (
    EXPORT_FORMATS,
    TABLE_RENDERERS,
    ExportErrorsAsJSON,
    TablesCSVRenderer,
    TablesXLSXRenderer,
)
from parks.filters import ParkFilter
from parks.models import Park
from reports.pages import COMPARISON, PARK_PAGES, monthly_sections
from reports.periods import MAX_MONTHS, Period, add_months
from reports.rules import may_report, reportable_parks
from reports.sections import ComparisonQuery, ParkQuery, compute
from reports.serializers import (
    ComparisonQuery as ComparisonParams,
)
from reports.serializers import (
    ComparisonSerializer,
    MonthlyQuery,
    ParkReportQuery,
    ParkReportSerializer,
    ReportParkSerializer,
)


class ReportPermission(permissions.BasePermission):
    message = _("Only the regulators and the operators of a park read its reports.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return may_report(view.scope)


PERIOD_PARAMETERS = [
    OpenApiParameter(
        "start",
        OpenApiTypes.STR,
        pattern=r"^\d{4}-\d{2}$",
        description=(
            f"YYYY-MM, the first month (2000-01 to 2999-12); by default eleven months "
            f"before end. At most {MAX_MONTHS} months from start to end."
        ),
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.STR,
        pattern=r"^\d{4}-\d{2}$",
        description="YYYY-MM, the last month, included; by default this month.",
    ),
]
CONVENTION_PARAMETER = OpenApiParameter(
    "convention",
    OpenApiTypes.STR,
    enum=["equivalent", "equal_value"],
    description=(
        "The convention of electricity in tce (equivalent value 当量值, the default, or "
        "equal value 等价值); every energy section's title names it."
    ),
)
GRANULARITY_PARAMETER = OpenApiParameter(
    "granularity",
    OpenApiTypes.STR,
    enum=["month", "day"],
    description="The steps of the energy series: month (default) or day (at most 400 days).",
)
FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv", "xlsx"],
    description=(
        "csv: each table as a header of column keys and its rows (several tables one after "
        "another, each after a line '# title'); xlsx: one sheet per table."
    ),
)


def _exports(serializer: Any) -> dict[Any, Any]:
    return {
        (200, "application/json"): serializer,
        (200, TablesCSVRenderer.media_type): OpenApiTypes.STR,
        (200, TablesXLSXRenderer.media_type): OpenApiTypes.BINARY,
    }


@extend_schema_view(
    list=extend_schema(summary="The parks whose reports the caller reads"),
)
class ReportParkViewSet(ExportErrorsAsJSON, ScopedViewSetMixin, viewsets.GenericViewSet):  # type: ignore[misc]
    """The park reports of regulators and park operators (docs/reports.md)."""

    queryset_model = Park
    serializer_class = ReportParkSerializer
    http_method_names = ["get", "head", "options"]
    permission_classes = [*ScopedViewSetMixin.permission_classes, ReportPermission]
    write_roles: frozenset[str] = frozenset()  # nobody writes: there is no write method
    refuses_reads = True  # enterprise staff: 403 (common.schema documents it)
    filter_backends = [DjangoFilterBackend]
    filterset_class = ParkFilter  # the list: ?code=, ?division_code=, ?region_code=
    throttle_scopes = {
        "retrieve": "expensive_list",
        "monthly": "expensive_list",
        "comparison": "expensive_list",
    }

    def scoped_queryset(self, scope: Scope) -> Any:
        return reportable_parks(scope=scope)

    def filter_queryset(self, queryset: Any) -> Any:
        # The parks' filters narrow the list; a report's own parameters are its period.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = [r() for r in api_settings.DEFAULT_RENDERER_CLASSES]  # type: ignore[operator]
        if self.action in ("retrieve", "monthly", "comparison"):
            renderers += [r() for r in TABLE_RENDERERS]
        return renderers

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF answers an unknown ``?format=`` with a 404, as if the report were not there:
        # it is a bad parameter, named.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as exc:
            raise serializers.ValidationError({"format": [_("One of json, csv, xlsx.")]}) from exc

    def _answer(self, request: Request, data: dict[str, Any], name: str) -> Response:
        response = Response(data)
        export_format = getattr(request.accepted_renderer, "format", None)
        if export_format in EXPORT_FORMATS:
            response["Content-Disposition"] = f'attachment; filename="{name}.{export_format}"'
        return response

    @extend_schema(
        summary="A park's overview over a period",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter(
                "section", OpenApiTypes.STR, description="One section only, by its key."
            ),
            CONVENTION_PARAMETER,
            GRANULARITY_PARAMETER,
            FORMAT_PARAMETER,
        ],
        responses=_exports(ParkReportSerializer),
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        park = self.get_object()
        query = ParkReportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        sections = [s for page in PARK_PAGES.values() for s in page.sections]
        wanted = query.validated_data.get("section")
        if wanted:
            sections = [s for s in sections if s.key == wanted]
        params = query.validated_data
        tables = compute(
            sections,
            ParkQuery(self.scope, park, period, params["convention"], params["granularity"]),
        )
        data = {
            "park": ReportParkSerializer(park).data,
            "period": period.as_dict(),
            "as_of": period.as_of,
            "sections": [table.as_dict() for table in tables],
        }
        span = f"{period.as_dict()['start']}-{period.as_dict()['end']}"
        return self._answer(request, data, f"park-{park.code}-{wanted or 'overview'}-{span}")

    @extend_schema(
        summary="A park's monthly report",
        parameters=[
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                pattern=r"^\d{4}-\d{2}$",
                description="YYYY-MM (2000-01 to 2999-12); last month by default.",
            ),
            CONVENTION_PARAMETER,
            FORMAT_PARAMETER,
        ],
        responses=_exports(ParkReportSerializer),
    )
    @action(detail=True, methods=["get"])
    def monthly(self, request: Request, pk: str | None = None) -> Response:
        park = self.get_object()
        query = MonthlyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = query.validated_data.get("month")
        if period is None:
            last = add_months(timezone.localdate().replace(day=1), -1)
            period = Period(last, last)
        convention = query.validated_data["convention"]
        tables = compute(monthly_sections(), ParkQuery(self.scope, park, period, convention))
        data = {
            "park": ReportParkSerializer(park).data,
            "period": period.as_dict(),
            "as_of": period.as_of,
            "sections": [table.as_dict() for table in tables],
        }
        return self._answer(request, data, f"park-{park.code}-{period.as_dict()['start']}")

    @extend_schema(
        summary="The caller's parks side by side",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter(
                "park",
                OpenApiTypes.INT,
                many=True,
                description=(
                    "Park ids to compare, repeated (?park=1&park=2), at most 100; every "
                    "park the caller reads by default."
                ),
            ),
            CONVENTION_PARAMETER,
            FORMAT_PARAMETER,
        ],
        responses=_exports(ComparisonSerializer),
    )
    @action(detail=False, methods=["get"])
    def comparison(self, request: Request) -> Response:
        query = ComparisonParams(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        parks = list(self.get_queryset())
        wanted = query.validated_data.get("park")
        if wanted:
            found = {park.pk: park for park in parks}
            missing = [pk for pk in wanted if pk not in found]
            if missing:
                raise serializers.ValidationError(
                    {"park": [_("No park %(id)s among yours.") % {"id": missing[0]}]}
                )
            parks = [found[pk] for pk in dict.fromkeys(wanted)]
        convention = query.validated_data["convention"]
        tables = compute(
            COMPARISON.sections, ComparisonQuery(self.scope, parks, period, convention)
        )
        data = {
            "period": period.as_dict(),
            "parks": ReportParkSerializer(parks, many=True).data,
            "sections": [table.as_dict() for table in tables],
        }
        span = f"{period.as_dict()['start']}-{period.as_dict()['end']}"
        return self._answer(request, data, f"parks-comparison-{span}")


ROUTES: list[tuple[str, Any, str]] = [("reports/parks", ReportParkViewSet, "report-park")]
