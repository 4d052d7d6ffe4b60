"""Reads of the parks app, scoped to the caller (see access.scope)."""

from django.db.models import QuerySet

from access.roles import ADMIN_ROLES
from access.scope import Scope
from parks.models import Enterprise


def enterprises_writable(*, scope: Scope) -> QuerySet[Enterprise]:
    """Enterprises the caller may edit: its own (an enterprise admin), any (a superuser)."""
    qs = Enterprise.objects.select_related("park")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None and scope.has_role(*ADMIN_ROLES):
        return qs.filter(pk=scope.enterprise.pk)
    return qs.none()
