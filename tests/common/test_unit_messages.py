"""A unit the material does not accept gets one message listing the accepted units, however
long the wrong unit is (``bananas`` used to say "no more than 4 characters")."""

from typing import Any

import pytest

from inventory.serializer_fields import MAX_UNIT_INPUT_LENGTH

pytestmark = pytest.mark.django_db


def _unit_error(world: dict[str, Any], api_client: Any, unit: str) -> list[str]:
    client = api_client(world["users"]["trader"])
    body = {
        "material": world["material"].pk,
        "quantity": "5",
        "unit": unit,
        "needed_by": "2030-01-01",
    }
    response = client.post("/api/v1/needs/", body, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["unit"], fields
    return fields["unit"]


def test_short_and_long_wrong_units_both_list_the_choices(
    world: dict[str, Any], api_client: Any
) -> None:
    short = _unit_error(world, api_client, "bana")
    long = _unit_error(world, api_client, "bananas")
    for message in (short[0], long[0]):
        assert "use one of: g, kg, t" in message
        assert "characters" not in message
    assert short[0].replace("'bana'", "'bananas'") == long[0]


def test_text_too_long_to_be_a_unit_lists_every_unit(
    world: dict[str, Any], api_client: Any
) -> None:
    (message,) = _unit_error(world, api_client, "b" * (MAX_UNIT_INPUT_LENGTH + 1))
    assert message == "Not a unit; use one of: g, kg, t, L, m3."
