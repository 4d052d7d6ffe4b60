"""The inventory's services run the models' own validators on what they write: a bad CAS or
UN number, a range, a length or kilograms finer than a gram, given by a command or a task
(the service called directly), is refused naming the field, and nothing is written: no
row, no ledger line, no audit row, no event. The admin refuses the same on its form."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from access.scope import resolve_scope
from audit.models import AuditEntry
from inventory.models import (
    Material,
    Reservation,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)
from inventory.services import (
    lot_update_details,
    material_create,
    material_update,
    stock_adjust,
    stock_move,
    stock_receive,
    stock_reserve,
    warehouse_create,
    zone_create,
    zone_update,
)
from tests import factories as f
from tests.test_admin import change_form_data, client_for
from tests.validation import refused_on, stored

pytestmark = pytest.mark.django_db


# --- the catalogue ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cas": "7782-50-4"}, "cas"),  # check digit 5
        ({"cas": "7782505"}, "cas"),
        ({"un_number": "1017"}, "un_number"),
        ({"density_kg_per_l": Decimal(31)}, "density_kg_per_l"),
        ({"gb18218_threshold_t": Decimal(0)}, "gb18218_threshold_t"),
        ({"physical_state": "plasma"}, "physical_state"),
        ({"name_en": "n" * 201}, "name_en"),
    ],
)
def test_material_create_refuses_what_the_model_refuses(
    world: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    fields: dict[str, Any] = {
        "name_zh": "液氯",
        "name_en": "Chlorine",
        "cas": "7782-50-5",
        "un_number": "UN1017",
        "primary_class": "2.3",
        "physical_state": "gas",
    }
    with refused_on(field, Material):
        material_create(actor=resolve_scope(world["users"]["superuser"]), **{**fields, **overrides})


def test_material_update_refuses_a_wrong_cas_and_changes_nothing(world: dict[str, Any]) -> None:
    material = world["material"]
    before = stored(material)
    with refused_on("cas", Material):
        material_update(
            actor=resolve_scope(world["users"]["superuser"]),
            material=material,
            cas="64-17-6",
            name_en="X",
        )
    assert stored(material) == before


def test_warehouse_create_refuses_a_code_and_a_place_out_of_range(world: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "park": world["parks"]["a"],
        "owner": world["enterprises"]["a1"],
        "code": "wh-new",
        "name": "New store",
        "latitude": Decimal("29.9"),
        "longitude": Decimal("121.7"),
    }
    actor = resolve_scope(world["users"]["enterprise_admin"])
    with refused_on("code", Warehouse):
        warehouse_create(actor=actor, **{**fields, "code": "wh new/1"})
    with refused_on("latitude", Warehouse):
        warehouse_create(actor=actor, **{**fields, "latitude": Decimal("95")})


def test_zone_create_and_update_refuse_a_capacity_finer_than_a_gram(
    world: dict[str, Any],
) -> None:
    actor = resolve_scope(world["users"]["warehouse_keeper"])
    warehouse = world["zones"]["a1"].warehouse
    with refused_on("capacity_kg", StorageZone):
        zone_create(actor=actor, warehouse=warehouse, code="Z-9", capacity_kg=Decimal("1.0005"))
    with refused_on("code", StorageZone):
        zone_create(actor=actor, warehouse=warehouse, code="Z" * 21, capacity_kg=Decimal(10))
    zone = world["zones"]["a1"]
    before = stored(zone)
    with refused_on("capacity_kg", StorageZone):
        zone_update(actor=actor, zone=zone, capacity_kg=Decimal("5000.0001"))
    assert stored(zone) == before


# --- stock -----------------------------------------------------------------------------------


@pytest.fixture
def lot(world: dict[str, Any], receive: Any) -> StockLot:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purity_pct": Decimal(150)}, "purity_pct"),
        ({"quantity_kg": Decimal("2.0005")}, "on_hand_kg"),
        ({"batch_no": "b" * 65}, "batch_no"),
        ({"grade": "g" * 41}, "grade"),
        ({"reference": "r" * 121}, "reference"),
        ({"note": "n" * 256}, "note"),
    ],
)
def test_stock_receive_refuses_what_the_models_refuse(
    world: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    zone = world["zones"]["a1"]
    fields: dict[str, Any] = {
        "owner": zone.warehouse.owner,
        "material": world["material"],
        "zone": zone,
        "quantity_kg": Decimal(2),
    }
    with refused_on(field, StockLot, StockMovement):
        stock_receive(
            actor=resolve_scope(world["users"]["warehouse_keeper"]), **{**fields, **overrides}
        )


def test_stock_adjust_and_move_refuse_and_leave_the_lot_as_it_was(
    world: dict[str, Any], lot: StockLot
) -> None:
    actor = resolve_scope(world["users"]["warehouse_keeper"])
    before = stored(lot)
    with refused_on("quantity_kg", StockLot, StockMovement):
        stock_adjust(actor=actor, lot=lot, delta_kg=Decimal("-0.0005"))
    with refused_on("note", StockLot, StockMovement):
        stock_adjust(actor=actor, lot=lot, delta_kg=Decimal(-1), note="n" * 256)
    other_zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, code="Z-2")
    with refused_on("note", StockLot, StockMovement):
        stock_move(actor=actor, lot=lot, to_zone=other_zone, quantity_kg=Decimal(5), note="n" * 256)
    assert stored(lot) == before


def test_lot_update_details_refuses_a_grade_too_long(world: dict[str, Any], lot: StockLot) -> None:
    before = stored(lot)
    with refused_on("grade", StockLot):
        lot_update_details(
            actor=resolve_scope(world["users"]["warehouse_keeper"]), lot=lot, grade="g" * 41
        )
    assert stored(lot) == before


def test_stock_reserve_refuses_kilograms_finer_than_a_gram(
    world: dict[str, Any], lot: StockLot
) -> None:
    before = stored(lot)
    with refused_on("quantity_kg", Reservation, StockLot):
        stock_reserve(
            actor=resolve_scope(world["users"]["trader"]),
            lot=lot,
            holder=world["enterprises"]["a2"],
            quantity_kg=Decimal("1.0001"),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    assert stored(lot) == before


# --- the admin -------------------------------------------------------------------------------


def test_the_admin_refuses_a_wrong_cas_on_its_form(world: dict[str, Any]) -> None:
    material = world["material"]
    before = stored(material)
    audit_rows = AuditEntry.objects.count()
    client = client_for(world["users"]["superuser"])
    url = reverse("admin:inventory_material_change", args=[material.pk])
    response = client.post(url, {**change_form_data(client, url), "cas": "64-17-6"})
    assert response.status_code == 200
    assert "cas" in response.context["adminform"].form.errors
    assert stored(material) == before
    assert AuditEntry.objects.count() == audit_rows
