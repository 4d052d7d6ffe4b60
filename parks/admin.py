"""Admin of parks, enterprises and who acts for which.

Parks and enterprises are a directory every staff user reads; superusers maintain it and
an enterprise admin keeps its own enterprise's contact details, both through
parks.services. An enterprise admin also manages the memberships of its enterprise; park
roles are given by superusers only.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from access.admin import READ_STAFF, READ_SUPERUSER, TenantScopedAdmin
from access.models import Membership, ParkRole
from access.roles import ADMIN_ROLES, EnterpriseRole
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
                self.call_service(enterprise_update, actor=request.user, enterprise=obj, **changes)
            return
        enterprise = self.call_service(
            enterprise_create,
            actor=request.user,
            **{name: getattr(obj, name) for name in ENTERPRISE_FIELDS},
        )
        obj.pk = enterprise.pk
        obj._state.adding = False
        obj.refresh_from_db()


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
        if scope.enterprise is not None and scope.role == EnterpriseRole.ENTERPRISE_ADMIN:
            return qs.filter(enterprise_id=scope.enterprise.pk)
        return qs.none()

    def may_read(self, scope: Scope) -> bool:
        return scope.is_superuser or scope.role == EnterpriseRole.ENTERPRISE_ADMIN

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
        if not change and not scope.is_superuser:
            assert scope.enterprise is not None
            obj.enterprise = scope.enterprise
        super().save_model(request, obj, form, change)


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
