"""REST API v1 views of matching (registered through ROUTES in config/api_urls.py).

``matches/``: the engine's proposals. An enterprise reads those it sells or buys in;
a park's operator and regulators read those of its enterprises. Proposals are written by
the engine only: there is no create, update or delete. The seller's and the buyer's
enterprise admins and traders ``accept`` and ``decline``; another enterprise's match
answers 404, every other role 403.

``matching/runs/``: engine runs, read by park operators, regulators and superusers. Park
operators and superusers ask for a rematch with POST (all materials, or the CAS numbers
given); the run is answered with 202 as it stands once requested.
"""

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from access.api import ScopedViewSetMixin
from access.roles import TRADING_ROLES
from access.scope import Scope
from marketplace.filters import StableOrderingFilter
from matching.filters import MatchFilter, MatchRunFilter
from matching.models import Match, MatchRun
from matching.selectors import match_list, run_list
from matching.serializers import (
    MatchAcceptSerializer,
    MatchDeclineSerializer,
    MatchRunRequestSerializer,
    MatchRunSerializer,
    MatchSerializer,
)
from matching.services.decisions import match_accept, match_decline
from matching.services.runs import run_request


class _ReadViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering = ("-id",)
    read_serializer_class: type[BaseSerializer[Any]]
    input_serializer_classes: dict[str, type[BaseSerializer[Any]]] = {}

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.input_serializer_classes.get(self.action or "", self.read_serializer_class)

    def valid_input(self, request: Request) -> dict[str, Any]:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def respond(self, instance: Any, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The changed row, re-read the way a GET reads it."""
        fresh = self.scoped_queryset(self.scope).get(pk=instance.pk)
        serializer = self.read_serializer_class(fresh, context=self.get_serializer_context())
        return Response(serializer.data, status=status_code)


class MatchViewSet(_ReadViewSet):
    """Proposals of the matching engine (撮合方案) in which the caller's enterprise sells or
    buys; a park's operator and regulators read those of its enterprises."""

    queryset_model = Match
    read_serializer_class = MatchSerializer
    input_serializer_classes = {
        "accept": MatchAcceptSerializer,
        "decline": MatchDeclineSerializer,
    }
    write_roles = TRADING_ROLES
    filterset_class = MatchFilter
    ordering_fields = ("id", "total_yuan", "created_at")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Match]:
        # Writes pass ScopedPermission only for the two parties' staff, who see their own.
        return match_list(scope=scope)

    @extend_schema(
        request=MatchAcceptSerializer,
        responses={200: MatchSerializer},
        description=(
            "Accept the match for the caller's side (seller or buyer); agreed once both "
            "sides have accepted. The body is optional and must be empty. 409 on `status` "
            "when the match is decided or this side has already accepted, on `quantity_kg` "
            "when the listing, its lot or the need cannot take the quantity."
        ),
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        match = self.get_object()
        self.valid_input(request)
        return self.respond(match_accept(actor=self.scope, match=match))

    @extend_schema(
        request=MatchDeclineSerializer,
        responses={200: MatchSerializer},
        description=(
            "Decline a proposed or accepted match, for either side, with an optional reason. "
            "409 on `status` when it is already agreed, declined or superseded."
        ),
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        match = self.get_object()
        data = self.valid_input(request)
        return self.respond(match_decline(actor=self.scope, match=match, reason=data["reason"]))


class MatchRunViewSet(_ReadViewSet):
    """Runs of the matching engine with their figures. POST asks for a rematch."""

    queryset_model = MatchRun
    read_serializer_class = MatchRunSerializer
    input_serializer_classes = {"create": MatchRunRequestSerializer}
    write_roles = frozenset()  # no enterprise role asks for runs
    park_operator_actions = frozenset({"create"})
    throttle_scopes = {"create": "matching_run"}  # a run solves whole markets
    filterset_class = MatchRunFilter
    ordering_fields = ("id", "started_at")

    def scoped_queryset(self, scope: Scope) -> QuerySet[MatchRun]:
        return run_list(scope=scope)

    @extend_schema(
        request=MatchRunRequestSerializer,
        responses={
            202: MatchRunSerializer,
            409: OpenApiResponse(description="A full rematch is already running."),
        },
        description=(
            "Ask for a rematch: `{}` for all materials, or `materials` with up to 200 CAS "
            "numbers. Park operators and superusers only."
        ),
    )
    def create(self, request: Request) -> Response:
        data = self.valid_input(request)
        run = run_request(actor=self.scope, material_ids=data.get("materials"))
        return self.respond(run, status_code=status.HTTP_202_ACCEPTED)


ROUTES: list[tuple[str, Any, str]] = [
    ("matches", MatchViewSet, "match"),
    ("matching/runs", MatchRunViewSet, "matching-run"),
]
