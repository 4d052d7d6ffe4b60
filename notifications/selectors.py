"""The notifications' reads, each scoped: a user's own notifications; an enterprise's
webhook endpoints and deliveries, for its admins."""

from django.db.models import QuerySet

from access.roles import ADMIN_ROLES
from access.scope import Scope
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint


def notification_list(*, scope: Scope) -> QuerySet[Notification]:
    """The caller's own notifications, newest first; nobody reads another's."""
    if scope.user is None or not scope.user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=scope.user.pk).order_by("-id")


def unread_count(*, scope: Scope) -> int:
    """The caller's unread notifications: a count over a partial index, cheap to poll."""
    return notification_list(scope=scope).filter(read_at__isnull=True).order_by().count()


def may_manage_webhooks(scope: Scope) -> bool:
    """Webhook endpoints are an enterprise admin's to see and manage (they name the
    enterprise's systems and receive its events); superusers see every one."""
    return scope.is_superuser or (scope.enterprise is not None and scope.has_role(*ADMIN_ROLES))


def webhook_endpoint_list(*, scope: Scope) -> QuerySet[WebhookEndpoint]:
    qs = WebhookEndpoint.objects.select_related("enterprise").order_by("id")
    if scope.is_superuser:
        return qs
    if may_manage_webhooks(scope) and scope.enterprise is not None:
        return qs.filter(enterprise_id=scope.enterprise.pk)
    return qs.none()


def webhook_delivery_list(*, scope: Scope) -> QuerySet[WebhookDelivery]:
    qs = (
        WebhookDelivery.objects.select_related("event", "endpoint")
        .prefetch_related("attempt_log")
        .order_by("-id")
    )
    if scope.is_superuser:
        return qs
    if may_manage_webhooks(scope) and scope.enterprise is not None:
        return qs.filter(endpoint__enterprise_id=scope.enterprise.pk)
    return qs.none()
