"""Webhook deliveries to a real local receiver: signed per Standard Webhooks (checked by
the reference verifier, rotation included), the same webhook-id on every attempt, retried
on the schedule until a 2xx and never sent again after one, the delivery log, the
SSRF guard at delivery time, and an endpoint disabled after failing for days."""

from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from access.scope import resolve_scope
from audit.models import AuditEntry
from common.models import OutboxEvent
from notifications.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.services.fanout import event_fan_out
from notifications.services.webhooks import (
    webhook_deliveries_claim_due,
    webhook_deliveries_send,
    webhook_endpoint_create,
    webhook_secret_rotate,
)
from tests.notifications.helpers import order_data, outbox_event
from tests.notifications.receiver import receiving

pytestmark = pytest.mark.django_db


def endpoint_for(world: dict[str, Any], url: str) -> tuple[WebhookEndpoint, str]:
    return webhook_endpoint_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        url=url,
    )


def send_pending(delivery: WebhookDelivery) -> int:
    delivery.refresh_from_db()
    return webhook_deliveries_send(ids=[delivery.pk], token=delivery.due_at)


def test_a_delivery_is_signed_and_verified_by_the_reference_library(world: dict[str, Any]) -> None:
    with receiving() as receiver:
        endpoint, secret = endpoint_for(world, receiver.url)
        event = outbox_event("order.confirmed", order_data(world, "confirmed"))
        event_fan_out(event=event)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert send_pending(delivery) == 1
    (request,) = receiver.received
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "order.confirmed"
    assert payload["id"] == f"evt_{event.pk}"
    assert payload["data"] == event.payload
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["user-agent"].startswith("ParkShare")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryState.SUCCEEDED and delivery.attempts == 1
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 200 and '"ok"' in attempt.response_excerpt


def test_500_then_timeout_then_200_on_the_schedule_with_one_webhook_id(
    world: dict[str, Any],
) -> None:
    with (
        receiving() as receiver,
        override_settings(WEBHOOK_TIMEOUT={"connect": 1.0, "read": 0.5, "write": 1.0, "pool": 1.0}),
    ):
        receiver.script.extend([500, ("sleep", 1.5), 200])
        endpoint, secret = endpoint_for(world, receiver.url)
        event_fan_out(event=outbox_event("order.confirmed", order_data(world, "confirmed")))
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        before = timezone.now()
        assert send_pending(delivery) == 0
        delivery.refresh_from_db()
        assert delivery.status == DeliveryState.PENDING and delivery.attempts == 1
        assert delivery.last_status_code == 500
        # The first retry is about 5 s later (+-20 %), from the database, not a countdown.
        assert timedelta(seconds=3.9) <= delivery.due_at - before <= timedelta(seconds=7)
        assert webhook_deliveries_claim_due() == []  # not due yet
        WebhookDelivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now())
        ((ids, token),) = webhook_deliveries_claim_due()
        assert webhook_deliveries_send(ids=ids, token=token) == 0
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.last_status_code is None
        assert delivery.due_at - timezone.now() > timedelta(minutes=3)  # the 5 min step
        WebhookDelivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now())
        ((ids, token),) = webhook_deliveries_claim_due()
        assert webhook_deliveries_send(ids=ids, token=token) == 1
        # A send of an old token (a duplicate task) finds nothing to do: no request.
        assert webhook_deliveries_send(ids=ids, token=token) == 0
        assert webhook_deliveries_claim_due() == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryState.SUCCEEDED and delivery.attempts == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert [r.status for r in receiver.received][-1] == 200
    for request in receiver.received:
        Webhook(secret).verify(request.body, request.headers)
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.status_code for a in log] == [500, None, 200]
    assert "timed out" in log[1].error.lower() or "timeout" in log[1].error.lower()


def test_during_a_rotation_both_secrets_verify(world: dict[str, Any]) -> None:
    with receiving() as receiver:
        endpoint, old = endpoint_for(world, receiver.url)
        new = webhook_secret_rotate(
            actor=resolve_scope(world["users"]["enterprise_admin"]), endpoint=endpoint
        )
        event_fan_out(event=outbox_event("order.reserved", order_data(world, "reserved")))
        send_pending(WebhookDelivery.objects.get(endpoint=endpoint))
    (request,) = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)


