"""Stock leaving and arriving by orders: a dispatch consumes a reservation, a delivery
brings goods into a zone, a transfer changes the owner of reserved goods inside a shared
warehouse. Success, every refusal (nothing written), ledger rows and events."""

from datetime import date
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
    ReservationNotHeld,
    ZoneNotPermitted,
)
from inventory.models import MovementKind, Reservation, StockLot, StockMovement
from inventory.selectors import zone_occupancy_kg
from inventory.services import (
    reservation_release,
    reservations_expire_due,
    stock_deliver,
    stock_dispatch,
    stock_transfer,
)
from tests import factories as f
from tests.inventory.flows import in_hours, quantities, reserve, written

pytestmark = pytest.mark.django_db

BATCH = {
    "batch_no": "B-42",
    "purity_pct": Decimal("99.500"),
    "grade": "industrial",
    "produced_on": date(2026, 3, 1),
    "expires_on": date(2028, 3, 1),
}


def last_event() -> dict[str, Any]:
    return OutboxEvent.objects.filter(topic="stock.changed").latest("id").payload


def batch_of(lot: StockLot) -> dict[str, Any]:
    return {name: getattr(lot, name) for name in BATCH}


# --- stock_dispatch ----------------------------------------------------------------------------


def test_dispatch_consumes_the_reservation(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    other = reserve(lot, "25")
    reservation = reserve(
        lot, "40", holder=world["enterprises"]["b"], reference="order:7", expires_at=None
    )
    keeper = world["users"]["warehouse_keeper"]

    movement = stock_dispatch(actor=resolve_scope(keeper), reservation=reservation)

    assert (movement.lot_id, movement.kind, movement.quantity_kg) == (
        lot.pk,
        MovementKind.DISPATCH,
        Decimal(-40),
    )
    assert (movement.reference, movement.actor) == ("order:7", keeper)
    assert movement.note == f"reservation #{reservation.pk}"
    assert quantities(lot) == (Decimal(60), Decimal(25))
    assert (reservation.status, reservation.close_reason) == ("consumed", "dispatched")
    assert reservation.closed_at is not None
    assert Reservation.objects.get(pk=other.pk).status == "held"
    assert last_event() == {"lot_ids": [lot.pk], "material_ids": [lot.material_id]}


def test_dispatch_needs_a_held_reservation(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    dispatched = reserve(lot, "10")
    stock_dispatch(actor=SYSTEM, reservation=dispatched)
    released = reserve(lot, "10")
    reservation_release(actor=SYSTEM, reservation=released)
    expired = reserve(lot, "10", expires_at=in_hours(1))
    reservations_expire_due(now=in_hours(2))
    before, stock = written(), quantities(lot)
    for reservation in (dispatched, released, expired):
        with pytest.raises(ReservationNotHeld) as info:
            stock_dispatch(actor=SYSTEM, reservation=reservation)
        assert (info.value.status_code, info.value.field) == (409, "status")
    assert written() == before
    assert quantities(lot) == stock == (Decimal(90), Decimal(0))


# --- stock_deliver -----------------------------------------------------------------------------


def test_delivery_makes_a_lot_with_the_source_batch(world: dict[str, Any], receive: Any) -> None:
    source = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100", **BATCH)
    buyer = world["enterprises"]["b"]
    lot = stock_deliver(
        actor=resolve_scope(world["users"]["park_b_admin"]),
        owner=buyer,
        material=world["material"],
        zone=world["zones"]["b"],
        quantity_kg=Decimal("40"),
        source_lot=source,
        reference="order:7",
    )
    assert (lot.owner, lot.zone, lot.material, lot.on_hand_kg, lot.reserved_kg) == (
        buyer,
        world["zones"]["b"],
        world["material"],
        Decimal(40),
        Decimal(0),
    )
    assert batch_of(StockLot.objects.get(pk=lot.pk)) == BATCH
    movement = lot.movements.get()
    assert (movement.kind, movement.quantity_kg, movement.reference, movement.note) == (
        MovementKind.DELIVERY,
        Decimal(40),
        "order:7",
        f"from lot #{source.pk}",
    )
    assert last_event() == {"lot_ids": [lot.pk], "material_ids": [world["material"].pk]}


def test_delivery_without_a_source_lot_has_no_batch(world: dict[str, Any]) -> None:
    lot = stock_deliver(
        actor=SYSTEM,
        owner=world["enterprises"]["a1"],
        material=world["material"],
        zone=world["zones"]["shared"],
        quantity_kg=Decimal("5"),
    )
    assert (lot.batch_no, lot.purity_pct, lot.expires_on) == ("", None, None)
    assert lot.movements.get().kind == MovementKind.DELIVERY


def deliver(world: dict[str, Any], **changes: Any) -> StockLot:
    arguments = {
        "actor": SYSTEM,
        "owner": world["enterprises"]["a1"],
        "material": world["material"],
        "zone": world["zones"]["a1"],
        "quantity_kg": Decimal(10),
        **changes,
    }
    return stock_deliver(**arguments)


def test_delivery_is_refused_where_a_receipt_would_be(world: dict[str, Any], receive: Any) -> None:
    warehouse = world["zones"]["a1"].warehouse
    small = f.StorageZoneFactory.create(warehouse=warehouse, capacity_kg=100)
    acids_only = f.StorageZoneFactory.create(warehouse=warehouse, allowed_classes=["8"])
    flammable = f.MaterialFactory.create(primary_class="3")
    oxidizer = f.MaterialFactory.create(primary_class="5.1")
    receive(zone=small, material=oxidizer, quantity="60")
    before = written()
    refusals: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"zone": world["zones"]["a2"]}, ZoneNotPermitted, "zone"),  # another's warehouse
        ({"zone": world["zones"]["c"]}, ZoneNotPermitted, "zone"),  # another park
        ({"zone": acids_only, "material": flammable}, IncompatibleStorage, "zone"),  # licence
        ({"zone": small, "quantity_kg": Decimal(41)}, CapacityExceeded, "zone"),
        ({"zone": small, "material": flammable}, IncompatibleStorage, "zone"),  # 3 vs 5.1
        ({"quantity_kg": Decimal(0)}, DomainError, "quantity"),
        ({"source_lot": receive(zone=small, material=oxidizer, quantity="1")}, DomainError, ""),
    ]
    before = written()  # the last refusal's source lot is made above
    for changes, error, field in refusals:
        with pytest.raises(error) as info:
            deliver(world, **changes)
        assert info.value.field == (field or "source_lot"), changes  # type: ignore[attr-defined]
    assert written() == before
    deliver(world, zone=small, quantity_kg=Decimal(39))  # what the zone still takes


