"""The safety API: inspectors' actions (regulators too, in their parks only), the
enterprise's rectification and incidents, the hazard units' profile; bad input answered 400
on its field with nothing written; lists in a constant number of queries."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.scope import resolve_scope
from safety.models import HazardUnit, HiddenHazard, Incident, Inspection
from safety.services import hazard_record, inspection_create, major_hazards_recompute

pytestmark = pytest.mark.django_db
D = Decimal


def errors(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"]["fields"])


@pytest.fixture
def sw(world: dict[str, Any], api_client: Any) -> dict[str, Any]:
    world["client"] = {name: api_client(user) for name, user in world["users"].items()}
    world["today"] = timezone.localdate()
    return world


def an_inspection(sw: dict[str, Any], days_ago: int = 20) -> Inspection:
    return inspection_create(
        actor=resolve_scope(sw["users"]["park_operator"]),
        park=sw["parks"]["a"],
        enterprise=sw["enterprises"]["a1"],
        inspected_on=sw["today"] - timedelta(days=days_ago),
    )


def a_hazard(sw: dict[str, Any], deadline_days: int = 5) -> HiddenHazard:
    inspection = an_inspection(sw)
    return hazard_record(
        actor=resolve_scope(sw["users"]["park_operator"]),
        inspection=inspection,
        description="静电接地失效",
        grade="major",
        deadline=inspection.inspected_on + timedelta(days=deadline_days),
    )


# --- Inspections and hazards ----------------------------------------------------------------


def test_a_regulator_records_an_inspection_in_its_park_only(sw: dict[str, Any]) -> None:
    body = {
        "park": sw["parks"]["a"].pk,
        "enterprise": sw["enterprises"]["a1"].pk,
        "inspected_on": sw["today"].isoformat(),
        "notes": "季度检查",
    }
    response = sw["client"]["regulator"].post("/api/v1/inspections/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["inspector_name"] == sw["users"]["regulator"].username
    far = sw["client"]["regulator_c"].post("/api/v1/inspections/", body, format="json")
    assert far.status_code == 400 and "park" in errors(far)
    other_park = {**body, "enterprise": sw["enterprises"]["b"].pk}
    refused = sw["client"]["regulator"].post("/api/v1/inspections/", other_park, format="json")
    assert refused.status_code == 400 and "enterprise" in errors(refused)
    for who in ("enterprise_admin", "viewer"):
        assert (
            sw["client"][who].post("/api/v1/inspections/", body, format="json").status_code == 403
        )
    assert Inspection.objects.count() == 1


def test_the_inspected_enterprise_reads_its_inspections_and_no_other(sw: dict[str, Any]) -> None:
    inspection = an_inspection(sw)
    own = sw["client"]["viewer"].get("/api/v1/inspections/").json()["results"]
    assert [row["id"] for row in own] == [inspection.pk]
    assert sw["client"]["other_admin"].get("/api/v1/inspections/").json()["results"] == []
    assert (
        sw["client"]["regulator_c"].get(f"/api/v1/inspections/{inspection.pk}/").status_code == 404
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deadline": "2020-01-01"}, "deadline"),  # before the inspection
        ({"grade": "serious"}, "grade"),
        ({"description": ""}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"inspection": 2**64}, "inspection"),
        ({"deadline": "2026-02-30"}, "deadline"),
        ({"status": "rectified"}, "status"),
    ],
)
def test_bad_hazards_are_a_400_on_their_field(
    sw: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    inspection = an_inspection(sw)
    body = {
        "inspection": inspection.pk,
        "description": "泄压阀失效",
        "grade": "general",
        "deadline": sw["today"].isoformat(),
        **change,
    }
    response = sw["client"]["regulator"].post("/api/v1/hidden-hazards/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert not HiddenHazard.objects.exists()


def test_rectify_confirm_reopen_through_the_api(sw: dict[str, Any]) -> None:
    hazard = a_hazard(sw)  # deadline 15 days ago: overdue
    url = f"/api/v1/hidden-hazards/{hazard.pk}/"
    client = sw["client"]
    assert client["viewer"].get(url).json()["status"] == "overdue"
    overdue = client["regulator"].get("/api/v1/hidden-hazards/?status=overdue").json()
    assert [row["id"] for row in overdue["results"]] == [hazard.pk]
    body = {"rectified_on": sw["today"].isoformat(), "note": "已更换"}
    assert client["other_admin"].post(f"{url}rectify/", body, format="json").status_code == 404
    assert client["regulator"].post(f"{url}rectify/", body, format="json").status_code == 403
    assert client["trader"].post(f"{url}rectify/", body, format="json").status_code == 403
    future = {"rectified_on": (sw["today"] + timedelta(days=1)).isoformat()}
    refused = client["enterprise_admin"].post(f"{url}rectify/", future, format="json")
    assert refused.status_code == 400 and "rectified_on" in errors(refused)
    done = client["enterprise_admin"].post(f"{url}rectify/", body, format="json")
    assert done.status_code == 200 and done.json()["status"] == "rectified"
    assert client["enterprise_admin"].post(f"{url}confirm/", {}, format="json").status_code == 403
    assert client["regulator_c"].post(f"{url}confirm/", {}, format="json").status_code == 404
    assert client["regulator"].post(f"{url}confirm/", {"x": 1}, format="json").status_code == 400
    confirmed = client["regulator"].post(f"{url}confirm/", {}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_by"] is not None
    assert client["regulator"].post(f"{url}confirm/", {}, format="json").status_code == 409
    reopened = client["regulator"].post(f"{url}reopen/", {"note": "复查不合格"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "overdue"


# --- Incidents ------------------------------------------------------------------------------


def incident_body(sw: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {
        "occurred_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "description": "储罐泄漏",
        "deaths": 0,
        "serious_injuries": 12,
        "direct_loss_yuan": "250000.00",
        **change,
    }


def test_an_enterprise_admin_reports_its_incident(sw: dict[str, Any]) -> None:
    response = sw["client"]["enterprise_admin"].post(
        "/api/v1/incidents/", incident_body(sw), format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["enterprise"] == sw["enterprises"]["a1"].pk
    assert data["grade"] == "relatively_serious"  # 12 serious injuries
    patched = sw["client"]["park_operator"].patch(
        f"/api/v1/incidents/{data['id']}/", {"serious_injuries": 50}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["grade"] == "serious"
    assert (
        sw["client"]["regulator"]
        .patch(f"/api/v1/incidents/{data['id']}/", {"deaths": 1}, format="json")
        .status_code
        == 403
    )
    assert (
        sw["client"]["other_admin"]
        .patch(f"/api/v1/incidents/{data['id']}/", {"deaths": 1}, format="json")
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"deaths": -1', "deaths"),
        ('"deaths": 18446744073709551616', "deaths"),
        ('"serious_injuries": 1.5', "serious_injuries"),
        ('"direct_loss_yuan": 1e400', "direct_loss_yuan"),
        ('"direct_loss_yuan": "-5"', "direct_loss_yuan"),
        ('"direct_loss_yuan": "0.001"', "direct_loss_yuan"),
        ('"direct_loss_yuan": "1e20"', "direct_loss_yuan"),
        ('"occurred_at": "2999-01-01T00:00:00Z"', "occurred_at"),
        ('"grade": "ordinary"', "grade"),
        ('"park": 1', "park"),
    ],
)
def test_bad_incidents_are_a_400_on_their_field(sw: dict[str, Any], raw: str, field: str) -> None:
    body = f'{{"occurred_at": "2026-01-01T08:00:00Z", "description": "泄漏", "deaths": 0, {raw}}}'
    response = sw["client"]["enterprise_admin"].post(
        "/api/v1/incidents/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert not Incident.objects.exists()


def test_an_operator_names_the_enterprise_of_its_park(sw: dict[str, Any]) -> None:
    client = sw["client"]["park_operator"]
    missing = client.post("/api/v1/incidents/", incident_body(sw), format="json")
    assert missing.status_code == 400 and "enterprise" in errors(missing)
    other = incident_body(sw, enterprise=sw["enterprises"]["c"].pk)
    refused = client.post("/api/v1/incidents/", other, format="json")
    assert refused.status_code == 400 and "enterprise" in errors(refused)
    own = incident_body(sw, enterprise=sw["enterprises"]["a2"].pk)
    assert client.post("/api/v1/incidents/", own, format="json").status_code == 201
    malformed = client.post("/api/v1/incidents/", "{", content_type="application/json")
    assert malformed.status_code == 400
    assert Incident.objects.count() == 1


# --- Hazard units ---------------------------------------------------------------------------


def test_hazard_units_are_read_by_their_owner_and_park_staff_and_profiled_by_operators(
    sw: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    zone = sw["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="15000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id, sw["zones"]["a2"].warehouse_id])
    unit = HazardUnit.objects.get(warehouse_id=zone.warehouse_id)
    url = f"/api/v1/hazard-units/{unit.pk}/"
    own = sw["client"]["viewer"].get("/api/v1/hazard-units/?major=true").json()["results"]
    assert [(r["id"], r["warehouse"], r["s"], r["level"], r["alpha"]) for r in own] == [
        (unit.pk, zone.warehouse_id, "3.0000", 3, "2.0")
    ]
    assert sw["client"]["viewer"].get(f"/api/v1/hazard-units/{2**63}/").status_code == 404
    assert sw["client"]["other_admin"].get(url).status_code == 404
    assert sw["client"]["regulator"].get(url).status_code == 200
    assert sw["client"]["regulator_c"].get(url).status_code == 404
    for who in ("enterprise_admin", "regulator"):
        assert (
            sw["client"][who].patch(url, {"people_within_500m": 0}, format="json").status_code
            == 403
        )
    for bad in ({"people_within_500m": -1}, {"people_within_500m": 2**64}, {"s": "9"}, {}):
        response = sw["client"]["park_operator"].patch(url, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
    done = sw["client"]["park_operator"].patch(url, {"people_within_500m": 0}, format="json")
    assert done.status_code == 200
    assert (done.json()["alpha"], done.json()["r"], done.json()["level"]) == ("0.5", "6.0000", 4)
    assert HazardUnit.objects.get(warehouse_id=zone.warehouse_id).people_within_500m == 0


# --- Lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/inspections/", "/api/v1/hidden-hazards/", "/api/v1/incidents/",
            "/api/v1/hazard-units/"],
)  # fmt: skip
def test_lists_take_a_constant_number_of_queries(
    sw: dict[str, Any], receive: Any, chlorine: Any, url: str
) -> None:
    from safety.services import incident_report

    def rows(n: int) -> None:
        for _ in range(n):
            a_hazard(sw)
            incident_report(
                actor=resolve_scope(sw["users"]["enterprise_admin"]),
                enterprise=sw["enterprises"]["a1"],
                occurred_at=timezone.now() - timedelta(days=3),
                description="x",
            )
            zone = receive(zone=sw["zones"]["a1"], material=chlorine, quantity="1000").zone
            major_hazards_recompute(warehouse_ids=[zone.warehouse_id])

    client = sw["client"]["regulator"]
    rows(1)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    rows(4)
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200
    assert len(five) == len(one), [q["sql"] for q in five]
