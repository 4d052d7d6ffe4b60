"""From one outbox event to the rows of every channel, in the subscriber's transaction.

Called by the ``notifications`` outbox subscriber (notifications.subscribers), once per
event, at least once: every row is unique on (event, user) or (event, endpoint) and
inserted with ``ignore_conflicts``, so a second run writes nothing more. The webhook
deliveries and immediate mails are sent after commit (notifications.tasks); the sweep
sends what a lost send left.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from access.rules import people_concerned
from common.events import BROKER_ERRORS
from common.models import OutboxEvent
from notifications.catalogue import EventType, event_type
from notifications.models import (
    Channel,
    DeliveryState,
    MailDelivery,
    MailSettings,
    Notification,
    Preference,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)


@dataclass
class FanOut:
    """What one event became (the numbers of rows written or found)."""

    in_app: int = 0
    mails: int = 0
    webhooks: int = 0
    users: list[int] = field(default_factory=list)


def audience(kind: EventType, data: dict[str, object]) -> list[tuple[int, int | None]]:
    """``(user id, enterprise id)`` of everyone who must hear of an event of ``kind`` with
    ``data``: the one rule (access.rules.people_concerned) applied to the catalogue's
    parties and park staff."""
    parties = []
    for party in kind.parties:
        value = data.get(party.key)
        if isinstance(value, int):
            parties.append((value, party.roles))
    return people_concerned(
        enterprises=parties, park_ids=kind.park_ids(data), park_roles=kind.park_roles
    )


def channel_choices(kind: EventType, user_ids: list[int]) -> dict[int, dict[str, bool]]:
    """Each user's choice per channel for ``kind``: their Preference rows, else the
    catalogue's defaults. One query."""
    choices = {
        uid: {Channel.IN_APP.value: kind.in_app, Channel.EMAIL.value: kind.email}
        for uid in user_ids
    }
    rows = Preference.objects.filter(user_id__in=user_ids, type=kind.topic).values_list(
        "user_id", "channel", "enabled"
    )
    for user_id, channel, enabled in rows:
        choices[user_id][channel] = enabled
    return choices


def endpoints_for(kind: EventType, data: dict[str, object]) -> list[WebhookEndpoint]:
    """The enabled endpoints of the enterprises the event names that take its type."""
    enterprise_ids = kind.enterprise_ids(data)
    if not enterprise_ids:
        return []
    endpoints = WebhookEndpoint.objects.filter(enterprise_id__in=enterprise_ids, enabled=True)
    return [e for e in endpoints if not e.event_types or kind.topic in e.event_types]


def _lease_token(now: datetime) -> datetime:
    """The due time a new delivery gets: the token its first send claims it by, and when
    the sweep sends it if that send is lost."""
    return now + timedelta(seconds=settings.NOTIFY_SEND_GRACE_SECONDS)


def event_fan_out(*, event: OutboxEvent) -> FanOut:
    """Write the in-app notifications, mail deliveries and webhook deliveries of ``event``
    (nothing for a topic outside the catalogue); send the webhooks and immediate mails
    after commit."""
    result = FanOut()
    kind = event_type(event.topic)
    if kind is None:
        return result
    data = event.payload
    now = timezone.now()
    people = audience(kind, data)
    user_ids = [user_id for user_id, _enterprise in people]
    result.users = user_ids
    choices = channel_choices(kind, user_ids)
    in_app = [uid for uid in user_ids if choices[uid][Channel.IN_APP]]
    if in_app:
        Notification.objects.bulk_create(
            [
                Notification(
                    user_id=uid,
                    event=event,
                    type=kind.topic,
                    data=data,
                    occurred_at=event.created_at,
                )
                for uid in in_app
            ],
            ignore_conflicts=True,
        )
        result.in_app = len(in_app)
    mail_users = [uid for uid in user_ids if choices[uid][Channel.EMAIL]]
    immediate = _mail_deliveries_add(event=event, user_ids=mail_users, now=now)
    result.mails = len(mail_users)
    token = _lease_token(now)
    endpoints = endpoints_for(kind, data)
    if endpoints:
        WebhookDelivery.objects.bulk_create(
            # Due at the token exactly its creation + NOTIFY_SEND_GRACE_SECONDS: how any
            # send tells a delivery still waiting for its first send (webhooks._claim).
            [
                WebhookDelivery(endpoint=e, event=event, due_at=token, created_at=now)
                for e in endpoints
            ],
            ignore_conflicts=True,
        )
        result.webhooks = len(endpoints)
        ids = list(
            WebhookDelivery.objects.filter(
                event=event, status=DeliveryState.PENDING, due_at=token
            ).values_list("pk", flat=True)
        )
        if ids:
            transaction.on_commit(partial(_send_webhooks, ids, token))
    if immediate:
        transaction.on_commit(partial(_send_mails, immediate))
    return result


def _mail_deliveries_add(*, event: OutboxEvent, user_ids: list[int], now: datetime) -> list[int]:
    """One mail delivery per user with an address: due now for users who take each mail
    at once, at their pending digest's time (or in ``digest_minutes``) for the others.
    Returns the users to mail at once."""
    if not user_ids:
        return []
    with_address = list(
        get_user_model()
        .objects.filter(pk__in=user_ids)
        .exclude(email="")
        .values_list("pk", flat=True)
    )
    if not with_address:
        return []
    digest = dict(
        MailSettings.objects.filter(user_id__in=with_address, digest_minutes__gt=0).values_list(
            "user_id", "digest_minutes"
        )
    )
    pending_digest = dict(
        MailDelivery.objects.filter(
            user_id__in=list(digest), status=DeliveryState.PENDING, due_at__gt=now
        )
        .order_by("user_id", "due_at")
        .values_list("user_id", "due_at")
    )
    rows = []
    immediate = []
    for uid in with_address:
        if uid in digest:
            due = pending_digest.get(uid) or now + timedelta(minutes=digest[uid])
        else:
            due = now
            immediate.append(uid)
        rows.append(MailDelivery(user_id=uid, event=event, due_at=due))
    MailDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return immediate


def _send_webhooks(ids: list[int], token: datetime) -> None:
    from notifications.tasks import webhooks_send

    try:
        webhooks_send.delay(ids, token.isoformat())
    except BROKER_ERRORS as exc:
        logger.warning("webhook deliveries %s: not sent (%s); due again at %s", ids, exc, token)


def _send_mails(user_ids: list[int]) -> None:
    from notifications.tasks import mails_send

    for uid in user_ids:
        try:
            mails_send.delay(uid)
        except BROKER_ERRORS:
            return  # due now: the mail sweep sends them
