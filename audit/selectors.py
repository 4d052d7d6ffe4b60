"""Reads of the audit trail, scoped to the caller (see access.scope).

* superusers: every row;
* enterprise admins: their enterprise's rows;
* park operators and regulators: the rows of their parks;
* anyone else (traders, warehouse keepers, viewers, users with no standing): nothing;
  the API answers them 403 (``may_read_audit``), the admin shows no trail.
"""

from django.db.models import QuerySet

from access.roles import ADMIN_ROLES
from access.scope import Scope
from audit.models import AuditEntry


def may_read_audit(scope: Scope) -> bool:
    """Whether ``scope`` reads any of the trail: the one rule of the API and the admin."""
    if scope.is_superuser or scope.park_ids:
        return True
    return scope.enterprise is not None and scope.role in ADMIN_ROLES


def audit_entry_list(*, scope: Scope) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.all()
    if scope.is_superuser:
        return qs
    if not may_read_audit(scope):
        return qs.none()
    if scope.enterprise is not None:
        return qs.filter(enterprise_id=scope.enterprise.pk)
    return qs.filter(park_id__in=scope.park_ids)
