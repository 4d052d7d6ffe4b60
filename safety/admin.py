"""Production safety in the admin, scoped like the API (``safety.selectors``: one rule for
both); every write through ``safety.services`` (audited).

Inspections and hidden hazards are added by the park's operators and regulators (the one
place a regulator writes, ``safety.rules.may_inspect``); a hazard is then rectified by an
action of the inspected enterprise's admins (rectified today) and confirmed or reopened by
actions of the inspectors. Incidents are reported and corrected by the enterprise's admins
and the park's operators. A unit's people within 500 m is set by the park's operators;
its figures are computed, never edited.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import TenantScopedAdmin
from access.roles import ADMIN_ROLES
from access.scope import Scope, request_scope
from common.admin import is_staff_user
from safety.models import HazardStatus, HazardUnit, HiddenHazard, Incident, Inspection
from safety.rules import may_inspect_somewhere, may_report_incident, may_set_unit_profile
from safety.selectors import (
    enterprises_inspectable,
    enterprises_reportable,
    hazard_list,
    hazard_unit_list,
    incident_list,
    inspection_list,
    inspections_inspectable,
    parks_inspectable,
)
from safety.services import (
    hazard_confirm,
    hazard_record,
    hazard_rectify,
    hazard_reopen,
    hazard_unit_update,
    incident_report,
    incident_update,
    inspection_create,
)


class _InspectorsAdmin(TenantScopedAdmin):
    """Rows added by the park's operators and regulators, never edited in a form."""

    allow_change = False
    allow_delete = False

    def may_add(self, scope: Scope) -> bool:
        return may_inspect_somewhere(scope)

    def _adopt(self, obj: Any, saved: Any) -> None:
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(Inspection)
class InspectionAdmin(_InspectorsAdmin):
    list_display = ("id", "inspected_on", "park", "enterprise", "inspector")
    list_filter = (("park", admin.RelatedOnlyFieldListFilter), "inspected_on")
    list_select_related = ("park", "enterprise", "inspector")
    fields = ("park", "enterprise", "inspected_on", "notes")
    scoped_choices = {
        "park": lambda scope: parks_inspectable(scope=scope),
        "enterprise": lambda scope: enterprises_inspectable(scope=scope),
    }

    def scoped_queryset(self, scope: Scope) -> QuerySet[Inspection]:
        return inspection_list(scope=scope)

    def save_model(self, request: HttpRequest, obj: Inspection, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = self.call_service(
            inspection_create,
            actor=request_scope(request),
            park=data["park"],
            enterprise=data["enterprise"],
            inspected_on=data["inspected_on"],
            notes=data.get("notes") or "",
        )
        self._adopt(obj, saved)


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return HazardStatus.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in HazardStatus.values:
            return queryset.filter(current_status=self.value())
        return queryset


@admin.register(HiddenHazard)
class HiddenHazardAdmin(_InspectorsAdmin):
    list_display = (
        "id",
        "enterprise",
        "grade",
        "found_on",
        "deadline",
        "hazard_status",
        "rectified_on",
        "confirmed_at",
    )
    list_filter = (StatusFilter, "grade", ("park", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("enterprise",)
    search_fields = ("description",)
    fields = ("inspection", "description", "grade", "deadline")
    scoped_choices = {"inspection": lambda scope: inspections_inspectable(scope=scope)}
    actions = ("rectified_today", "confirm", "reopen")

    def scoped_queryset(self, scope: Scope) -> QuerySet[HiddenHazard]:
        return hazard_list(scope=scope)

    @admin.display(description=_("status"), ordering="current_status")
    def hazard_status(self, obj: HiddenHazard) -> str:
        status = getattr(obj, "current_status", None) or obj.status
        return str(HazardStatus(status).label)

    def save_model(self, request: HttpRequest, obj: HiddenHazard, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = self.call_service(
            hazard_record,
            actor=request_scope(request),
            inspection=data["inspection"],
            description=data["description"],
            grade=data["grade"],
            deadline=data["deadline"],
        )
        self._adopt(obj, saved)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return is_staff_user(request) and may_inspect_somewhere(request_scope(request))

    def has_rectify_permission(self, request: HttpRequest) -> bool:
        scope = request_scope(request)
        return is_staff_user(request) and (
            scope.is_superuser or (scope.enterprise is not None and scope.has_role(*ADMIN_ROLES))
        )

    @admin.action(
        description=_("Report the selected hazards rectified today"), permissions=["rectify"]
    )
    def rectified_today(self, request: HttpRequest, queryset: QuerySet[HiddenHazard]) -> None:
        scope, today = request_scope(request), timezone.localdate()
        self.run_for_each(
            request,
            queryset,
            lambda hazard: hazard_rectify(actor=scope, hazard=hazard, rectified_on=today),
            done_message=gettext("%(count)d hazard(s) reported rectified."),
        )

    @admin.action(description=_("Confirm the selected rectifications"), permissions=["review"])
    def confirm(self, request: HttpRequest, queryset: QuerySet[HiddenHazard]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda hazard: hazard_confirm(actor=scope, hazard=hazard),
            done_message=gettext("%(count)d rectification(s) confirmed."),
        )

    @admin.action(description=_("Reopen the selected hazards"), permissions=["review"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[HiddenHazard]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda hazard: hazard_reopen(actor=scope, hazard=hazard),
            done_message=gettext("%(count)d hazard(s) reopened."),
        )


@admin.register(Incident)
class IncidentAdmin(TenantScopedAdmin):
    write_roles = ADMIN_ROLES
    operator_writes = True
    allow_delete = False
    list_display = (
        "id",
        "occurred_at",
        "enterprise",
        "grade",
        "deaths",
        "serious_injuries",
        "direct_loss_yuan",
    )
    list_filter = ("grade", ("park", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("enterprise",)
    fields = (
        "enterprise",
        "occurred_at",
        "description",
        "deaths",
        "serious_injuries",
        "direct_loss_yuan",
        "grade",
    )
    readonly_fields = ("grade",)
    scoped_choices = {"enterprise": lambda scope: enterprises_reportable(scope=scope)}

    def scoped_queryset(self, scope: Scope) -> QuerySet[Incident]:
        return incident_list(scope=scope)

    def may_write_object(self, scope: Scope, obj: Any) -> bool:
        return may_report_incident(scope, enterprise_id=obj.enterprise_id, park_id=obj.park_id)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("enterprise", "grade") if obj is not None else ("grade",)

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        data = form.cleaned_data
        figures = {
            name: data[name]
            for name in (
                "occurred_at",
                "description",
                "deaths",
                "serious_injuries",
                "direct_loss_yuan",
            )
            if name in data
        }
        if change:
            saved = self.call_service(
                incident_update, actor=request_scope(request), incident=obj, **figures
            )
        else:
            saved = self.call_service(
                incident_report,
                actor=request_scope(request),
                enterprise=data["enterprise"],
                **figures,
            )
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(HazardUnit)
class HazardUnitAdmin(TenantScopedAdmin):
    """Units of GB 18218 with their figures (computed); the park's operators set the
    people within 500 m (which sets α)."""

    write_roles = frozenset()
    operator_writes = True
    allow_add = False
    allow_delete = False
    list_display = (
        "warehouse",
        "park",
        "hazardous_t",
        "s",
        "r",
        "level",
        "s_at_capacity",
        "level_at_capacity",
        "people_within_500m",
        "computed_at",
    )
    list_filter = ("level", ("park", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("warehouse", "park")
    fields = (
        "warehouse",
        "people_within_500m",
        "hazardous_t",
        "s",
        "r",
        "level",
        "s_at_capacity",
        "r_at_capacity",
        "level_at_capacity",
        "computed_at",
    )
    readonly_fields = (
        "warehouse",
        "hazardous_t",
        "s",
        "r",
        "level",
        "s_at_capacity",
        "r_at_capacity",
        "level_at_capacity",
        "computed_at",
    )

    def scoped_queryset(self, scope: Scope) -> QuerySet[HazardUnit]:
        return hazard_unit_list(scope=scope)

    def may_write_object(self, scope: Scope, obj: Any) -> bool:
        return may_set_unit_profile(scope, park_id=obj.park_id)

    def save_model(self, request: HttpRequest, obj: HazardUnit, form: Any, change: bool) -> None:
        self.call_service(
            hazard_unit_update,
            actor=request_scope(request),
            unit=obj,
            people_within_500m=form.cleaned_data.get("people_within_500m"),
        )
        obj.refresh_from_db()
