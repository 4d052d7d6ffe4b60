"""A user's own notifications and choices. They change only the user's own rows (what
they have read, what they want to hear), so they leave no audit row: the audit trail is of
what one person does to data others rely on."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from common.exceptions import DomainError
from notifications.catalogue import EVENT_TYPES
from notifications.models import Channel, MailSettings, Notification, Preference


def notification_mark_read(*, actor: Scope, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read (again: a no-op)."""
    if notification.user_id != actor.user.pk:
        raise DomainError(_("Not your notification."), field="id")
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(*, actor: Scope) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return Notification.objects.filter(user_id=actor.user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def preferences_set(*, actor: Scope, choices: list[dict[str, object]]) -> None:
    """Set the actor's choice per event type and channel (``{"type", "channel",
    "enabled"}`` each); a choice equal to the default is stored all the same (the default
    may change; the user's word stays)."""
    user_id = actor.user.pk
    for index, choice in enumerate(choices):
        kind = choice.get("type")
        channel = choice.get("channel")
        enabled = choice.get("enabled")
        if not isinstance(kind, str) or kind not in EVENT_TYPES:
            raise DomainError(_("Unknown event type."), field=f"{index}.type")
        if channel not in Channel.values:
            raise DomainError(_("Unknown channel."), field=f"{index}.channel")
        if not isinstance(enabled, bool):
            raise DomainError(_("true or false."), field=f"{index}.enabled")
        Preference.objects.update_or_create(
            user_id=user_id, type=kind, channel=channel, defaults={"enabled": enabled}
        )


def mail_settings_set(
    *, actor: Scope, language: str | None = None, digest_minutes: int | None = None
) -> MailSettings:
    """Set the actor's e-mail language and digest interval (0: each mail at once)."""
    settings_row, _created = MailSettings.objects.get_or_create(user_id=actor.user.pk)
    changed = []
    if language is not None:
        settings_row.language = language
        changed.append("language")
    if digest_minutes is not None:
        if not 0 <= digest_minutes <= 24 * 60:
            raise DomainError(_("Between 0 and 1440 minutes."), field="digest_minutes")
        settings_row.digest_minutes = digest_minutes
        changed.append("digest_minutes")
    if changed:
        settings_row.full_clean(exclude=["user"])
        settings_row.save(update_fields=changed)
    return settings_row
