"""Major hazard units kept current from the ledger: the recompute after a receipt, an issue,
a move and an ownership transfer through the inventory's services (through the outbox's
``stock.changed`` subscriber), the event when S crosses 1 or the level changes, S at
capacity, the profile's α, the command's idempotence and the constant number of queries."""

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.scope import SYSTEM, resolve_scope
from common.models import OutboxEvent
from inventory.services import stock_adjust, stock_move, stock_reserve, stock_transfer
from notifications.catalogue import event_type
from notifications.services.fanout import audience
from safety.handlers import recompute_batch
from safety.models import HazardUnit
from safety.services import hazard_unit_update, major_hazards_recompute
from tests import factories as f
from tests.audited import one_audit_row
from tests.outbox import deliver

pytestmark = pytest.mark.django_db
D = Decimal


def changed_events() -> list[dict[str, Any]]:
    return [
        e.payload for e in OutboxEvent.objects.filter(topic="major_hazard.changed").order_by("pk")
    ]


def run_subscriber() -> None:
    """Hand the pending stock.changed events to the safety subscriber, as the outbox would."""
    pending = list(OutboxEvent.objects.filter(topic="stock.changed", fanned_out_at__isnull=True))
    recompute_batch(pending)
    OutboxEvent.objects.filter(pk__in=[e.pk for e in pending]).update(
        fanned_out_at=pending[-1].created_at if pending else None
    )


def unit_of(zone: Any) -> HazardUnit:
    return HazardUnit.objects.get(warehouse_id=zone.warehouse_id)


