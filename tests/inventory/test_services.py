from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.exceptions import DomainError
from common.models import OutboxEvent
from inventory.exceptions import (
    CapacityExceeded,
    IncompatibleStorage,
    InsufficientStock,
    ZoneNotPermitted,
)
from inventory.models import MovementKind, StockLot, StockMovement
from inventory.services import stock_adjust, stock_move, stock_receive, stock_reserve
from tests import factories as f
from tests.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


def reserve(lot: StockLot, quantity: str) -> None:
    """Hold stock of ``lot`` for its owner (reserved stock is what these tests need)."""
    stock_reserve(
        actor=SYSTEM, lot=lot, holder=lot.owner, quantity_kg=Decimal(quantity), expires_at=None
    )


def counts() -> tuple[int, int, int]:
    return StockLot.objects.count(), StockMovement.objects.count(), OutboxEvent.objects.count()


def test_receipt_creates_lot_ledger_row_and_event(world: dict[str, Any]) -> None:
    zone, material = world["zones"]["a1"], world["material"]
    lot = stock_receive(
        actor=resolve_scope(world["users"]["warehouse_keeper"]),
        owner=world["enterprises"]["a1"],
        material=material,
        zone=zone,
        quantity_kg=Decimal("1250.500"),
        batch_no="B-1",
    )
    assert lot.on_hand_kg == Decimal("1250.500")
    movement = lot.movements.get()
    assert movement.kind == MovementKind.RECEIPT
    assert movement.quantity_kg == Decimal("1250.500")
    assert movement.actor == world["users"]["warehouse_keeper"]
    event = OutboxEvent.objects.get(topic="stock.changed")
    assert event.payload == {"lot_ids": [lot.pk], "material_ids": [material.pk]}
    assert_ledger_balanced()


@pytest.mark.parametrize("qty", ["0", "-1", "10000000001"])
def test_receipt_refuses_bad_quantities(world: dict[str, Any], qty: str) -> None:
    before = counts()
    with pytest.raises(DomainError) as info:
        stock_receive(
            actor=SYSTEM,
            owner=world["enterprises"]["a1"],
            material=world["material"],
            zone=world["zones"]["a1"],
            quantity_kg=Decimal(qty),
        )
    assert info.value.field == "quantity"
    assert counts() == before


def test_receipt_only_into_own_or_own_parks_shared_warehouse(
    world: dict[str, Any], receive: Any
) -> None:
    a1, material = world["enterprises"]["a1"], world["material"]
    with pytest.raises(ZoneNotPermitted):
        stock_receive(
            actor=SYSTEM,
            owner=a1,
            material=material,
            zone=world["zones"]["a2"],
            quantity_kg=Decimal(1),
        )
    lot = receive(zone=world["zones"]["shared"], owner=a1, material=material, quantity="5")
    assert lot.zone.warehouse.owner is None
    other_park_shared = f.StorageZoneFactory.create(
        warehouse=f.WarehouseFactory.create(owner=None, park=world["parks"]["b"])
    )
    with pytest.raises(ZoneNotPermitted):
        receive(zone=other_park_shared, owner=a1, material=material, quantity="5")


def test_receipt_respects_zone_licence(world: dict[str, Any], receive: Any) -> None:
    zone = f.StorageZoneFactory.create(
        warehouse=world["zones"]["a1"].warehouse, allowed_classes=["3"]
    )
    corrosive = f.MaterialFactory.create(primary_class="8")
    before = counts()
    with pytest.raises(IncompatibleStorage, match="not licensed for class 8"):
        receive(zone=zone, material=corrosive)
    assert counts() == before
    receive(zone=zone, material=f.MaterialFactory.create(primary_class="3"))
    receive(zone=zone, material=f.MaterialFactory.create(primary_class=""))  # not dangerous


def test_receipt_respects_capacity(world: dict[str, Any], receive: Any) -> None:
    zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, capacity_kg=1000)
    receive(zone=zone, material=world["material"], quantity="600")
    with pytest.raises(CapacityExceeded, match=r"has 400(\.000)? kg free"):
        receive(zone=zone, material=world["material"], quantity="400.001")
    receive(zone=zone, material=world["material"], quantity="400")


