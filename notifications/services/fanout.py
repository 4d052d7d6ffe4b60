"""From one outbox event to the rows of every channel, in the subscriber's transaction.

Called by the ``notifications`` outbox subscriber (notifications.subscribers), for one
event or a batch of them, at least once: every row is unique on (event, user) or (event,
endpoint) and inserted with ``ignore_conflicts``, so a second run writes nothing more. The webhook
deliveries and immediate mails are sent after commit (notifications.tasks); the sweep
sends what a lost send left.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from access.rules import Audience, people_concerned_many
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


def audience_of(kind: EventType, data: dict[str, object]) -> Audience:
    """The catalogue's parties and park staff of an event of ``kind`` with ``data``."""
    parties = []
    for party in kind.parties:
        value = data.get(party.key)
        if isinstance(value, int):
            parties.append((value, party.roles))
    return Audience(tuple(parties), tuple(kind.park_ids(data)), kind.park_roles)


def audience(kind: EventType, data: dict[str, object]) -> list[tuple[int, int | None]]:
    """``(user id, enterprise id)`` of everyone who must hear of an event of ``kind`` with
    ``data``: the one rule (access.rules.people_concerned_many) applied to the catalogue's
    parties and park staff."""
    return people_concerned_many([audience_of(kind, data)])[0]


def channel_choices(kind: EventType, user_ids: list[int]) -> dict[int, dict[str, bool]]:
    """Each user's choice per channel for ``kind``: their Preference rows, else the
    catalogue's defaults. One query."""
    return _choices([kind], user_ids)[kind.topic]


def _choices(kinds: list[EventType], user_ids: list[int]) -> dict[str, dict[int, dict[str, bool]]]:
    """Per type, each user's choice per channel (their Preference rows, else the
    catalogue's defaults). One query for every type and user."""
    choices = {
        kind.topic: {
            uid: {Channel.IN_APP.value: kind.in_app, Channel.EMAIL.value: kind.email}
            for uid in user_ids
        }
        for kind in kinds
    }
    if user_ids:
        rows = Preference.objects.filter(
            user_id__in=user_ids, type__in=[k.topic for k in kinds]
        ).values_list("type", "user_id", "channel", "enabled")
        for kind_name, user_id, channel, enabled in rows:
            choices[kind_name][user_id][channel] = enabled
    return choices


def endpoints_for(kind: EventType, data: dict[str, object]) -> list[WebhookEndpoint]:
    """The enabled endpoints of the enterprises the event names that take its type."""
    return _endpoints_of([(kind, data)])[0]


def _endpoints_of(
    events: list[tuple[EventType, dict[str, object]]],
) -> list[list[WebhookEndpoint]]:
    """For each event, the enabled endpoints of the enterprises it names that take its
    type. One query for every event."""
    wanted = [kind.enterprise_ids(data) for kind, data in events]
    enterprise_ids = {e for ids in wanted for e in ids}
    by_enterprise: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    if enterprise_ids:
        for endpoint in WebhookEndpoint.objects.filter(
            enterprise_id__in=enterprise_ids, enabled=True
        ).order_by("id"):
            by_enterprise[endpoint.enterprise_id].append(endpoint)
    return [
        [
            e
            for enterprise_id in ids
            for e in by_enterprise.get(enterprise_id, ())
            if not e.event_types or kind.topic in e.event_types
        ]
        for (kind, _data), ids in zip(events, wanted, strict=True)
    ]


def _lease_token(now: datetime) -> datetime:
    """The due time a new delivery gets: the token its first send claims it by, and when
    the sweep sends it if that send is lost."""
    return now + timedelta(seconds=settings.NOTIFY_SEND_GRACE_SECONDS)


def event_fan_out(*, event: OutboxEvent) -> FanOut:
    """``events_fan_out`` of one event."""
    return events_fan_out(events=[event])[0]


