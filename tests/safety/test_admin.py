"""Production safety in the admin: scoped like the API, every page renders for every role,
and every write goes through the services (a regulator records an inspection and a hazard,
the enterprise's admin reports the rectification, the regulator confirms it; incidents are
graded; a unit's people within 500 m is set by the park's operator)."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from safety.models import HazardUnit, HiddenHazard, Incident, Inspection
from safety.services import major_hazards_recompute

pytestmark = pytest.mark.django_db
MODELS = ("inspection", "hiddenhazard", "incident", "hazardunit")


@pytest.fixture
def aw(world: dict[str, Any]) -> dict[str, Any]:
    for user in world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return world


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(model: str, page: str = "changelist", *args: Any) -> str:
    return reverse(f"admin:safety_{model}_{page}", args=args)


def test_the_inspectors_flow_through_the_admin(aw: dict[str, Any]) -> None:
    regulator, admin = (
        client_for(aw["users"]["regulator"]),
        client_for(aw["users"]["enterprise_admin"]),
    )
    today = timezone.localdate()
    response = regulator.post(
        url("inspection", "add"),
        {
            "park": aw["parks"]["a"].pk,
            "enterprise": aw["enterprises"]["a1"].pk,
            "inspected_on": (today - timedelta(days=3)).isoformat(),
            "notes": "检查",
        },
    )
    assert response.status_code == 302, response.content
    inspection = Inspection.objects.get()
    far = client_for(aw["users"]["regulator_c"]).get(url("inspection", "change", inspection.pk))
    assert far.status_code == 302  # "doesn't exist": back to the index
    response = regulator.post(
        url("hiddenhazard", "add"),
        {
            "inspection": inspection.pk,
            "description": "消防栓损坏",
            "grade": "general",
            "deadline": (today - timedelta(days=4)).isoformat(),  # before the inspection
        },
    )
    assert response.status_code == 200 and "deadline" in response.context["adminform"].form.errors
    assert not HiddenHazard.objects.exists()
    regulator.post(
        url("hiddenhazard", "add"),
        {
            "inspection": inspection.pk,
            "description": "消防栓损坏",
            "grade": "general",
            "deadline": today.isoformat(),
        },
    )
    hazard = HiddenHazard.objects.get()
    for client, action in ((admin, "rectified_today"), (regulator, "confirm")):
        client.post(url("hiddenhazard"), {"action": action, "_selected_action": [str(hazard.pk)]})
    hazard.refresh_from_db()
    assert hazard.rectified_on == today and hazard.confirmed_at is not None
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "inspection.create",
        "hidden_hazard.create",
        "hidden_hazard.rectify",
        "hidden_hazard.confirm",
    ]


def test_incidents_and_the_units_profile_through_the_admin(
    aw: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    admin = client_for(aw["users"]["enterprise_admin"])
    response = admin.post(
        url("incident", "add"),
        {
            "enterprise": aw["enterprises"]["a1"].pk,
            "occurred_at_0": (timezone.localdate() - timedelta(days=1)).isoformat(),
            "occurred_at_1": "08:00:00",
            "description": "泄漏",
            "deaths": "3",
            "serious_injuries": "0",
            "direct_loss_yuan": "0",
        },
    )
    assert response.status_code == 302, response.content
    assert Incident.objects.get().grade == "relatively_serious"
    zone = aw["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="15000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    page = url("hazardunit", "change", HazardUnit.objects.get(warehouse_id=zone.warehouse_id).pk)
    assert (
        client_for(aw["users"]["regulator"]).post(page, {"people_within_500m": "0"}).status_code
        == 403
    )
    operator = client_for(aw["users"]["park_operator"])
    assert operator.post(page, {"people_within_500m": "0"}).status_code == 302
    unit = HazardUnit.objects.get(warehouse_id=zone.warehouse_id)
    assert (unit.people_within_500m, unit.level) == (0, 4)
    assert AuditEntry.objects.filter(action="hazard_unit.update").count() == 1


@pytest.mark.parametrize(
    "who", ["superuser", "enterprise_admin", "viewer", "park_operator", "regulator", "regulator_c"]
)
def test_every_safety_page_renders(
    aw: dict[str, Any], receive: Any, chlorine: Any, who: str
) -> None:
    from tests.test_tenancy_matrix import _hazard_unit, _hidden_hazard, _incident

    _hidden_hazard(aw, receive)
    _incident(aw, receive)
    _hazard_unit(aw, receive)
    client = client_for(aw["users"][who])
    for model in MODELS:
        response = client.get(url(model))
        assert response.status_code == 200, (who, model)
        request = response.wsgi_request
        model_admin = response.context["cl"].model_admin
        if model_admin.has_add_permission(request):
            assert client.get(url(model, "add")).status_code == 200, (who, model)
        for obj in response.context["cl"].result_list[:3]:
            assert client.get(url(model, "change", obj.pk)).status_code == 200, (who, model)
        if who == "regulator_c":
            assert list(response.context["cl"].result_list) == [], model