def test_segregation_within_zone_building_and_warehouse(
    world: dict[str, Any], receive: Any
) -> None:
    warehouse = world["zones"]["a1"].warehouse
    z1 = f.StorageZoneFactory.create(warehouse=warehouse, building="A")
    z2 = f.StorageZoneFactory.create(warehouse=warehouse, building="A")
    z3 = f.StorageZoneFactory.create(warehouse=warehouse, building="B")
    z3.allowed_classes = [*z3.allowed_classes, "6.2"]
    z3.save()
    flammable = f.MaterialFactory.create(primary_class="3")
    oxidizer = f.MaterialFactory.create(primary_class="5.1")
    infectious = f.MaterialFactory.create(primary_class="6.2")
    receive(zone=z1, material=flammable)
    # 3 vs 5.1 is code 2: not the same zone, but another zone of the building is fine.
    with pytest.raises(IncompatibleStorage, match="segregation code 2"):
        receive(zone=z1, material=oxidizer)
    receive(zone=z2, material=oxidizer)
    # 3 vs 6.2 is code 3: another building.
    z2.allowed_classes = [*z2.allowed_classes, "6.2"]
    z2.save()
    with pytest.raises(IncompatibleStorage, match="segregation code 3"):
        receive(zone=z2, material=infectious)
    receive(zone=z3, material=infectious)


def test_empty_lots_do_not_count_for_segregation(world: dict[str, Any], receive: Any) -> None:
    zone = world["zones"]["a1"]
    lot = receive(zone=zone, material=f.MaterialFactory.create(primary_class="3"), quantity="10")
    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-10"))
    receive(zone=zone, material=f.MaterialFactory.create(primary_class="5.1"))


def test_pair_rule_acids_and_cyanides_never_share_a_warehouse(
    world: dict[str, Any], receive: Any
) -> None:
    warehouse = world["zones"]["a1"].warehouse
    acid = f.MaterialFactory.create(primary_class="8", family="acid")
    cyanide = f.MaterialFactory.create(
        primary_class="6.1", family="cyanide", physical_state="solid"
    )
    receive(zone=f.StorageZoneFactory.create(warehouse=warehouse, building="A"), material=acid)
    with pytest.raises(IncompatibleStorage, match="never stored with cyanides"):
        receive(
            zone=f.StorageZoneFactory.create(warehouse=warehouse, building="Z"), material=cyanide
        )
    receive(zone=world["zones"]["shared"], owner=world["enterprises"]["a1"], material=cyanide)


def test_adjust_down_never_below_reserved(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    reserve(lot, "30")
    stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-70"))
    with pytest.raises(InsufficientStock):
        stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("-0.001"))
    lot.refresh_from_db()
    assert (lot.on_hand_kg, lot.reserved_kg) == (Decimal("30.000"), Decimal("30.000"))
    assert_ledger_balanced()


def test_adjust_up_checks_capacity(world: dict[str, Any], receive: Any) -> None:
    zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, capacity_kg=100)
    lot = receive(zone=zone, material=world["material"], quantity="90")
    with pytest.raises(CapacityExceeded):
        stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("11"))
    lot = stock_adjust(actor=SYSTEM, lot=lot, delta_kg=Decimal("10"))
    assert lot.on_hand_kg == Decimal("100")
    assert list(lot.movements.order_by("id").values_list("kind", flat=True)) == [
        "receipt",
        "adjustment",
    ]


def test_move_splits_and_merges_into_one_target_lot(world: dict[str, Any], receive: Any) -> None:
    source = receive(
        zone=world["zones"]["a1"], material=world["material"], quantity="100", batch_no="B-7"
    )
    target_zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse)
    target = stock_move(actor=SYSTEM, lot=source, to_zone=target_zone, quantity_kg=Decimal("40"))
    again = stock_move(actor=SYSTEM, lot=source, to_zone=target_zone, quantity_kg=Decimal("10"))
    assert again.pk == target.pk
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.on_hand_kg, target.on_hand_kg) == (Decimal("50"), Decimal("50"))
    assert target.batch_no == "B-7"
    assert sorted(StockMovement.objects.values_list("kind", "quantity_kg")) == sorted(
        [
            ("receipt", Decimal("100")),
            ("move_out", Decimal("-40")),
            ("move_in", Decimal("40")),
            ("move_out", Decimal("-10")),
            ("move_in", Decimal("10")),
        ]
    )
    assert_ledger_balanced()


def test_move_cannot_take_reserved_stock_or_break_rules(
    world: dict[str, Any], receive: Any
) -> None:
    source = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    reserve(source, "80")
    target_zone = f.StorageZoneFactory.create(
        warehouse=world["zones"]["a1"].warehouse, capacity_kg=50
    )
    before = counts()
    with pytest.raises(InsufficientStock):
        stock_move(actor=SYSTEM, lot=source, to_zone=target_zone, quantity_kg=Decimal("21"))
    with pytest.raises(CapacityExceeded):
        stock_move(actor=SYSTEM, lot=source, to_zone=target_zone, quantity_kg=Decimal("51"))
    with pytest.raises(ZoneNotPermitted):
        stock_move(actor=SYSTEM, lot=source, to_zone=world["zones"]["a2"], quantity_kg=Decimal("1"))
    assert counts() == before
