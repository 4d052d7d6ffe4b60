"""The tenant-scoped admin that every ModelAdmin of ParkShare builds on.

The admin serves enterprise staff, park operators and regulators as well as superusers.
What a user sees and may do is decided by the :class:`~common.tenancy.Scope` and the role,
never by Django's model permissions, so a demo login needs only ``is_staff``:

* every changelist, change page, autocomplete and related-only list filter starts from
  :meth:`TenantScopedAdmin.scoped_queryset`, so a row outside the scope is answered like a
  deleted one ("doesn't exist");
* every foreign-key and many-to-many choice is looked up through the scope as well (the
  target admin's queryset unless the admin names a narrower one); a foreign key to a model
  without a scoped admin offers nothing to anyone but a superuser;
* writes that a service owns call the service; a :class:`~common.exceptions.DomainError`
  it raises becomes an error on the form, never a 500.
"""

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.exceptions import DomainError
from common.models import IdempotencyKey, OutboxEvent
from common.tenancy import Scope, request_scope

admin.site.site_header = _("ParkShare administration")
admin.site.site_title = _("ParkShare")
admin.site.index_title = _("Shared inventory of the park")

ScopedChoices = Callable[[Scope], QuerySet[Any]]

# Who may read an admin's rows (writes are decided by roles, see TenantScopedAdmin).
READ_SCOPE = "scope"  # anyone with a standing (a membership or a park role), within scope
READ_STAFF = "staff"  # every staff user: reference data such as parks and materials
READ_SUPERUSER = "superuser"

_REFUSAL_ATTR = "_parkshare_service_refusal"


