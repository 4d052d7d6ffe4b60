"""Admin of orders (订单) and their steps.

Orders are created through the API (or the services) and change only through their
steps: nothing is added, changed or deleted here. An order's page shows as buttons the
steps open to the user now (``orders.services.order_steps_open``: the rule the services
raise from); each leads to a confirmation page (GET says what will happen, POST takes the
step through the service and comes back with a message, a refusal with its reason). The
list offers as actions only the steps of the user's role (each refusal reported on its
row); receiving asks for the zone on an intermediate page. Operators and regulators read
their parks' orders.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import READ_SCOPE, TenantScopedAdmin, TenantScopedInline
from access.roles import WRITE_ROLES
from access.scope import Scope, request_scope
from common.admin import FigureColumns, is_staff_user, time_text
from common.exceptions import DomainError
from inventory.models import StorageZone
from orders.models import Order, OrderTransition
from orders.selectors import order_list, receipt_zones
from orders.services import (
    STEPS,
    order_cancel,
    order_complete,
    order_confirm,
    order_dispatch,
    order_receive,
    order_reject,
    order_step_refusal,
    order_steps_of_role,
    order_steps_open,
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


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@dataclass(frozen=True)
class StepPage:
    """How the admin presents a step: its button, what it does, what it asks for."""

    label: Promise
    effect: Promise
    service: Callable[..., Any]
    done: Promise
    asks_reason: bool = False
    asks_zone: bool = False


STEP_PAGES: dict[str, StepPage] = {
    "confirm": StepPage(
        _("Confirm"),
        _("The order is confirmed: the reserved stock stays held for the buyer until dispatch."),
        order_confirm,
        _("The order is confirmed."),
        asks_reason=True,
    ),
    "reject": StepPage(
        _("Reject"),
        _(
            "The order ends: the reservation is released and the listing (and the need) get "
            "their quantity back."
        ),
        order_reject,
        _("The order is rejected."),
        asks_reason=True,
    ),
    "cancel": StepPage(
        _("Cancel"),
        _(
            "The order ends: the reservation is released and the listing (and the need) get "
            "their quantity back."
        ),
        order_cancel,
        _("The order is cancelled."),
        asks_reason=True,
    ),
    "dispatch": StepPage(
        _("Dispatch"),
        _("The goods leave the seller's lot: its stock goes down by the order's quantity."),
        order_dispatch,
        _("The order is dispatched."),
    ),
    "receive": StepPage(
        _("Receive"),
        _(
            "The goods enter the zone chosen below as a new lot of the buyer's; the zone's "
            "licence, free capacity and segregation are checked."
        ),
        order_receive,
        _("The order is received."),
        asks_zone=True,
    ),
    "transfer": StepPage(
        _("Take over"),
        _(
            "The goods change owner where they lie in the shared warehouse, without moving: "
            "the order is received in one step."
        ),
        order_transfer,
        _("The order is taken over in place."),
    ),
    "complete": StepPage(
        _("Complete"),
        _("The order is closed as delivered."),
        order_complete,
        _("The order is completed."),
    ),
}
assert STEP_PAGES.keys() == STEPS.keys()


@admin.register(Order)
class OrderAdmin(FigureColumns, TenantScopedAdmin):
    """Orders the user's enterprise sells or buys in (operators and regulators: their
    parks')."""

    readable_by = READ_SCOPE
    write_roles = WRITE_ROLES
    allow_add = False
    allow_change = False
    allow_delete = False
    # Fits 1400 px with the figures always visible (common.admin.FigureColumns).
    list_display = (
        "id",
        "status",
        "material_name",
        "quantity",
        "price",
        "total",
        "seller_name",
        "buyer_name",
        "reserved_until",
    )
    list_filter = ("status", "shared_transfer", ("material", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("seller", "buyer", "material")
    search_fields = ("seller__name_zh", "buyer__name_zh", "material__name_en", "material__cas")
    fields = ORDER_FIELDS
    inlines = (OrderTransitionInline,)
    actions = ("confirm", "reject", "cancel", "dispatch", "receive", "transfer", "complete")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Order]:
        return order_list(scope=scope)

    @admin.display(description=_("reserved until"), ordering="hold_until")
    def reserved_until(self, obj: Order) -> str:
        return time_text(obj.hold_until)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Only the steps the user's role takes on some side of a deal (a keeper is not
        offered to confirm, a trader not to dispatch)."""
        actions = super().get_actions(request)
        mine = set(order_steps_of_role(scope=request_scope(request)))
        return {name: a for name, a in actions.items() if name not in STEPS or name in mine}

    # --- the steps of one order, as buttons and confirmation pages ------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        step = path(
            "<path:object_id>/step/<str:step>/",
            self.admin_site.admin_view(self.step_view),
            name=f"{info[0]}_{info[1]}_step",
        )
        return [step, *super().get_urls()]

    def _order(self, request: HttpRequest, object_id: str) -> Order | None:
        """The order in the user's scope with what the step rule reads, or None."""
        queryset = self.get_queryset(request).select_related("lot__zone__warehouse", "lot__zone")
        try:
            return queryset.get(pk=int(object_id))
        except (ValueError, Order.DoesNotExist):
            return None

    def steps_open(self, request: HttpRequest, order: Order) -> list[dict[str, Any]]:
        """The buttons of ``order``'s page: the steps open to the user now."""
        open_steps = order_steps_open(scope=request_scope(request), order=order)
        return [
            {
                "step": step,
                "label": STEP_PAGES[step].label,
                "url": reverse("admin:orders_order_step", args=[order.pk, step]),
            }
            for step in open_steps
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        order = self._order(request, object_id)
        steps = self.steps_open(request, order) if order is not None else []
        context = {**(extra_context or {}), "steps_open": steps}
        return super().change_view(request, object_id, form_url, context)

    def step_view(self, request: HttpRequest, object_id: str, step: str) -> HttpResponse:
        """GET: what ``step`` will do to the order (or why the user may not take it now);
        POST: take it through the service, back to the order's page with a message."""
        if step not in STEP_PAGES:
            raise Http404
        order = self._order(request, object_id)
        if order is None or not self.has_view_permission(request, order):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        page = STEP_PAGES[step]
        scope = request_scope(request)
        order_url = reverse("admin:orders_order_change", args=[order.pk])
        zones = (
            receipt_zones(scope=scope)
            .select_related("warehouse")
            .order_by("warehouse__code", "code")
        )
        data = request.POST if request.method == "POST" else None
        form: forms.Form | None = None
        if page.asks_zone:
            form = ReceiveForm(data, zones=zones)
        elif page.asks_reason:
            form = ReasonForm(data)
        refusal = order_step_refusal(scope=scope, order=order, step=step)
        if request.method == "POST" and refusal is None and (form is None or form.is_valid()):
            kwargs = dict(form.cleaned_data) if form is not None else {}
            try:
                page.service(actor=scope, order=order, **kwargs)
            except DomainError as exc:
                self.message_user(request, f"{order}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, str(page.done), messages.SUCCESS)
            return HttpResponseRedirect(order_url)
        if request.method == "POST" and refusal is not None:
            self.message_user(request, f"{order}: {refusal}", messages.ERROR)
            return HttpResponseRedirect(order_url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("%(step)s: %(order)s") % {"step": page.label, "order": order},
            "opts": self.opts,
            "original": order,
            "order": order,
            "page": page,
            "step": step,
            "refusal": refusal,
            "form": form,
            "object_url": order_url,
        }
        return TemplateResponse(request, "admin/orders/order/step.html", context)

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
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset.order_by("pk"),
            lambda order: service(actor=scope, order=order, **kwargs),
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
