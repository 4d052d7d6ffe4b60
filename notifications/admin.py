"""The notifications in the admin: each user's own inbox (with the unread badge of every
page, templates/admin/base_site.html), and an enterprise's webhook endpoints with their
delivery log, managed by its admins through notifications.services."""

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import READ_STAFF, TenantScopedAdmin
from access.roles import ADMIN_ROLES
from access.scope import Scope, request_scope
from common.admin import PlatformAdmin
from notifications.models import (
    MailDelivery,
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.selectors import (
    may_manage_webhooks,
    notification_list,
    webhook_delivery_list,
    webhook_endpoint_list,
)
from notifications.services.inbox import notification_mark_read, notifications_mark_all_read
from notifications.services.webhooks import (
    ENDPOINT_FIELDS,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_redeliver,
    webhook_secret_rotate,
    webhook_test_send,
)
from notifications.templatetags.notifications_admin_titles import notification_title


class UnreadFilter(admin.SimpleListFilter):
    title = _("read")
    parameter_name = "unread"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("unread")), ("no", _("read"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(TenantScopedAdmin):
    """Every login's own notifications, newest first; nobody sees another's."""

    readable_by = READ_STAFF
    allow_add = allow_change = allow_delete = False
    list_display = ("title", "type", "occurred_at", "read_at")
    list_filter = (UnreadFilter, "type")
    list_select_related = ()
    actions = ("mark_read", "mark_all_read")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Notification]:
        return notification_list(scope=scope)

    @admin.display(description=_("title"))
    def title(self, obj: Notification) -> str:
        return notification_title(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Actions need no change permission here: they touch only the user's own rows.
        return False

    @admin.action(description=_("Mark as read"), permissions=["view"])
    def mark_read(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda n: notification_mark_read(actor=scope, notification=n),
            done_message=gettext("%(count)d notification(s) marked read."),
        )

    @admin.action(description=_("Mark all my notifications as read"), permissions=["view"])
    def mark_all_read(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        marked = notifications_mark_all_read(actor=request_scope(request))
        self.message_user(
            request, gettext("%(count)d notification(s) marked read.") % {"count": marked}
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "at", "status_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    """An enterprise's webhook endpoints, managed by its admins. The signing secret is
    shown once, in the message after the endpoint is added or its secret rotated; the
    list never shows it."""

    write_roles = ADMIN_ROLES
    list_display = ("url", "description", "enabled", "failing_since", "disabled_at", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("enterprise",)
    search_fields = ("url", "description")
    fields = ("url", "description", "event_types", "enabled", "failing_since", "disabled_reason")
    readonly_fields = ("failing_since", "disabled_reason")
    actions = ("send_test", "rotate_secret")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def scoped_queryset(self, scope: Scope) -> QuerySet[WebhookEndpoint]:
        return webhook_endpoint_list(scope=scope)

    def may_read(self, scope: Scope) -> bool:
        return may_manage_webhooks(scope)

    def may_add(self, scope: Scope) -> bool:
        return scope.enterprise is not None and scope.has_role(*ADMIN_ROLES)

    def may_write_object(self, scope: Scope, obj: WebhookEndpoint) -> bool:
        return scope.is_superuser or obj.enterprise_id == scope.enterprise_id

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        scope = request_scope(request)
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in ENDPOINT_FIELDS}
            if changes:
                self.call_service(webhook_endpoint_update, actor=scope, endpoint=obj, **changes)
            return
        assert scope.enterprise is not None
        endpoint, secret = self.call_service(
            webhook_endpoint_create,
            actor=scope,
            enterprise=scope.enterprise,
            **{name: getattr(obj, name) for name in ENDPOINT_FIELDS},
        )
        obj.pk, obj.enterprise = endpoint.pk, endpoint.enterprise
        obj._state.adding = False
        self.message_user(
            request,
            gettext("The signing secret, shown this once: %(secret)s") % {"secret": secret},
            messages.WARNING,
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(actor=request_scope(request), endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda endpoint: webhook_endpoint_delete(actor=scope, endpoint=endpoint),
            done_message=gettext("%(count)d endpoint(s) deleted."),
        )

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda endpoint: webhook_test_send(actor=scope, endpoint=endpoint),
            done_message=gettext("%(count)d test event(s) sent: see the delivery log."),
        )

    @admin.action(description=_("Rotate the signing secret (24 h overlap)"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        scope = request_scope(request)
        for endpoint in queryset:
            secret = webhook_secret_rotate(actor=scope, endpoint=endpoint)
            self.message_user(
                request,
                gettext("New secret of %(url)s, shown this once: %(secret)s")
                % {"url": endpoint.url, "secret": secret},
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin):
    """The delivery log of an enterprise's endpoints: each attempt, its answer and time."""

    write_roles = ADMIN_ROLES
    allow_add = allow_change = allow_delete = False
    inlines = (WebhookAttemptInline,)
    list_display = (
        "id",
        "endpoint",
        "type",
        "status",
        "attempts",
        "last_status_code",
        "due_at",
        "delivered_at",
    )
    list_filter = ("status",)
    list_select_related = ("endpoint", "event")
    actions = ("redeliver",)

    def scoped_queryset(self, scope: Scope) -> QuerySet[WebhookDelivery]:
        return webhook_delivery_list(scope=scope)

    def may_read(self, scope: Scope) -> bool:
        return may_manage_webhooks(scope)

    @admin.display(description=_("type"))
    def type(self, obj: WebhookDelivery) -> str:
        return obj.event.topic

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Redeliver"), permissions=["view"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        scope = request_scope(request)
        if not may_manage_webhooks(scope):
            return
        self.run_for_each(
            request,
            queryset,
            lambda delivery: webhook_redeliver(actor=scope, delivery=delivery),
            done_message=gettext("%(count)d delivery(ies) sent again."),
        )


@admin.register(MailDelivery)
class MailDeliveryAdmin(PlatformAdmin):
    list_display = ("event", "user", "status", "attempts", "due_at", "sent_at")
    list_filter = ("status",)
