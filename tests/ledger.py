"""Ledger assertions shared by tests: every lot's on hand equals the sum of its movements."""

from decimal import Decimal

from django.db.models import Sum

from inventory.models import StockLot, StockMovement


def assert_ledger_balanced() -> None:
    sums = {
        row["lot_id"]: row["total"]
        for row in StockMovement.objects.values("lot_id").annotate(total=Sum("quantity_kg"))
    }
    for lot in StockLot.objects.all():
        assert lot.on_hand_kg == sums.get(lot.pk, Decimal(0)), f"lot {lot.pk} disagrees"
        assert Decimal(0) <= lot.reserved_kg <= lot.on_hand_kg
