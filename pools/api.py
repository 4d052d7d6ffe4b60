"""``/api/v1/pools/`` and the pools' rows: thin views over ``pools.selectors`` (who sees
what, one rule with the admin) and ``pools.services`` (every write, audited).

Reads and writes may use different scopes: a member reads its pool but only the operator
decides a request or a draw (``requests_decidable``, ``draws_decidable``), so a member's
decision answers 404. An enterprise of the park asks to join a pool it cannot read yet
(``pools_joinable``): ``request/`` is the one action it reaches on such a pool.

``statement/`` answers the month's holding cost split by commitment
(``pools.statements``), as JSON or, with ``?format=csv`` / ``?format=xlsx``, a spreadsheet
of its lines.
"""

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tablib
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings

from access.api import ScopedReadOnlyViewSet, ScopedViewSetMixin
from access.roles import WRITE_ROLES
from access.scope import Scope
from audit.renderers import FORMULA_STARTS
from common.exceptions import DomainError
from common.renderers import ORJSONRenderer
from inventory.models import StorageZone
from matching.serializers import MatchSerializer
from orders.serializers import OrderSerializer
from pools.filters import (
    ContributionFilter,
    DrawFilter,
    MembershipRequestFilter,
    ObligationFilter,
    PoolFilter,
)
from pools.models import Draw, MembershipRequest, Pool
from pools.selectors import (
    contribution_list,
    draw_list,
    draws_decidable,
    member_list,
    obligation_list,
    pool_list,
    pool_proposals,
    pools_joinable,
    pools_visible,
    request_list,
    requests_decidable,
)
from pools.serializers import (
    ContributeSerializer,
    ContributionSerializer,
    DecisionSerializer,
    DrawInputSerializer,
    DrawSerializer,
    GrantSerializer,
    MembershipRequestInputSerializer,
    MembershipRequestSerializer,
    ObligationSerializer,
    PoolCreateSerializer,
    PoolMemberSerializer,
    PoolProposalDeclineSerializer,
    PoolProposalSerializer,
    PoolReceiveSerializer,
    PoolSerializer,
    PoolUpdateSerializer,
    StatementSerializer,
)
from pools.services import (
    draw_decide,
    membership_decide,
    membership_request,
    pool_contribute,
    pool_create,
    pool_draw,
    pool_update,
)
from pools.services.acting import (
    pool_order_receive,
    pool_proposal_accept,
    pool_proposal_decline,
    pool_proposal_order,
)
from pools.statements import pool_statement

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@contextmanager
def fields_named(**renamed: str) -> Iterator[None]:
    """A service's DomainError names its own argument (``quantity``); the client sent the
    body's field (``quantity_kg``): say that one."""
    try:
        yield
    except DomainError as exc:
        if exc.field in renamed:
            exc.field = renamed[exc.field]
        raise


# --- The statement's exports ------------------------------------------------------------------

STATEMENT_COLUMNS = (
    "month",
    "member",
    "enterprise",
    "enterprise_name",
    "commitment_kg",
    "cost_cny",
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # not a formula in a spreadsheet (CSV injection)
    return value


def statement_rows(data: Any) -> list[list[Any]]:
    """One row per member, then the total (member and enterprise empty)."""
    if not isinstance(data, dict) or "lines" not in data:
        return []
    rows = [
        [_cell(data["month"]), *(_cell(line[name]) for name in STATEMENT_COLUMNS[1:])]
        for line in data["lines"]
    ]
    rows.append([_cell(data["month"]), "", "", "total", "", _cell(data["total_cny"])])
    return rows


class StatementCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(STATEMENT_COLUMNS)
        writer.writerows(statement_rows(data))
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: spreadsheets read UTF-8


class StatementXLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        dataset = tablib.Dataset(headers=list(STATEMENT_COLUMNS), title="statement")
        for row in statement_rows(data):
            dataset.append(row)
        content: bytes = dataset.export("xlsx")
        return content


STATEMENT_RENDERERS = (StatementCSVRenderer, StatementXLSXRenderer)
EXPORT_FORMATS = frozenset(r.format for r in STATEMENT_RENDERERS)


class StatementQuery(serializers.Serializer[Any]):
    month = serializers.CharField(required=False, max_length=7)

    def validate_month(self, value: str) -> tuple[int, int]:
        found = MONTH.match(value)
        if found is None:
            raise serializers.ValidationError(_("A month as YYYY-MM."))
        year, month = int(found[1]), int(found[2])
        if not (2000 <= year <= 2999 and 1 <= month <= 12):
            raise serializers.ValidationError(_("A month as YYYY-MM, from 2000-01 to 2999-12."))
        return year, month


MONTH_PARAMETER = OpenApiParameter(
    "month", OpenApiTypes.STR, description="YYYY-MM; the current month if not given."
)
FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv", "xlsx"], description="csv or xlsx: export."
)


