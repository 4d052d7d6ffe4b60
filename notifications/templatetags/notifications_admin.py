"""The admin's notification badge: the user's unread count beside their name on every
page, linking to their notifications (one indexed count per page)."""

from typing import Any

from django import template
from django.urls import reverse

from access.scope import request_scope
from notifications.selectors import notification_list, unread_count

register = template.Library()

#: The newest unread notifications listed on the admin home.
SHOWN = 5


@register.inclusion_tag("admin/includes/notification_badge.html", takes_context=True)
def notification_badge(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"show": False}
    scope = request_scope(request)
    return {
        "show": True,
        "unread": unread_count(scope=scope),
        "url": reverse("admin:notifications_notification_changelist"),
    }


@register.inclusion_tag("admin/includes/notifications_unread.html", takes_context=True)
def notifications_unread(context: template.Context) -> dict[str, Any]:
    """The newest unread notifications, for the admin home."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"items": []}
    scope = request_scope(request)
    unread = notification_list(scope=scope).filter(read_at__isnull=True)
    return {
        "items": list(unread[:SHOWN]),
        "count": unread_count(scope=scope),
        "url": reverse("admin:notifications_notification_changelist") + "?unread=yes",
    }