def test_after_the_overlap_only_the_new_secret_signs(world: dict[str, Any]) -> None:
    with receiving() as receiver:
        endpoint, old = endpoint_for(world, receiver.url)
        new = webhook_secret_rotate(
            actor=resolve_scope(world["users"]["enterprise_admin"]),
            endpoint=endpoint,
            overlap_hours=0,
        )
        event_fan_out(event=outbox_event("order.reserved", order_data(world, "reserved")))
        send_pending(WebhookDelivery.objects.get(endpoint=endpoint))
    (request,) = receiver.received
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(request.body, request.headers)


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_a_url_resolving_to_loopback_is_refused_at_delivery(world: dict[str, Any]) -> None:
    with receiving() as receiver:
        endpoint, _secret = endpoint_for(world, receiver.url.replace("127.0.0.1", "localhost"))
        event_fan_out(event=outbox_event("order.reserved", order_data(world, "reserved")))
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        send_pending(delivery)
    assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryState.PENDING and delivery.attempts == 1
    assert "refused" in delivery.last_error


def test_the_metadata_address_is_refused_even_with_loopback_allowed(world: dict[str, Any]) -> None:
    endpoint, _secret = endpoint_for(world, "http://169.254.169.254/latest/meta-data/")
    event_fan_out(event=outbox_event("order.reserved", order_data(world, "reserved")))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    send_pending(delivery)
    delivery.refresh_from_db()
    assert "refused" in delivery.last_error


@override_settings(WEBHOOK_DISABLE_AFTER_HOURS=48)
def test_an_endpoint_failing_for_days_is_disabled_and_its_admins_told(
    world: dict[str, Any],
) -> None:
    with receiving() as receiver:
        receiver.script.extend([503, 503])
        endpoint, _secret = endpoint_for(world, receiver.url)
        event_fan_out(event=outbox_event("order.reserved", order_data(world, "reserved")))
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        send_pending(delivery)
        endpoint.refresh_from_db()
        assert endpoint.enabled and endpoint.failing_since is not None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(hours=49)
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now())
        send_pending(delivery)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_at is not None
    disabled = OutboxEvent.objects.get(topic="webhook.endpoint_disabled")
    assert disabled.payload["endpoint_id"] == endpoint.pk
    event_fan_out(event=disabled)
    admin = world["users"]["enterprise_admin"]
    assert admin.notifications.filter(type="webhook.endpoint_disabled").exists()
    assert (
        not world["users"]["trader"].notifications.filter(type="webhook.endpoint_disabled").exists()
    )
    assert AuditEntry.objects.filter(action="webhook_endpoint.disable", user=None).exists()


def test_a_success_clears_the_failure_record(world: dict[str, Any]) -> None:
    with receiving() as receiver:
        receiver.script.append(500)
        endpoint, _secret = endpoint_for(world, receiver.url)
        event_fan_out(event=outbox_event("order.reserved", order_data(world, "reserved")))
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        send_pending(delivery)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now())
        send_pending(delivery)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    body = orjson.loads(receiver.received[-1].body)
    assert body["type"] == "order.reserved"


def test_a_send_takes_along_the_deliveries_waiting_for_their_first_send(
    world: dict[str, Any],
) -> None:
    with receiving() as receiver:
        receiver.script.append(500)
        endpoint, _secret = endpoint_for(world, receiver.url)
        for order_id in (1, 2, 3, 4):
            data = order_data(world, "reserved", order_id=order_id)
            event_fan_out(event=outbox_event("order.reserved", data))
            if order_id == 1:  # fails once: its retry is due later
                assert send_pending(WebhookDelivery.objects.get(endpoint=endpoint)) == 0
        first, second, third, fourth = WebhookDelivery.objects.order_by("pk")
        # The fourth is in another send's lease.
        in_a_lease = timezone.now() + timedelta(minutes=2)
        WebhookDelivery.objects.filter(pk=fourth.pk).update(due_at=in_a_lease)
        # The second's send takes the third along, neither the retry nor the leased one.
        assert send_pending(second) == 2
        assert sorted(r.headers["webhook-id"] for r in receiver.received[1:]) == sorted(
            [second.webhook_id, third.webhook_id]
        )
        # The third's own send, later, finds nothing to do: no request.
        assert webhook_deliveries_send(ids=[third.pk], token=third.due_at) == 0
    assert len(receiver.received) == 3
    first.refresh_from_db()
    fourth.refresh_from_db()
    assert (first.status, first.attempts) == (DeliveryState.PENDING, 1)
    assert (fourth.status, fourth.attempts) == (DeliveryState.PENDING, 0)
