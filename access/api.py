"""Base classes of every REST view: tenancy, write permissions, scoped foreign keys, and
``Idempotency-Key`` on every POST (``common.idempotency``).

Scoping cannot be bypassed: a viewset that defines ``get_queryset`` or ``get_object`` fails
when its class is created (it says how through :meth:`ScopedViewSetMixin.scoped_queryset`).
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from access.roles import WRITE_ROLES
from access.rules import may_write
from access.scope import Scope, request_scope
from common.api import IdField
from common.idempotency import IdempotentPostMixin
from common.pagination import PageNumberPagination
from common.serializers import FlatReadSerializer

#: What a scoped viewset may not define: the scope is applied in them.
SEALED = ("get_queryset", "get_object")


class ScopedPermission(permissions.BasePermission):
    """Reads need a login; writes need a role the view names. Regulators never write.

    Object-level checks are not needed for tenancy: objects outside the caller's scope are
    not in the view's queryset at all, so they answer 404 before any permission runs.
    """

    message = "Your role may not change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        action = getattr(view, "action", None)
        return may_write(
            request_scope(request),
            roles=view.get_write_roles(action),
            park_operator=view.park_operator_may_write(action),
        )


@cache
def _value_columns(serializer_class: type[Any]) -> list[str] | None:
    if not issubclass(serializer_class, FlatReadSerializer):
        return None
    return serializer_class().value_columns


class ScopedViewSetMixin(IdempotentPostMixin):
    """Every queryset starts from the caller's :class:`Scope`; a view only says how.

    Subclasses implement :meth:`scoped_queryset`. Objects outside it answer 404, for reads
    and writes alike. ``write_roles`` names the enterprise roles that may write (per action
    through ``write_roles_by_action``); ``park_operator_actions`` the actions a park operator
    may take. Every POST (create or ``@action`` transition) honours ``Idempotency-Key``
    through :class:`~common.idempotency.IdempotentPostMixin`, with no code in the view.

    ``get_queryset`` and ``get_object`` are sealed: a subclass (or a mixin put before this
    class) that defines either raises TypeError at import, so no view can read around its
    scope (the approach of PostHog's ``posthog/api/routing.py``).
    """

    request: Request
    action: str | None
    permission_classes = [ScopedPermission]
    write_roles: frozenset[str] = WRITE_ROLES
    write_roles_by_action: dict[str, frozenset[str]] = {}
    park_operator_actions: frozenset[str] = frozenset()
    queryset_model: type[Model] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in SEALED:
            if getattr(cls, name) is not getattr(ScopedViewSetMixin, name):
                raise TypeError(
                    f"{cls.__qualname__} may not define {name}(): the scope is applied there. "
                    "Implement scoped_queryset(scope) instead."
                )

    @property
    def scope(self) -> Scope:
        return request_scope(self.request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
            # DRF checks permissions before throttles, so a caller without valid
            # credentials would get its 401 uncounted: the anonymous rate would never apply
            # here and guessing tokens would be free. Count it (a 429 once over) first.
            self.check_throttles(request)
            raise

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            model = self.queryset_model or self.get_serializer_class().Meta.model  # type: ignore[attr-defined]
            return model._default_manager.none()
        return self.scoped_queryset(self.scope)

    def get_object(self) -> Any:
        # The object is looked up in get_queryset(), so outside the scope is a 404.
        return super().get_object()  # type: ignore[misc]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of the scoped, filtered queryset. When the read serializer can render
        ``.values()`` rows (a FlatReadSerializer of plain columns), the page is fetched as
        dicts: no model instances are built, the largest cost of a page after the query."""
        filtered = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        queryset = filtered
        serializer_class = self.get_serializer_class()  # type: ignore[attr-defined]
        columns = _value_columns(serializer_class)
        if columns is not None:
            expressions = serializer_class.value_expressions
            plain = [c for c in columns if c not in expressions]
            queryset = filtered.prefetch_related(None).values(*plain, **expressions)
        paginator = self.paginator  # type: ignore[attr-defined]
        if isinstance(paginator, PageNumberPagination):
            page = paginator.paginate_queryset(
                queryset, self.request, view=self, count_queryset=filtered
            )
        else:
            page = self.paginate_queryset(queryset)  # type: ignore[attr-defined]
        rows = page if page is not None else queryset
        data = self.get_serializer(rows, many=True).data  # type: ignore[attr-defined]
        if page is not None:
            return self.get_paginated_response(data)  # type: ignore[attr-defined]
        return Response(data)

    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()  # type: ignore[misc]
        if not getattr(self, "swagger_fake_view", False):
            context["scope"] = self.scope
        return context

    def get_write_roles(self, action: str | None) -> frozenset[str]:
        return self.write_roles_by_action.get(action or "", self.write_roles)

    def park_operator_may_write(self, action: str | None) -> bool:
        return (action or "") in self.park_operator_actions


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):  # type: ignore[misc]
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):  # type: ignore[misc]
    pass


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(IdField):
    """A foreign id in a request body, looked up through the caller's scope.

    ``scoped`` maps a Scope to the queryset the id must be found in; an id outside it is
    answered like an unknown id ("object does not exist"), naming the field.
    """

    def __init__(self, *, scoped: Callable[[Scope], QuerySet[Any]], **kwargs: Any) -> None:
        self.scoped = scoped
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        scope = self.context.get("scope")
        if scope is None:
            raise RuntimeError("ScopedRelatedField needs the view's scope in its context.")
        return self.scoped(scope)