def events_fan_out(*, events: Sequence[OutboxEvent]) -> list[FanOut]:
    """Write the in-app notifications, mail deliveries and webhook deliveries of
    ``events`` (nothing for a topic outside the catalogue), reading what decides them once
    for the whole batch (audiences, choices, addresses, endpoints: a fixed number of
    queries); send the webhooks and immediate mails after commit."""
    results = [FanOut() for _ in events]
    known = [
        (i, event, kind)
        for i, event in enumerate(events)
        if (kind := event_type(event.topic)) is not None
    ]
    if not known:
        return results
    now = timezone.now()
    people = people_concerned_many([audience_of(kind, event.payload) for _i, event, kind in known])
    all_users = sorted({uid for found in people for uid, _enterprise in found})
    kinds = list({kind.topic: kind for _i, _e, kind in known}.values())
    choices = _choices(kinds, all_users)
    notifications: list[Notification] = []
    mails: list[tuple[OutboxEvent, list[int]]] = []
    for (i, event, kind), found in zip(known, people, strict=True):
        user_ids = [uid for uid, _enterprise in found]
        results[i].users = user_ids
        chosen = choices[kind.topic]
        in_app = [uid for uid in user_ids if chosen[uid][Channel.IN_APP]]
        notifications += [
            Notification(
                user_id=uid,
                event=event,
                type=kind.topic,
                data=event.payload,
                occurred_at=event.created_at,
            )
            for uid in in_app
        ]
        results[i].in_app = len(in_app)
        mail_users = [uid for uid in user_ids if chosen[uid][Channel.EMAIL]]
        if mail_users:
            mails.append((event, mail_users))
        results[i].mails = len(mail_users)
    if notifications:
        Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    immediate = _mail_deliveries_add(mails=mails, now=now)
    token = _lease_token(now)
    deliveries = []
    for (i, event, _kind), endpoints in zip(
        known, _endpoints_of([(kind, event.payload) for _i, event, kind in known]), strict=True
    ):
        # Due at the token exactly: its creation + NOTIFY_SEND_GRACE_SECONDS, how any send
        # tells a delivery still waiting for its first send (webhooks._claim).
        deliveries += [
            WebhookDelivery(endpoint=e, event=event, due_at=token, created_at=now)
            for e in endpoints
        ]
        results[i].webhooks = len(endpoints)
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=1000)
        ids = list(
            WebhookDelivery.objects.filter(
                event__in=[event for _i, event, _kind in known],
                status=DeliveryState.PENDING,
                due_at=token,
            )
            .order_by("id")
            .values_list("pk", flat=True)
        )
        size = settings.WEBHOOK_BATCH
        for start in range(0, len(ids), size):
            transaction.on_commit(partial(_send_webhooks, ids[start : start + size], token))
    if immediate:
        transaction.on_commit(partial(_send_mails, immediate))
    return results


def _mail_deliveries_add(*, mails: list[tuple[OutboxEvent, list[int]]], now: datetime) -> list[int]:
    """One mail delivery per event and user with an address: due now for users who take
    each mail at once, at their pending digest's time (or in ``digest_minutes``) for the
    others. Returns the users to mail at once."""
    user_ids = {uid for _event, users in mails for uid in users}
    if not user_ids:
        return []
    with_address = set(
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
    pending_digest: dict[int, datetime] = {}
    if digest:
        for uid, due in (
            MailDelivery.objects.filter(
                user_id__in=list(digest), status=DeliveryState.PENDING, due_at__gt=now
            )
            .order_by("user_id", "due_at")
            .values_list("user_id", "due_at")
        ):
            pending_digest.setdefault(uid, due)
    rows = []
    immediate: set[int] = set()
    for event, users in mails:
        for uid in users:
            if uid not in with_address:
                continue
            if uid in digest:
                due = pending_digest.setdefault(uid, now + timedelta(minutes=digest[uid]))
            else:
                due = now
                immediate.add(uid)
            rows.append(MailDelivery(user_id=uid, event=event, due_at=due))
    MailDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return sorted(immediate)


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
