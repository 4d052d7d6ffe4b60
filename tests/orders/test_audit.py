"""Every write of an order leaves its own audit row exactly once, with the actor, the
fields the step changed and the request id; the services it calls record their own rows
(``match.order``, ``match.release`` here; the inventory's rows for the lot are that app's,
and ignored by these assertions unless named)."""

from decimal import Decimal
from typing import Any

import pytest

from audit.context import audit_context
from audit.models import AuditEntry
from common.exceptions import NotPermitted
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus
from orders.services import order_expire
from tests.audited import audit_rows
from tests.orders.conftest import expire, from_match, order_in, place, take

World = dict[str, Any]

pytestmark = pytest.mark.django_db


def order_rows(order: Order) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="orders.order", object_id=str(order.pk), action__startswith="order."
        ).order_by("id")
    )


def test_a_direct_order_records_its_terms(deal: World) -> None:
    trader = deal["buyers"]["trader"]
    with audit_rows(actor=trader, action="order.place") as rows:
        order = place(deal, "100")
    entry = rows.entry
    assert (entry.object_type, entry.object_id) == ("orders.order", str(order.pk))
    assert (entry.enterprise_id, entry.park_id, entry.role) == (
        deal["buyer"].pk,
        deal["buyer"].park_id,
        "trader",
    )
    changes = entry.changes
    assert changes["status"] == [None, OrderStatus.RESERVED]
    assert changes["quantity_kg"] == [None, "100"]
    assert changes["price_per_t"] == [None, "3000.00"]
    assert changes["total_yuan"] == [None, "300.00"]
    assert changes["listing"] == [None, deal["listing"].pk]
    assert changes["reservation"] == [None, order.reservation_id]
    assert order.hold_until is not None
    assert changes["hold_until"][1] == order.hold_until.isoformat()
    assert "match" not in changes  # None before and after: unchanged


def test_each_step_of_a_lifecycle_records_its_own_row(deal: World) -> None:
    order = place(deal, "100")
    sellers, buyers = deal["sellers"], deal["buyers"]
    with audit_rows(actor=sellers["trader"], action="order.confirm", target=order) as rows:
        order = take(deal, order, "confirm", reason="  stock checked ")
    assert rows.entry.changes == {
        "status": ["reserved", "confirmed"],
        "hold_until": [rows.entry.changes["hold_until"][0], None],
    }
    assert rows.entry.note == "stock checked"
    assert rows.entry.enterprise_id == deal["seller"].pk

    with audit_rows(actor=sellers["keeper"], action="order.dispatch", target=order) as rows:
        order = take(deal, order, "dispatch")
    assert rows.entry.changes == {"status": ["confirmed", "dispatched"]}
    assert rows.entry.role == "warehouse_keeper"

    with audit_rows(actor=buyers["keeper"], action="order.receive", target=order) as rows:
        order = take(deal, order, "receive")
    assert rows.entry.changes == {
        "status": ["dispatched", "received"],
        "delivery_zone": [None, deal["zones"]["a2"].pk],
        "buyer_lot": [None, order.buyer_lot_id],
    }
    assert rows.entry.enterprise_id == deal["buyer"].pk

    with audit_rows(actor=buyers["trader"], action="order.complete", target=order) as rows:
        order = take(deal, order, "complete")
    assert rows.entry.changes == {"status": ["received", "completed"]}
    assert [r.action for r in order_rows(order)] == [
        "order.place",
        "order.confirm",
        "order.dispatch",
        "order.receive",
        "order.complete",
    ]


def test_a_take_over_in_the_shared_warehouse_records_one_row(deal: World) -> None:
    order = order_in(deal, OrderStatus.CONFIRMED, listing=deal["shared_listing"])
    keeper = deal["buyers"]["keeper"]
    with audit_rows(actor=keeper, action="order.transfer", target=order) as rows:
        order = take(deal, order, "transfer")
    assert rows.entry.changes == {
        "status": ["confirmed", "received"],
        "delivery_zone": [None, deal["zones"]["shared"].pk],
        "buyer_lot": [None, order.buyer_lot_id],
        "shared_transfer": [False, True],
    }


