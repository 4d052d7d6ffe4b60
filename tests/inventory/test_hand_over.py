"""Goods handed over in place (a joint stockpile's contributions and draws): the free
stock only, in a shared warehouse only, two ledger rows and one audit row; the ledger
balances."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.exceptions import DomainError
from inventory.exceptions import InsufficientStock
from inventory.models import StockMovement
from inventory.services import stock_hand_over, stock_reserve
from tests.audited import one_audit_row
from tests.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


def test_free_stock_changes_owner_where_it_lies(world: dict[str, Any], receive: Any) -> None:
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    lot = receive(
        zone=world["zones"]["shared"], material=world["material"], quantity="100", owner=a1
    )
    stock_reserve(actor=SYSTEM, lot=lot, holder=a2, quantity_kg=Decimal(30), expires_at=None)
    admin = world["users"]["enterprise_admin"]
    with one_audit_row(actor=admin, action="lot.transfer", target=lot) as row:
        new = stock_hand_over(
            actor=resolve_scope(admin), lot=lot, new_owner=a2, quantity_kg=Decimal(70)
        )
    lot.refresh_from_db()
    assert (lot.on_hand_kg, lot.reserved_kg) == (Decimal(30), Decimal(30))
    assert new.owner == a2 and new.zone == lot.zone and new.on_hand_kg == Decimal(70)
    assert row.entry.changes["on_hand_kg"] == ["100.000", "30.000"]
    kinds = list(StockMovement.objects.filter(lot__in=[lot, new]).values_list("kind", flat=True))
    assert sorted(kinds) == ["receipt", "transfer_in", "transfer_out"]
    with pytest.raises(InsufficientStock):  # the 30 kg left are reserved
        stock_hand_over(actor=SYSTEM, lot=lot, new_owner=a2, quantity_kg=Decimal("0.001"))
    assert_ledger_balanced()


def test_only_in_a_shared_warehouse(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="10")
    with pytest.raises(DomainError) as refused:
        stock_hand_over(
            actor=SYSTEM, lot=lot, new_owner=world["enterprises"]["a2"], quantity_kg=Decimal(1)
        )
    assert refused.value.field == "lot"
    with pytest.raises(DomainError):
        stock_hand_over(
            actor=SYSTEM, lot=lot, new_owner=world["enterprises"]["a1"], quantity_kg=Decimal(-1)
        )
