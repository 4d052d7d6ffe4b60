"""REST API v1 views of this app (registered through ROUTES in config/api_urls.py).

Every queryset starts from the caller's Scope (inventory.selectors); reads and writes may
use different ones (warehouse_list vs warehouses_writable), so that an object the caller
can see but not change answers 404 to a write. Stock changes go through inventory.services;
their domain errors become the one JSON error shape in common.errors. So do the writes of
the catalogue, warehouses and zones: serializers validate and translate, the viewsets call
the services.
"""

from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedModelViewSet, ScopedReadOnlyViewSet, ScopedViewSetMixin
from access.roles import ADMIN_ROLES, STOCK_ROLES
from access.scope import Scope
from common.exceptions import NotPermitted
from inventory.filters import (
    LotFilter,
    MaterialFilter,
    MovementFilter,
    PermitFilter,
    ReservationFilter,
    WarehouseFilter,
    ZoneFilter,
)
from inventory.models import Material, Permit, StockLot, StorageZone, Warehouse
from inventory.selectors import (
    lot_list,
    material_list,
    movement_list,
    permit_list,
    permits_writable,
    reservation_list,
    warehouse_list,
    warehouses_writable,
    zone_list,
    zone_occupancy,
    zones_writable,
)
from inventory.serializers import (
    SUM_MAX_DIGITS,
    LotAdjustSerializer,
    LotMoveResultSerializer,
    LotMoveSerializer,
    LotReceiveSerializer,
    LotSerializer,
    MaterialSerializer,
    MovementSerializer,
    PermitCreateSerializer,
    PermitSerializer,
    PermitUpdateSerializer,
    ReservationSerializer,
    WarehouseCreateSerializer,
    WarehouseSerializer,
    WarehouseUpdateSerializer,
    ZoneCreateSerializer,
    ZoneOccupancySerializer,
    ZoneSerializer,
    ZoneUpdateSerializer,
)
from inventory.services import (
    material_create,
    material_update,
    permit_create,
    permit_delete,
    permit_update,
    stock_adjust,
    stock_move,
    stock_receive,
    warehouse_create,
    warehouse_update,
    zone_create,
    zone_update,
)

# Enterprise roles that change warehouses, zones and stock. Traders sell; they do not count.
NO_DELETE = ["get", "post", "put", "patch", "head", "options"]


def _is_read(request: Request) -> bool:
    return request.method in permissions.SAFE_METHODS


