"""/api/v1/notifications/: each user's own inbox, the unread count, marking read, the
choices per type and channel, and the catalogue of event types."""

from typing import Any

import pytest

from notifications.models import Notification, Preference
from notifications.services.fanout import event_fan_out
from tests.notifications.helpers import match_data, order_data, outbox_event

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/"


@pytest.fixture
def inbox(world: dict[str, Any]) -> dict[str, Any]:
    """Three events heard by a1's trader and b's admin (and a1's admin)."""
    for topic, data in (
        ("match.proposed", match_data(world)),
        ("match.agreed", match_data(world)),
        ("order.reserved", order_data(world, "reserved")),
    ):
        event_fan_out(event=outbox_event(topic, data))
    return world


def test_a_user_lists_only_their_own_newest_first(inbox: dict[str, Any], api_client: Any) -> None:
    trader = inbox["users"]["trader"]
    body = api_client(trader).get(URL).json()
    assert body["count"] == 3
    rows = body["results"]
    assert [row["type"] for row in rows] == ["order.reserved", "match.agreed", "match.proposed"]
    assert rows[0]["title"] == "Order #7001 placed: 800.000 kg reserved"
    assert rows[0]["event_id"].startswith("evt_")
    assert rows[0]["read_at"] is None
    owners = set(
        Notification.objects.filter(pk__in=[r["id"] for r in rows]).values_list("user", flat=True)
    )
    assert owners == {trader.pk}
    assert api_client(inbox["users"]["other_admin"]).get(URL).json()["count"] == 0


def test_mark_one_and_all_read_and_the_unread_count(inbox: dict[str, Any], api_client: Any) -> None:
    client = api_client(inbox["users"]["trader"])
    assert client.get(URL + "unread-count/").json() == {"unread": 3}
    first = client.get(URL).json()["results"][0]
    response = client.post(f"{URL}{first['id']}/read/")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    assert client.get(URL + "unread-count/").json() == {"unread": 2}
    assert client.get(URL, {"unread": "true"}).json()["count"] == 2
    assert client.post(URL + "read-all/").json() == {"marked": 2}
    assert client.get(URL + "unread-count/").json() == {"unread": 0}
    # b's admin heard the same events: their inbox is untouched.
    other = api_client(inbox["users"]["park_b_admin"])
    assert other.get(URL + "unread-count/").json() == {"unread": 3}


def test_another_users_notification_is_not_found(inbox: dict[str, Any], api_client: Any) -> None:
    mine = Notification.objects.filter(user=inbox["users"]["trader"]).first()
    assert mine is not None
    for name in ("park_b_admin", "regulator", "viewer", "superuser"):
        client = api_client(inbox["users"][name])
        assert client.get(f"{URL}{mine.pk}/").status_code == 404, name
        assert client.post(f"{URL}{mine.pk}/read/").status_code == 404, name
    mine.refresh_from_db()
    assert mine.read_at is None


def test_regulators_and_viewers_use_their_own_inbox(inbox: dict[str, Any], api_client: Any) -> None:
    for name in ("regulator", "viewer"):
        client = api_client(inbox["users"][name])
        assert client.post(URL + "read-all/").status_code == 200
        assert client.get(URL + "unread-count/").status_code == 200
    assert api_client(None).get(URL + "unread-count/").status_code == 401


def test_the_list_takes_a_fixed_number_of_queries(
    inbox: dict[str, Any], api_client: Any, django_assert_max_num_queries: Any
) -> None:
    client = api_client(inbox["users"]["trader"])
    client.get(URL)
    for _ in range(5):
        event_fan_out(
            event=outbox_event("match.declined", match_data(inbox, side="buyer", reason="x"))
        )
    with django_assert_max_num_queries(6):
        assert client.get(URL).json()["count"] == 8


def test_preferences_default_then_chosen(world: dict[str, Any], api_client: Any) -> None:
    client = api_client(world["users"]["trader"])
    rows = client.get(URL + "preferences/").json()
    agreed_mail = next(r for r in rows if r["type"] == "match.agreed" and r["channel"] == "email")
    assert agreed_mail == {
        "type": "match.agreed",
        "channel": "email",
        "enabled": True,
        "default": True,
    }
    response = client.patch(
        URL + "preferences/",
        {"choices": [{"type": "match.agreed", "channel": "email", "enabled": False}]},
        format="json",
    )
    assert response.status_code == 200
    agreed_mail = next(
        r for r in response.json() if r["type"] == "match.agreed" and r["channel"] == "email"
    )
    assert agreed_mail["enabled"] is False and agreed_mail["default"] is True
    assert Preference.objects.get(user=world["users"]["trader"]).enabled is False


@pytest.mark.parametrize(
    ("choice", "field"),
    [
        ({"type": "no.such", "channel": "email", "enabled": True}, "0.type"),
        ({"type": "match.agreed", "channel": "fax", "enabled": True}, "channel"),
        ({"type": "match.agreed", "channel": "email", "enabled": "maybe"}, "enabled"),
    ],
)
def test_bad_choices_are_refused_naming_the_field(
    world: dict[str, Any], api_client: Any, choice: dict[str, Any], field: str
) -> None:
    client = api_client(world["users"]["trader"])
    response = client.patch(URL + "preferences/", {"choices": [choice]}, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert not Preference.objects.exists()


def test_the_catalogue_lists_every_type_with_the_schema_of_its_data(
    world: dict[str, Any], api_client: Any
) -> None:
    rows = api_client(world["users"]["viewer"]).get(URL + "event-types/").json()
    by_type = {row["type"]: row for row in rows}
    confirmed = by_type["order.confirmed"]
    assert confirmed["version"] == 1
    assert confirmed["email"] is True
    schema = confirmed["data_schema"]
    assert schema["properties"]["seller_id"] == {"type": "integer"}
    assert "order_id" in schema["required"]


def test_the_unread_count_is_one_query_after_authentication(
    inbox: dict[str, Any], api_client: Any, django_assert_num_queries: Any
) -> None:
    """Cheap enough to poll: the token's lookup (with the user and membership) and one
    count over the partial index of the user's unread rows."""
    client = api_client(inbox["users"]["trader"])
    client.get(URL + "unread-count/")
    with django_assert_num_queries(2) as captured:
        assert client.get(URL + "unread-count/").json() == {"unread": 3}
    assert "read_at" in captured.captured_queries[-1]["sql"]


def test_options_on_the_preferences_answers_without_an_object(
    world: dict[str, Any], api_client: Any
) -> None:
    """An OPTIONS of a list-level action that writes must not look for a detail object."""
    response = api_client(world["users"]["trader"]).options(URL + "preferences/")
    assert response.status_code == 200
