"""Admin of parks and enterprises.

Parks and enterprises are a directory every staff user reads; superusers maintain it and
an enterprise admin keeps its own enterprise's contact details, both through
parks.services. Who acts for which (memberships, park roles) is ``access.admin``'s.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from access.admin import READ_STAFF, TenantScopedAdmin
from access.roles import ADMIN_ROLES
from access.rules import may_change
from access.scope import Scope, request_scope
from parks.models import Enterprise, Park
from parks.services import ENTERPRISE_FIELDS, enterprise_create, enterprise_update


@admin.register(Park)
class ParkAdmin(TenantScopedAdmin):
    readable_by = READ_STAFF
    list_display = ("code", "name_zh", "name_en", "division_code", "region_code", "area_mu")
    list_filter = ("region_code",)
    list_select_related = ()
    search_fields = ("code", "name_zh", "name_en", "division_code")
    readonly_fields = ("region_code",)

    def scoped_queryset(self, scope: Scope) -> QuerySet[Park]:
        return Park.objects.all()


@admin.register(Enterprise)
class EnterpriseAdmin(TenantScopedAdmin):
    """Superusers maintain enterprises; an enterprise admin edits its own details."""

    readable_by = READ_STAFF
    write_roles = ADMIN_ROLES
    allow_delete = False  # an enterprise with history is deactivated, not deleted
    list_display = ("name_zh", "name_en", "uscc", "park", "industry", "is_active")
    list_filter = ("is_active", ("park", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("park",)
    search_fields = ("name_zh", "name_en", "uscc", "industry", "hazchem_licence_no")
    autocomplete_fields = ("park",)

    def scoped_queryset(self, scope: Scope) -> QuerySet[Enterprise]:
        return Enterprise.objects.select_related("park")

    def may_add(self, scope: Scope) -> bool:
        return scope.is_superuser

    def may_write_object(self, scope: Scope, obj: Enterprise) -> bool:
        return may_change(scope, owner_id=obj.pk)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request_scope(request).is_superuser:
            return ("created_at",)
        # Identity, park and activation are the platform's to decide.
        return ("uscc", "park", "is_active", "created_at")

    def save_model(self, request: HttpRequest, obj: Enterprise, form: Any, change: bool) -> None:
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in ENTERPRISE_FIELDS}
            if changes:
                self.call_service(
                    enterprise_update, actor=request_scope(request), enterprise=obj, **changes
                )
            return
        enterprise = self.call_service(
            enterprise_create,
            actor=request_scope(request),
            **{name: getattr(obj, name) for name in ENTERPRISE_FIELDS},
        )
        obj.pk = enterprise.pk
        obj._state.adding = False
        obj.refresh_from_db()
