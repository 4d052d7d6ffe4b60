"""``/api/v1/inspections/``, ``/api/v1/hidden-hazards/``, ``/api/v1/incidents/`` and
``/api/v1/hazard-units/``: thin views over ``safety.selectors`` (who sees what, one rule
with the admin) and ``safety.services`` (every write, audited).

Regulators write here and nowhere else: the inspectors' actions (recording an inspection or
a hidden hazard, confirming or reopening a rectification) are open to the park's operators
and regulators, ``safety.rules.may_inspect`` (:class:`InspectorPermission`); which park, the
scoped fields and querysets decide (another park's is a 404 or "does not exist").
"""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedPermission, ScopedViewSetMixin
from access.roles import ADMIN_ROLES
from access.scope import Scope, request_scope
from common.exceptions import DomainError
from common.serializers import NoInputSerializer
from safety.filters import HazardUnitFilter, HiddenHazardFilter, IncidentFilter, InspectionFilter
from safety.models import HazardUnit, HiddenHazard, Incident, Inspection
from safety.rules import may_inspect_somewhere
from safety.selectors import (
    hazard_list,
    hazard_unit_list,
    hazard_units_profilable,
    hazards_rectifiable,
    hazards_reviewable,
    incident_list,
    incidents_writable,
    inspection_list,
)
from safety.serializers import (
    HazardCreateSerializer,
    HazardUnitProfileSerializer,
    HazardUnitSerializer,
    HiddenHazardSerializer,
    IncidentCreateSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    InspectionCreateSerializer,
    InspectionSerializer,
    RectifySerializer,
    ReopenSerializer,
)
from safety.services import (
    hazard_confirm,
    hazard_record,
    hazard_rectify,
    hazard_reopen,
    hazard_unit_update,
    incident_report,
    incident_update,
    inspection_create,
)


