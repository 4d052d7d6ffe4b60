"""Admin of parks and enterprises.

Parks and enterprises are a directory every staff user reads; superusers maintain it and
an enterprise admin keeps its own enterprise's contact details, both through
parks.services. Who acts for which (memberships, park roles: access's models) is granted
here too, through the services that record it in the audit trail.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import READ_STAFF, READ_SUPERUSER, TenantScopedAdmin
from access.models import Membership, ParkRole
from access.roles import ADMIN_ROLES
from access.rules import may_change
from access.scope import Scope, request_scope
from parks.models import Enterprise, Park
from parks.services import (
    ENTERPRISE_FIELDS,
    MEMBERSHIP_FIELDS,
    PARK_FIELDS,
    PARK_ROLE_FIELDS,
    enterprise_create,
    enterprise_update,
    membership_grant,
    membership_revoke,
    membership_update,
    park_create,
    park_role_grant,
    park_role_revoke,
    park_role_update,
    park_update,
)


@admin.register(Park)
class ParkAdmin(TenantScopedAdmin):
    readable_by = READ_STAFF
    list_display = ("code", "name_zh", "name_en", "division_code", "region_code", "area_mu")
    list_filter = ("region_code",)
    list_select_related = ()
    search_fields = ("code", "name_zh", "name_en", "division_code")
    readonly_fields = ("region_code",)
    allow_delete = False  # its enterprises and warehouses keep it

    def scoped_queryset(self, scope: Scope) -> QuerySet[Park]:
        return Park.objects.all()

    def save_model(self, request: HttpRequest, obj: Park, form: Any, change: bool) -> None:
        scope = request_scope(request)
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in PARK_FIELDS}
            if changes:
                self.call_service(park_update, actor=scope, park=obj, **changes)
            return
        park = self.call_service(
            park_create, actor=scope, **{name: getattr(obj, name) for name in PARK_FIELDS}
        )
        obj.pk = park.pk
        obj._state.adding = False
        obj.refresh_from_db()


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
        # A pool's holder is made with its pool (pools.services), never here.
        if request_scope(request).is_superuser:
            return ("kind", "created_at")
        # Identity, park and activation are the platform's to decide.
        return ("uscc", "kind", "park", "is_active", "created_at")

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


# --- Who acts for which ------------------------------------------------------------------
# An enterprise admin manages the memberships of its enterprise; park roles are given by
# superusers only. The models are access's; every write goes through parks.services, which
# records who granted, changed or revoked what.


class MembershipInviteForm(forms.ModelForm):
    """An enterprise admin adds an existing login, by its username, to the enterprise.

    Only logins without any standing qualify: no enterprise, no park role, no superuser.
    The list of such logins is not shown, so enterprises cannot browse other users.
    """

    username = forms.CharField(label=_("username"), max_length=150)

    class Meta:
        model = Membership
        fields = ("role",)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        user = (
            get_user_model()
            .objects.filter(
                username=username,
                is_active=True,
                is_superuser=False,
                membership__isnull=True,
                park_roles__isnull=True,
            )
            .first()
        )
        if user is None:
            raise forms.ValidationError(
                _("No active login without an enterprise or park role has this username.")
            )
        self.instance.user = user
        return username


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    """Superusers manage every membership; an enterprise admin those of its enterprise
    (except its own, so that it cannot lock itself out)."""

    write_roles = ADMIN_ROLES
    list_display = ("user", "enterprise", "role")
    list_filter = ("role", ("enterprise", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "enterprise")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    autocomplete_fields = ("user", "enterprise")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Membership]:
        qs = Membership.objects.select_related("user", "enterprise")
        if scope.is_superuser:
            return qs
        if scope.enterprise is not None and scope.has_role(*ADMIN_ROLES):
            return qs.filter(enterprise_id=scope.enterprise.pk)
        return qs.none()

    def may_read(self, scope: Scope) -> bool:
        return scope.is_superuser or scope.has_role(*ADMIN_ROLES)

    def may_write_object(self, scope: Scope, obj: Membership) -> bool:
        if scope.is_superuser:
            return True
        return obj.enterprise_id == scope.enterprise_id and obj.user_id != scope.user.pk

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request_scope(request).is_superuser:
            return ("user", "enterprise", "role")
        return ("username", "role") if obj is None else ("user", "role")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not request_scope(request).is_superuser:
            return ("user",)
        return ()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None and not request_scope(request).is_superuser:
            kwargs["form"] = MembershipInviteForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        scope = request_scope(request)
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in MEMBERSHIP_FIELDS}
            if changes:
                self.call_service(membership_update, actor=scope, membership=obj, **changes)
            return
        enterprise = obj.enterprise if scope.is_superuser else scope.enterprise
        membership = self.call_service(
            membership_grant, actor=scope, user=obj.user, enterprise=enterprise, role=obj.role
        )
        obj.pk, obj.enterprise = membership.pk, membership.enterprise
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_revoke(actor=request_scope(request), membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda membership: membership_revoke(actor=scope, membership=membership),
            done_message=gettext("%(count)d membership(s) revoked."),
        )


@admin.register(ParkRole)
class ParkRoleAdmin(TenantScopedAdmin):
    """Who operates or regulates which park: given by superusers only."""

    readable_by = READ_SUPERUSER
    list_display = ("user", "park", "role")
    list_filter = ("role", ("park", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "park")
    search_fields = ("user__username", "park__code", "park__name_zh", "park__name_en")
    autocomplete_fields = ("user", "park")

    def scoped_queryset(self, scope: Scope) -> QuerySet[ParkRole]:
        qs = ParkRole.objects.select_related("user", "park")
        return qs if scope.is_superuser else qs.none()

    def save_model(self, request: HttpRequest, obj: ParkRole, form: Any, change: bool) -> None:
        scope = request_scope(request)
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in PARK_ROLE_FIELDS}
            if changes:
                self.call_service(park_role_update, actor=scope, park_role=obj, **changes)
            return
        park_role = self.call_service(
            park_role_grant, actor=scope, user=obj.user, park=obj.park, role=obj.role
        )
        obj.pk = park_role.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: ParkRole) -> None:
        park_role_revoke(actor=request_scope(request), park_role=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ParkRole]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda park_role: park_role_revoke(actor=scope, park_role=park_role),
            done_message=gettext("%(count)d park role(s) revoked."),
        )
