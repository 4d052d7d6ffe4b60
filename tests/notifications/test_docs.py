"""docs/notifications.md documents every event type of the catalogue with its data."""

from pathlib import Path

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
