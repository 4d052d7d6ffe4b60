"""The notifications in the admin: each login's own inbox with the unread badge on every
page, and the webhook endpoints an enterprise's admins manage through the services."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import AuditEntry
from notifications.models import Notification, WebhookEndpoint, WebhookSecret
from notifications.services.fanout import event_fan_out
from tests.notifications.helpers import match_data, outbox_event
from tests.test_admin import changelist_pks, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: dict[str, Any]) -> dict[str, Any]:
    for user in world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    event_fan_out(event=outbox_event("match.proposed", match_data(world)))
    event_fan_out(event=outbox_event("match.agreed", match_data(world)))
    return world


def test_the_badge_counts_the_users_unread_and_the_home_lists_them(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["trader"])
    home = client.get(reverse("admin:index")).content.decode()
    assert 'class="parkshare-badge">2<' in home
    assert "New proposal #9001" in home
    quiet = client_for(world["users"]["other_admin"]).get(reverse("admin:index")).content.decode()
    assert 'class="parkshare-badge"' not in quiet  # nothing unread: no badge


def test_a_login_sees_only_its_own_and_marks_them_read(world: dict[str, Any]) -> None:
    trader = world["users"]["trader"]
    client = client_for(trader)
    own = set(Notification.objects.filter(user=trader).values_list("pk", flat=True))
    assert changelist_pks(client, "notifications_notification") == own
    assert (
        changelist_pks(client_for(world["users"]["superuser"]), "notifications_notification")
        == set()
    )
    response = client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "mark_read", "_selected_action": sorted(own)},
    )
    assert response.status_code == 302
    assert not Notification.objects.filter(user=trader, read_at__isnull=True).exists()
    assert (
        Notification.objects.filter(
            user=world["users"]["park_b_admin"], read_at__isnull=True
        ).count()
        == 2
    )


def test_an_admin_adds_an_endpoint_and_is_shown_the_secret_once(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    response = client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {
            "url": "https://erp.a1.example.test/hook",
            "description": "ERP",
            "event_types": "[]",
            "enabled": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.enterprise == world["enterprises"]["a1"]
    secret = WebhookSecret.objects.get(endpoint=endpoint).secret
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(secret in m for m in shown)
    listing = client.get(reverse("admin:notifications_webhookendpoint_changelist")).content.decode()
    assert secret not in listing
    assert AuditEntry.objects.filter(action="webhook_endpoint.create").count() == 1


def test_other_roles_do_not_reach_the_endpoints(world: dict[str, Any]) -> None:
    url = reverse("admin:notifications_webhookendpoint_changelist")
    for name in ("trader", "viewer", "regulator"):
        assert client_for(world["users"][name]).get(url).status_code == 403, name