def test_a_receipt_delivered_through_the_outbox_recomputes_its_warehouse(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    zone = world["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="3000")
    event = OutboxEvent.objects.get(topic="stock.changed")
    assert deliver(event)  # every subscriber of stock.changed, the safety one among them
    unit = unit_of(zone)
    assert unit.s == D("0.6") and unit.level is None and unit.hazardous_t == D(3)
    # α not surveyed: 2.0; R = 2.0 × 4 × 0.6
    assert unit.r == D("4.8")
    assert changed_events() == []  # S below 1: nothing to say
    assert not HazardUnit.objects.exclude(warehouse_id=zone.warehouse_id).exists()  # only its unit


def test_crossing_one_up_and_down_emits_the_event(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    zone = world["zones"]["a1"]
    lot = receive(zone=zone, material=chlorine, quantity="3000")
    run_subscriber()
    receive(zone=zone, material=chlorine, quantity="2500")  # 5.5 t: S = 1.1
    run_subscriber()
    unit = unit_of(zone)
    assert (unit.s, unit.r, unit.level) == (D("1.1"), D("8.8"), 4)
    (up,) = changed_events()
    assert up == {
        "unit_id": unit.pk,
        "warehouse_id": zone.warehouse_id,
        "warehouse_code": zone.warehouse.code,
        "park_id": world["parks"]["a"].pk,
        "park_ids": [world["parks"]["a"].pk],
        "owner_id": world["enterprises"]["a1"].pk,
        "old_s": "0.6000",
        "new_s": "1.1000",
        "r": "8.8000",
        "old_level": None,
        "new_level": 4,
        "material_ids": [chlorine.pk],
    }
    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=D(-1000), note="issued")  # 4.5 t: S = 0.9
    run_subscriber()
    assert unit_of(zone).level is None
    down = changed_events()[-1]
    assert (down["old_level"], down["new_level"], down["new_s"]) == (4, None, "0.9000")
    # Redelivered: the figures are as they are, no second event.
    recompute_batch(list(OutboxEvent.objects.filter(topic="stock.changed")))
    assert len(changed_events()) == 2


def test_a_move_recomputes_both_warehouses_and_only_them(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    zone, shared = world["zones"]["a1"], world["zones"]["shared"]
    other = receive(zone=world["zones"]["a2"], material=chlorine, quantity="1000")
    lot = receive(zone=zone, material=chlorine, quantity="6000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id, other.zone.warehouse_id])
    OutboxEvent.objects.all().delete()
    stock_move(actor=SYSTEM, lot=lot, to_zone=shared, quantity_kg=D(4000))
    (moved,) = OutboxEvent.objects.filter(topic="stock.changed")
    untouched = unit_of(other.zone).computed_at
    recompute_batch([moved])
    assert unit_of(zone).s == D("0.4") and unit_of(zone).level is None
    assert unit_of(shared).s == D("0.8")
    assert unit_of(other.zone).computed_at == untouched  # a2's warehouse: not recomputed
    events = changed_events()
    assert [(e["warehouse_id"], e["old_level"], e["new_level"]) for e in events] == [
        (zone.warehouse_id, 4, None)
    ]


def test_an_ownership_transfer_in_place_changes_nothing_but_is_recomputed(
    world: dict[str, Any], receive: Any, methanol: Any
) -> None:
    shared = world["zones"]["shared"]
    lot = receive(
        zone=shared, material=methanol, quantity="600000", owner=world["enterprises"]["a1"]
    )
    run_subscriber()
    before = unit_of(shared)
    assert before.level is not None and before.s == D("1.2")
    reservation = stock_reserve(
        actor=SYSTEM,
        lot=lot,
        holder=world["enterprises"]["a2"],
        quantity_kg=D(100000),
        expires_at=None,
        reference="order:1",
    )
    stock_transfer(actor=SYSTEM, reservation=reservation, new_owner=world["enterprises"]["a2"])
    run_subscriber()
    after = unit_of(shared)
    assert after.s == D("1.2") and after.computed_at == before.computed_at  # nothing changed
    assert len(changed_events()) == 1  # the crossing of the receipt only


def test_s_at_capacity_fills_each_zone_with_its_current_mix(
    world: dict[str, Any], receive: Any, chlorine: Any, methanol: Any
) -> None:
    """Zone of 20 t holding 1 t chlorine, 3 t methanol and 1 t of a non-hazardous
    material (5 t): filled to 20 t, ×4: 4 t chlorine, 12 t methanol.
        S now = 1/5 + 3/500 = 0.206; at capacity = 4/5 + 12/500 = 0.824."""
    zone = f.StorageZoneFactory.create(
        warehouse=world["zones"]["a1"].warehouse, code="CAP", capacity_kg=D(20000)
    )
    water = f.MaterialFactory.create()
    receive(zone=zone, material=chlorine, quantity="1000")
    receive(zone=zone, material=methanol, quantity="3000")
    receive(zone=zone, material=water, quantity="1000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    unit = unit_of(zone)
    assert unit.s == D("0.206") and unit.s_at_capacity == D("0.824")
    assert unit.level is None and unit.level_at_capacity is None
    assert unit.hazardous_t == D(4)


def test_a_zones_new_capacity_reaches_its_units_figures_through_the_outbox(
    world: dict[str, Any], receive: Any, chlorine: Any, methanol: Any
) -> None:
    """The zone of the example above grows to 40 t (``zone.changed``, delivered to the
    safety subscriber): filled ×8, 8 t chlorine and 24 t methanol, S at capacity
    8/5 + 24/500 = 1.648, a major hazard at capacity; S now unchanged."""
    from inventory.services import zone_update

    zone = f.StorageZoneFactory.create(
        warehouse=world["zones"]["a1"].warehouse, code="CAP", capacity_kg=D(20000)
    )
    water = f.MaterialFactory.create()
    for material, kg in ((chlorine, "1000"), (methanol, "3000"), (water, "1000")):
        receive(zone=zone, material=material, quantity=kg)
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    assert unit_of(zone).s_at_capacity == D("0.824")
    zone_update(actor=SYSTEM, zone=zone, capacity_kg=D(40000))
    event = OutboxEvent.objects.get(topic="zone.changed")
    assert event.payload == {
        "zone_id": zone.pk,
        "warehouse_id": zone.warehouse_id,
        "park_id": zone.warehouse.park_id,
        "fields": ["capacity_kg"],
    }
    assert deliver(event)
    unit = unit_of(zone)
    assert unit.s == D("0.206") and unit.s_at_capacity == D("1.648")
    assert unit.level is None and unit.level_at_capacity is not None
    zone_update(actor=SYSTEM, zone=zone, name="renamed")  # nothing a unit reads
    assert OutboxEvent.objects.filter(topic="zone.changed").count() == 1


def test_a_corrected_threshold_reaches_the_warehouses_holding_the_material(
    world: dict[str, Any], receive: Any, chlorine: Any, methanol: Any
) -> None:
    """3 t of chlorine (Q 5 t): S 0.6. Its threshold corrected to 2 t (``material.changed``,
    delivered to the safety subscriber): S 1.5, a major hazard, and the event says so. A
    change the figures do not read (its English name) recomputes nothing."""
    from inventory.services import material_update

    zone = world["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="3000")
    receive(zone=world["zones"]["b"], material=methanol, quantity="1000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id, world["zones"]["b"].warehouse_id])
    before = unit_of(zone)
    assert before.s == D("0.6") and before.level is None
    material_update(actor=SYSTEM, material=chlorine, name_en="Chlorine (liquefied)")
    assert deliver(OutboxEvent.objects.get(topic="material.changed"))
    assert unit_of(zone).computed_at == before.computed_at
    material_update(actor=SYSTEM, material=chlorine, gb18218_threshold_t=D(2))
    (event,) = OutboxEvent.objects.filter(topic="material.changed", fanned_out_at=None)
    assert deliver(event)
    after = unit_of(zone)
    assert after.s == D("1.5") and after.level is not None
    assert changed_events()[-1]["new_level"] == after.level
    # The warehouse without chlorine was left alone.
    other = unit_of(world["zones"]["b"])
    assert other.computed_at <= before.computed_at  # type: ignore[operator]


def test_the_profile_sets_alpha_and_may_change_the_level(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    """15 t of chlorine: S = 3; R = α × 4 × 3 = 12 α: not surveyed (α 2) 24 -> level 3;
    nobody within 500 m (α 0.5) 6 -> level 4."""
    zone = world["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="15000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    unit = unit_of(zone)
    assert (unit.r, unit.level) == (D(24), 3)
    operator = resolve_scope(world["users"]["park_operator"])
    with one_audit_row(actor=operator, action="hazard_unit.update", target=unit) as row:
        hazard_unit_update(actor=operator, unit=unit, people_within_500m=0)
    assert row.entry.changes["people_within_500m"] == [None, 0]
    unit.refresh_from_db()
    assert (unit.r, unit.level) == (D(6), 4)
    assert changed_events()[-1]["old_level"] == 3 and changed_events()[-1]["new_level"] == 4


def test_only_the_parks_operators_set_the_profile(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    from common.exceptions import NotPermitted

    zone = world["zones"]["a1"]
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    unit = unit_of(zone)
    for name in ("regulator", "enterprise_admin", "regulator_c"):
        with pytest.raises(NotPermitted):
            hazard_unit_update(
                actor=resolve_scope(world["users"][name]), unit=unit, people_within_500m=5
            )
    assert unit_of(zone).people_within_500m is None


def test_the_command_is_idempotent(world: dict[str, Any], receive: Any, chlorine: Any) -> None:
    receive(zone=world["zones"]["a1"], material=chlorine, quantity="6000")
    out = StringIO()
    call_command("major_hazards_recompute", stdout=out)
    assert "units computed" in out.getvalue()
    first = list(HazardUnit.objects.order_by("pk").values())
    events = len(changed_events())
    assert events == 1
    call_command("major_hazards_recompute", stdout=StringIO())
    assert list(HazardUnit.objects.order_by("pk").values()) == first
    assert len(changed_events()) == events


def test_queries_do_not_grow_with_the_warehouses(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    def zones(n: int) -> list[Any]:
        out = []
        for _ in range(n):
            zone = f.StorageZoneFactory.create(
                warehouse=f.WarehouseFactory.create(owner=world["enterprises"]["a1"])
            )
            receive(zone=zone, material=chlorine, quantity="6000")
            out.append(zone)
        return out

    few, many = zones(1), zones(6)
    with CaptureQueriesContext(connection) as one:
        major_hazards_recompute(warehouse_ids=[z.warehouse_id for z in few])
    with CaptureQueriesContext(connection) as six:
        major_hazards_recompute(warehouse_ids=[z.warehouse_id for z in many])
    assert len(six) == len(one) <= 8


def test_the_event_is_heard_by_the_parks_regulators_operators_and_the_owners_admins(
    world: dict[str, Any], receive: Any, chlorine: Any
) -> None:
    zone = world["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="6000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    (data,) = changed_events()
    kind = event_type("major_hazard.changed")
    assert kind is not None
    names = {user.pk: name for name, user in world["users"].items()}
    heard = {names.get(uid, f"#{uid}") for uid, _enterprise in audience(kind, data)}
    assert heard == {"enterprise_admin", "park_operator", "regulator"}


def test_the_worked_example_of_docs_safety_md(
    world: dict[str, Any], receive: Any, chlorine: Any, methanol: Any
) -> None:
    """docs/safety.md: 3 t chlorine in a 10 t zone, 300 t methanol and 100 t of a product
    without threshold in a 1,000 t zone, 60 people (α 1.5): S 1.2, R 4.5, level 4; at
    capacity S 3.5, R 14.25, level 3; not surveyed (α 2.0): R 6.0."""
    warehouse = f.WarehouseFactory.create(owner=world["enterprises"]["a1"])
    tgas = f.StorageZoneFactory.create(warehouse=warehouse, code="TGAS-01", capacity_kg=D(10000))
    fl = f.StorageZoneFactory.create(warehouse=warehouse, code="FL-01", capacity_kg=D(1000000))
    receive(zone=tgas, material=chlorine, quantity="3000")
    receive(zone=fl, material=methanol, quantity="300000")
    receive(zone=fl, material=f.MaterialFactory.create(), quantity="100000")
    major_hazards_recompute(warehouse_ids=[warehouse.pk])
    unit = HazardUnit.objects.get(warehouse_id=warehouse.pk)
    assert (unit.s, unit.r, unit.level) == (D("1.2"), D("6.0"), 4)  # α 2.0: not surveyed
    hazard_unit_update(
        actor=resolve_scope(world["users"]["park_operator"]), unit=unit, people_within_500m=60
    )
    unit.refresh_from_db()
    assert (unit.s, unit.r, unit.level) == (D("1.2"), D("4.5"), 4)
    assert (unit.s_at_capacity, unit.r_at_capacity, unit.level_at_capacity) == (
        D("3.5"),
        D("14.25"),
        3,
    )
