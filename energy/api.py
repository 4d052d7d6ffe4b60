"""``/api/v1/energy-*``: thin views over ``energy.selectors`` (who sees what, one rule with
the admin, ``energy.rules``) and ``energy.services`` (every write, audited).

* ``energy-meters``: an enterprise's meters; its admins write, its staff read, park staff
  read those of their parks. Never deleted (``is_active``: readings and rollups keep them).
* ``energy-readings``: the readings (read), and ``batch/``: up to 10,000 readings in one
  POST (``energy.services.ingest``), parsed by orjson and checked row by row in plain
  Python; the answer says how many were accepted, how many were duplicates, and which rows
  were refused and why.
* ``energy-output-values``: an enterprise's monthly output value (产值), its admins'.
* ``energy-factors``: the conversion factors to standard coal, read by every user; kept by
  superusers in the admin.
"""

from typing import Any

import orjson
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedReadOnlyViewSet, ScopedViewSetMixin
from access.roles import ADMIN_ROLES
from access.scope import Scope
from common.exceptions import DomainError, NotPermitted
from energy.filters import ConversionFactorFilter, MeterFilter, OutputValueFilter, ReadingFilter
from energy.models import ConversionFactor, Meter, OutputValue, Reading
from energy.selectors import (
    factor_list,
    meter_list,
    meters_writable,
    output_value_list,
    output_values_writable,
    reading_list,
)
from energy.serializers import (
    ConversionFactorSerializer,
    IngestResultSerializer,
    MeterCreateSerializer,
    MeterSerializer,
    MeterUpdateSerializer,
    OutputValueInputSerializer,
    OutputValueSerializer,
    OutputValueUpdateSerializer,
    ReadingBatchSerializer,
    ReadingSerializer,
)
from energy.services.ingest import readings_ingest
from energy.services.meters import (
    meter_create,
    meter_update,
    output_value_create,
    output_value_delete,
    output_value_update,
)


def _is_read(request: Request) -> bool:
    return request.method in permissions.SAFE_METHODS


class MeterViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """An enterprise's energy meters: one carrier each, in the carrier's unit."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset_model = Meter
    write_roles = ADMIN_ROLES
    filterset_class = MeterFilter
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "carrier", "last_reading_at"]
    ordering = ["id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Meter]:
        if _is_read(self.request):
            return meter_list(scope=scope)
        return meters_writable(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return MeterCreateSerializer
        if self.action == "partial_update":
            return MeterUpdateSerializer
        return MeterSerializer

    def _render(self, meter: Meter) -> Any:
        fresh = meter_list(scope=self.scope).get(pk=meter.pk)
        return MeterSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(request=MeterCreateSerializer, responses={201: MeterSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enterprise = self.scope.enterprise
        if enterprise is None:
            raise NotPermitted(_("Meters are recorded by an enterprise's admin, for it."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        meter = meter_create(actor=self.scope, enterprise=enterprise, **serializer.validated_data)
        return Response(self._render(meter), status=status.HTTP_201_CREATED)

    @extend_schema(request=MeterUpdateSerializer, responses={200: MeterSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meter = self.get_object()
        serializer = self.get_serializer(meter, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        meter = meter_update(actor=self.scope, meter=meter, **serializer.validated_data)
        return Response(self._render(meter))


class BatchParser(parsers.BaseParser):
    """The batch's JSON, parsed by orjson (a 10,000-row body in a few milliseconds). Its size
    is bounded by ``common.middleware.BodySizeLimitMiddleware``; its nesting by orjson's own
    limit (a parse error, not a RecursionError)."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read() if stream is not None else b""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class ReadingViewSet(ScopedReadOnlyViewSet):
    """Meter readings: each the use in the interval ending at ``at``. Listed newest first;
    filter by ``meter`` and ``at_after`` / ``at_before``. Written in batches only."""

    http_method_names = ["get", "post", "head", "options"]
    queryset_model = Reading
    serializer_class = ReadingSerializer
    write_roles = ADMIN_ROLES
    filterset_class = ReadingFilter
    ordering_fields = ["id", "at"]
    ordering = ["-id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Reading]:
        return reading_list(scope=scope)

    @extend_schema(
        request=ReadingBatchSerializer,
        responses={200: IngestResultSerializer},
        description=(
            "Up to 10,000 readings. Idempotent on meter + at: a reading sent again is counted "
            "as a duplicate; another value for a recorded reading is refused. Valid rows are "
            "stored even when others are refused; ``refused`` lists each refused row by its "
            "index with the field and the reason."
        ),
    )
    @action(detail=False, methods=["post"], url_path="batch", parser_classes=[BatchParser])
    def batch(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise DomainError(_('An object {"readings": [...]} is expected.'), field="readings")
        unknown = sorted(str(k) for k in data if k != "readings")
        if unknown:
            raise DomainError(_("This field may not be set here."), field=unknown[0][:64])
        if "readings" not in data:
            raise DomainError(_("This field is required."), field="readings")
        result = readings_ingest(actor=self.scope, rows=data["readings"])
        return Response(result.as_dict())


class OutputValueViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """An enterprise's output value (产值) per month, in yuan: its admins write it; the
    denominator of energy intensity."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset_model = OutputValue
    write_roles = ADMIN_ROLES
    filterset_class = OutputValueFilter
    ordering_fields = ["id", "month"]
    ordering = ["-month", "id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[OutputValue]:
        if _is_read(self.request):
            return output_value_list(scope=scope)
        return output_values_writable(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return OutputValueInputSerializer
        if self.action == "partial_update":
            return OutputValueUpdateSerializer
        return OutputValueSerializer

    def _render(self, output: OutputValue) -> Any:
        fresh = output_value_list(scope=self.scope).get(pk=output.pk)
        return OutputValueSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(request=OutputValueInputSerializer, responses={201: OutputValueSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enterprise = self.scope.enterprise
        if enterprise is None:
            raise NotPermitted(_("Output values are recorded by an enterprise's admin, for it."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        output = output_value_create(
            actor=self.scope, enterprise=enterprise, **serializer.validated_data
        )
        return Response(self._render(output), status=status.HTTP_201_CREATED)

    @extend_schema(request=OutputValueUpdateSerializer, responses={200: OutputValueSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        output = self.get_object()
        serializer = self.get_serializer(output, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        output = output_value_update(actor=self.scope, output=output, **serializer.validated_data)
        return Response(self._render(output))

    def perform_destroy(self, instance: OutputValue) -> None:
        output_value_delete(actor=self.scope, output=instance)


class ConversionFactorViewSet(ScopedReadOnlyViewSet):
    """The conversion factors to kilograms of standard coal (GB/T 2589), with their
    effective dates and both electricity conventions; read by every user, kept by
    superusers in the admin."""

    queryset_model = ConversionFactor
    serializer_class = ConversionFactorSerializer
    write_roles = frozenset()
    filterset_class = ConversionFactorFilter
    ordering_fields = ["id", "carrier", "valid_from"]
    ordering = ["carrier", "convention", "valid_from"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[ConversionFactor]:
        return factor_list()


ROUTES: list[tuple[str, Any, str]] = [
    ("energy-meters", MeterViewSet, "energy-meter"),
    ("energy-readings", ReadingViewSet, "energy-reading"),
    ("energy-output-values", OutputValueViewSet, "energy-output-value"),
    ("energy-factors", ConversionFactorViewSet, "energy-factor"),
]
