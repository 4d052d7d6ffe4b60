"""The audit trail in the admin: read-only for everyone, scoped like the API (the same
selector and the same rule of who reads it)."""

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from access.admin import TenantScopedAdmin
from access.scope import Scope
from audit.models import AuditEntry
from audit.selectors import audit_entry_list, may_read_audit


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantScopedAdmin):
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = (
        "id",
        "at",
        "username",
        "role",
        "enterprise",
        "action",
        "object_type",
        "object_id",
        "via",
        "request_id",
    )
    list_filter = ("action", "object_type", "via", "at")
    list_select_related = ("enterprise",)
    search_fields = ("request_id", "username", "object_id", "action")
    readonly_fields = (
        "at",
        "user",
        "username",
        "enterprise",
        "park",
        "role",
        "via",
        "request_id",
        "action",
        "object_type",
        "object_id",
        "changes_pretty",
        "note",
    )
    fields = readonly_fields

    def may_read(self, scope: Scope) -> bool:
        return may_read_audit(scope)

    def scoped_queryset(self, scope: Scope) -> QuerySet[AuditEntry]:
        return audit_entry_list(scope=scope)

    @admin.display(description=_("changes"))
    def changes_pretty(self, obj: AuditEntry) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.changes, indent=2, ensure_ascii=False, sort_keys=True)
        )
