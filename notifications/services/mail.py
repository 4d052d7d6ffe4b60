"""E-mails of notifications: one mail per notification, or one digest per user per
interval (MailSettings.digest_minutes), in the user's language, with a plain-text and an
HTML part, through Django's mail backend (the console in the demo, SMTP in production).

``mails_send_for(user_id)`` sends everything due for one user in one mail. It locks the
user's due rows (skipping rows another worker holds) for the length of the send and marks
them sent in the same transaction: a worker that dies mid-send sends them again later (at
least once); a failed send schedules the next attempt on the retry schedule.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.catalogue import event_type
from notifications.envelope import event_id
from notifications.models import DeliveryState, MailDelivery, MailSettings
from notifications.webhooks.schedule import next_delay

logger = logging.getLogger(__name__)


def _language_of(user_id: int) -> str:
    language = (
        MailSettings.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    )
    return language or settings.LANGUAGE_CODE


def _items(rows: list[MailDelivery]) -> list[dict[str, object]]:
    items = []
    for row in rows:
        kind = event_type(row.event.topic)
        title = kind.title_for(row.event.payload) if kind else row.event.topic
        items.append(
            {
                "title": title,
                "type": row.event.topic,
                "id": event_id(row.event_id),
                "occurred_at": timezone.localtime(row.event.created_at),
            }
        )
    return items


def mail_message(
    *, user: object, rows: list[MailDelivery], language: str
) -> EmailMultiAlternatives:
    """The mail of ``rows`` to ``user`` in ``language``: one notification, or a digest."""
    with translation.override(language):
        items = _items(rows)
        if len(items) == 1:
            subject = f"[ParkShare] {items[0]['title']}"
        else:
            subject = "[ParkShare] " + ngettext(
                "%(count)d notification", "%(count)d notifications", len(items)
            ) % {"count": len(items)}
        context = {
            "user": user,
            "items": items,
            "inbox_url": settings.PARKSHARE_BASE_URL.rstrip("/") + "/admin/",
            "preferences_hint": _(
                "Choose what you hear of, and how, at /api/v1/notifications/preferences/."
            ),
        }
        text = render_to_string("notifications/email/notifications.txt", context)
        html = render_to_string("notifications/email/notifications.html", context)
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " ")[:200],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],  # type: ignore[attr-defined]
    )
    message.attach_alternative(html, "text/html")
    return message


def mails_send_for(*, user_id: int, now: datetime | None = None) -> int:
    """Send the user's due mail deliveries as one mail; returns how many were sent."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            MailDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(user_id=user_id, status=DeliveryState.PENDING, due_at__lte=now)
            .select_related("event")
            .order_by("event_id")
        )
        if not rows:
            return 0
        ids = [row.pk for row in rows]
        user = get_user_model().objects.filter(pk=user_id, is_active=True).exclude(email="").first()
        if user is None:  # gone, deactivated or without an address since
            MailDelivery.objects.filter(pk__in=ids).update(
                status=DeliveryState.FAILED, last_error="no active user with an address"
            )
            return 0
        try:
            mail_message(user=user, rows=rows, language=_language_of(user_id)).send()
        except Exception as exc:  # the backend's errors are many (SMTP, socket, TLS)
            attempts = rows[0].attempts + 1
            delay = next_delay(attempts)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            logger.warning("mail to user %s failed (%s), attempt %d", user_id, error, attempts)
            for row in rows:
                row.attempts += 1
                row.last_error = error
                if delay is None:
                    row.status = DeliveryState.FAILED
                else:
                    row.due_at = now + delay
            MailDelivery.objects.bulk_update(rows, ["attempts", "last_error", "status", "due_at"])
            return 0
        MailDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryState.SUCCEEDED, sent_at=timezone.now(), attempts=rows[0].attempts + 1
        )
        return len(rows)


def mail_users_due(*, limit: int = 500) -> list[int]:
    """The users with mail deliveries due (a digest's time, a retry, a lost send)."""
    return list(
        MailDelivery.objects.filter(status=DeliveryState.PENDING, due_at__lte=timezone.now())
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()[:limit]
    )
