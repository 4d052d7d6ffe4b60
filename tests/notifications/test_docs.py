"""docs/notifications.md documents every event type of the catalogue with its data."""

from pathlib import Path
from typing import Any

from notifications.catalogue import event_types
from notifications.schemas import data_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def test_every_event_type_is_documented_with_its_data() -> None:
    text = DOC.read_text(encoding="utf-8")
    for kind in event_types():
        row = next(
            (line for line in text.splitlines() if line.startswith(f"| `{kind.topic}` |")), None
        )
        assert row is not None, f"{kind.topic} is not in docs/notifications.md"
        for key in data_schema(kind.declared.payload)["properties"]:
            if key != "material_ids":
                assert f"`{key}`" in row, (kind.topic, key)


def test_the_openapi_schema_holds_every_event_type_as_a_component(api_client: Any) -> None:
    """The webhooks' bodies are in the OpenAPI schema too (OpenAPI 3.0: a nullable field
    instead of a null type)."""
    from notifications.schemas import component_name

    schema = api_client(None).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    for kind in event_types():
        component = components[component_name(kind.topic)]
        assert component["properties"]["type"]["enum"] == [kind.topic]
        keys = set(data_schema(kind.declared.payload)["properties"])
        assert set(component["properties"]["data"]["properties"]) == keys
    order = components["EventOrderConfirmed"]["properties"]["data"]["properties"]
    assert order["match_id"] == {"type": "integer", "nullable": True}
    assert "null" not in str(components["EventOrderConfirmed"]).replace("nullable", "")
