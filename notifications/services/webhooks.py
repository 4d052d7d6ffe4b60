"""Webhook endpoints and the sending of their deliveries.

Endpoints are an enterprise's (its admins manage them; who may is the caller's to decide);
each write leaves an audit row (``webhook_endpoint.<verb>``) in the enterprise's trail,
never with a secret in it.

Sending (``webhook_deliveries_send``) claims deliveries by a compare-and-set on their due
time: a send carries the ``due_at`` the deliveries had when it was sent (the token), and
only the first claim with that token moves ``due_at`` on to the end of a lease and sends;
a duplicate send (a task delivered twice, the sweep re-sending) finds the token changed
and does nothing. A send also takes along, up to ``WEBHOOK_BATCH``, deliveries still
waiting for their first send (``_waiting_first_sends``), so that a burst goes out in
batches. The HTTP requests run outside any transaction; their results are then written
with the same compare-and-set on the lease, one attempt row each. A 2xx ends the
delivery (succeeded, never sent again); anything else schedules the next attempt on the
retry schedule (notifications.webhooks.schedule), or fails the delivery after the last.
An endpoint failing every attempt for ``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled and its
enterprise's admins told (``webhook.endpoint_disabled``).
"""

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import SYSTEM, Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit
from common.exceptions import DomainError
from common.models import OutboxEvent
from common.services import refuse_unchangeable
from common.validation import validate_row
from notifications.catalogue import EVENT_TYPES
from notifications.envelope import envelope_bytes
from notifications.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from notifications.webhooks.schedule import next_delay
from notifications.webhooks.signing import headers as signed_headers
from notifications.webhooks.signing import secret_new
from notifications.webhooks.transport import Outcome, UnsafeURL, check_url, deliver
from parks.models import Enterprise

logger = logging.getLogger(__name__)

ENDPOINT_FIELDS = ("url", "description", "event_types", "enabled")
TEST_TOPIC = "webhook.test"


def _check_endpoint(endpoint: WebhookEndpoint) -> None:
    try:
        check_url(endpoint.url)
    except UnsafeURL as exc:
        raise DomainError(str(exc), field="url") from None
    types = endpoint.event_types
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise DomainError(_("A list of event types."), field="event_types")
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise DomainError(
            _("Unknown event type: %(type)s.") % {"type": unknown[0]}, field="event_types"
        )
    endpoint.event_types = sorted(set(types))