class ServiceRefused(Exception):
    """A service refused the write of a change form; carries the service's DomainError."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def _form_with_refusal(form_class: Any, field: str, message: str) -> Any:
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


class ScopedChoicesMixin:
    """Foreign-key and many-to-many choices looked up through the user's scope."""

    admin_site: admin.AdminSite
    #: Field name -> the queryset its choices come from, narrower than the target admin's
    #: (e.g. the zones an enterprise may store in, the warehouses it may change).
    scoped_choices: ClassVar[dict[str, ScopedChoices]] = {}

    def choices_for(self, db_field: Any, request: HttpRequest) -> QuerySet[Any] | None:
        scope = request_scope(request)
        narrower = self.scoped_choices.get(db_field.name)
        if narrower is not None:
            return narrower(scope)
        target = db_field.remote_field.model
        target_admin = self.admin_site._registry.get(target)
        if isinstance(target_admin, TenantScopedAdmin):
            return target_admin.get_queryset(request)
        if scope.is_superuser:
            return None  # Django's default: every row
        return target._default_manager.none()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            queryset = self.choices_for(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            queryset = self.choices_for(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class TenantScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """A ModelAdmin whose rows, choices and permissions come from the user's Scope.

    Subclasses implement :meth:`scoped_queryset` (usually a selector) and say who writes:
    ``write_roles`` (enterprise roles; the rows they may change are those
    :meth:`may_write_object` accepts), ``operator_writes`` for park operators. Superusers
    pass every role check; what an admin never offers (``allow_add``/``allow_change``/
    ``allow_delete``) and per-row rules (a withdrawn listing is read-only) still apply.
    """

    readable_by: ClassVar[str] = READ_SCOPE
    write_roles: ClassVar[frozenset[str]] = frozenset()
    operator_writes: ClassVar[bool] = False
    allow_add: ClassVar[bool] = True
    allow_change: ClassVar[bool] = True
    allow_delete: ClassVar[bool] = True
    #: Field named by a service's DomainError -> the form field to show it on.
    service_error_fields: ClassVar[dict[str, str]] = {}

    # --- rows ---------------------------------------------------------------------------

    def scoped_queryset(self, scope: Scope) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = self.scoped_queryset(request_scope(request))
        if isinstance(self.list_select_related, list | tuple) and self.list_select_related:
            # The changelist skips list_select_related once a selector has select_related.
            qs = qs.select_related(*self.list_select_related)
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs

    # --- permissions --------------------------------------------------------------------

    def may_read(self, scope: Scope) -> bool:
        if scope.is_superuser:
            return True
        if self.readable_by == READ_STAFF:
            return True
        if self.readable_by == READ_SUPERUSER:
            return False
        return scope.enterprise is not None or bool(scope.park_ids)

    def may_write(self, scope: Scope) -> bool:
        """Whether the user may write rows of this admin at all (no object in view)."""
        if scope.is_superuser:
            return True
        if scope.enterprise is not None:
            return scope.role in self.write_roles
        return self.operator_writes and scope.is_park_operator

    def may_write_object(self, scope: Scope, obj: Any) -> bool:
        """Whether the user may change or delete this row (it is already in scope)."""
        return scope.is_superuser

    def may_add(self, scope: Scope) -> bool:
        return self.may_write(scope)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff_user(request) and self.may_read(request_scope(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.allow_add and is_staff_user(request) and self.may_add(request_scope(request))

    def _may_write(self, request: HttpRequest, obj: Any) -> bool:
        if not is_staff_user(request):
            return False
        scope = request_scope(request)
        if not self.may_write(scope):
            return False
        return obj is None or self.may_write_object(scope, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_change and self._may_write(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and self._may_write(request, obj)

    # --- writes through services ----------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal: DomainError | None = getattr(request, _REFUSAL_ATTR, None)
        if refusal is None:
            return form
        field = self.service_error_fields.get(refusal.field, refusal.field)
        return _form_with_refusal(form, field, refusal.message)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The write was rolled back with the view's transaction. Render the form again
            # with the service's reason on the field it names.
            setattr(request, _REFUSAL_ATTR, refused.error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def call_service(self, service: Callable[..., Any], /, **kwargs: Any) -> Any:
        """Call a write service from ``save_model``; a DomainError becomes a form error."""
        try:
            return service(**kwargs)
        except DomainError as exc:
            raise ServiceRefused(exc) from exc

    def run_for_each(
        self,
        request: HttpRequest,
        objects: Iterable[Any],
        action: Callable[[Any], Any],
        *,
        done_message: str,
    ) -> None:
        """Run an admin action object by object; report refusals as messages, not 500s."""
        done = 0
        for obj in objects:
            try:
                action(obj)
            except DomainError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class TenantScopedInline(ScopedChoicesMixin, admin.TabularInline):
    """An inline whose permissions follow the parent row: writable when the parent is."""

    def _parent_admin(self) -> TenantScopedAdmin:
        parent = self.admin_site._registry[self.parent_model]
        assert isinstance(parent, TenantScopedAdmin)
        return parent

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        parent = self._parent_admin()
        if obj is None:
            return parent.has_add_permission(request)
        return parent.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        parent = self._parent_admin()
        if obj is None:
            return parent.has_add_permission(request) or parent.has_change_permission(request)
        return parent.has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)


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


class FigureColumns:
    """Compact changelist columns of a deal's rows (listings, matches, orders): material,
    parties, quantity, price and total, each sortable; the list without the navigation
    sidebar."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, context)  # type: ignore[misc]

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


def owned_by_scope(scope: Scope, enterprise_id: int | None) -> bool:
    """A superuser owns everything; an enterprise user the rows of its enterprise."""
    if scope.is_superuser:
        return True
    return scope.enterprise_id is not None and enterprise_id == scope.enterprise_id


@admin.register(OutboxEvent)
class OutboxEventAdmin(TenantScopedAdmin):
    """Delivery state of domain events, for superusers; events are never edited here."""

    readable_by = READ_SUPERUSER
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("id", "topic", "created_at", "dispatched_at", "attempts")
    list_filter = (("dispatched_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ()
    search_fields = ("topic", "last_error")
    readonly_fields = (
        "topic",
        "payload_pretty",
        "created_at",
        "dispatched_at",
        "attempts",
        "last_error",
    )
    fields = readonly_fields

    def scoped_queryset(self, scope: Scope) -> QuerySet[OutboxEvent]:
        if not scope.is_superuser:
            return OutboxEvent.objects.none()
        return OutboxEvent.objects.all()

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: OutboxEvent) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, default=str)
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(TenantScopedAdmin):
    """Idempotency keys of API POSTs and their stored responses, for superusers answering
    "why did my retry not run?"; never edited here (the hourly purge deletes them)."""

    readable_by = READ_SUPERUSER
    allow_add = False
    allow_change = False
    allow_delete = False
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

    def scoped_queryset(self, scope: Scope) -> QuerySet[IdempotencyKey]:
        if not scope.is_superuser:
            return IdempotencyKey.objects.none()
        return IdempotencyKey.objects.defer("response_body")  # read on the change page only

    @admin.display(description=_("response body"))
    def response_text(self, obj: IdempotencyKey) -> str:
        return format_html(
            "<pre>{}</pre>", bytes(obj.response_body).decode("utf-8", errors="replace")
        )
