"""REST API v1 views of this app (registered through ROUTES in config/api_urls.py).

``parks/`` and the ``enterprises/`` directory are readable by every signed-in user. A park
operator registers enterprises in the parks it operates; an enterprise admin edits its own
enterprise's details; nobody deletes an enterprise through the API. Writes go through
parks.services.
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework import permissions
from rest_framework.serializers import BaseSerializer

from access.api import ScopedModelViewSet, ScopedReadOnlyViewSet
from access.roles import ADMIN_ROLES
from access.scope import Scope
from parks.filters import EnterpriseFilter, ParkFilter
from parks.models import Enterprise, Park
from parks.selectors import enterprises_writable
from parks.serializers import (
    EnterpriseCreateSerializer,
    EnterpriseSerializer,
    EnterpriseSuperuserUpdateSerializer,
    EnterpriseUpdateSerializer,
    ParkSerializer,
)
from parks.services import enterprise_create, enterprise_update


class ParkViewSet(ScopedReadOnlyViewSet):
    """Chemical industrial parks. Readable by every signed-in user."""

    serializer_class = ParkSerializer
    filterset_class = ParkFilter
    search_fields = ["code", "name_zh", "name_en"]
    ordering_fields = ["code", "name_zh", "name_en", "division_code", "area_mu", "id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Park]:
        return Park.objects.all()


class EnterpriseViewSet(ScopedModelViewSet):
    """The enterprise directory, readable by every signed-in user.

    POST: a park operator, into a park it operates. PATCH: an enterprise admin, its own
    enterprise (not its USCC or park). Superusers may do both for any enterprise.
    """

    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset_model = Enterprise
    write_roles = ADMIN_ROLES
    write_roles_by_action = {"create": frozenset()}
    park_operator_actions = frozenset({"create"})
    filterset_class = EnterpriseFilter
    search_fields = ["uscc", "name_zh", "name_en"]
    ordering_fields = ["name_zh", "name_en", "uscc", "created_at", "id"]

    def scoped_queryset(self, scope: Scope) -> QuerySet[Enterprise]:
        # Writes look the object up in the narrower set, so that editing another
        # enterprise answers 404 like any object outside the caller's reach.
        if self.request.method in permissions.SAFE_METHODS:
            return Enterprise.objects.select_related("park")
        return enterprises_writable(scope=scope)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return EnterpriseCreateSerializer
        if self.action in ("update", "partial_update"):
            if not getattr(self, "swagger_fake_view", False) and self.scope.is_superuser:
                return EnterpriseSuperuserUpdateSerializer
            return EnterpriseUpdateSerializer
        return EnterpriseSerializer

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = enterprise_create(actor=self.scope, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        assert serializer.instance is not None  # an update's serializer holds the object
        serializer.instance = enterprise_update(
            actor=self.scope, enterprise=serializer.instance, **serializer.validated_data
        )


ROUTES: list[tuple[str, Any, str]] = [
    ("parks", ParkViewSet, "park"),
    ("enterprises", EnterpriseViewSet, "enterprise"),
]