@transaction.atomic
def webhook_endpoint_create(
    *,
    actor: Scope,
    enterprise: Enterprise,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint of ``enterprise`` with a new signing secret; returns the
    endpoint and the secret, which is shown this once. One audit row,
    ``webhook_endpoint.create``."""
    endpoint = WebhookEndpoint(
        enterprise=enterprise,
        url=url,
        description=description,
        event_types=list(event_types or []),
        enabled=enabled,
    )
    validate_row(endpoint)
    _check_endpoint(endpoint)
    endpoint.save()
    secret = WebhookSecret.objects.create(endpoint=endpoint, secret=secret_new())
    audit_record(
        actor=actor,
        action="webhook_endpoint.create",
        target=endpoint,
        changes=changes_between({}, snapshot(endpoint, ENDPOINT_FIELDS)),
        enterprise=enterprise.pk,
    )
    return endpoint, secret.secret


@transaction.atomic
def webhook_endpoint_update(
    *, actor: Scope, endpoint: WebhookEndpoint, **changes: Any
) -> WebhookEndpoint:
    """Change an endpoint's URL, description, event types or whether it is enabled;
    enabling one that was disabled clears its failure record. Locks the row. One audit
    row, ``webhook_endpoint.update``."""
    refuse_unchangeable(changes, ENDPOINT_FIELDS)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not changes:
        return endpoint
    before = snapshot(endpoint, changes)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    validate_row(endpoint, changes)
    _check_endpoint(endpoint)
    update = list(changes)
    if changes.get("enabled") and before.get("enabled") is False:
        endpoint.failing_since = endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        update += ["failing_since", "disabled_at", "disabled_reason"]
    endpoint.save(update_fields=update)
    audit_record(
        actor=actor,
        action="webhook_endpoint.update",
        target=endpoint,
        changes=changes_between(before, snapshot(endpoint, changes)),
        enterprise=endpoint.enterprise_id,
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: Scope, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its secrets and delivery log. One audit row."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    audit_record(
        actor=actor,
        action="webhook_endpoint.delete",
        target=endpoint,
        changes=changes_between(snapshot(endpoint, ENDPOINT_FIELDS), {}),
        enterprise=endpoint.enterprise_id,
    )
    endpoint.delete()


@transaction.atomic
def webhook_secret_rotate(
    *, actor: Scope, endpoint: WebhookEndpoint, overlap_hours: int = 24
) -> str:
    """A new signing secret for ``endpoint``; the current ones keep signing for
    ``overlap_hours`` (both signatures are sent meanwhile, so the receiver can switch at
    its pace), then expire. Returns the new secret, shown this once. One audit row,
    ``webhook_endpoint.rotate_secret`` (without the secret)."""
    if not 0 <= overlap_hours <= 24 * 7:
        raise DomainError(_("Between 0 and 168 hours."), field="overlap_hours")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    ends = now + timedelta(hours=overlap_hours)
    WebhookSecret.objects.filter(endpoint=endpoint).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=ends)
    ).update(expires_at=ends)
    secret = WebhookSecret.objects.create(endpoint=endpoint, secret=secret_new())
    audit_record(
        actor=actor,
        action="webhook_endpoint.rotate_secret",
        target=endpoint,
        changes={"previous_secrets_expire_at": [None, ends.isoformat()]},
        enterprise=endpoint.enterprise_id,
    )
    return secret.secret


@transaction.atomic
def webhook_test_send(*, actor: Scope, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``webhook.test`` event to ``endpoint`` now, through the same delivery path
    (signed, retried, logged). One audit row, ``webhook_endpoint.test``."""
    event = OutboxEvent.objects.create(
        topic=TEST_TOPIC,
        payload={"endpoint_id": endpoint.pk, "enterprise_id": endpoint.enterprise_id},
        fanned_out_at=timezone.now(),  # nobody else takes it
    )
    token = timezone.now()
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, due_at=token)
    audit_record(
        actor=actor,
        action="webhook_endpoint.test",
        target=endpoint,
        note=f"delivery {delivery.pk}",
        enterprise=endpoint.enterprise_id,
    )
    transaction.on_commit(partial(_enqueue, [delivery.pk], token))
    return delivery


@transaction.atomic
def webhook_redeliver(*, actor: Scope, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, whatever its state (the same ``webhook-id``: a receiver
    that took it already can tell). Its attempts go on counting and the schedule restarts.
    One audit row, ``webhook_delivery.redeliver``."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    before = delivery.status
    token = timezone.now()
    delivery.status, delivery.due_at = DeliveryState.PENDING, token
    delivery.save(update_fields=["status", "due_at"])
    audit_record(
        actor=actor,
        action="webhook_delivery.redeliver",
        target=delivery,
        changes={"status": [before, DeliveryState.PENDING]},
        enterprise=delivery.endpoint.enterprise_id,
    )
    transaction.on_commit(partial(_enqueue, [delivery.pk], token))
    return delivery


def _enqueue(ids: list[int], token: datetime) -> None:
    from notifications.services.fanout import _send_webhooks

    _send_webhooks(ids, token)


# --- Sending ----------------------------------------------------------------------------


@dataclass
class Claimed:
    delivery: WebhookDelivery
    lease: datetime
    body: bytes
    secrets: list[str]
    outcome: Outcome | None = None


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def _waiting_first_sends(now: datetime, *, exclude: Sequence[int]) -> QuerySet[WebhookDelivery]:
    """Deliveries that the fan-out wrote and that no send has claimed yet, oldest first,
    locked (``SKIP LOCKED``): still due at the token the fan-out gave them, exactly their
    creation + NOTIFY_SEND_GRACE_SECONDS. A lease (claimed + WEBHOOK_LEASE_SECONDS), a
    retry's time or a sweep's token is never that, so nothing in flight or failed is taken.
    Their own sends, later, find their token changed and do nothing."""
    grace = timedelta(seconds=settings.NOTIFY_SEND_GRACE_SECONDS)
    return (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=DeliveryState.PENDING,
            attempts=0,
            due_at__gt=now,
            due_at=F("created_at") + grace,
        )
        .exclude(pk__in=exclude)
        .select_related("endpoint", "event")
        .order_by("pk")
    )