# --- Pools ------------------------------------------------------------------------------------


class PoolViewSet(  # type: ignore[misc]
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Joint stockpiles (物资联储联备): their members read them, their operator runs them,
    park staff read their parks' (docs/stockpiling.md). A park operator opens a pool in its
    park; pools are never deleted (``is_active``)."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset_model = Pool
    serializer_class = PoolSerializer
    write_roles = WRITE_ROLES
    write_roles_by_action = {"create": frozenset()}  # park operators (and superusers) only
    # The operator's market steps for a pool: its lead's staff, or the park's operators.
    park_operator_actions = frozenset(
        {
            "create",
            "partial_update",
            "proposal_accept",
            "proposal_decline",
            "proposal_order",
            "receive",
        }
    )
    filterset_class = PoolFilter
    search_fields = ["code", "name"]
    ordering_fields = ["id", "code", "name", "target_kg", "held_kg", "created_at"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Pool]:
        if self.action == "request_membership":
            return pools_joinable(scope=scope)
        if self.action in {"draw", "contribute"}:
            return pools_visible(scope=scope)  # the write reads its pool's own columns
        return pool_list(scope=scope).prefetch_related(
            Prefetch("zones", queryset=StorageZone.objects.only("id"))
        )

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        classes: dict[str, type[BaseSerializer[Any]]] = {
            "create": PoolCreateSerializer,
            "partial_update": PoolUpdateSerializer,
            "request_membership": MembershipRequestInputSerializer,
            "contribute": ContributeSerializer,
            "draw": DrawInputSerializer,
            "members": PoolMemberSerializer,
            "statement": StatementSerializer,
            "proposal_accept": PoolProposalSerializer,
            "proposal_decline": PoolProposalDeclineSerializer,
            "proposal_order": PoolProposalSerializer,
            "receive": PoolReceiveSerializer,
        }
        return classes.get(self.action or "", PoolSerializer)

    def _render(self, pool: Pool, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.scoped_queryset(self.scope).get(pk=pool.pk)
        return Response(PoolSerializer(fresh, context=self.get_serializer_context()).data, code)

    @extend_schema(request=PoolCreateSerializer, responses={201: PoolSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        pool = pool_create(
            actor=self.scope,
            park=data.pop("park"),
            code=data.pop("code"),
            name=data.pop("name"),
            material=data.pop("material"),
            target_kg=data.pop("target_kg"),
            zones=list(data.pop("zones")),
            lead=data.pop("lead", None),
            substitutes=list(data.pop("substitutes", [])),
            **data,
        )
        return self._render(pool, status.HTTP_201_CREATED)

    @extend_schema(request=PoolUpdateSerializer, responses={200: PoolSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The operator changes the pool's terms: target (never below the members'
        commitments), price limit, cost rates, replenishment rule and days, rotation lead,
        active or not."""
        pool = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pool = pool_update(actor=self.scope, pool=pool, **serializer.validated_data)
        return self._render(pool)

    @extend_schema(responses={200: PoolMemberSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def members(self, request: Request, pk: str | None = None) -> Response:
        """The pool's members, active and past: enterprise, commitment, status."""
        pool = self.get_object()
        rows = member_list(scope=self.scope, pool=pool)
        return Response(PoolMemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MembershipRequestInputSerializer,
        responses={201: MembershipRequestSerializer},
    )
    @action(detail=True, methods=["post"], url_path="request", filter_backends=[])
    def request_membership(self, request: Request, pk: str | None = None) -> Response:
        """The caller's enterprise asks to join (``commitment_kg``), change its commitment,
        or leave; the operator decides (``/pool-requests/{id}/approve/``)."""
        pool = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        asked = membership_request(
            actor=self.scope,
            pool=pool,
            kind=data["kind"],
            commitment_kg=data.get("commitment_kg"),
            reason=data["reason"],
        )
        return Response(MembershipRequestSerializer(asked).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContributeSerializer, responses={201: ContributionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def contribute(self, request: Request, pk: str | None = None) -> Response:
        """A member puts ``quantity_kg`` of its own lot, lying in one of the pool's zones,
        into the pool."""
        pool = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with fields_named(quantity="quantity_kg"):
            contribution = pool_contribute(
                actor=self.scope, pool=pool, lot=data["lot"], quantity_kg=data["quantity_kg"]
            )
        return Response(ContributionSerializer(contribution).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DrawInputSerializer, responses={201: DrawSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def draw(self, request: Request, pk: str | None = None) -> Response:
        """A member asks for stock: an emergency is granted at once (up to what the pool
        holds), any other severity waits for the operator."""
        pool = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with fields_named(quantity="quantity_kg"):
            drawn = pool_draw(
                actor=self.scope,
                pool=pool,
                quantity_kg=data["quantity_kg"],
                severity=data["severity"],
                reason=data["reason"],
            )
        return Response(DrawSerializer(drawn).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: MatchSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def proposals(self, request: Request, pk: str | None = None) -> Response:
        """The matching engine's proposals for the pool's need (and for lots it lists for
        rotation), newest first: its operator and the park's staff see them."""
        pool = self.get_object()
        rows = pool_proposals(scope=self.scope, pool=pool)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(MatchSerializer(page, many=True).data)

    def _proposal(self, request: Request) -> tuple[Pool, dict[str, Any]]:
        pool = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return pool, dict(serializer.validated_data)

    @extend_schema(request=PoolProposalSerializer, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"], url_path="proposal-accept", filter_backends=[])
    def proposal_accept(self, request: Request, pk: str | None = None) -> Response:
        """The operator accepts a proposal for the pool (in the pool's name)."""
        pool, data = self._proposal(request)
        match = pool_proposal_accept(actor=self.scope, pool=pool, match=data["match"])
        return Response(MatchSerializer(match).data)

    @extend_schema(request=PoolProposalDeclineSerializer, responses={200: MatchSerializer})
    @action(detail=True, methods=["post"], url_path="proposal-decline", filter_backends=[])
    def proposal_decline(self, request: Request, pk: str | None = None) -> Response:
        """The operator declines a proposal for the pool, with a reason."""
        pool, data = self._proposal(request)
        match = pool_proposal_decline(
            actor=self.scope, pool=pool, match=data["match"], reason=data["reason"]
        )
        return Response(MatchSerializer(match).data)

    @extend_schema(request=PoolProposalSerializer, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"], url_path="proposal-order", filter_backends=[])
    def proposal_order(self, request: Request, pk: str | None = None) -> Response:
        """The operator orders an agreed proposal for the pool: delivered into its zone."""
        pool, data = self._proposal(request)
        order = pool_proposal_order(actor=self.scope, pool=pool, match=data["match"])
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PoolReceiveSerializer, responses={201: ContributionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def receive(self, request: Request, pk: str | None = None) -> Response:
        """The operator receives an order the pool placed into one of its zones: the
        pool's own contribution."""
        pool, data = self._proposal(request)
        contribution = pool_order_receive(
            actor=self.scope, pool=pool, order=data["order"], zone=data.get("zone")
        )
        return Response(ContributionSerializer(contribution).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[MONTH_PARAMETER, FORMAT_PARAMETER],
        responses={
            (200, "application/json"): StatementSerializer,
            (200, StatementCSVRenderer.media_type): OpenApiTypes.STR,
            (200, StatementXLSXRenderer.media_type): OpenApiTypes.BINARY,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, *STATEMENT_RENDERERS],
    )
    def statement(self, request: Request, pk: str | None = None) -> Response:
        """The month's holding cost (tonne-months held x the holding rate, plus the storage
        fees; the current month to date) split among the members by commitment x time,
        exactly to the fen (``pools.statements``)."""
        pool = self.get_object()
        query = StatementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = timezone.localdate()
        year, month = query.validated_data.get("month", (today.year, today.month))
        data = StatementSerializer(pool_statement(pool=pool, year=year, month=month)).data
        response = Response(data)
        export_format = getattr(request.accepted_renderer, "format", None)
        if export_format in EXPORT_FORMATS:
            name = f"pool-{pool.pk}-{year:04d}-{month:02d}.{export_format}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # An error of an export is answered in the one JSON error shape, not a spreadsheet.
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) in EXPORT_FORMATS:
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = ORJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


# --- Requests, draws, obligations, contributions ------------------------------------------------


class MembershipRequestViewSet(ScopedReadOnlyViewSet):
    """Requests to join, change a commitment or leave: an enterprise's own, every request
    of the pools it operates; park staff those of their parks' pools. The operator
    approves or rejects them."""

    queryset_model = MembershipRequest
    serializer_class = MembershipRequestSerializer
    write_roles = WRITE_ROLES
    park_operator_actions = frozenset({"approve", "reject"})
    filterset_class = MembershipRequestFilter
    ordering_fields = ["id", "requested_at"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[MembershipRequest]:
        if self.action in ("approve", "reject"):
            return requests_decidable(scope=scope)
        return request_list(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("approve", "reject"):
            return DecisionSerializer
        return MembershipRequestSerializer

    def _decide(self, request: Request, *, approve: bool) -> Response:
        asked = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = membership_decide(
            actor=self.scope, request=asked, approve=approve, note=serializer.validated_data["note"]
        )
        return Response(MembershipRequestSerializer(decided).data)

    @extend_schema(request=DecisionSerializer, responses={200: MembershipRequestSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve: the commitments must stay within the pool's target."""
        return self._decide(request, approve=True)

    @extend_schema(request=DecisionSerializer, responses={200: MembershipRequestSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, approve=False)


class DrawViewSet(ScopedReadOnlyViewSet):
    """Draws: a member's own, every draw of the pools it operates; park staff those of
    their parks' pools. The operator grants (all or part) or rejects a pending one."""

    queryset_model = Draw
    serializer_class = DrawSerializer
    write_roles = WRITE_ROLES
    park_operator_actions = frozenset({"grant", "reject"})
    filterset_class = DrawFilter
    ordering_fields = ["id", "requested_at", "requested_kg"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Draw]:
        if self.action in ("grant", "reject"):
            return draws_decidable(scope=scope)
        return draw_list(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return {"grant": GrantSerializer, "reject": DecisionSerializer}.get(
            self.action or "", DrawSerializer
        )

    @extend_schema(request=GrantSerializer, responses={200: DrawSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def grant(self, request: Request, pk: str | None = None) -> Response:
        """Grant what the draw asked, or ``quantity_kg`` of it, within what the pool holds."""
        drawn = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with fields_named(quantity="quantity_kg"):
            decided = draw_decide(
                actor=self.scope,
                draw=drawn,
                approve=True,
                quantity_kg=data.get("quantity_kg"),
                note=data["note"],
            )
        return Response(DrawSerializer(decided).data)

    @extend_schema(request=DecisionSerializer, responses={200: DrawSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        drawn = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = draw_decide(
            actor=self.scope, draw=drawn, approve=False, note=serializer.validated_data["note"]
        )
        return Response(DrawSerializer(decided).data)


class ObligationViewSet(ScopedReadOnlyViewSet):
    """Replenishment obligations (read-only): ``?overdue=true`` for the open ones past
    their date, ``?pool=`` for one pool's."""

    serializer_class = ObligationSerializer
    filterset_class = ObligationFilter
    ordering_fields = ["id", "due_on", "quantity_kg"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        return obligation_list(scope=scope)


class ContributionViewSet(ScopedReadOnlyViewSet):
    """Contributions (read-only): stock brought into a pool, credited to its member."""

    serializer_class = ContributionSerializer
    filterset_class = ContributionFilter
    ordering_fields = ["id", "created_at", "quantity_kg"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        return contribution_list(scope=scope)


ROUTES: list[tuple[str, Any, str]] = [
    ("pools", PoolViewSet, "pool"),
    ("pool-requests", MembershipRequestViewSet, "pool-request"),
    ("pool-draws", DrawViewSet, "pool-draw"),
    ("pool-obligations", ObligationViewSet, "pool-obligation"),
    ("pool-contributions", ContributionViewSet, "pool-contribution"),
]
