"""REST API v1 views of this app (registered through ROUTES in config/api_urls.py).

``listings/``: offers of idle stock. Reads see the caller's own listings in every status
and the published listings whose visibility reaches the caller's park; writes (PATCH and
the publish/withdraw actions) look the listing up among the caller's own only, so another
enterprise's listing answers 404 even when it is visible.

``needs/``: wants. Private to their enterprise (and to their park's operator and
regulators, read-only).

Enterprise admins and traders write; warehouse keepers, viewers and regulators read.
There is no PUT and no DELETE: a listing is withdrawn, a need closed.
"""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedViewSetMixin
from access.roles import TRADING_ROLES
from access.scope import Scope
from common.filters import SearchFilter
from common.serializers import NoInputSerializer
from marketplace.filters import ListingFilter, NeedFilter, StableOrderingFilter
from marketplace.models import Listing, Need
from marketplace.selectors import listing_list, listing_list_own, need_list
from marketplace.serializers import (
    LISTING_READ_COLUMNS,
    ListingCreateSerializer,
    ListingSerializer,
    ListingUpdateSerializer,
    NeedCreateSerializer,
    NeedSerializer,
    NeedUpdateSerializer,
)
from marketplace.services import (
    listing_create,
    listing_publish,
    listing_update,
    listing_withdraw,
    need_close,
    need_create,
    need_reopen,
    need_update,
)


class _MarketViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create, PATCH and actions; no PUT, no DELETE."""

    write_roles = TRADING_ROLES
    filter_backends = [DjangoFilterBackend, SearchFilter, StableOrderingFilter]
    ordering = ("-id",)
    read_serializer_class: type[BaseSerializer[Any]]
    write_serializer_classes: dict[str, type[BaseSerializer[Any]]] = {}

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.write_serializer_classes.get(self.action or "", self.read_serializer_class)

    def read_queryset(self, scope: Scope) -> QuerySet[Any]:
        raise NotImplementedError

    def respond(self, instance: Any, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The changed row, re-read the way a GET reads it."""
        fresh = self.read_queryset(self.scope).get(pk=instance.pk)
        serializer = self.read_serializer_class(fresh, context=self.get_serializer_context())
        return Response(serializer.data, status=status_code)


class ListingViewSet(_MarketViewSet):
    """Offers of idle stock (闲置物资): own listings in every status, and the published
    listings of other enterprises whose visibility reaches the caller's park."""

    queryset_model = Listing
    read_serializer_class = ListingSerializer
    write_serializer_classes = {
        "create": ListingCreateSerializer,
        "partial_update": ListingUpdateSerializer,
    }
    filterset_class = ListingFilter
    search_fields = (
        "material__name_en",
        "material__name_zh",
        "material__cas",
        "note",
    )
    ordering_fields = ("price_per_t", "quantity_kg", "published_at", "available_from", "id")

    def read_queryset(self, scope: Scope) -> QuerySet[Listing]:
        # Only the columns a page renders: the six joined rows per listing stay narrow.
        return listing_list(scope=scope).only(*LISTING_READ_COLUMNS)

    def scoped_queryset(self, scope: Scope) -> QuerySet[Listing]:
        if self.request.method in permissions.SAFE_METHODS:
            return self.read_queryset(scope)
        return listing_list_own(scope=scope)

    @extend_schema(request=ListingCreateSerializer, responses={201: ListingSerializer})
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # A superuser has no enterprise of their own and lists for the lot's owner.
        seller = self.scope.enterprise or data["lot"].owner
        listing = listing_create(actor=self.scope, seller=seller, **data)
        return self.respond(listing, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=ListingUpdateSerializer, responses={200: ListingSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        listing = self.get_object()
        serializer = self.get_serializer(listing, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        listing = listing_update(actor=self.scope, listing=listing, **serializer.validated_data)
        return self.respond(listing)

    @extend_schema(request=NoInputSerializer, responses={200: ListingSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish a draft or withdrawn listing; the lot must hold the quantity unreserved."""
        listing = self.get_object()
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        listing = listing_publish(actor=self.scope, listing=listing)
        return self.respond(listing)

    @extend_schema(request=NoInputSerializer, responses={200: ListingSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw a draft or published listing."""
        listing = self.get_object()
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        listing = listing_withdraw(actor=self.scope, listing=listing)
        return self.respond(listing)


class NeedViewSet(_MarketViewSet):
    """Wants (需求) of the caller's enterprise; a park's operator and regulators read
    those of its enterprises."""

    queryset_model = Need
    read_serializer_class = NeedSerializer
    write_serializer_classes = {
        "create": NeedCreateSerializer,
        "partial_update": NeedUpdateSerializer,
    }
    filterset_class = NeedFilter
    search_fields = ("material__name_en", "material__name_zh", "material__cas", "note")
    ordering_fields = ("needed_by", "quantity_kg", "max_price_per_t", "created_at", "id")

    def read_queryset(self, scope: Scope) -> QuerySet[Need]:
        return need_list(scope=scope)

    def scoped_queryset(self, scope: Scope) -> QuerySet[Need]:
        # Only enterprise staff pass the write permission, and they see only their own.
        return self.read_queryset(scope)

    @extend_schema(request=NeedCreateSerializer, responses={201: NeedSerializer})
    def create(self, request: Request) -> Response:
        enterprise = self.scope.enterprise
        if enterprise is None:
            raise exceptions.PermissionDenied(_("Needs are posted by enterprise staff."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        need = need_create(actor=self.scope, enterprise=enterprise, **serializer.validated_data)
        return self.respond(need, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=NeedUpdateSerializer, responses={200: NeedSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        need = self.get_object()
        serializer = self.get_serializer(need, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        need = need_update(actor=self.scope, need=need, **serializer.validated_data)
        return self.respond(need)

    @extend_schema(request=NoInputSerializer, responses={200: NeedSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close an open need."""
        need = self.get_object()
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        need = need_close(actor=self.scope, need=need)
        return self.respond(need)

    @extend_schema(request=NoInputSerializer, responses={200: NeedSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Reopen a closed or expired need; its date must not have passed (400 on
        `needed_by`: give an expired need a later date first)."""
        need = self.get_object()
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        need = need_reopen(actor=self.scope, need=need)
        return self.respond(need)


ROUTES: list[tuple[str, Any, str]] = [
    ("listings", ListingViewSet, "listing"),
    ("needs", NeedViewSet, "need"),
]