def _claim(ids: Sequence[int], token: datetime) -> list[Claimed]:
    """Claim the pending deliveries among ``ids`` still due at ``token``, and as many others
    waiting for their first send as fill a batch (WEBHOOK_BATCH): in a burst one send takes
    the deliveries of many events, whose own sends then find nothing to do. Claiming moves
    their due time to the end of a lease. Everything needed to send is read here."""
    now = timezone.now()
    lease = now + _lease()
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, status=DeliveryState.PENDING, due_at=token)
            .select_related("endpoint", "event")
            .order_by("pk")
        )
        room = settings.WEBHOOK_BATCH - len(rows)
        if room > 0:
            rows += _waiting_first_sends(now, exclude=ids)[:room]
        if not rows:
            return []
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in rows]).update(due_at=lease)
        endpoint_ids = {d.endpoint_id for d in rows}
        secrets: dict[int, list[str]] = {}
        for endpoint_id, secret in (
            WebhookSecret.objects.filter(endpoint_id__in=endpoint_ids)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by("-id")
            .values_list("endpoint_id", "secret")
        ):
            secrets.setdefault(endpoint_id, []).append(secret)
    return [
        Claimed(
            delivery=d,
            lease=lease,
            body=envelope_bytes(d.event),
            secrets=secrets.get(d.endpoint_id, []),
        )
        for d in rows
    ]


def _send(claimed: Claimed) -> Outcome:
    delivery = claimed.delivery
    if not delivery.endpoint.enabled:
        return Outcome(status_code=None, duration_ms=0, excerpt="", error="endpoint disabled")
    if not claimed.secrets:
        return Outcome(status_code=None, duration_ms=0, excerpt="", error="no signing secret")
    headers = signed_headers(
        secrets=claimed.secrets,
        msg_id=delivery.webhook_id,
        timestamp=int(time.time()),
        body=claimed.body,
    )
    return deliver(url=delivery.endpoint.url, body=claimed.body, headers=headers)


def webhook_deliveries_send(*, ids: Sequence[int], token: datetime) -> int:
    """Send the deliveries among ``ids`` still due at ``token`` (see the module doc);
    returns how many succeeded. Several are sent at once (WEBHOOK_SEND_THREADS)."""
    batch = _claim(ids, token)
    if not batch:
        return 0
    # Each result is written as soon as its answer is in (its own short transaction), not
    # after the whole batch: a worker killed meanwhile sends again only the requests that
    # had no answer yet, or whose answer came in the last instant before the kill.
    succeeded = 0
    if len(batch) == 1 or settings.WEBHOOK_SEND_THREADS <= 1:
        for claimed in batch:
            claimed.outcome = _send(claimed)
            succeeded += _record([claimed])
        return succeeded
    workers = min(settings.WEBHOOK_SEND_THREADS, len(batch))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_send, claimed): claimed for claimed in batch}
        for future in as_completed(futures):
            claimed = futures[future]
            claimed.outcome = future.result()
            succeeded += _record([claimed])
    return succeeded


