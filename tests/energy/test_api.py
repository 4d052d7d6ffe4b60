"""The energy API: meters (wrong unit named), the batch endpoint (orjson, partial answers,
bad bodies as 400s, never a 500), output values, factors; constant queries per list."""

import json
from decimal import Decimal
from typing import Any

import pytest

from energy.models import Meter, OutputValue, Reading
from energy.services.ingest import MAX_BATCH_ROWS
from tests.energy.conftest import hourly

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/energy-readings/batch/"


def test_enterprise_admin_records_a_meter_and_a_wrong_unit_is_named(
    world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    answer = client.post(
        "/api/v1/energy-meters/",
        {"code": "E-01", "carrier": "electricity", "unit": "m3"},
        format="json",
    )
    assert answer.status_code == 400
    assert "unit" in answer.json()["error"]["fields"]
    answer = client.post(
        "/api/v1/energy-meters/",
        {"code": "E-01", "carrier": "electricity", "unit": "kWh", "name": "总表"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    meter = Meter.objects.get()
    assert (meter.enterprise, meter.unit) == (world["enterprises"]["a1"], "kWh")
    again = client.post(
        "/api/v1/energy-meters/",
        {"code": "E-01", "carrier": "diesel", "unit": "kg"},
        format="json",
    )
    assert again.status_code == 400 and "code" in again.json()["error"]["fields"]
    changed = client.patch(
        f"/api/v1/energy-meters/{meter.pk}/", {"carrier": "diesel"}, format="json"
    )
    assert changed.status_code == 400 and "carrier" in changed.json()["error"]["fields"]
    changed = client.patch(
        f"/api/v1/energy-meters/{meter.pk}/", {"anomaly_factor": "1e400"}, format="json"
    )
    assert changed.status_code == 400 and "anomaly_factor" in changed.json()["error"]["fields"]
    changed = client.patch(
        f"/api/v1/energy-meters/{meter.pk}/", {"is_active": False}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    trader = api_client(world["users"]["trader"])
    assert trader.get(f"/api/v1/energy-meters/{meter.pk}/").status_code == 200
    assert (
        trader.post(
            "/api/v1/energy-meters/",
            {"code": "E-02", "carrier": "diesel", "unit": "kg"},
            format="json",
        ).status_code
        == 403
    )


def test_batch_endpoint_answers_accepted_duplicates_and_refused(
    world: dict[str, Any], make_meter: Any, api_client: Any
) -> None:
    meter = make_meter()
    theirs = make_meter("b")
    client = api_client(world["users"]["enterprise_admin"])
    rows = hourly(meter, "2026-03-01", "10")
    body = {"readings": [*rows, {**rows[0], "meter": theirs.pk}, {**rows[1], "value": "-3"}]}
    answer = client.post(BATCH, body, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "accepted": 24,
        "duplicates": 0,
        "refused": [
            {"index": 24, "field": "meter", "reason": "Unknown meter."},
            {"index": 25, "field": "value", "reason": "A reading is not negative."},
        ],
        "anomalies": 0,
        "batch": answer.json()["batch"],
    }
    again = client.post(BATCH, {"readings": rows}, format="json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 24)
    assert Reading.objects.filter(meter=theirs).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{", "body"),
        (b"[]", "readings"),
        (b'{"readings": 1}', "readings"),
        (b'{"readings": [], "more": 1}', "more"),
        (b"{}", "readings"),
        (b'{"readings": [{"meter": 1, "at": "2026-01-01T00:00:00Z", "value": 1e400}]}', "body"),
        (b"[" * 5000 + b"]" * 5000, "body"),
    ],
)
def test_bad_batch_bodies_are_400s(
    world: dict[str, Any], api_client: Any, body: bytes, field: str
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    answer = client.generic("POST", BATCH, body, content_type="application/json")
    assert answer.status_code == 400, answer.content
    fields = answer.json()["error"].get("fields") or {}
    assert field in fields or field == "body", answer.json()


def test_a_batch_over_ten_thousand_rows_is_refused(
    world: dict[str, Any], make_meter: Any, api_client: Any
) -> None:
    meter = make_meter()
    row = {"meter": meter.pk, "at": "2026-03-01T01:00:00+08:00", "value": "1"}
    client = api_client(world["users"]["enterprise_admin"])
    body = json.dumps({"readings": [row] * (MAX_BATCH_ROWS + 1)})
    answer = client.generic("POST", BATCH, body, content_type="application/json")
    assert answer.status_code == 400
    assert "readings" in answer.json()["error"]["fields"]
    assert not Reading.objects.exists()


def test_readers_and_writers_of_the_batch(
    world: dict[str, Any], make_meter: Any, api_client: Any
) -> None:
    meter = make_meter()
    body = {"readings": hourly(meter, "2026-03-01", "1", hours=1)}
    for who in ("trader", "viewer", "regulator", "park_operator"):
        assert api_client(world["users"][who]).post(BATCH, body, format="json").status_code == 403
    assert api_client(None).post(BATCH, body, format="json").status_code == 401
    regulator = api_client(world["users"]["regulator"])
    client = api_client(world["users"]["enterprise_admin"])
    assert client.post(BATCH, body, format="json").json()["accepted"] == 1
    listed = regulator.get(f"/api/v1/energy-readings/?meter={meter.pk}").json()["results"]
    assert [r["value"] for r in listed] == ["1.000"]
    far = api_client(world["users"]["regulator_c"])
    assert far.get(f"/api/v1/energy-readings/?meter={meter.pk}").json()["results"] == []


def test_output_values_by_the_enterprises_admin(world: dict[str, Any], api_client: Any) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    url = "/api/v1/energy-output-values/"
    for value, month in (("-1", "2026-03-01"), ("1e400", "2026-03-01"), ("10", "2026-03-02")):
        answer = client.post(url, {"month": month, "value_yuan": value}, format="json")
        assert answer.status_code == 400, (value, month)
    answer = client.post(url, {"month": "2026-03-01", "value_yuan": "1250000.50"}, format="json")
    assert answer.status_code == 201
    pk = answer.json()["id"]
    assert (
        client.post(url, {"month": "2026-03-01", "value_yuan": "1"}, format="json").status_code
        == 400
    )
    assert (
        client.patch(f"{url}{pk}/", {"value_yuan": "2"}, format="json").json()["value_yuan"]
        == "2.00"
    )
    assert api_client(world["users"]["trader"]).delete(f"{url}{pk}/").status_code == 403
    assert client.delete(f"{url}{pk}/").status_code == 204
    assert not OutputValue.objects.exists()


def test_factors_are_read_by_every_login(world: dict[str, Any], api_client: Any) -> None:
    answer = api_client(world["users"]["viewer"]).get(
        "/api/v1/energy-factors/?carrier=electricity&valid_on=2025-06-01&page_size=100"
    )
    rows = answer.json()["results"]
    assert {(r["convention"], r["kgce_per_unit"]) for r in rows} == {
        ("equivalent", "0.122900"),
        ("equal_value", "0.303000"),
    }
    root = api_client(world["users"]["superuser"])
    assert root.post("/api/v1/energy-factors/", {}, format="json").status_code in (403, 405)


@pytest.mark.parametrize("prefix", ["energy-meters", "energy-readings", "energy-output-values"])
def test_lists_take_constant_queries(
    world: dict[str, Any],
    make_meter: Any,
    admin_a1: Any,
    api_client: Any,
    django_assert_max_num_queries: Any,
    prefix: str,
) -> None:
    from datetime import date

    from energy.services.ingest import readings_ingest
    from energy.services.meters import output_value_create

    for month in range(1, 6):
        meter = make_meter()
        readings_ingest(actor=admin_a1, rows=hourly(meter, f"2026-0{month}-02", "2", hours=5))
        output_value_create(
            actor=admin_a1,
            enterprise=world["enterprises"]["a1"],
            month=date(2026, month, 1),
            value_yuan=Decimal(100),
        )
    client = api_client(world["users"]["regulator"])
    with django_assert_max_num_queries(4):
        assert client.get(f"/api/v1/{prefix}/").status_code == 200
