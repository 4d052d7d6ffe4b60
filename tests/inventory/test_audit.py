"""Every write of the inventory leaves exactly one audit row, with the right actor, in the
trail of the enterprise whose object it is, with the quantities, capacities, licences and
terms before and after; a write refused leaves none. The expiry sweep records one row per
reservation it expires, with no actor."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.scope import SYSTEM, resolve_scope
from audit.context import audit_context
from audit.models import AuditEntry
from inventory.controls import PermitKind
from inventory.exceptions import CapacityExceeded, InsufficientStock
from inventory.models import Permit, Reservation, StockLot
from inventory.services import (
    lot_update_details,
    material_create,
    material_update,
    permit_create,
    permit_delete,
    permit_update,
    reservation_hold,
    reservation_release,
    reservations_expire_due,
    stock_adjust,
    stock_deliver,
    stock_dispatch,
    stock_move,
    stock_receive,
    stock_reserve,
    stock_transfer,
    warehouse_create,
    warehouse_update,
    zone_create,
    zone_update,
)
from tests import factories as f
from tests.audited import one_audit_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(world: dict[str, Any], receive: Callable[..., StockLot]) -> StockLot:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")


def reserve(world: dict[str, Any], lot: StockLot, quantity: str = "100", **kw: Any) -> Reservation:
    return stock_reserve(
        actor=SYSTEM,
        lot=lot,
        holder=world["enterprises"]["a2"],
        quantity_kg=Decimal(quantity),
        expires_at=kw.pop("expires_at", timezone.now() + timedelta(hours=1)),
        reference=kw.pop("reference", "order:1"),
        **kw,
    )


# --- Stock -------------------------------------------------------------------------------


def test_receive_records_the_new_lot_in_the_owners_trail(world: dict[str, Any]) -> None:
    keeper = world["users"]["warehouse_keeper"]
    a1 = world["enterprises"]["a1"]
    with one_audit_row(actor=keeper, action="lot.receive") as row:
        lot = stock_receive(
            actor=resolve_scope(keeper),
            owner=a1,
            material=world["material"],
            zone=world["zones"]["a1"],
            quantity_kg=Decimal("250.5"),
            batch_no="B-7",
            reference="GRN-1",
        )
    entry = row.entry
    assert (entry.object_type, entry.object_id) == ("inventory.stocklot", str(lot.pk))
    assert entry.changes["on_hand_kg"] == [None, "250.5"]
    assert entry.changes["owner"] == [None, a1.pk]
    assert entry.changes["zone"] == [None, world["zones"]["a1"].pk]
    assert entry.changes["batch_no"] == [None, "B-7"]
    assert (entry.enterprise_id, entry.park_id, entry.role) == (
        a1.pk,
        a1.park_id,
        "warehouse_keeper",
    )
    assert entry.note == "GRN-1"


def test_adjust_records_on_hand_before_and_after(world: dict[str, Any], lot: StockLot) -> None:
    keeper = world["users"]["warehouse_keeper"]
    with one_audit_row(actor=keeper, action="lot.adjust", target=lot) as row:
        stock_adjust(actor=resolve_scope(keeper), lot=lot, delta_kg=Decimal("-12.5"), note="spill")
    assert row.entry.changes == {"on_hand_kg": ["1000.000", "987.500"]}
    assert row.entry.note == "spill"
    assert row.entry.enterprise_id == world["enterprises"]["a1"].pk


def test_a_refused_write_leaves_no_row(world: dict[str, Any], lot: StockLot) -> None:
    keeper = world["users"]["warehouse_keeper"]
    before = AuditEntry.objects.count()
    with pytest.raises(InsufficientStock):
        stock_adjust(actor=resolve_scope(keeper), lot=lot, delta_kg=Decimal("-5000"))
    with pytest.raises(CapacityExceeded):
        zone_update(actor=resolve_scope(keeper), zone=lot.zone, capacity_kg=Decimal(10))
    assert AuditEntry.objects.count() == before


def test_move_records_both_lots_quantities(
    world: dict[str, Any], receive: Callable[..., StockLot]
) -> None:
    a1 = world["enterprises"]["a1"]
    keeper = world["users"]["warehouse_keeper"]
    lot = receive(zone=world["zones"]["shared"], material=world["material"], owner=a1)
    other_zone = f.StorageZoneFactory.create(warehouse=world["zones"]["a1"].warehouse, code="Z2")
    with one_audit_row(actor=keeper, action="lot.move", target=lot) as row:
        target = stock_move(
            actor=resolve_scope(keeper), lot=lot, to_zone=other_zone, quantity_kg=Decimal(300)
        )
    assert row.entry.changes == {
        "on_hand_kg": ["1000.000", "700.000"],
        "to_lot": [None, target.pk],
        "to_lot_on_hand_kg": ["0.000", "300.000"],
    }
    assert row.entry.enterprise_id == a1.pk


def test_dispatch_records_the_lots_quantities(world: dict[str, Any], lot: StockLot) -> None:
    trader = world["users"]["trader"]
    reservation = reserve(world, lot, "100", reference="order:9")
    with one_audit_row(actor=trader, action="lot.dispatch", target=lot) as row:
        stock_dispatch(actor=resolve_scope(trader), reservation=reservation)
    assert row.entry.changes == {
        "on_hand_kg": ["1000.000", "900.000"],
        "reserved_kg": ["100.000", "0.000"],
    }
    assert row.entry.note == f"reservation #{reservation.pk} order:9"
    assert row.entry.enterprise_id == world["enterprises"]["a1"].pk


def test_deliver_records_the_new_lot_in_the_buyers_trail(
    world: dict[str, Any], lot: StockLot
) -> None:
    buyer_admin = world["users"]["other_admin"]
    a2 = world["enterprises"]["a2"]
    with one_audit_row(actor=buyer_admin, action="lot.deliver") as row:
        new = stock_deliver(
            actor=resolve_scope(buyer_admin),
            owner=a2,
            material=world["material"],
            zone=world["zones"]["a2"],
            quantity_kg=Decimal(40),
            source_lot=lot,
        )
    assert row.entry.object_id == str(new.pk)
    assert row.entry.changes["on_hand_kg"] == [None, "40"]
    assert row.entry.changes["owner"] == [None, a2.pk]
    assert (row.entry.enterprise_id, row.entry.role) == (a2.pk, "enterprise_admin")
    assert row.entry.note == f"from lot #{lot.pk}"


def test_transfer_records_the_source_lot_and_the_new_owner(
    world: dict[str, Any], receive: Callable[..., StockLot]
) -> None:
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    operator = world["users"]["park_operator"]
    source = receive(zone=world["zones"]["shared"], material=world["material"], owner=a1)
    reservation = reserve(world, source, "250")
    with one_audit_row(actor=operator, action="lot.transfer", target=source) as row:
        target = stock_transfer(
            actor=resolve_scope(operator), reservation=reservation, new_owner=a2
        )
    assert row.entry.changes == {
        "on_hand_kg": ["1000.000", "750.000"],
        "reserved_kg": ["250.000", "0.000"],
        "to_lot": [None, target.pk],
        "to_owner": [None, a2.pk],
    }
    assert (row.entry.enterprise_id, row.entry.role) == (a1.pk, "park_operator")


# --- Reservations ------------------------------------------------------------------------


def test_reserve_release_and_hold_each_record_one_row(world: dict[str, Any], lot: StockLot) -> None:
    trader = world["users"]["trader"]
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    expires = timezone.now() + timedelta(hours=2)
    with one_audit_row(actor=trader, action="reservation.create") as created:
        reservation = stock_reserve(
            actor=resolve_scope(trader),
            lot=lot,
            holder=a2,
            quantity_kg=Decimal(60),
            expires_at=expires,
            reference="order:3",
        )
    assert created.entry.object_id == str(reservation.pk)
    assert created.entry.changes["quantity_kg"] == [None, "60"]
    assert created.entry.changes["holder"] == [None, a2.pk]
    assert created.entry.changes["status"] == [None, "held"]
    assert created.entry.enterprise_id == a1.pk  # the lot's owner: its stock is held

    with one_audit_row(actor=trader, action="reservation.hold", target=reservation) as held:
        reservation_hold(actor=resolve_scope(trader), reservation=reservation, expires_at=None)
    assert held.entry.changes == {"expires_at": [expires.isoformat(), None]}

    with one_audit_row(actor=trader, action="reservation.release", target=reservation) as rel:
        reservation_release(
            actor=resolve_scope(trader), reservation=reservation, reason="buyer cancelled"
        )
    assert rel.entry.changes == {
        "status": ["held", "released"],
        "close_reason": ["", "buyer cancelled"],
    }


def test_the_expiry_sweep_records_each_reservation_with_no_actor(
    world: dict[str, Any], lot: StockLot
) -> None:
    due = reserve(world, lot, "10")
    later = reserve(world, lot, "20", expires_at=timezone.now() + timedelta(days=2))
    since = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    with audit_context(via="task"):
        assert reservations_expire_due(now=timezone.now() + timedelta(hours=2)) == [due.pk]
    rows = list(AuditEntry.objects.filter(id__gt=since))
    assert [(r.action, r.object_id, r.user_id, r.via) for r in rows] == [
        ("reservation.expire", str(due.pk), None, "task")
    ]
    assert rows[0].changes == {"status": ["held", "expired"]}
    assert rows[0].enterprise_id == world["enterprises"]["a1"].pk
    later.refresh_from_db()
    assert later.status == "held"  # not due: no row


# --- Catalogue ---------------------------------------------------------------------------


def test_material_create_and_update(world: dict[str, Any]) -> None:
    root = world["users"]["superuser"]
    with one_audit_row(actor=root, action="material.create") as created:
        material = material_create(
            actor=resolve_scope(root),
            name_zh="甲醇",
            name_en="Methanol",
            cas="67-56-1",
            primary_class="3",
        )
    assert created.entry.object_id == str(material.pk)
    assert created.entry.changes["cas"] == [None, "67-56-1"]
    assert created.entry.role == "superuser"
    with one_audit_row(actor=root, action="material.update", target=material) as updated:
        material_update(
            actor=resolve_scope(root),
            material=material,
            name_en="Methyl alcohol",
            gb18218_threshold_t=500,
        )
    # The service's validators convert the 500 given to the column's Decimal, so the row
    # records it as every other path does (as the API's Decimal would be).
    assert updated.entry.changes == {
        "name_en": ["Methanol", "Methyl alcohol"],
        "gb18218_threshold_t": [None, "500"],
    }


def test_warehouse_create_and_update(world: dict[str, Any]) -> None:
    admin = world["users"]["enterprise_admin"]
    a1 = world["enterprises"]["a1"]
    with one_audit_row(actor=admin, action="warehouse.create") as created:
        warehouse = warehouse_create(
            actor=resolve_scope(admin),
            park=world["parks"]["a"],
            owner=a1,
            code="WH-AUDIT",
            name="North",
            latitude=Decimal("30.1"),
            longitude=Decimal("121.5"),
        )
    assert created.entry.changes["code"] == [None, "WH-AUDIT"]
    assert created.entry.changes["owner"] == [None, a1.pk]
    assert (created.entry.enterprise_id, created.entry.park_id) == (a1.pk, a1.park_id)
    with one_audit_row(actor=admin, action="warehouse.update", target=warehouse) as updated:
        warehouse_update(actor=resolve_scope(admin), warehouse=warehouse, name="North yard")
    assert updated.entry.changes == {"name": ["North", "North yard"]}


def test_a_shared_warehouse_is_in_its_parks_trail(world: dict[str, Any]) -> None:
    operator = world["users"]["park_operator"]
    park = world["parks"]["a"]
    with one_audit_row(actor=operator, action="warehouse.create") as created:
        warehouse_create(
            actor=resolve_scope(operator),
            park=park,
            code="WH-SHARED-2",
            name="Shared",
            latitude=Decimal(30),
            longitude=Decimal(121),
        )
    assert (created.entry.enterprise_id, created.entry.park_id) == (None, park.pk)
    assert created.entry.role == "park_operator"


def test_zone_create_and_update_record_capacity_and_licence(
    world: dict[str, Any], lot: StockLot
) -> None:
    admin = world["users"]["enterprise_admin"]
    warehouse = world["zones"]["a1"].warehouse
    with one_audit_row(actor=admin, action="zone.create") as created:
        zone = zone_create(
            actor=resolve_scope(admin),
            warehouse=warehouse,
            code="Z-AUDIT",
            capacity_kg=Decimal(5000),
            allowed_classes=["3"],
        )
    assert created.entry.changes["capacity_kg"] == [None, "5000"]
    assert created.entry.changes["allowed_classes"] == [None, ["3"]]
    assert created.entry.enterprise_id == world["enterprises"]["a1"].pk
    with one_audit_row(actor=admin, action="zone.update", target=zone) as updated:
        zone_update(
            actor=resolve_scope(admin),
            zone=zone,
            capacity_kg=Decimal(8000),
            allowed_classes=["3", "8"],
        )
    assert updated.entry.changes == {
        "capacity_kg": ["5000.000", "8000"],
        "allowed_classes": [["3"], ["3", "8"]],
    }


def test_lot_update_details(world: dict[str, Any], lot: StockLot) -> None:
    keeper = world["users"]["warehouse_keeper"]
    with one_audit_row(actor=keeper, action="lot.update_details", target=lot) as row:
        lot_update_details(
            actor=resolve_scope(keeper), lot=lot, batch_no="B-9", expires_on=date(2027, 6, 30)
        )
    assert row.entry.changes == {
        "batch_no": ["", "B-9"],
        "expires_on": [None, "2027-06-30"],
    }
    assert row.entry.enterprise_id == world["enterprises"]["a1"].pk


# --- Permits -----------------------------------------------------------------------------


def test_permit_create_update_delete(world: dict[str, Any]) -> None:
    admin = world["users"]["enterprise_admin"]
    a1 = world["enterprises"]["a1"]
    material = world["material"]
    with one_audit_row(actor=admin, action="permit.create") as created:
        permit = permit_create(
            actor=resolve_scope(admin),
            enterprise=a1,
            kind=PermitKind.HIGHLY_TOXIC_PURCHASE_PERMIT,
            number="P-1",
            valid_from=date(2026, 1, 1),
            expires_on=date(2026, 12, 31),
            materials=[material],
        )
    assert created.entry.changes["number"] == [None, "P-1"]
    assert created.entry.changes["materials"] == [None, [material.pk]]
    assert created.entry.changes["expires_on"] == [None, "2026-12-31"]
    assert created.entry.enterprise_id == a1.pk

    with one_audit_row(actor=admin, action="permit.update", target=permit) as updated:
        permit_update(
            actor=resolve_scope(admin), permit=permit, expires_on=date(2027, 12, 31), materials=[]
        )
    assert updated.entry.changes == {
        "expires_on": ["2026-12-31", "2027-12-31"],
        "materials": [[material.pk], []],
    }

    permit_id = permit.pk
    with one_audit_row(actor=admin, action="permit.delete") as deleted:
        permit_delete(actor=resolve_scope(admin), permit=permit)
    assert deleted.entry.object_id == str(permit_id)
    assert deleted.entry.changes["number"] == ["P-1", None]
    assert not Permit.objects.filter(pk=permit_id).exists()
