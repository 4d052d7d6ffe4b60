"""The admin's generic pieces: its titles, service refusals shown on the form, compact
list columns, and the platform's own rows (outbox, idempotency keys) for superusers.

The tenant-scoped base every domain ModelAdmin builds on is ``access.admin``."""

import json
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.exceptions import DomainError
from common.models import IdempotencyKey, OutboxDelivery, OutboxEvent

admin.site.site_header = _("ParkShare administration")
admin.site.site_title = _("ParkShare")
admin.site.index_title = _("Shared inventory of the park")

REFUSAL_ATTR = "_parkshare_service_refusal"


class ServiceRefused(Exception):
    """A service refused the write of a change form; carries the service's DomainError."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def form_with_refusal(form_class: Any, field: str, message: str) -> Any:
    """``form_class`` that reports ``message`` on ``field`` (or on the whole form)."""

    class RefusedForm(form_class):
        def clean(self) -> Any:
            cleaned = super().clean()
            self.add_error(field if field in self.fields else None, message)
            return cleaned

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


def is_staff_user(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


# --- Compact list columns ------------------------------------------------------------------
# The changelists of listings, matches and orders fit a 1400 px screen with their figures
# (quantity with its unit, price, status) always visible: names are cut by the stylesheet
# to a few characters (the whole name as the title), numbers carry their unit, times are
# short, and these lists leave out the navigation sidebar (the breadcrumbs lead home).


def short_text(text: Any) -> str:
    """``text`` in a span the admin's stylesheet cuts with an ellipsis, whole as its title."""
    return format_html('<span class="parkshare-cut" title="{}">{}</span>', text, text)


def kg_text(quantity: Any) -> str:
    """A quantity in kg with its unit (tonnes from 10 t, to three decimals at most)."""
    if quantity is None:
        return "-"
    value = Decimal(quantity)
    if value >= 10_000:
        return f"{(value / 1000).quantize(Decimal('0.001')).normalize():,f} t"
    return f"{value.quantize(Decimal('0.001')).normalize():,f} kg"


def yuan_text(amount: Any, per: str = "") -> str:
    """An amount in CNY (¥), per unit ``per`` when given (e.g. ``"/t"``)."""
    if amount is None:
        return "-"
    return f"¥{Decimal(amount):,.2f}{per}"


def time_text(value: Any) -> str:
    """A time in the local zone, month to minute (the year of a deal goes without saying)."""
    if value is None:
        return "-"
    return format_html(
        '<span title="{}">{}</span>',
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M"),
        timezone.localtime(value).strftime("%m-%d %H:%M"),
    )


class WithoutNavSidebar:
    """A changelist without the navigation sidebar (the breadcrumbs lead home), so its
    columns fit 1400 px."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, context)  # type: ignore[misc]


class FigureColumns(WithoutNavSidebar):
    """Compact changelist columns of a deal's rows (listings, matches, orders): material,
    parties, quantity, price and total, each sortable; the list without the navigation
    sidebar."""

    @admin.display(description=_("material"), ordering="material__name_zh")
    def material_name(self, obj: Any) -> str:
        return short_text(obj.material.short_name)

    @admin.display(description=_("seller"), ordering="seller__name_zh")
    def seller_name(self, obj: Any) -> str:
        return short_text(obj.seller)

    @admin.display(description=_("buyer"), ordering="buyer__name_zh")
    def buyer_name(self, obj: Any) -> str:
        return short_text(obj.buyer)

    @admin.display(description=_("quantity"), ordering="quantity_kg")
    def quantity(self, obj: Any) -> str:
        return kg_text(obj.quantity_kg)

    @admin.display(description=_("unit price"), ordering="price_per_t")
    def price(self, obj: Any) -> str:
        return yuan_text(obj.price_per_t, "/t")

    @admin.display(description=_("total"), ordering="total_yuan")
    def total(self, obj: Any) -> str:
        return yuan_text(obj.total_yuan)


class PlatformAdmin(admin.ModelAdmin):
    """The platform's own rows: read-only, and for superusers only (no Scope needed)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff_user(request) and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = OutboxDelivery
    fields = ("subscriber", "status", "attempts", "due_at", "done_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(PlatformAdmin):
    """Domain events and their deliveries, for superusers; events are never edited here."""

    list_display = ("id", "topic", "version", "created_at", "fanned_out_at")
    list_filter = (("fanned_out_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ()
    search_fields = ("topic",)
    readonly_fields = ("topic", "version", "payload_pretty", "created_at", "fanned_out_at")
    fields = readonly_fields
    inlines = (DeliveryInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxEvent]:
        if not request.user.is_superuser:
            return OutboxEvent.objects.none()
        return super().get_queryset(request)

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: OutboxEvent) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, default=str)
        )


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(PlatformAdmin):
    """Each subscriber's delivery of each event, for superusers answering "why was this
    not handled?": pending ones with their next try, failed ones with their last error.
    Read-only (the sweep retries what is due)."""

    list_display = ("id", "event_link", "topic", "subscriber", "status", "attempts", "due_at")
    list_filter = ("subscriber", "status")
    list_select_related = ("event",)
    search_fields = ("subscriber", "event__topic", "last_error")
    readonly_fields = (
        "event_link",
        "topic",
        "subscriber",
        "status",
        "attempts",
        "due_at",
        "done_at",
        "last_error",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxDelivery]:
        if not request.user.is_superuser:
            return OutboxDelivery.objects.none()
        return super().get_queryset(request)

    @admin.display(description=_("event"), ordering="event_id")
    def event_link(self, obj: OutboxDelivery) -> str:
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:common_outboxevent_change", args=[obj.event_id]),
            obj.event_id,
        )

    @admin.display(description=_("topic"), ordering="event__topic")
    def topic(self, obj: OutboxDelivery) -> str:
        return obj.event.topic


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(PlatformAdmin):
    """Idempotency keys of API POSTs and their stored responses, for superusers answering
    "why did my retry not run?"; never edited here (the hourly purge deletes them)."""

    list_display = ("key", "user", "state", "response_status", "created_at", "completed_at")
    list_filter = ("state", "created_at")
    list_select_related = ("user",)
    search_fields = ("key", "user__username")
    readonly_fields = (
        "user",
        "key",
        "fingerprint",
        "state",
        "response_status",
        "response_headers",
        "response_text",
        "created_at",
        "completed_at",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[IdempotencyKey]:
        if not request.user.is_superuser:
            return IdempotencyKey.objects.none()
        # The body is read on the change page only.
        return super().get_queryset(request).defer("response_body")

    @admin.display(description=_("response body"))
    def response_text(self, obj: IdempotencyKey) -> str:
        return format_html(
            "<pre>{}</pre>", bytes(obj.response_body).decode("utf-8", errors="replace")
        )
