"""The notifications' own outbox topics (common.events)."""

from typing import TypedDict

from common.events import declare


class EndpointDisabled(TypedDict):
    endpoint_id: int
    enterprise_id: int
    url: str
    failing_since: str  # ISO 8601
    last_error: str


WEBHOOK_ENDPOINT_DISABLED = declare(
    "webhook.endpoint_disabled",
    EndpointDisabled,
    "A webhook endpoint failed every attempt for days and was disabled; its enterprise's "
    "admins are told.",
    public=True,
)


class WebhookTest(TypedDict):
    endpoint_id: int
    enterprise_id: int


WEBHOOK_TEST = declare(
    "webhook.test",
    WebhookTest,
    "A test event an enterprise admin sent to one of its endpoints (to that endpoint only).",
)
