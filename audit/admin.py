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
from common.admin import WithoutNavSidebar, short_text, time_text


@admin.register(AuditEntry)
class AuditEntryAdmin(WithoutNavSidebar, TenantScopedAdmin):
    allow_add = False
    allow_change = False
    allow_delete = False
    # Fits 1400 px: the time short, the enterprise cut, the object as type #id.
    list_display = (
        "id",
        "at_short",
        "username",
        "role",
        "enterprise_short",
        "action",
        "object_label",
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

    @admin.display(description=_("at"), ordering="at")
    def at_short(self, obj: AuditEntry) -> str:
        return time_text(obj.at)

    @admin.display(description=_("enterprise"), ordering="enterprise__name_zh")
    def enterprise_short(self, obj: AuditEntry) -> str:
        return short_text(obj.enterprise) if obj.enterprise_id else "-"

    @admin.display(description=_("object"), ordering="object_type")
    def object_label(self, obj: AuditEntry) -> str:
        return f"{obj.object_type} #{obj.object_id}"

    @admin.display(description=_("changes"))
    def changes_pretty(self, obj: AuditEntry) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.changes, indent=2, ensure_ascii=False, sort_keys=True)
        )
