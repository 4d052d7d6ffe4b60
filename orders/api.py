"""REST API v1 views of orders (registered through ROUTES in config/api_urls.py).

``orders/``: orders the caller's enterprise sells or buys in; a park's operator and
regulators read those of its enterprises, superusers all. ``POST`` creates an order from an
agreed match (``{"match": id}``) or directly on a listing (``{"listing": id, "quantity":
"5", "unit": "t"}``). Each step is an action on the order, by the side and roles of
``orders.services.STEPS``: ``confirm``, ``reject``, ``dispatch`` (the seller), ``cancel``,
``receive``, ``transfer``, ``complete`` (the buyer). Another enterprise's order answers 404;
a role that may not take a step, or the other side's step, 403; a step the status does not
allow, 409 on ``status``. Each action answers the order as it now stands, with its steps.
There is no PUT, PATCH or DELETE.
"""

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedViewSetMixin
from access.roles import TRADING_ROLES
from access.scope import Scope
from common.serializers import NoInputSerializer
from marketplace.filters import StableOrderingFilter
from orders.filters import OrderFilter
from orders.models import Order
from orders.selectors import order_detail_list, order_list
from orders.serializers import (
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderReasonSerializer,
    OrderReceiveSerializer,
    OrderSerializer,
    OrderTransferSerializer,
)
from orders.services import (
    STEPS,
    order_cancel,
    order_complete,
    order_confirm,
    order_dispatch,
    order_from_match,
    order_place,
    order_receive,
    order_reject,
    order_transfer,
)

# Step -> the view action taking it, where the names differ.
STEP_ACTIONS = {"dispatch": "dispatch_order"}

_REFUSALS = {
    403: OpenApiResponse(description="Not this side's step, or not this role's."),
    409: OpenApiResponse(description="The order's status does not allow this step."),
}


@extend_schema_view(
    list=extend_schema(description="Orders the caller's enterprise sells or buys in."),
    retrieve=extend_schema(description="One order with every step it took."),
)
class OrderViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Orders (订单): from the reservation of the seller's stock to its delivery."""

    queryset_model = Order
    # The roles of each step come from the services' table (the one rule; the service
    # then checks the side and the order's state).
    write_roles_by_action = {
        "create": TRADING_ROLES,
        **{STEP_ACTIONS.get(step, step): rule.roles for step, rule in STEPS.items()},
    }
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = OrderFilter
    ordering = ("-id",)
    ordering_fields = ("id", "created_at", "updated_at", "total_yuan", "quantity_kg")
    input_serializer_classes: dict[str, type[BaseSerializer[Any]]] = {
        "create": OrderCreateSerializer,
        "confirm": OrderReasonSerializer,
        "reject": OrderReasonSerializer,
        "cancel": OrderReasonSerializer,
        "dispatch_order": NoInputSerializer,
        "receive": OrderReceiveSerializer,
        "transfer": OrderTransferSerializer,
        "complete": NoInputSerializer,
    }

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "retrieve":
            return OrderDetailSerializer
        return self.input_serializer_classes.get(self.action or "", OrderSerializer)

    def scoped_queryset(self, scope: Scope) -> QuerySet[Order]:
        if self.action == "retrieve":
            return order_detail_list(scope=scope)
        return order_list(scope=scope)

    def valid_input(self, request: Request) -> dict[str, Any]:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def respond(self, order: Order, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The order as it now stands, with its steps, re-read the way a GET reads it."""
        fresh = order_detail_list(scope=self.scope).get(pk=order.pk)
        serializer = OrderDetailSerializer(fresh, context=self.get_serializer_context())
        return Response(serializer.data, status=status_code)

    @extend_schema(
        request=OrderCreateSerializer,
        responses={201: OrderDetailSerializer, **_REFUSALS},
        description=(
            "Order an agreed match (`{\"match\": id}`, the seller's or the buyer's admin or "
            'trader) or a published listing visible to the caller\'s park (`{"listing": id, '
            '"quantity": "5", "unit": "t"}`, the buyer\'s admin or trader). The '
            "quantity is reserved on the seller's lot for `ORDER_HOLD_MINUTES` unless the "
            "seller confirms. 409 on `match` (not agreed, or already ordered), on `quantity` "
            "(more than the listing has left or the lot holds unreserved), on `listing` (not "
            "published); 400 on `quantity` below the listing's minimum order."
        ),
    )
    def create(self, request: Request) -> Response:
        data = self.valid_input(request)
        if "match" in data:
            order = order_from_match(actor=self.scope, match=data["match"])
        else:
            order = order_place(
                actor=self.scope, listing=data["listing"], quantity_kg=data["quantity_kg"]
            )
        return self.respond(order, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        request=OrderReasonSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The seller confirms a reserved order: the stock stays reserved until "
        "dispatch. 409 once the hold time has passed.",
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        data = self.valid_input(request)
        return self.respond(order_confirm(actor=self.scope, order=order, reason=data["reason"]))

    @extend_schema(
        request=OrderReasonSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The seller rejects a reserved order; the reservation is released.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        data = self.valid_input(request)
        return self.respond(order_reject(actor=self.scope, order=order, reason=data["reason"]))

    @extend_schema(
        request=OrderReasonSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The buyer cancels a reserved or confirmed order; the reservation is released.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        data = self.valid_input(request)
        return self.respond(order_cancel(actor=self.scope, order=order, reason=data["reason"]))

    @extend_schema(
        request=NoInputSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The seller's warehouse dispatches a confirmed order: the stock leaves "
        "the seller's lot.",
    )
    # Not named ``dispatch``: that is the method every Django view serves requests with.
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_order(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        self.valid_input(request)
        return self.respond(order_dispatch(actor=self.scope, order=order))

    @extend_schema(
        request=OrderReceiveSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The buyer's warehouse receives a dispatched order into `zone`, a zone "
        "of its own warehouses or of its park's shared ones. 400 (or 403) on `zone` when "
        "the zone lacks the capacity or the licence, or its neighbours' hazards forbid it; "
        "nothing changes then.",
    )
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        data = self.valid_input(request)
        return self.respond(order_receive(actor=self.scope, order=order, zone=data["zone"]))

    @extend_schema(
        request=OrderTransferSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The buyer's warehouse takes over a confirmed order whose goods lie in "
        "its park's shared warehouse (共享仓): the owner changes without the goods leaving, "
        "in the same zone or in `zone`, another zone of that warehouse. 409 on `lot` when "
        "the goods lie elsewhere.",
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        data = self.valid_input(request)
        return self.respond(order_transfer(actor=self.scope, order=order, zone=data.get("zone")))

    @extend_schema(
        request=NoInputSerializer,
        responses={200: OrderDetailSerializer, **_REFUSALS},
        description="The buyer completes a received order.",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        self.valid_input(request)
        return self.respond(order_complete(actor=self.scope, order=order))


ROUTES: list[tuple[str, Any, str]] = [
    ("orders", OrderViewSet, "order"),
]
