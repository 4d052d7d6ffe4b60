"""One event -> the rows of every channel: in-app for whoever takes it there, mail for
whoever takes mail, one webhook delivery per endpoint of a party; at least once, so a
second run writes nothing more; never another tenant's."""

from typing import Any

import pytest

from notifications.models import (
    Channel,
    MailDelivery,
    MailSettings,
    Notification,
    Preference,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.services.fanout import event_fan_out
from tests.notifications.helpers import match_data, order_data, outbox_event

pytestmark = pytest.mark.django_db


def users_notified(event: Any) -> set[int]:
    return set(Notification.objects.filter(event=event).values_list("user_id", flat=True))


def test_in_app_for_the_audience_and_mail_by_the_types_default(world: dict[str, Any]) -> None:
    users = world["users"]
    for user in users.values():
        user.email = f"{user.username}@example.test"
        user.save(update_fields=["email"])
    proposal = outbox_event("match.proposed", match_data(world))
    result = event_fan_out(event=proposal)
    expected = {users["enterprise_admin"].pk, users["trader"].pk, users["park_b_admin"].pk}
    assert users_notified(proposal) == expected
    assert result.mails == 0  # proposals: in-app only by default
    agreed = outbox_event("match.agreed", match_data(world))
    event_fan_out(event=agreed)
    assert (
        set(MailDelivery.objects.filter(event=agreed).values_list("user_id", flat=True)) == expected
    )
    notification = Notification.objects.filter(event=agreed).first()
    assert notification is not None
    assert notification.type == "match.agreed"
    assert notification.data == agreed.payload
    assert notification.occurred_at == agreed.created_at


def test_running_twice_writes_nothing_more(world: dict[str, Any]) -> None:
    world["users"]["trader"].email = "t@example.test"
    world["users"]["trader"].save(update_fields=["email"])
    WebhookEndpoint.objects.create(
        enterprise=world["enterprises"]["a1"], url="https://erp.example.test/hook"
    )
    event = outbox_event("order.confirmed", order_data(world, "confirmed"))
    event_fan_out(event=event)
    counts = (
        Notification.objects.count(),
        MailDelivery.objects.count(),
        WebhookDelivery.objects.count(),
    )
    event_fan_out(event=event)
    assert counts == (
        Notification.objects.count(),
        MailDelivery.objects.count(),
        WebhookDelivery.objects.count(),
    )
    assert counts[0] > 0 and counts[1] == 1 and counts[2] == 1


def test_a_users_choice_overrides_the_default(world: dict[str, Any]) -> None:
    trader = world["users"]["trader"]
    trader.email = "t@example.test"
    trader.save(update_fields=["email"])
    Preference.objects.create(
        user=trader, type="match.proposed", channel=Channel.IN_APP, enabled=False
    )
    Preference.objects.create(
        user=trader, type="match.proposed", channel=Channel.EMAIL, enabled=True
    )
    event = outbox_event("match.proposed", match_data(world))
    event_fan_out(event=event)
    assert trader.pk not in users_notified(event)
    assert MailDelivery.objects.filter(event=event, user=trader).exists()


def test_a_digest_user_gets_one_due_time_for_all_pending_mails(world: dict[str, Any]) -> None:
    trader = world["users"]["trader"]
    trader.email = "t@example.test"
    trader.save(update_fields=["email"])
    MailSettings.objects.create(user=trader, digest_minutes=15)
    first = outbox_event("order.reserved", order_data(world, "reserved"))
    second = outbox_event("order.confirmed", order_data(world, "confirmed"))
    event_fan_out(event=first)
    event_fan_out(event=second)
    rows = MailDelivery.objects.filter(user=trader).order_by("id")
    assert rows.count() == 2
    assert len({row.due_at for row in rows}) == 1  # one mail, at the digest's time


def test_webhooks_go_to_the_parties_endpoints_of_that_type_only(world: dict[str, Any]) -> None:
    ents = world["enterprises"]
    mine = WebhookEndpoint.objects.create(enterprise=ents["a1"], url="https://erp.a1.test/hook")
    orders_only = WebhookEndpoint.objects.create(
        enterprise=ents["b"], url="https://erp.b.test/hook", event_types=["order.confirmed"]
    )
    WebhookEndpoint.objects.create(enterprise=ents["b"], url="https://off.b.test/", enabled=False)
    WebhookEndpoint.objects.create(enterprise=ents["a2"], url="https://erp.a2.test/hook")
    proposal = outbox_event("match.proposed", match_data(world))
    event_fan_out(event=proposal)
    assert set(
        WebhookDelivery.objects.filter(event=proposal).values_list("endpoint", flat=True)
    ) == {mine.pk}
    confirmed = outbox_event("order.confirmed", order_data(world, "confirmed"))
    event_fan_out(event=confirmed)
    assert set(
        WebhookDelivery.objects.filter(event=confirmed).values_list("endpoint", flat=True)
    ) == {
        mine.pk,
        orders_only.pk,
    }


def test_no_other_tenant_hears_anything(world: dict[str, Any]) -> None:
    outsiders = {
        world["users"][n].pk for n in ("other_admin", "park_c_admin", "regulator_c", "regulator")
    }
    for topic, data in (
        ("match.proposed", match_data(world)),
        ("order.completed", order_data(world, "completed")),
    ):
        event = outbox_event(topic, data)
        event_fan_out(event=event)
        assert not users_notified(event) & outsiders


def test_a_topic_outside_the_catalogue_becomes_nothing(world: dict[str, Any]) -> None:
    event = outbox_event("stock.changed", {"lot_ids": [1], "material_ids": [1]})
    assert event_fan_out(event=event).users == []
    assert not Notification.objects.exists()


def test_a_batch_is_fanned_out_in_a_fixed_number_of_queries(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    """A rematch's proposals arrive by the hundred: the audiences, choices, addresses and
    endpoints are read once for the batch, and each kind of row written in one INSERT."""
    from notifications.services.fanout import events_fan_out

    for user in world["users"].values():
        user.email = f"{user.username}@example.test"
        user.save(update_fields=["email"])
    WebhookEndpoint.objects.create(enterprise=world["enterprises"]["a1"], url="https://a1.test/")
    few = [outbox_event("match.agreed", match_data(world, match_id=n)) for n in range(3)]
    many = [outbox_event("match.agreed", match_data(world, match_id=n)) for n in range(60)]
    with django_assert_max_num_queries(12) as small:
        events_fan_out(events=few)
    with django_assert_max_num_queries(12) as large:
        results = events_fan_out(events=many)

    def reads(captured: Any) -> int:
        return sum(q["sql"].startswith("SELECT") for q in captured.captured_queries)

    # The reads do not grow with the batch (SQLite splits a large INSERT by its limit on
    # bound parameters; PostgreSQL writes each kind of row in one statement).
    assert reads(large) == reads(small)
    assert sum(r.in_app for r in results) == 60 * 3
    assert Notification.objects.filter(event__in=many).count() == 60 * 3
    assert MailDelivery.objects.filter(event__in=many).count() == 60 * 3
    assert WebhookDelivery.objects.filter(event__in=many).count() == 60