def _record(batch: list[Claimed]) -> int:
    """Write each attempt's result (if the delivery is still ours: its lease unchanged)."""
    now = timezone.now()
    succeeded = 0
    failing: dict[int, Claimed] = {}
    healthy: set[int] = set()
    with transaction.atomic():
        attempts = []
        for claimed in batch:
            delivery, outcome = claimed.delivery, claimed.outcome
            assert outcome is not None
            number = delivery.attempts + 1
            fields: dict[str, Any] = {
                "attempts": number,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error[:500],
            }
            if outcome.succeeded:
                fields.update(status=DeliveryState.SUCCEEDED, delivered_at=now)
            else:
                delay = next_delay(number)
                if delay is None:
                    fields["status"] = DeliveryState.FAILED
                else:
                    fields["due_at"] = now + delay
            changed = WebhookDelivery.objects.filter(
                pk=delivery.pk, status=DeliveryState.PENDING, due_at=claimed.lease
            ).update(**fields)
            if not changed:
                continue  # the lease ran out and another send took it over
            attempts.append(
                WebhookAttempt(
                    delivery_id=delivery.pk,
                    number=number,
                    at=now,
                    status_code=outcome.status_code,
                    duration_ms=outcome.duration_ms,
                    response_excerpt=outcome.excerpt[:1024],
                    error=outcome.error[:500],
                )
            )
            if outcome.succeeded:
                succeeded += 1
                healthy.add(delivery.endpoint_id)
            else:
                failing[delivery.endpoint_id] = claimed
        WebhookAttempt.objects.bulk_create(attempts)
        if healthy:
            WebhookEndpoint.objects.filter(pk__in=healthy, failing_since__isnull=False).update(
                failing_since=None
            )
        for endpoint_id, claimed in failing.items():
            if endpoint_id not in healthy:
                _endpoint_failed(endpoint_id, claimed, now)
    return succeeded


def _endpoint_failed(endpoint_id: int, claimed: Claimed, now: datetime) -> None:
    """Record that an endpoint is failing; disable it once it has failed every attempt for
    WEBHOOK_DISABLE_AFTER_HOURS, and tell its enterprise's admins."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(
        failing_since=now
    )
    cutoff = now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    endpoint = (
        WebhookEndpoint.objects.select_for_update()
        .filter(pk=endpoint_id, enabled=True, failing_since__lte=cutoff)
        .first()
    )
    if endpoint is None:
        return
    assert endpoint.failing_since is not None
    error = (claimed.outcome.error if claimed.outcome else "") or (
        f"HTTP {claimed.outcome.status_code}" if claimed.outcome else ""
    )
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = _("Failed every attempt since %(since)s.") % {
        "since": timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M")
    }
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
    audit_record(
        actor=SYSTEM,
        action="webhook_endpoint.disable",
        target=endpoint,
        changes={"enabled": [True, False]},
        enterprise=endpoint.enterprise_id,
        note=error[:200],
    )
    event_emit(
        topic="webhook.endpoint_disabled",
        payload={
            "endpoint_id": endpoint.pk,
            "enterprise_id": endpoint.enterprise_id,
            "url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat(),
            "last_error": error[:200],
        },
    )
    logger.warning(
        "webhook endpoint %s disabled: failing since %s", endpoint.pk, endpoint.failing_since
    )


def webhook_deliveries_claim_due(*, limit: int = 500) -> list[tuple[list[int], datetime]]:
    """The pending deliveries whose due time passed (a retry's time, a lost send), given
    a fresh token each batch so that a send of an earlier token is void; returns the
    batches to send (``WEBHOOK_BATCH`` each)."""
    now = timezone.now()
    token = now + timedelta(seconds=settings.NOTIFY_SEND_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryState.PENDING, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(due_at=token)
    size = settings.WEBHOOK_BATCH
    return [(ids[i : i + size], token) for i in range(0, len(ids), size)]
