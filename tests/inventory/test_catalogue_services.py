"""Services of the catalogue, warehouses, zones and lot details: each happy path, and what
they refuse so that stock already admitted keeps the ground it was admitted on."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.exceptions import DomainError
from common.models import OutboxEvent
from inventory.exceptions import CapacityExceeded, IncompatibleStorage
from inventory.models import Material, StockLot, StockMovement, StorageZone, Warehouse
from inventory.services import (
    lot_update_details,
    material_create,
    material_update,
    stock_adjust,
    stock_reserve,
    warehouse_create,
    warehouse_update,
    zone_create,
    zone_update,
)
from tests import factories as f
from tests.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


def row(obj: Any) -> dict[str, Any]:
    """The stored column values of ``obj``, to show that a refusal changed nothing."""
    return type(obj).objects.filter(pk=obj.pk).values().get()


# --- materials -------------------------------------------------------------------------------


def chlorine(**overrides: Any) -> Material:
    fields: dict[str, Any] = {
        "name_zh": "液氯",
        "name_en": "Chlorine",
        "cas": "7782-50-5",
        "un_number": "UN1017",
        "primary_class": "2.3",
        "subsidiary_classes": ["5.1", "8"],
        "physical_state": "gas",
        "family": "chlorine",
        "default_unit": "t",
    }
    fields.update(overrides)
    return material_create(actor=SYSTEM, **fields)


def test_material_create_adds_a_catalogue_entry() -> None:
    material = chlorine(gb18218_threshold_t=Decimal(5))
    stored = Material.objects.get(pk=material.pk)
    assert stored.classes == ("2.3", "5.1", "8")
    assert (stored.family, stored.physical_state) == ("chlorine", "gas")
    assert stored.gb18218_threshold_t == Decimal(5)


def test_materials_without_cas_are_stored_as_null() -> None:
    for name in ("Mixture A", "Mixture B"):  # the unique column holds several NULLs
        mixture = material_create(actor=SYSTEM, name_zh=name, name_en=name, cas="")
        assert Material.objects.get(pk=mixture.pk).cas is None


def test_material_create_refuses_a_duplicate_cas_naming_it() -> None:
    chlorine()
    with pytest.raises(DomainError) as info:
        chlorine(name_en="Chlorine again")
    assert info.value.field == "cas"
    assert Material.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"primary_class": "", "subsidiary_classes": ["8"]}, "subsidiary_classes"),
        ({"subsidiary_classes": ["2.3"]}, "subsidiary_classes"),  # repeats the primary
        ({"subsidiary_classes": ["8", "8"]}, "subsidiary_classes"),
        ({"subsidiary_classes": ["11"]}, "subsidiary_classes"),
        ({"primary_class": "10"}, "primary_class"),
        ({"default_unit": "L"}, "default_unit"),  # a volume unit without a density
    ],
)
def test_material_create_refuses_classes_that_do_not_fit(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as info:
        chlorine(**overrides)
    assert info.value.field == field
    assert not Material.objects.exists()


def test_material_update_changes_an_entry_without_stock(world: dict[str, Any]) -> None:
    material = world["material"]
    updated = material_update(
        actor=SYSTEM, material=material, primary_class="3", un_number="UN1230", family="acid"
    )
    assert (updated.primary_class, updated.un_number, updated.family) == ("3", "UN1230", "acid")
    material.refresh_from_db()
    assert material.classes == ("3",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_class", "8"),
        ("subsidiary_classes", ["6.1", "8"]),
        ("family", "cyanide"),
        ("physical_state", "solid"),
    ],
)
def test_material_update_refuses_reclassifying_a_material_in_stock(
    world: dict[str, Any], receive: Any, field: str, value: Any
) -> None:
    material = f.MaterialFactory.create(primary_class="3", subsidiary_classes=["6.1"])
    receive(zone=world["zones"]["a1"], material=material, quantity="10")
    before = row(material)
    with pytest.raises(DomainError) as info:
        material_update(actor=SYSTEM, material=material, **{field: value})
    assert info.value.field == field
    assert row(material) == before


def test_material_in_stock_keeps_other_changes_and_unchanged_hazards(
    world: dict[str, Any], receive: Any
) -> None:
    material = f.MaterialFactory.create(primary_class="3", subsidiary_classes=["6.1", "8"])
    receive(zone=world["zones"]["a1"], material=material, quantity="10")
    # Sending the hazards it already has (in any order) is not a reclassification.
    updated = material_update(
        actor=SYSTEM,
        material=material,
        name_en="Renamed",
        gb18218_threshold_t=Decimal(500),
        primary_class="3",
        subsidiary_classes=["8", "6.1"],
        physical_state=material.physical_state,
    )
    assert (updated.name_en, updated.gb18218_threshold_t) == ("Renamed", Decimal(500))


def test_material_whose_lots_are_empty_may_be_reclassified(
    world: dict[str, Any], receive: Any
) -> None:
    material = f.MaterialFactory.create(primary_class="3")
    lot = receive(zone=world["zones"]["a1"], material=material, quantity="10")
    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal(-10))
    material_update(actor=SYSTEM, material=material, primary_class="8")
    material.refresh_from_db()
    assert material.primary_class == "8"


@pytest.mark.parametrize("field", ["id", "lots", "classes"])
def test_material_update_refuses_unknown_fields(world: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as info:
        material_update(actor=SYSTEM, material=world["material"], **{field: 1})
    assert info.value.field == field


def test_material_update_refuses_a_taken_cas_naming_it(world: dict[str, Any]) -> None:
    other = chlorine()
    material = world["material"]
    before = row(material)
    with pytest.raises(DomainError) as info:
        material_update(actor=SYSTEM, material=material, cas=other.cas)
    assert info.value.field == "cas"
    assert row(material) == before


def test_material_update_checks_classes_against_the_stored_ones(world: dict[str, Any]) -> None:
    material = world["material"]  # no primary class
    with pytest.raises(DomainError) as info:
        material_update(actor=SYSTEM, material=material, subsidiary_classes=["6.1"])
    assert info.value.field == "subsidiary_classes"


# --- warehouses ------------------------------------------------------------------------------


def build(world: dict[str, Any], **overrides: Any) -> Warehouse:
    fields: dict[str, Any] = {
        "park": world["parks"]["a"],
        "owner": world["enterprises"]["a1"],
        "code": "wh-new",
        "name": "Tank farm 3",
        "latitude": Decimal("29.95"),
        "longitude": Decimal("121.71"),
    }
    fields.update(overrides)
    return warehouse_create(actor=SYSTEM, **fields)


def test_warehouse_create_opens_own_and_shared_warehouses(world: dict[str, Any]) -> None:
    own = build(world, address="Gate 4")
    assert Warehouse.objects.get(pk=own.pk).owner == world["enterprises"]["a1"]
    shared = build(world, code="wh-shared", owner=None)
    assert Warehouse.objects.get(pk=shared.pk).is_shared


def test_warehouse_create_refuses_an_owner_of_another_park(world: dict[str, Any]) -> None:
    before = Warehouse.objects.count()
    with pytest.raises(DomainError) as info:
        build(world, owner=world["enterprises"]["b"])
    assert info.value.field == "owner"
    assert Warehouse.objects.count() == before


def test_warehouse_create_refuses_a_taken_code_naming_it(world: dict[str, Any]) -> None:
    before = Warehouse.objects.count()
    with pytest.raises(DomainError) as info:
        build(world, code=world["zones"]["c"].warehouse.code)
    assert info.value.field == "code"
    assert info.value.status_code == 400
    assert Warehouse.objects.count() == before


def test_warehouse_update_writes_the_changes(world: dict[str, Any]) -> None:
    warehouse = world["zones"]["a1"].warehouse
    updated = warehouse_update(actor=SYSTEM, warehouse=warehouse, name="Drum store", code="wh-ds")
    assert (updated.name, updated.code) == ("Drum store", "wh-ds")
    warehouse.refresh_from_db()
    assert (warehouse.name, warehouse.code) == ("Drum store", "wh-ds")


@pytest.mark.parametrize("field", ["park", "owner", "zones"])
def test_warehouse_update_refuses_park_owner_and_unknown_fields(
    world: dict[str, Any], field: str
) -> None:
    warehouse = world["zones"]["a1"].warehouse
    before = row(warehouse)
    with pytest.raises(DomainError) as info:
        warehouse_update(actor=SYSTEM, warehouse=warehouse, name="x", **{field: None})
    assert info.value.field == field
    assert row(warehouse) == before


def test_warehouse_update_refuses_a_taken_code_naming_it(world: dict[str, Any]) -> None:
    warehouse = world["zones"]["a1"].warehouse
    with pytest.raises(DomainError) as info:
        warehouse_update(
            actor=SYSTEM, warehouse=warehouse, code=world["zones"]["a2"].warehouse.code
        )
    assert info.value.field == "code"


# --- zones -----------------------------------------------------------------------------------


def test_zone_create_adds_an_empty_zone(world: dict[str, Any]) -> None:
    warehouse = world["zones"]["a1"].warehouse
    zone = zone_create(
        actor=SYSTEM,
        warehouse=warehouse,
        code="Z-ACID",
        capacity_kg=Decimal(50000),
        building="B",
        allowed_classes=["8"],
    )
    stored = StorageZone.objects.get(pk=zone.pk)
    assert (stored.warehouse, stored.capacity_kg, stored.allowed_classes, stored.building) == (
        warehouse,
        Decimal(50000),
        ["8"],
        "B",
    )


def test_zone_codes_are_unique_within_a_warehouse_only(world: dict[str, Any]) -> None:
    taken = world["zones"]["a1"]
    before = StorageZone.objects.count()
    with pytest.raises(DomainError) as info:
        zone_create(
            actor=SYSTEM, warehouse=taken.warehouse, code=taken.code, capacity_kg=Decimal(1)
        )
    assert info.value.field == "code"
    assert StorageZone.objects.count() == before
    other = world["zones"]["a2"].warehouse
    zone_create(actor=SYSTEM, warehouse=other, code=taken.code, capacity_kg=Decimal(1))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capacity_kg": Decimal(-1)}, "capacity_kg"),
        ({"capacity_kg": Decimal("10000000001")}, "capacity_kg"),
        ({"allowed_classes": ["8", "X"]}, "allowed_classes"),
        ({"allowed_classes": ["8", "8"]}, "allowed_classes"),
    ],
)
def test_zone_create_refuses_bad_values(
    world: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    fields: dict[str, Any] = {"code": "Z-NEW", "capacity_kg": Decimal(1000)}
    fields.update(overrides)
    with pytest.raises(DomainError) as info:
        zone_create(actor=SYSTEM, warehouse=world["zones"]["a1"].warehouse, **fields)
    assert info.value.field == field


def test_zone_update_writes_the_changes(world: dict[str, Any], receive: Any) -> None:
    zone = world["zones"]["a1"]
    receive(zone=zone, material=world["material"], quantity="400")
    updated = zone_update(
        actor=SYSTEM,
        zone=zone,
        code="Z-RENAMED",
        capacity_kg=Decimal(400),  # exactly what it holds
        allowed_classes=["3", "8"],
    )
    assert (updated.code, updated.capacity_kg, updated.allowed_classes) == (
        "Z-RENAMED",
        Decimal(400),
        ["3", "8"],
    )
    zone.refresh_from_db()
    assert (zone.code, zone.capacity_kg) == ("Z-RENAMED", Decimal(400))


def test_zone_update_refuses_a_capacity_below_what_the_zone_holds(
    world: dict[str, Any], receive: Any
) -> None:
    zone = world["zones"]["shared"]
    ents = world["enterprises"]
    receive(zone=zone, material=world["material"], quantity="300", owner=ents["a1"])
    receive(zone=zone, material=world["material"], quantity="200", owner=ents["a2"])
    before = row(zone)
    with pytest.raises(CapacityExceeded, match="holds 500") as info:
        zone_update(actor=SYSTEM, zone=zone, capacity_kg=Decimal("499.999"))
    assert info.value.field == "capacity_kg"
    assert row(zone) == before


def test_zone_update_refuses_to_unlicense_a_class_in_stock(
    world: dict[str, Any], receive: Any
) -> None:
    zone = world["zones"]["a1"]
    toxic_flammable = f.MaterialFactory.create(primary_class="3", subsidiary_classes=["6.1"])
    receive(zone=zone, material=toxic_flammable, quantity="10")
    before = row(zone)
    for kept in (["3", "8"], ["6.1", "8"]):  # the subsidiary class counts as well
        with pytest.raises(IncompatibleStorage) as info:
            zone_update(actor=SYSTEM, zone=zone, allowed_classes=kept)
        assert info.value.field == "allowed_classes"
    assert row(zone) == before
    # Classes nothing in the zone has may go.
    zone_update(actor=SYSTEM, zone=zone, allowed_classes=["3", "6.1"])
    zone.refresh_from_db()
    assert zone.allowed_classes == ["3", "6.1"]


def test_a_class_only_empty_lots_have_may_leave_the_licence(
    world: dict[str, Any], receive: Any
) -> None:
    zone = world["zones"]["a1"]
    lot = receive(zone=zone, material=f.MaterialFactory.create(primary_class="8"), quantity="5")
    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal(-5))
    zone_update(actor=SYSTEM, zone=zone, allowed_classes=["3"])
    zone.refresh_from_db()
    assert zone.allowed_classes == ["3"]


def test_zone_update_refuses_a_building_that_breaks_segregation(
    world: dict[str, Any], receive: Any
) -> None:
    warehouse = world["zones"]["a1"].warehouse
    flammable_zone = f.StorageZoneFactory.create(warehouse=warehouse, building="A")
    infectious_zone = f.StorageZoneFactory.create(
        warehouse=warehouse, building="B", allowed_classes=["6.2"]
    )
    receive(zone=flammable_zone, material=f.MaterialFactory.create(primary_class="3"))
    receive(zone=infectious_zone, material=f.MaterialFactory.create(primary_class="6.2"))
    before = row(infectious_zone)
    # 3 vs 6.2 is segregation code 3: separate buildings.
    with pytest.raises(IncompatibleStorage, match="segregation code 3") as info:
        zone_update(actor=SYSTEM, zone=infectious_zone, building="A")
    assert info.value.field == "building"
    assert row(infectious_zone) == before
    zone_update(actor=SYSTEM, zone=infectious_zone, building="C", name="Isolation store")
    infectious_zone.refresh_from_db()
    assert infectious_zone.building == "C"


@pytest.mark.parametrize("field", ["warehouse", "occupancy_kg", "lots"])
def test_zone_update_refuses_unknown_and_immutable_fields(
    world: dict[str, Any], field: str
) -> None:
    zone = world["zones"]["a1"]
    with pytest.raises(DomainError) as info:
        zone_update(actor=SYSTEM, zone=zone, **{field: world["zones"]["a2"].warehouse})
    assert info.value.field == field


def test_zone_update_refuses_a_taken_code_naming_it(world: dict[str, Any]) -> None:
    zone = world["zones"]["a1"]
    other = f.StorageZoneFactory.create(warehouse=zone.warehouse, code="TAKEN")
    with pytest.raises(DomainError) as info:
        zone_update(actor=SYSTEM, zone=zone, code=other.code)
    assert info.value.field == "code"
    zone.refresh_from_db()
    assert zone.code != "TAKEN"


def test_receipts_see_the_zone_as_changed_not_as_they_loaded_it(
    world: dict[str, Any], receive: Any
) -> None:
    """Admission reads the zone's capacity and licence under the warehouse lock that
    zone_update takes, so a zone object loaded before the change admits nothing more."""
    zone = world["zones"]["a1"]
    loaded_before = StorageZone.objects.get(pk=zone.pk)
    zone_update(actor=SYSTEM, zone=zone, capacity_kg=Decimal(500), allowed_classes=["3"])
    with pytest.raises(CapacityExceeded):
        receive(zone=loaded_before, material=world["material"], quantity="501")
    with pytest.raises(IncompatibleStorage, match="not licensed for class 8"):
        receive(zone=loaded_before, material=f.MaterialFactory.create(primary_class="8"))
    assert not StockLot.objects.exists()


# --- lot details -----------------------------------------------------------------------------


def test_lot_update_details_changes_details_only(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    stock_reserve(
        actor=SYSTEM, lot=lot, holder=lot.owner, quantity_kg=Decimal(250), expires_at=None
    )
    events = OutboxEvent.objects.filter(topic="stock.changed").count()
    updated = lot_update_details(
        actor=resolve_scope(world["users"]["warehouse_keeper"]),
        lot=lot,  # loaded before the reservation: its quantities are stale
        batch_no="B-7",
        purity_pct=Decimal("99.5"),
        grade="industrial",
        produced_on=date(2026, 1, 1),
        expires_on=date(2027, 1, 1),
    )
    stored = StockLot.objects.get(pk=lot.pk)
    assert (stored.batch_no, stored.purity_pct, stored.grade) == (
        "B-7",
        Decimal("99.5"),
        "industrial",
    )
    assert (stored.produced_on, stored.expires_on) == (date(2026, 1, 1), date(2027, 1, 1))
    assert (stored.on_hand_kg, stored.reserved_kg) == (Decimal(1000), Decimal(250))
    assert updated.reserved_kg == Decimal(250)
    assert StockMovement.objects.filter(lot=lot).count() == 1  # details are not in the ledger
    event = OutboxEvent.objects.filter(topic="stock.changed").latest("id")
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == events + 1
    assert event.payload == {"lot_ids": [lot.pk], "material_ids": [world["material"].pk]}
    assert_ledger_balanced()


@pytest.mark.parametrize(
    "changes",
    [
        {"produced_on": date(2026, 6, 1), "expires_on": date(2026, 5, 31)},
        {"produced_on": date(2027, 2, 1)},  # after the stored expiry
        {"expires_on": date(2025, 12, 31)},  # before the stored production
    ],
)
def test_lot_update_details_keeps_expiry_after_production(
    world: dict[str, Any], receive: Any, changes: dict[str, Any]
) -> None:
    lot = receive(
        zone=world["zones"]["a1"],
        material=world["material"],
        produced_on=date(2026, 1, 1),
        expires_on=date(2027, 1, 1),
    )
    before, events = row(lot), OutboxEvent.objects.count()
    with pytest.raises(DomainError) as info:
        lot_update_details(actor=SYSTEM, lot=lot, **changes)
    assert info.value.field == "expires_on"
    assert row(lot) == before
    assert OutboxEvent.objects.count() == events


@pytest.mark.parametrize("field", ["on_hand_kg", "reserved_kg", "zone", "owner", "material"])
def test_lot_update_details_never_touches_quantities_or_placement(
    world: dict[str, Any], receive: Any, field: str
) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"])
    before = row(lot)
    with pytest.raises(DomainError) as info:
        lot_update_details(actor=SYSTEM, lot=lot, batch_no="B-9", **{field: 0})
    assert info.value.field == field
    assert row(lot) == before


def test_lot_update_details_refuses_a_purity_over_100(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"])
    with pytest.raises(DomainError) as info:
        lot_update_details(actor=SYSTEM, lot=lot, purity_pct=Decimal("100.001"))
    assert info.value.field == "purity_pct"