class MaterialViewSet(ScopedModelViewSet):
    """The material catalogue: readable by every user, maintained by superusers."""

    http_method_names = NO_DELETE
    serializer_class = MaterialSerializer
    write_roles = frozenset()
    filterset_class = MaterialFilter
    search_fields = ["name_zh", "name_en", "cas", "un_number"]
    ordering_fields = ["name_en", "name_zh", "cas", "un_number", "primary_class", "id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Material]:
        return material_list()

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = material_create(actor=self.scope, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        assert serializer.instance is not None  # an update's serializer holds the object
        serializer.instance = material_update(
            actor=self.scope, material=serializer.instance, **serializer.validated_data
        )


class WarehouseViewSet(ScopedModelViewSet):
    """Warehouses with their zones. An enterprise's admin or warehouse keeper builds its own
    warehouses in its park; a park operator the shared warehouses of the parks it operates."""

    http_method_names = NO_DELETE
    queryset_model = Warehouse
    write_roles = STOCK_ROLES
    park_operator_actions = frozenset({"create", "update", "partial_update"})
    filterset_class = WarehouseFilter
    search_fields = ["code", "name", "address"]
    ordering_fields = ["code", "name", "id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Warehouse]:
        qs = (
            warehouse_list(scope=scope)
            if _is_read(self.request)
            else warehouses_writable(scope=scope)
        )
        return qs.prefetch_related("zones")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return WarehouseCreateSerializer
        if self.action in ("update", "partial_update"):
            return WarehouseUpdateSerializer
        return WarehouseSerializer

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = warehouse_create(actor=self.scope, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        assert serializer.instance is not None  # an update's serializer holds the object
        serializer.instance = warehouse_update(
            actor=self.scope, warehouse=serializer.instance, **serializer.validated_data
        )


def with_occupancy(qs: QuerySet[StorageZone]) -> QuerySet[StorageZone]:
    """Each zone's kilograms on hand (all owners) and what is left of its capacity, summed
    in the same query as the zones."""
    kg: DecimalField[Any, Any] = DecimalField(max_digits=SUM_MAX_DIGITS, decimal_places=3)
    return (
        qs.annotate(
            occupancy_kg=Coalesce(Sum("lots__on_hand_kg"), Value(Decimal(0)), output_field=kg)
        )
        .annotate(free_kg=ExpressionWrapper(F("capacity_kg") - F("occupancy_kg"), output_field=kg))
        # Meta.ordering is not applied to a GROUP BY query; pages need a stable order.
        .order_by("warehouse_id", "code")
    )


@extend_schema_view(
    create=extend_schema(request=ZoneCreateSerializer, responses={201: ZoneSerializer}),
    update=extend_schema(request=ZoneUpdateSerializer, responses={200: ZoneSerializer}),
    partial_update=extend_schema(request=ZoneUpdateSerializer, responses={200: ZoneSerializer}),
)
class ZoneViewSet(ScopedModelViewSet):
    """Storage zones with their occupancy. Created and changed by whoever may change the
    zone's warehouse."""

    http_method_names = NO_DELETE
    queryset_model = StorageZone
    write_roles = STOCK_ROLES
    park_operator_actions = frozenset({"create", "update", "partial_update"})
    filterset_class = ZoneFilter
    search_fields = ["code", "name", "warehouse__code", "warehouse__name"]
    ordering_fields = ["code", "capacity_kg", "occupancy_kg", "free_kg", "id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[StorageZone]:
        if _is_read(self.request):
            return with_occupancy(zone_list(scope=scope))
        return zones_writable(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return ZoneCreateSerializer
        if self.action in ("update", "partial_update"):
            return ZoneUpdateSerializer
        return ZoneSerializer

    def _render(self, zone: StorageZone) -> Any:
        fresh = with_occupancy(zone_list(scope=self.scope)).get(pk=zone.pk)
        return ZoneSerializer(fresh, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        zone = zone_create(actor=self.scope, **serializer.validated_data)
        return Response(self._render(zone), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        zone = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = self.get_serializer(zone, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        zone = zone_update(actor=self.scope, zone=zone, **serializer.validated_data)
        return Response(self._render(zone))

    @extend_schema(responses={200: ZoneOccupancySerializer})
    @action(detail=True, methods=["get"])
    def occupancy(self, request: Request, pk: str | None = None) -> Response:
        """How full the zone is: every owner's stock on hand, the part of it reserved, the
        capacity left, and the materials and dangerous-goods classes present."""
        try:
            zone_id = int(pk or "")
        except ValueError:
            raise Http404 from None
        rows = zone_occupancy(scope=self.scope, zone_id=zone_id)
        if not rows:
            raise Http404
        return Response(ZoneOccupancySerializer(rows[0]).data)


@extend_schema_view(
    create=extend_schema(request=LotReceiveSerializer, responses={201: LotSerializer}),
)
class LotViewSet(  # type: ignore[misc]
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Stock lots. POST receives stock into a new lot of the caller's enterprise; ``adjust``
    and ``move`` change a lot through the ledger. Lots are never edited or deleted."""

    queryset_model = StockLot
    write_roles = STOCK_ROLES
    filterset_class = LotFilter
    search_fields = ["material__name_en", "material__name_zh", "material__cas", "batch_no"]
    ordering_fields = [
        "id",
        "created_at",
        "on_hand_kg",
        "reserved_kg",
        "available",
        "expires_on",
        "produced_on",
        "material__name_en",
    ]

    def scoped_queryset(self, scope: Scope) -> QuerySet[StockLot]:
        # For an enterprise, lot_list is its own lots: the set it may also change.
        # ``available`` is an alias (not a column of the result) for filters and ordering;
        # the serializer reads the model's ``available_kg`` from the two quantities.
        return (
            lot_list(scope=scope)
            .select_related("zone__warehouse__park")
            .alias(available=F("on_hand_kg") - F("reserved_kg"))
        )

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return {
            "create": LotReceiveSerializer,
            "adjust": LotAdjustSerializer,
            "move": LotMoveSerializer,
        }.get(self.action or "", LotSerializer)

    def _rendered(self, *lots: StockLot) -> list[Any]:
        fresh = self.scoped_queryset(self.scope).in_bulk([lot.pk for lot in lots])
        context = self.get_serializer_context()
        return [LotSerializer(fresh[lot.pk], context=context).data for lot in lots]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scope = self.scope
        if scope.enterprise is None:
            raise NotPermitted("Stock is received by an enterprise's staff, for it.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lot = stock_receive(
            actor=self.scope,
            owner=scope.enterprise,
            material=data["material"],
            zone=data["zone"],
            quantity_kg=data["quantity_kg"],
            batch_no=data["batch_no"],
            purity_pct=data["purity_pct"],
            grade=data["grade"],
            produced_on=data["produced_on"],
            expires_on=data["expires_on"],
            note=data["note"],
        )
        return Response(self._rendered(lot)[0], status=status.HTTP_201_CREATED)

    def _action_serializer(self, request: Request, lot: StockLot) -> BaseSerializer[Any]:
        context = {**self.get_serializer_context(), "lot": lot}
        serializer = self.get_serializer(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        return serializer

    @extend_schema(request=LotAdjustSerializer, responses={200: LotSerializer})
    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, pk: str | None = None) -> Response:
        """Correct the lot's on-hand quantity (a count, a spill, a sample) by ``delta``."""
        lot = self.get_object()
        data = self._action_serializer(request, lot).validated_data
        lot = stock_adjust(actor=self.scope, lot=lot, delta_kg=data["delta_kg"], note=data["note"])
        return Response(self._rendered(lot)[0])

    @extend_schema(request=LotMoveSerializer, responses={200: LotMoveResultSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """Move unreserved stock to another zone; answers the source and the target lot."""
        lot = self.get_object()
        data = self._action_serializer(request, lot).validated_data
        target = stock_move(
            actor=self.scope,
            lot=lot,
            to_zone=data["to_zone"],
            quantity_kg=data["quantity_kg"],
            note=data["note"],
        )
        source_data, target_data = self._rendered(lot, target)
        return Response({"source_lot": source_data, "target_lot": target_data})


class MovementViewSet(ScopedReadOnlyViewSet):
    """The stock ledger: one signed row per change of a lot's on-hand quantity."""

    serializer_class = MovementSerializer
    filterset_class = MovementFilter
    search_fields = ["reference", "note", "lot__material__name_en", "lot__material__cas"]
    ordering_fields = ["id", "created_at", "quantity_kg"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        return movement_list(scope=scope)


class ReservationViewSet(ScopedReadOnlyViewSet):
    """Stock held for an enterprise (by an order): on the caller's lots or held for it; for
    park staff, on the lots stored in their parks. Read-only: reservations change through
    the services of what holds them (inventory.services.reservations)."""

    serializer_class = ReservationSerializer
    filterset_class = ReservationFilter
    search_fields = ["reference", "lot__material__name_en", "lot__material__cas"]
    ordering_fields = ["id", "created_at", "expires_at", "quantity_kg"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        return reservation_list(scope=scope)


@extend_schema_view(
    create=extend_schema(request=PermitCreateSerializer, responses={201: PermitSerializer}),
    partial_update=extend_schema(request=PermitUpdateSerializer, responses={200: PermitSerializer}),
)
class PermitViewSet(ScopedModelViewSet):
    """Permits to buy controlled chemicals (管制类危险化学品): licences, purchase permits,
    lawful-use documents, filing certificates. An enterprise's staff read its own, its admin
    records them; a park's operator and regulators read those of its enterprises. Orders of
    a controlled material are refused to a buyer without a valid one (inventory.controls)."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset_model = Permit
    write_roles = ADMIN_ROLES
    filterset_class = PermitFilter
    search_fields = ["number", "note"]
    ordering_fields = ["id", "valid_from", "expires_on", "kind", "created_at"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Permit]:
        if _is_read(self.request):
            return permit_list(scope=scope)
        return permits_writable(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return PermitCreateSerializer
        if self.action == "partial_update":
            return PermitUpdateSerializer
        return PermitSerializer

    def _render(self, permit: Permit) -> Any:
        fresh = permit_list(scope=self.scope).get(pk=permit.pk)
        return PermitSerializer(fresh, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enterprise = self.scope.enterprise
        if enterprise is None:
            raise NotPermitted("Permits are recorded by an enterprise's admin, for it.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        permit = permit_create(actor=self.scope, enterprise=enterprise, **serializer.validated_data)
        return Response(self._render(permit), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        permit = self.get_object()
        serializer = self.get_serializer(permit, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        permit = permit_update(actor=self.scope, permit=permit, **serializer.validated_data)
        return Response(self._render(permit))

    def perform_destroy(self, instance: Permit) -> None:
        permit_delete(actor=self.scope, permit=instance)


ROUTES: list[tuple[str, Any, str]] = [
    ("materials", MaterialViewSet, "material"),
    ("warehouses", WarehouseViewSet, "warehouse"),
    ("zones", ZoneViewSet, "zone"),
    ("lots", LotViewSet, "lot"),
    ("movements", MovementViewSet, "movement"),
    ("reservations", ReservationViewSet, "reservation"),
    ("permits", PermitViewSet, "permit"),
]