class InspectorPermission(ScopedPermission):
    """``ScopedPermission``, but the view's ``inspector_actions`` are open to park operators
    and regulators (``safety.rules.may_inspect_somewhere``): the one place regulators
    write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        action_name = getattr(view, "action", None)
        if (
            request.method not in permissions.SAFE_METHODS
            and action_name in getattr(view, "inspector_actions", ())
            and request.user
            and request.user.is_authenticated
        ):
            return may_inspect_somewhere(request_scope(request))
        return super().has_permission(request, view)


class InspectionViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Safety inspections: the inspected enterprise reads its own, park staff their parks'.
    A park operator or regulator records one in its park."""

    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [InspectorPermission]
    queryset_model = Inspection
    serializer_class = InspectionSerializer
    write_roles = frozenset()  # no enterprise role inspects
    inspector_actions = frozenset({"create"})
    filterset_class = InspectionFilter
    ordering_fields = ["id", "inspected_on"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Inspection]:
        return inspection_list(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return InspectionCreateSerializer if self.action == "create" else InspectionSerializer

    @extend_schema(request=InspectionCreateSerializer, responses={201: InspectionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        inspection = inspection_create(
            actor=self.scope,
            park=data["park"],
            enterprise=data["enterprise"],
            inspected_on=data["inspected_on"],
            notes=data["notes"],
        )
        return Response(InspectionSerializer(inspection).data, status=status.HTTP_201_CREATED)


class HiddenHazardViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Hidden hazards (隐患) found by inspections, with their status (open, overdue,
    rectified: ``?status=``). The inspectors record them and confirm or reopen a
    rectification; the inspected enterprise's admins report it (``rectify/``)."""

    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [InspectorPermission]
    queryset_model = HiddenHazard
    serializer_class = HiddenHazardSerializer
    write_roles = frozenset()
    write_roles_by_action = {"rectify": ADMIN_ROLES}
    inspector_actions = frozenset({"create", "confirm", "reopen"})
    filterset_class = HiddenHazardFilter
    ordering_fields = ["id", "deadline", "found_on"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[HiddenHazard]:
        if self.action == "rectify":
            return hazards_rectifiable(scope=scope)
        if self.action in ("confirm", "reopen"):
            return hazards_reviewable(scope=scope)
        return hazard_list(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        classes: dict[str, type[BaseSerializer[Any]]] = {
            "create": HazardCreateSerializer,
            "rectify": RectifySerializer,
            "confirm": NoInputSerializer,
            "reopen": ReopenSerializer,
        }
        return classes.get(self.action or "", HiddenHazardSerializer)

    def _render(self, hazard: HiddenHazard, code: int = status.HTTP_200_OK) -> Response:
        return Response(HiddenHazardSerializer(hazard).data, status=code)

    @extend_schema(request=HazardCreateSerializer, responses={201: HiddenHazardSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        hazard = hazard_record(
            actor=self.scope,
            inspection=data["inspection"],
            description=data["description"],
            grade=data["grade"],
            deadline=data["deadline"],
        )
        return self._render(hazard, status.HTTP_201_CREATED)

    @extend_schema(request=RectifySerializer, responses={200: HiddenHazardSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def rectify(self, request: Request, pk: str | None = None) -> Response:
        """The inspected enterprise's admin reports the hazard rectified on ``rectified_on``."""
        hazard = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        done = hazard_rectify(
            actor=self.scope, hazard=hazard, rectified_on=data["rectified_on"], note=data["note"]
        )
        return self._render(done)

    @extend_schema(request=NoInputSerializer, responses={200: HiddenHazardSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """A park operator or regulator confirms the reported rectification."""
        hazard = self.get_object()
        self.get_serializer(data=request.data).is_valid(raise_exception=True)
        return self._render(hazard_confirm(actor=self.scope, hazard=hazard))

    @extend_schema(request=ReopenSerializer, responses={200: HiddenHazardSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """A park operator or regulator finds the rectification wanting: open again."""
        hazard = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = hazard_reopen(
            actor=self.scope, hazard=hazard, note=serializer.validated_data["note"]
        )
        return self._render(done)


class IncidentViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Production-safety incidents, graded per Decree 493 from their figures. Reported and
    corrected (PATCH) by the enterprise's admins or the park's operators."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset_model = Incident
    serializer_class = IncidentSerializer
    write_roles = ADMIN_ROLES
    park_operator_actions = frozenset({"create", "partial_update"})
    filterset_class = IncidentFilter
    ordering_fields = ["id", "occurred_at", "deaths", "direct_loss_yuan"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Incident]:
        if self.action == "partial_update":
            return incidents_writable(scope=scope)
        return incident_list(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return {
            "create": IncidentCreateSerializer,
            "partial_update": IncidentUpdateSerializer,
        }.get(self.action or "", IncidentSerializer)

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        enterprise = data.pop("enterprise", None) or self.scope.enterprise
        if enterprise is None:
            raise DomainError("This field is required.", field="enterprise")
        incident = incident_report(actor=self.scope, enterprise=enterprise, **data)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses={200: IncidentSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = incident_update(actor=self.scope, incident=incident, **serializer.validated_data)
        return Response(IncidentSerializer(done).data)


class HazardUnitViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Warehouses as units of GB 18218: S, R and level now and at capacity, kept current
    from the ledger (``?major=true``: the major hazard installations). The park's operators
    set a unit's people within 500 m (PATCH), which sets its α."""

    http_method_names = ["get", "patch", "head", "options"]
    queryset_model = HazardUnit
    serializer_class = HazardUnitSerializer
    write_roles = frozenset()  # no enterprise role sets a unit's profile
    park_operator_actions = frozenset({"partial_update"})
    filterset_class = HazardUnitFilter
    ordering_fields = ["id", "warehouse_id", "s", "r", "level"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[HazardUnit]:
        if self.action == "partial_update":
            return hazard_units_profilable(scope=scope).select_related("warehouse")
        return hazard_unit_list(scope=scope).select_related("warehouse")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "partial_update":
            return HazardUnitProfileSerializer
        return HazardUnitSerializer

    @extend_schema(request=HazardUnitProfileSerializer, responses={200: HazardUnitSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        unit = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = hazard_unit_update(
            actor=self.scope,
            unit=unit,
            people_within_500m=serializer.validated_data["people_within_500m"],
        )
        fresh = hazard_unit_list(scope=self.scope).select_related("warehouse").get(pk=done.pk)
        return Response(HazardUnitSerializer(fresh).data)


ROUTES: list[tuple[str, Any, str]] = [
    ("inspections", InspectionViewSet, "inspection"),
    ("hidden-hazards", HiddenHazardViewSet, "hidden-hazard"),
    ("incidents", IncidentViewSet, "incident"),
    ("hazard-units", HazardUnitViewSet, "hazard-unit"),
]