def test_an_order_from_a_match_records_its_row_and_the_matchs(deal: World) -> None:
    trader = deal["buyers"]["trader"]
    with (
        audit_context(request_id="erp-42", via="session"),
        audit_rows(actor=trader, action="order.from_match", inner={"match.order": 1}) as rows,
    ):
        order = from_match(deal)
    assert rows.entry.request_id == "erp-42"
    assert rows.entry.changes["match"] == [None, deal["match"].pk]
    assert rows.entry.changes["need"] == [None, deal["need"].pk]
    assert rows.entry.changes["quantity_kg"] == [None, "300.000"]
    (matched,) = rows.inner["match.order"]
    assert (matched.object_type, matched.object_id) == ("matching.match", str(deal["match"].pk))
    assert matched.changes == {"status": ["agreed", "ordered"]}
    assert matched.via == "session"
    assert order.match_id == deal["match"].pk


@pytest.mark.parametrize(("action", "side"), [("reject", "sellers"), ("cancel", "buyers")])
def test_ending_an_order_from_a_match_records_its_row_and_the_release(
    deal: World, action: str, side: str
) -> None:
    order = from_match(deal)
    actor = deal[side]["trader"]
    with audit_rows(
        actor=actor, action=f"order.{action}", target=order, inner={"match.release": 1}
    ) as rows:
        take(deal, order, action, reason="no longer needed")
    assert rows.entry.changes["status"][0] == "reserved"
    assert rows.entry.note == "no longer needed"
    (released,) = rows.inner["match.release"]
    assert released.changes == {"status": ["ordered", "released"]}
    assert released.note == rows.entry.changes["status"][1]  # "rejected" / "cancelled"


def test_a_direct_order_ending_releases_no_match(deal: World) -> None:
    order = place(deal, "100")
    with audit_rows(
        actor=deal["buyers"]["trader"], action="order.cancel", inner={"match.release": 0}
    ) as rows:
        take(deal, order, "cancel")
    assert rows.entry.changes == {
        "status": ["reserved", "cancelled"],
        "hold_until": [rows.entry.changes["hold_until"][0], None],
    }


def test_an_expiry_is_recorded_by_the_system_in_the_sellers_trail(deal: World) -> None:
    order = from_match(deal)
    with audit_rows(
        actor=None, action="order.expire", target=order, inner={"match.release": 1}
    ) as rows:
        expire(order)
    entry = rows.entry
    assert (entry.user_id, entry.username, entry.role) == (None, "", "")
    assert (entry.enterprise_id, entry.park_id) == (deal["seller"].pk, deal["seller"].park_id)
    assert entry.changes["status"] == ["reserved", "expired"]
    (released,) = rows.inner["match.release"]
    assert (released.enterprise_id, released.note) == (deal["seller"].pk, "expired")
    # A redelivered expiry changes nothing and writes nothing.
    before = AuditEntry.objects.count()
    assert order.reservation_id is not None
    assert order_expire(reservation_id=order.reservation_id) is None
    assert AuditEntry.objects.count() == before


def test_a_refused_step_leaves_no_order_row(deal: World) -> None:
    order = place(deal, "100")
    before = order_rows(order)
    with pytest.raises(NotPermitted):  # the buyer does not confirm
        take(deal, order, "confirm", actor=deal["buyers"]["trader"])
    with pytest.raises(InvalidTransition):  # not confirmed yet
        take(deal, order, "dispatch")
    with pytest.raises(NotPermitted):  # a viewer does not order
        place(deal, "100", actor=deal["buyers"]["viewer"])
    assert order_rows(order) == before
    assert not AuditEntry.objects.filter(action="order.place", user=deal["buyers"]["viewer"])


def test_an_audit_row_that_cannot_be_written_fails_the_step(
    deal: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = place(deal, "100")

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("audit row refused")

    monkeypatch.setattr("orders.services.audit_record", refuse)
    with pytest.raises(RuntimeError):
        take(deal, order, "confirm")
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED
    assert order.reservation is not None and order.reservation.expires_at is not None
    assert order.quantity_kg == Decimal(100)
