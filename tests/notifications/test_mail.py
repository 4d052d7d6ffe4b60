"""E-mails through a real SMTP server (aiosmtpd on 127.0.0.1): one mail per notification
or one digest per user, in the user's language, with a plain-text and an HTML part; a
refused send is retried on the schedule."""

import email
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from django.test import override_settings
from django.utils import timezone

from notifications.models import DeliveryState, MailDelivery, MailSettings
from notifications.services.fanout import event_fan_out
from notifications.services.mail import mails_send_for
from tests.notifications.helpers import match_data, order_data, outbox_event

pytestmark = pytest.mark.django_db


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=controller.port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield inbox
    finally:
        controller.stop()


def parts(message: Message) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def subject(message: Message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


@pytest.fixture
def trader(world: dict[str, Any]) -> Any:
    user = world["users"]["trader"]
    user.email = "trader@a1.example.test"
    user.save(update_fields=["email"])
    return user


def test_one_mail_per_notification_in_the_users_language(
    world: dict[str, Any], trader: Any, smtp: Inbox
) -> None:
    MailSettings.objects.create(user=trader, language="en")
    event_fan_out(event=outbox_event("order.confirmed", order_data(world, "confirmed")))
    assert mails_send_for(user_id=trader.pk) == 1
    (message,) = smtp.messages
    assert message["To"] == "trader@a1.example.test"
    assert subject(message) == "[ParkShare] Order #7001 confirmed by the seller: ready to dispatch"
    body = parts(message)
    assert "Order #7001 confirmed" in body["text/plain"]
    assert "<strong>Order #7001 confirmed" in body["text/html"]
    assert MailDelivery.objects.get(user=trader).status == DeliveryState.SUCCEEDED


def test_a_chinese_user_gets_chinese(world: dict[str, Any], trader: Any, smtp: Inbox) -> None:
    MailSettings.objects.create(user=trader, language="zh-hans")
    event_fan_out(event=outbox_event("order.confirmed", order_data(world, "confirmed")))
    mails_send_for(user_id=trader.pk)
    (message,) = smtp.messages
    assert "订单" in subject(message)
    assert "订单" in parts(message)["text/plain"]


def test_a_digest_gathers_everything_due_into_one_mail(
    world: dict[str, Any], trader: Any, smtp: Inbox
) -> None:
    MailSettings.objects.create(user=trader, language="en", digest_minutes=15)
    for topic, data in (
        ("match.agreed", match_data(world)),
        ("order.reserved", order_data(world, "reserved")),
        ("order.confirmed", order_data(world, "confirmed")),
    ):
        event_fan_out(event=outbox_event(topic, data))
    assert mails_send_for(user_id=trader.pk) == 0  # not due before the digest's time
    later = timezone.now() + timedelta(minutes=16)
    assert mails_send_for(user_id=trader.pk, now=later) == 3
    (message,) = smtp.messages
    assert subject(message) == "[ParkShare] 3 notifications"
    text = parts(message)["text/plain"]
    assert "agreed by both sides" in text and "Order #7001 placed" in text


def test_a_refused_send_is_retried_later(world: dict[str, Any], trader: Any) -> None:
    event_fan_out(event=outbox_event("order.confirmed", order_data(world, "confirmed")))
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=free_port(),  # nobody listens
        EMAIL_TIMEOUT=2,
    ):
        assert mails_send_for(user_id=trader.pk) == 0
    row = MailDelivery.objects.get(user=trader)
    assert row.status == DeliveryState.PENDING and row.attempts == 1
    assert row.due_at > timezone.now() and "Connection" in row.last_error
