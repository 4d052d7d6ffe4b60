"""The park-level selectors the reports read: the safety summary (hazards open, overdue,
closure rate; incidents by grade; major hazard units), the breakdown per enterprise,
hazardous stock by class against licensed capacity, and lots in a zone that no longer
admits them; each scoped by role, in a constant number of queries."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.scope import resolve_scope
from inventory.models import Material, StorageZone
from safety.exceptions import ParkNotVisible
from safety.selectors import (
    enterprise_safety_breakdown,
    park_hazardous_stock,
    park_misplaced_lots,
    park_safety_summary,
)
from safety.services import (
    hazard_record,
    hazard_rectify,
    incident_report,
    inspection_create,
    major_hazards_recompute,
)
from tests import factories as f

pytestmark = pytest.mark.django_db
D = Decimal


def scope(world: dict[str, Any], name: str) -> Any:
    return resolve_scope(world["users"][name])


@pytest.fixture
def safety_world(world: dict[str, Any], receive: Any, chlorine: Any) -> dict[str, Any]:
    """Park A: hazards of a1 (overdue general t-15; open major t+5; general due t-10
    rectified t-12, on time; major due t-5 rectified t-1, late) and of a2 (overdue general
    t-3); incidents: a1 ordinary (t-2), a2 relatively serious (t-10), a1 serious out of the
    period (t-40); a1's warehouse holds 6 t of chlorine (S 1.2, R 9.6: level 4)."""
    today = timezone.localdate()
    world["today"] = today
    operator = scope(world, "park_operator")
    admins = {"a1": scope(world, "enterprise_admin"), "a2": scope(world, "other_admin")}

    def inspect(key: str) -> Any:
        return inspection_create(
            actor=operator,
            park=world["parks"]["a"],
            enterprise=world["enterprises"][key],
            inspected_on=today - timedelta(days=20),
        )

    def hazard(inspection: Any, grade: str, due: int, rectified: int | None = None) -> Any:
        found = hazard_record(
            actor=operator,
            inspection=inspection,
            description="隐患",
            grade=grade,
            deadline=today + timedelta(days=due),
        )
        if rectified is not None:
            key = "a1" if inspection.enterprise_id == world["enterprises"]["a1"].pk else "a2"
            hazard_rectify(
                actor=admins[key], hazard=found, rectified_on=today + timedelta(days=rectified)
            )
        return found

    a1, a2 = inspect("a1"), inspect("a2")
    hazard(a1, "general", -15)
    hazard(a1, "major", 5)
    hazard(a1, "general", -10, rectified=-12)
    hazard(a1, "major", -5, rectified=-1)
    hazard(a2, "general", -3)

    def incident(key: str, days: int, **figures: Any) -> None:
        incident_report(
            actor=admins[key],
            enterprise=world["enterprises"][key],
            occurred_at=datetime.combine(
                today - timedelta(days=days), time(10), tzinfo=timezone.get_current_timezone()
            ),
            description="事故",
            **figures,
        )

    incident("a1", 2, serious_injuries=1, direct_loss_yuan=D("12000.50"))
    incident("a2", 10, deaths=3)
    incident("a1", 40, direct_loss_yuan=D(60_000_000))
    zone = world["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="6000")
    major_hazards_recompute(
        warehouse_ids=[zone.warehouse_id, world["zones"]["shared"].warehouse_id]
    )
    return world


def test_the_park_summary_for_a_regulator(
    safety_world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    w, today = safety_world, safety_world["today"]
    regulator = scope(w, "regulator")
    with django_assert_num_queries(3):
        summary = park_safety_summary(
            scope=regulator,
            park_id=w["parks"]["a"].pk,
            start=today - timedelta(days=30),
            end=today,
        )
    h = summary.hazards
    assert (h.open_general, h.open_major, h.overdue_general, h.overdue_major) == (0, 1, 2, 0)
    assert (h.due, h.rectified, h.on_time, h.closure_rate) == (4, 2, 1, D("0.5"))
    assert h.unrectified == 3
    grades = {
        g.grade: (g.count, g.deaths, g.serious_injuries, g.direct_loss_yuan)
        for g in summary.incidents
    }
    assert grades == {
        "extraordinarily_serious": (0, 0, 0, D(0)),
        "serious": (0, 0, 0, D(0)),  # the 60 M yuan fire is before the period
        "relatively_serious": (1, 3, 0, D(0)),
        "ordinary": (1, 0, 1, D("12000.50")),
    }
    (unit,) = summary.major_hazard_units
    assert (unit.warehouse_id, unit.s, unit.r, unit.level) == (
        w["zones"]["a1"].warehouse_id,
        D("1.2"),
        D("9.6"),
        4,
    )


def test_an_enterprise_sees_its_own_rows_only(safety_world: dict[str, Any]) -> None:
    w, today = safety_world, safety_world["today"]
    summary = park_safety_summary(
        scope=scope(w, "viewer"), park_id=w["parks"]["a"].pk, start=today - timedelta(30), end=today
    )
    h = summary.hazards
    assert (h.overdue_general, h.open_major, h.due, h.rectified, h.closure_rate) == (
        1,
        1,
        3,
        2,
        D("0.6667"),
    )
    assert sum(g.count for g in summary.incidents) == 1
    assert len(summary.major_hazard_units) == 1  # its own warehouse
    other = park_safety_summary(
        scope=scope(w, "other_admin"),
        park_id=w["parks"]["a"].pk,
        start=today - timedelta(30),
        end=today,
    )
    assert other.major_hazard_units == [] and other.hazards.overdue_general == 1


@pytest.mark.parametrize("who", ["regulator_c", "park_b_admin", "park_c_admin"])
def test_another_parks_figures_are_not_found(safety_world: dict[str, Any], who: str) -> None:
    w, today, park = safety_world, safety_world["today"], safety_world["parks"]["a"].pk
    for read in (
        lambda s: park_safety_summary(scope=s, park_id=park, start=today, end=today),
        lambda s: enterprise_safety_breakdown(scope=s, park_id=park, start=today, end=today),
        lambda s: park_hazardous_stock(scope=s, park_id=park),
        lambda s: park_misplaced_lots(scope=s, park_id=park),
    ):
        with pytest.raises(ParkNotVisible):
            read(scope(w, who))


def test_the_breakdown_per_enterprise(
    safety_world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    w, today = safety_world, safety_world["today"]
    operator = scope(w, "park_operator")
    with django_assert_num_queries(4):
        rows = enterprise_safety_breakdown(
            scope=operator,
            park_id=w["parks"]["a"].pk,
            start=today - timedelta(days=60),
            end=today,
        )
    by_id = {row.enterprise_id: row for row in rows}
    a1, a2 = by_id[w["enterprises"]["a1"].pk], by_id[w["enterprises"]["a2"].pk]
    assert (a1.incidents, a1.serious_injuries, a1.direct_loss_yuan, a1.gravest_incident) == (
        2,
        1,
        D("60012000.50"),
        "serious",
    )
    assert (a1.major_hazard_units, a1.gravest_level, a1.hazards.due) == (1, 4, 3)
    assert (a2.incidents, a2.deaths, a2.gravest_incident, a2.major_hazard_units) == (
        1,
        3,
        "relatively_serious",
        0,
    )
    own = enterprise_safety_breakdown(
        scope=scope(w, "trader"), park_id=w["parks"]["a"].pk, start=today, end=today
    )
    assert [row.enterprise_id for row in own] == [w["enterprises"]["a1"].pk]


def licensed(zone: StorageZone, classes: list[str], capacity_kg: int) -> StorageZone:
    StorageZone.objects.filter(pk=zone.pk).update(allowed_classes=classes, capacity_kg=capacity_kg)
    zone.refresh_from_db()
    return zone


def test_hazardous_stock_by_class_against_licensed_capacity(
    world: dict[str, Any], receive: Any, django_assert_num_queries: Any
) -> None:
    zones = world["zones"]
    a1 = licensed(zones["a1"], ["3", "8"], 10000)
    shared = licensed(zones["shared"], ["3"], 5000)
    a2 = licensed(zones["a2"], ["8"], 2000)
    licensed(zones["b"], ["3"], 99999)  # another park
    flammable = f.MaterialFactory.create(primary_class="3")
    corrosive = f.MaterialFactory.create(primary_class="8")
    receive(zone=a1, material=flammable, quantity="4000")
    receive(zone=shared, material=flammable, quantity="1000", owner=world["enterprises"]["a1"])
    receive(zone=a2, material=corrosive, quantity="1500")
    receive(zone=zones["b"], material=flammable, quantity="500")
    park, regulator = world["parks"]["a"].pk, scope(world, "regulator")
    with django_assert_num_queries(2):
        rows = park_hazardous_stock(scope=regulator, park_id=park)
    assert [(r.hazard_class, r.on_hand_kg, r.licensed_capacity_kg, r.licensed_zones, r.utilisation)
            for r in rows] == [
        ("3", D(5000), D(15000), 2, D("0.3333")),
        ("8", D(1500), D(12000), 2, D("0.125")),
    ]  # fmt: skip
    own = park_hazardous_stock(scope=scope(world, "viewer"), park_id=park)
    assert [(r.hazard_class, r.on_hand_kg, r.licensed_capacity_kg) for r in own] == [
        ("3", D(5000), D(15000)),  # its own zone and the park's shared one
        ("8", D(0), D(10000)),
    ]
    assert not any(r.over_capacity for r in rows)


def test_lots_in_a_zone_that_no_longer_admits_them(
    world: dict[str, Any], receive: Any, django_assert_num_queries: Any
) -> None:
    """A licence withdrawn from a zone, and a material reclassified (an oxidizer next to a
    flammable liquid: the pair needs separate zones), behind the services' backs (legacy
    data, a catalogue correction): the one admission rule finds them."""
    zones = world["zones"]
    flammable = f.MaterialFactory.create(primary_class="3", name_en="Toluene")
    becomes_oxidizer = f.MaterialFactory.create(name_en="Sodium chlorate")
    fine = receive(zone=zones["a2"], material=flammable, quantity="100")
    lot = receive(zone=zones["a1"], material=flammable, quantity="100")
    other = receive(zone=zones["a1"], material=becomes_oxidizer, quantity="100")
    park = world["parks"]["a"].pk
    regulator = scope(world, "regulator")
    assert park_misplaced_lots(scope=regulator, park_id=park) == []
    Material.objects.filter(pk=becomes_oxidizer.pk).update(primary_class="5.1")
    licensed(zones["a2"], ["8"], 1000000)
    with django_assert_num_queries(3):
        found = park_misplaced_lots(scope=regulator, park_id=park)
    assert {(m.lot_id, m.check) for m in found} == {
        (fine.pk, "licence"),
        (lot.pk, "segregation"),
        (other.pk, "segregation"),
    }
    assert "not licensed for class 3" in next(m.reason for m in found if m.lot_id == fine.pk)
    own = park_misplaced_lots(scope=scope(world, "viewer"), park_id=park)
    assert {m.lot_id for m in own} == {lot.pk, other.pk}  # a1's lots only
