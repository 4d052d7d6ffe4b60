"""The inbox services change only the actor's own rows and leave no audit row (the trail
is of what one person does to data others rely on): tests/audit/test_coverage.py lists
them as OWN_ROWS on the strength of these tests."""

from typing import Any

import pytest

from access.scope import resolve_scope
from audit.models import AuditEntry
from common.exceptions import DomainError
from notifications.models import MailSettings, Notification, Preference
from notifications.services.fanout import event_fan_out
from notifications.services.inbox import (
    mail_settings_set,
    notification_mark_read,
    notifications_mark_all_read,
    preferences_set,
)
from tests.notifications.helpers import match_data, outbox_event

pytestmark = pytest.mark.django_db


def test_they_touch_only_the_actors_rows_and_write_no_audit_row(world: dict[str, Any]) -> None:
    event_fan_out(event=outbox_event("match.agreed", match_data(world)))
    trader, buyer_admin = world["users"]["trader"], world["users"]["park_b_admin"]
    scope = resolve_scope(trader)
    before = AuditEntry.objects.count()
    theirs = Notification.objects.get(user=buyer_admin)
    with pytest.raises(DomainError):
        notification_mark_read(actor=scope, notification=theirs)
    mine = Notification.objects.get(user=trader)
    notification_mark_read(actor=scope, notification=mine)
    assert notifications_mark_all_read(actor=scope) == 0
    preferences_set(
        actor=scope, choices=[{"type": "match.agreed", "channel": "email", "enabled": False}]
    )
    mail_settings_set(actor=scope, language="en", digest_minutes=30)
    assert AuditEntry.objects.count() == before
    assert Notification.objects.get(user=buyer_admin).read_at is None
    assert set(Preference.objects.values_list("user", flat=True)) == {trader.pk}
    assert set(MailSettings.objects.values_list("user", flat=True)) == {trader.pk}
    with pytest.raises(DomainError):
        mail_settings_set(actor=scope, digest_minutes=5000)
