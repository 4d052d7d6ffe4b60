"""A notification's title in the active language (the catalogue's)."""

from django import template

from notifications.catalogue import event_type
from notifications.models import Notification

register = template.Library()


@register.filter
def notification_title(notification: Notification) -> str:
    kind = event_type(notification.type)
    return kind.title_for(notification.data) if kind else notification.type
