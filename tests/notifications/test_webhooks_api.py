"""/api/v1/webhook-endpoints/ and /api/v1/webhook-deliveries/: an enterprise's admins
manage its endpoints; the secret is shown once; nobody else sees or changes them."""

from typing import Any

import pytest

from audit.models import AuditEntry
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookSecret

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhook-endpoints/"


def create(client: Any, **body: Any) -> Any:
    return client.post(
        URL, {"url": "https://erp.example.test/hooks/parkshare", **body}, format="json"
    )


def test_an_admin_creates_an_endpoint_and_sees_the_secret_once(
    world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    response = create(client, event_types=["order.confirmed"], description="ERP")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.enterprise == world["enterprises"]["a1"]
    assert WebhookSecret.objects.get(endpoint=endpoint).secret == body["secret"]
    listed = client.get(URL).json()["results"]
    assert [row["id"] for row in listed] == [endpoint.pk]
    assert "secret" not in listed[0] and body["secret"] not in str(
        client.get(f"{URL}{endpoint.pk}/").json()
    )
    row = AuditEntry.objects.get(action="webhook_endpoint.create")
    assert body["secret"] not in str(row.changes)


def test_rotation_returns_a_new_secret_and_keeps_the_old_for_the_overlap(
    world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    first = create(client).json()
    response = client.post(
        f"{URL}{first['id']}/rotate-secret/", {"overlap_hours": 2}, format="json"
    )
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != first["secret"]
    secrets = WebhookSecret.objects.filter(endpoint_id=first["id"]).order_by("id")
    assert [s.expires_at is not None for s in secrets] == [True, False]
    bad = client.post(f"{URL}{first['id']}/rotate-secret/", {"overlap_hours": 10**9}, format="json")
    assert bad.status_code == 400 and "overlap_hours" in str(bad.json())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://erp.example.test/"}, "url"),
        ({"url": "http://user:pw@erp.example.test/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://" + "a" * 3000 + ".test/"}, "url"),
        ({"event_types": ["order.teleported"]}, "event_types"),
        ({"event_types": "order.confirmed"}, "event_types"),
        ({"enabled": "perhaps"}, "enabled"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(
    world: dict[str, Any], api_client: Any, body: dict[str, Any], field: str
) -> None:
    response = create(api_client(world["users"]["enterprise_admin"]), **body)
    assert response.status_code == 400, response.json()
    assert field in str(response.json())
    assert not WebhookEndpoint.objects.exists()


def test_only_the_enterprises_admins_see_or_change_its_endpoints(
    world: dict[str, Any], api_client: Any
) -> None:
    users = world["users"]
    owner = api_client(users["enterprise_admin"])
    endpoint_id = create(owner).json()["id"]
    detail = f"{URL}{endpoint_id}/"
    for name in ("trader", "warehouse_keeper", "viewer", "regulator", "park_operator"):
        client = api_client(users[name])
        assert client.get(URL).status_code == 403, name
        assert client.get(detail).status_code == 403, name
        assert client.patch(detail, {"enabled": False}, format="json").status_code == 403, name
    other = api_client(users["other_admin"])
    assert other.get(URL).json()["count"] == 0
    assert other.get(detail).status_code == 404
    assert other.patch(detail, {"url": "https://evil.test/"}, format="json").status_code == 404
    assert other.delete(detail).status_code == 404
    assert other.post(f"{detail}rotate-secret/", {}, format="json").status_code == 404
    assert WebhookEndpoint.objects.get(pk=endpoint_id).url.startswith("https://erp.example.test")


def test_test_event_and_redeliver_through_the_log(world: dict[str, Any], api_client: Any) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    endpoint_id = create(client).json()["id"]
    response = client.post(f"{URL}{endpoint_id}/test/")
    assert response.status_code == 202
    delivery = response.json()
    assert delivery["type"] == "webhook.test" and delivery["webhook_id"].startswith("msg_")
    log = client.get("/api/v1/webhook-deliveries/", {"endpoint": endpoint_id}).json()
    assert [row["id"] for row in log["results"]] == [delivery["id"]]
    again = client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver/")
    assert again.status_code == 202
    assert WebhookDelivery.objects.get(pk=delivery["id"]).status == "pending"
    assert (
        api_client(world["users"]["other_admin"])
        .post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver/")
        .status_code
        == 404
    )
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"webhook_endpoint.test", "webhook_delivery.redeliver"} <= actions
