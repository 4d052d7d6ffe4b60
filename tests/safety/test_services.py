"""The safety services: who may do what (regulators inspect only in their parks and write
nothing else), one audit row each, the checks on dates and parks, the hazard's status."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from access.scope import resolve_scope
from common.exceptions import Conflict, DomainError, NotPermitted
from safety.models import HiddenHazard, Incident, Inspection, hazard_status
from safety.services import (
    hazard_confirm,
    hazard_record,
    hazard_rectify,
    hazard_reopen,
    incident_report,
    incident_update,
    inspection_create,
)
from tests.audited import one_audit_row

pytestmark = pytest.mark.django_db
D = Decimal


def scope(world: dict[str, Any], name: str) -> Any:
    return resolve_scope(world["users"][name])


def inspect(world: dict[str, Any], who: str = "regulator", **kwargs: Any) -> Inspection:
    values = {
        "park": world["parks"]["a"],
        "enterprise": world["enterprises"]["a1"],
        "inspected_on": timezone.localdate() - timedelta(days=20),
    }
    values.update(kwargs)
    return inspection_create(actor=scope(world, who), **values)


def hazard(world: dict[str, Any], inspection: Inspection, days: int = 10) -> HiddenHazard:
    return hazard_record(
        actor=scope(world, "regulator"),
        inspection=inspection,
        description="消防通道堵塞",
        grade="major",
        deadline=inspection.inspected_on + timedelta(days=days),
    )


def test_a_regulator_records_an_inspection_and_its_hazards_in_its_park(
    world: dict[str, Any],
) -> None:
    regulator = scope(world, "regulator")
    with one_audit_row(actor=regulator, action="inspection.create") as row:
        inspection = inspect(world)
    assert row.entry.enterprise_id == world["enterprises"]["a1"].pk
    assert row.entry.park_id == world["parks"]["a"].pk
    assert inspection.inspector == world["users"]["regulator"]
    with one_audit_row(actor=regulator, action="hidden_hazard.create") as row:
        found = hazard(world, inspection)
    assert found.found_on == inspection.inspected_on
    assert (found.park_id, found.enterprise_id) == (inspection.park_id, inspection.enterprise_id)
    assert row.entry.changes["grade"] == [None, "major"]


@pytest.mark.parametrize("who", ["regulator_c", "enterprise_admin", "viewer", "trader"])
def test_nobody_else_inspects_in_park_a(world: dict[str, Any], who: str) -> None:
    with pytest.raises(NotPermitted):
        inspect(world, who)
    inspection = inspect(world)
    with pytest.raises(NotPermitted):
        hazard_record(
            actor=scope(world, who),
            inspection=inspection,
            description="x",
            grade="general",
            deadline=inspection.inspected_on,
        )
    assert Inspection.objects.count() == 1 and not HiddenHazard.objects.exists()


def test_an_operator_inspects_too_and_a_superuser(world: dict[str, Any]) -> None:
    assert inspect(world, "park_operator").pk
    assert inspect(world, "superuser").pk


def test_the_regulator_writes_nothing_else(world: dict[str, Any]) -> None:
    """The exception is the inspectors' work only: a regulator neither reports an incident
    nor a rectification."""
    regulator = scope(world, "regulator")
    with pytest.raises(NotPermitted):
        incident_report(
            actor=regulator,
            enterprise=world["enterprises"]["a1"],
            occurred_at=timezone.now(),
            description="x",
        )
    found = hazard(world, inspect(world))
    with pytest.raises(NotPermitted):
        hazard_rectify(actor=regulator, hazard=found, rectified_on=timezone.localdate())
    assert regulator.is_read_only  # what every other app asks stays true


def test_an_enterprise_of_another_park_is_refused(world: dict[str, Any]) -> None:
    with pytest.raises(DomainError) as refused:
        inspect(world, enterprise=world["enterprises"]["b"])
    assert refused.value.field == "enterprise"


def test_dates_are_checked(world: dict[str, Any]) -> None:
    with pytest.raises(DomainError) as refused:
        inspect(world, inspected_on=timezone.localdate() + timedelta(days=1))
    assert refused.value.field == "inspected_on"
    inspection = inspect(world)
    with pytest.raises(DomainError) as refused:
        hazard(world, inspection, days=-1)  # deadline before the inspection
    assert refused.value.field == "deadline"
    found = hazard(world, inspection)
    admin = scope(world, "enterprise_admin")
    for day in (inspection.inspected_on - timedelta(days=1), timezone.localdate() + timedelta(1)):
        with pytest.raises(DomainError) as refused:
            hazard_rectify(actor=admin, hazard=found, rectified_on=day)
        assert refused.value.field == "rectified_on"


def test_rectify_confirm_reopen(world: dict[str, Any]) -> None:
    inspection = inspect(world)
    found = hazard(world, inspection, days=5)  # deadline 15 days ago: overdue
    assert found.status == "overdue"
    admin, regulator = scope(world, "enterprise_admin"), scope(world, "regulator")
    with pytest.raises(Conflict):
        hazard_confirm(actor=regulator, hazard=found)  # nothing reported yet
    with pytest.raises(NotPermitted):  # a trader is not an admin
        hazard_rectify(actor=scope(world, "trader"), hazard=found, rectified_on=date.today())
    day = timezone.localdate() - timedelta(days=2)
    with one_audit_row(actor=admin, action="hidden_hazard.rectify", target=found) as row:
        hazard_rectify(actor=admin, hazard=found, rectified_on=day, note="已清理")
    assert row.entry.changes["rectified_on"] == [None, day.isoformat()]
    assert found.status == "rectified" and found.rectification_note == "已清理"
    with pytest.raises(Conflict):
        hazard_rectify(actor=admin, hazard=found, rectified_on=day)
    with pytest.raises(NotPermitted):
        hazard_confirm(actor=scope(world, "regulator_c"), hazard=found)
    with one_audit_row(actor=regulator, action="hidden_hazard.confirm", target=found):
        hazard_confirm(actor=regulator, hazard=found)
    assert found.confirmed_at is not None and found.confirmed_by == world["users"]["regulator"]
    operator = scope(world, "park_operator")
    with one_audit_row(actor=operator, action="hidden_hazard.reopen", target=found) as row:
        hazard_reopen(actor=operator, hazard=found, note="复查仍有堵塞")
    assert row.entry.note == "复查仍有堵塞"
    assert found.rectified_on is None and found.confirmed_at is None
    assert found.status == "overdue"
    with pytest.raises(Conflict):
        hazard_reopen(actor=operator, hazard=found)


def test_the_status_from_the_dates() -> None:
    today = date(2026, 6, 10)
    assert hazard_status(deadline=today, rectified_on=None, today=today) == "open"
    assert hazard_status(deadline=date(2026, 6, 9), rectified_on=None, today=today) == "overdue"
    assert (
        hazard_status(deadline=date(2026, 6, 9), rectified_on=date(2026, 6, 10), today=today)
        == "rectified"
    )


def test_an_enterprise_admin_reports_an_incident_graded_per_decree_493(
    world: dict[str, Any],
) -> None:
    admin = scope(world, "enterprise_admin")
    with one_audit_row(actor=admin, action="incident.report") as row:
        incident = incident_report(
            actor=admin,
            enterprise=world["enterprises"]["a1"],
            occurred_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
            description="储罐泄漏",
            deaths=2,
            serious_injuries=9,
            direct_loss_yuan=D("9999999.99"),
        )
    assert incident.grade == "ordinary" and incident.park_id == world["parks"]["a"].pk
    assert row.entry.changes["grade"] == [None, "ordinary"]
    # A third death within the days that count: corrected, graded again.
    operator = scope(world, "park_operator")
    with one_audit_row(actor=operator, action="incident.update", target=incident) as row:
        incident_update(actor=operator, incident=incident, deaths=3)
    assert incident.grade == "relatively_serious"
    assert row.entry.changes == {"deaths": [2, 3], "grade": ["ordinary", "relatively_serious"]}


@pytest.mark.parametrize("who", ["trader", "viewer", "other_admin", "regulator", "park_b_admin"])
def test_who_may_not_report_an_incident_of_a1(world: dict[str, Any], who: str) -> None:
    with pytest.raises(NotPermitted):
        incident_report(
            actor=scope(world, who),
            enterprise=world["enterprises"]["a1"],
            occurred_at=timezone.now(),
            description="x",
        )
    assert not Incident.objects.exists()


def test_bad_figures_leave_nothing(world: dict[str, Any]) -> None:
    admin = scope(world, "enterprise_admin")
    base = {
        "actor": admin,
        "enterprise": world["enterprises"]["a1"],
        "occurred_at": timezone.now() - timedelta(hours=1),
        "description": "x",
    }
    with pytest.raises(DomainError) as refused:
        incident_report(**base, deaths=-1)
    assert refused.value.field == "deaths"
    with pytest.raises(DomainError) as refused:
        incident_report(**{**base, "occurred_at": timezone.now() + timedelta(days=1)})
    assert refused.value.field == "occurred_at"
    with pytest.raises(ValidationError):
        incident_report(**base, direct_loss_yuan=D("1e20"))
    with pytest.raises(DomainError) as refused:
        incident_update(actor=admin, incident=incident_report(**base), park=world["parks"]["b"])
    assert refused.value.field == "park"
    assert Incident.objects.count() == 1
