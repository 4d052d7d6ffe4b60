"""Admin of orders (订单) and their steps.

Orders are created through the API (or the services) and change only through their
steps: nothing is added, changed or deleted here. The parties' staff take the steps on the
selected orders with admin actions that call ``orders.services`` (each refusal reported on
its row: another side's step, a role that may not take it, a status that does not allow
it). Receiving asks for the zone on an intermediate page. Operators and regulators read
their parks' orders.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.admin import READ_SCOPE, TenantScopedAdmin, TenantScopedInline, is_staff_user
from common.tenancy import WRITE_ROLES, Scope, request_scope
from inventory.models import StorageZone
from orders.models import Order, OrderTransition
from orders.selectors import order_list, receipt_zones
from orders.services import (
    order_cancel,
    order_complete,
    order_confirm,
    order_dispatch,
    order_receive,
    order_reject,
    order_transfer,
)

ORDER_FIELDS = (
    "status",
    ("seller", "buyer"),
    ("listing", "need", "match"),
    "material",
    ("lot", "reservation"),
    "quantity_kg",
    ("price_per_t", "transport_per_t", "total_yuan"),
    "hold_until",
    ("delivery_zone", "buyer_lot", "shared_transfer"),
    ("created_by", "created_at", "updated_at"),
)


class OrderTransitionInline(TenantScopedInline):
    """The order's steps, oldest first; never written here."""

    model = OrderTransition
    fields = ("at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderTransition]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReceiveForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=StorageZone.objects.none(), label=_("zone"))

    def __init__(self, *args: Any, zones: QuerySet[StorageZone], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones  # type: ignore[attr-defined]


@admin.register(Order)
class OrderAdmin(TenantScopedAdmin):
    """Orders the user's enterprise sells or buys in (operators and regulators: their
    parks')."""

    readable_by = READ_SCOPE
    write_roles = WRITE_ROLES
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = (
        "id",
        "status",
        "seller",
        "buyer",
        "material",
        "quantity_kg",
        "total_yuan",
        "hold_until",
        "created_at",
    )
    list_filter = ("status", "shared_transfer", ("material", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("seller", "buyer", "material")
    search_fields = ("seller__name_zh", "buyer__name_zh", "material__name_en", "material__cas")
    fields = ORDER_FIELDS
    inlines = (OrderTransitionInline,)
    actions = ("confirm", "reject", "cancel", "dispatch", "receive", "transfer", "complete")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Order]:
        return order_list(scope=scope)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for row in self.fields for name in (row if isinstance(row, tuple) else (row,))]

    def has_step_permission(self, request: HttpRequest) -> bool:
        """Steps bind an enterprise: its staff who write take them (the service decides
        which side and role each step needs), nobody else."""
        scope = request_scope(request)
        return (
            is_staff_user(request)
            and scope.enterprise is not None
            and scope.has_role(*self.write_roles)
        )

    def _step(
        self,
        request: HttpRequest,
        queryset: QuerySet[Order],
        service: Callable[..., Any],
        done_message: str,
        **kwargs: Any,
    ) -> None:
        self.run_for_each(
            request,
            queryset.order_by("pk"),
            lambda order: service(actor=request.user, order=order, **kwargs),
            done_message=done_message,
        )

    @admin.action(description=_("Confirm selected orders"), permissions=["step"])
    def confirm(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._step(request, queryset, order_confirm, gettext("%(count)d order(s) confirmed."))

    @admin.action(description=_("Reject selected orders"), permissions=["step"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._step(request, queryset, order_reject, gettext("%(count)d order(s) rejected."))

    @admin.action(description=_("Cancel selected orders"), permissions=["step"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._step(request, queryset, order_cancel, gettext("%(count)d order(s) cancelled."))

    @admin.action(description=_("Dispatch selected orders"), permissions=["step"])
    def dispatch(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._step(request, queryset, order_dispatch, gettext("%(count)d order(s) dispatched."))

    @admin.action(description=_("Receive selected orders into a zone"), permissions=["step"])
    def receive(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse | None:
        """Ask for the zone on an intermediate page, then receive each order into it."""
        zones = receipt_zones(scope=request_scope(request)).order_by("warehouse__code", "code")
        form = ReceiveForm(request.POST if "apply" in request.POST else None, zones=zones)
        if form.is_bound and form.is_valid():
            self._step(
                request,
                queryset,
                order_receive,
                gettext("%(count)d order(s) received."),
                zone=form.cleaned_data["zone"],
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Receive orders into a zone"),
            "opts": self.model._meta,
            "orders": list(queryset),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/receive.html", context)

    @admin.action(
        description=_("Take over selected orders in the shared warehouse"), permissions=["step"]
    )
    def transfer(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._step(
            request, queryset, order_transfer, gettext("%(count)d order(s) taken over in place.")
        )

    @admin.action(description=_("Complete selected orders"), permissions=["step"])
    def complete(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._step(request, queryset, order_complete, gettext("%(count)d order(s) completed."))


@admin.register(OrderTransition)
class OrderTransitionAdmin(TenantScopedAdmin):
    """Every step of the orders in scope: who took it, when, from, to and why."""

    readable_by = READ_SCOPE
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("id", "order", "from_status", "to_status", "actor", "at", "reason")
    list_filter = ("to_status", "at")
    list_select_related = ("order", "actor")
    fields = ("order", "from_status", "to_status", "actor", "at", "reason")
    readonly_fields = fields

    def scoped_queryset(self, scope: Scope) -> QuerySet[OrderTransition]:
        orders = order_list(scope=scope).values("pk")
        return OrderTransition.objects.filter(order_id__in=orders).select_related("order", "actor")