# --- stock_transfer ----------------------------------------------------------------------------


@pytest.fixture
def shared(world: dict[str, Any], receive: Any) -> dict[str, Any]:
    """100 kg of a flammable liquid of a1 in the shared warehouse of park A, 40 kg of it
    reserved for a2 (order:9)."""
    zone = world["zones"]["shared"]
    material = f.MaterialFactory.create(primary_class="3")
    lot = receive(
        zone=zone, material=material, quantity="100", owner=world["enterprises"]["a1"], **BATCH
    )
    reservation = reserve(lot, "40", holder=world["enterprises"]["a2"], reference="order:9")
    return {"zone": zone, "lot": lot, "reservation": reservation, "material": material}


def test_transfer_in_place_changes_the_owner(world: dict[str, Any], shared: dict[str, Any]) -> None:
    lot, reservation, zone = shared["lot"], shared["reservation"], shared["zone"]
    occupied = zone_occupancy_kg(zone_id=zone.pk)
    operator = world["users"]["park_operator"]

    target = stock_transfer(
        actor=resolve_scope(operator), reservation=reservation, new_owner=world["enterprises"]["a2"]
    )

    assert (target.owner, target.zone, target.on_hand_kg, target.reserved_kg) == (
        world["enterprises"]["a2"],
        zone,
        Decimal(40),
        Decimal(0),
    )
    assert target.pk != lot.pk
    assert batch_of(StockLot.objects.get(pk=target.pk)) == BATCH
    assert quantities(lot) == (Decimal(60), Decimal(0))
    assert zone_occupancy_kg(zone_id=zone.pk) == occupied  # nothing left the zone
    assert (reservation.status, reservation.close_reason) == ("consumed", "transferred")
    out = StockMovement.objects.get(lot=lot, kind=MovementKind.TRANSFER_OUT)
    into = StockMovement.objects.get(lot=target, kind=MovementKind.TRANSFER_IN)
    assert (out.quantity_kg, into.quantity_kg) == (Decimal(-40), Decimal(40))
    assert out.reference == into.reference == "order:9"
    assert out.actor == into.actor == operator
    assert last_event() == {"lot_ids": [lot.pk, target.pk], "material_ids": [lot.material_id]}


def test_transfer_in_a_full_zone_needs_no_room(world: dict[str, Any], receive: Any) -> None:
    zone = f.StorageZoneFactory.create(
        warehouse=world["zones"]["shared"].warehouse, capacity_kg=100
    )
    lot = receive(
        zone=zone, material=world["material"], quantity="100", owner=world["enterprises"]["a1"]
    )
    reservation = reserve(lot, "100", holder=world["enterprises"]["a2"])
    target = stock_transfer(
        actor=SYSTEM, reservation=reservation, new_owner=world["enterprises"]["a2"]
    )
    assert (target.zone, target.on_hand_kg) == (zone, Decimal(100))
    assert quantities(lot) == (Decimal(0), Decimal(0))


def test_transfer_into_another_zone_of_the_warehouse(
    world: dict[str, Any], shared: dict[str, Any]
) -> None:
    other = f.StorageZoneFactory.create(warehouse=shared["zone"].warehouse, building="B")
    target = stock_transfer(
        actor=SYSTEM,
        reservation=shared["reservation"],
        new_owner=world["enterprises"]["a2"],
        zone=other,
    )
    assert (target.zone, target.on_hand_kg) == (other, Decimal(40))
    assert zone_occupancy_kg(zone_id=other.pk) == Decimal(40)
    assert zone_occupancy_kg(zone_id=shared["zone"].pk) == Decimal(60)


def test_transfer_into_another_zone_is_admitted_like_a_receipt(
    world: dict[str, Any], shared: dict[str, Any], receive: Any
) -> None:
    warehouse = shared["zone"].warehouse
    small = f.StorageZoneFactory.create(warehouse=warehouse, building="B", capacity_kg=39)
    acids_only = f.StorageZoneFactory.create(
        warehouse=warehouse, building="B", allowed_classes=["8"]
    )
    oxidizers = f.StorageZoneFactory.create(warehouse=warehouse, building="A")
    receive(
        zone=oxidizers,
        material=f.MaterialFactory.create(primary_class="5.1"),
        owner=world["enterprises"]["a2"],
        quantity="10",
    )
    before, stock = written(), quantities(shared["lot"])
    refusals = [
        (small, CapacityExceeded, "has 39(\\.000)? kg free"),
        (acids_only, IncompatibleStorage, "not licensed for class 3"),
        (oxidizers, IncompatibleStorage, "segregation code 2"),
    ]
    for zone, error, message in refusals:
        with pytest.raises(error, match=message) as info:
            stock_transfer(
                actor=SYSTEM,
                reservation=shared["reservation"],
                new_owner=world["enterprises"]["a2"],
                zone=zone,
            )
        assert info.value.field == "zone"
    assert written() == before
    assert quantities(shared["lot"]) == stock == (Decimal(100), Decimal(40))
    assert Reservation.objects.get(pk=shared["reservation"].pk).status == "held"


def test_transfer_refusals_name_the_zone(
    world: dict[str, Any], shared: dict[str, Any], receive: Any
) -> None:
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    private_lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="50")
    in_private = reserve(private_lot, "10", holder=a2)
    other_shared = f.StorageZoneFactory.create(
        warehouse=f.WarehouseFactory.create(owner=None, park=world["parks"]["a"])
    )
    reservation = shared["reservation"]
    before = written()
    refusals: list[tuple[dict[str, Any], type[Exception], str]] = [
        # goods in an enterprise's own warehouse leave it: dispatch and deliver
        ({"reservation": in_private, "new_owner": a2}, DomainError, "zone"),
        # another warehouse, even a shared one of the same park
        ({"new_owner": a2, "zone": other_shared}, DomainError, "zone"),
        ({"new_owner": a2, "zone": world["zones"]["a2"]}, DomainError, "zone"),
        # b is of park B: it does not store in park A's shared warehouse
        ({"new_owner": world["enterprises"]["b"]}, ZoneNotPermitted, "zone"),
        ({"new_owner": a1}, DomainError, "new_owner"),
    ]
    for changes, error, field in refusals:
        arguments = {"actor": SYSTEM, "reservation": reservation, **changes}
        with pytest.raises(error) as info:
            stock_transfer(**arguments)
        assert info.value.field == field, changes  # type: ignore[attr-defined]
    assert written() == before
    assert Reservation.objects.filter(status="held").count() == 2


def test_transfer_needs_a_held_reservation(world: dict[str, Any], shared: dict[str, Any]) -> None:
    reservation_release(actor=SYSTEM, reservation=shared["reservation"])
    before = written()
    with pytest.raises(ReservationNotHeld):
        stock_transfer(
            actor=SYSTEM, reservation=shared["reservation"], new_owner=world["enterprises"]["a2"]
        )
    assert written() == before
    assert quantities(shared["lot"]) == (Decimal(100), Decimal(0))


def test_a_broken_ledger_refuses_to_consume(world: dict[str, Any], shared: dict[str, Any]) -> None:
    """Should a lot hold less reserved stock than a held reservation (a broken ledger),
    consuming the reservation is refused as a whole rather than driving the lot negative."""
    lot = shared["lot"]
    StockLot.objects.filter(pk=lot.pk).update(reserved_kg=Decimal(0))
    with pytest.raises(InsufficientStock, match="ledger_check"):
        stock_dispatch(actor=SYSTEM, reservation=shared["reservation"])
    assert Reservation.objects.get(pk=shared["reservation"].pk).status == "held"
    StockLot.objects.filter(pk=lot.pk).update(reserved_kg=Decimal(40))  # mended for teardown
