"""Builders for matching tests: lots, listings and needs made through the services (so
the ledger and the outbox events are the real ones), on the ``world`` of tests/conftest.py.

Parks A and B share region 3302, park C is elsewhere; enterprises a1 and a2 are in park A,
b in park B, c in park C; each has one warehouse zone (all warehouses at 29.96 N,
121.70 E). Needs deliver by default to a point about 1.4 km from them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from access.scope import SYSTEM
from inventory.models import Material, StockLot, StorageZone
from inventory.services import stock_receive
from marketplace.models import Listing, Need
from marketplace.services import listing_create, need_create
from matching.models import LIVE, Match, MatchRun, RunTrigger
from matching.services.runs import run_materials

DELIVERY = (Decimal("29.950000"), Decimal("121.710000"))


def today() -> date:
    return timezone.localdate()


class Market:
    """``m.offer(...)``, ``m.need(...)``, ``m.rematch()`` over one ``world``."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world
        self.material: Material = world["material"]

    def enterprise(self, key: str) -> Any:
        return self.world["enterprises"][key]

    def lot(
        self,
        seller: str = "a1",
        *,
        kg: str = "1000",
        material: Material | None = None,
        zone: StorageZone | None = None,
        **kwargs: Any,
    ) -> StockLot:
        return stock_receive(
            actor=SYSTEM,
            owner=self.enterprise(seller),
            material=material or self.material,
            zone=zone or self.world["zones"][seller],
            quantity_kg=Decimal(kg),
            **kwargs,
        )

    def offer(
        self,
        seller: str = "a1",
        *,
        kg: str = "500",
        price: str = "3000.00",
        visibility: str = "region",
        min_order: str = "0",
        lot: StockLot | None = None,
        lot_kg: str = "1000",
        material: Material | None = None,
        **kwargs: Any,
    ) -> Listing:
        """A published listing, on a fresh lot of ``lot_kg`` unless ``lot`` is given."""
        lot = lot or self.lot(seller, kg=lot_kg, material=material)
        return listing_create(
            actor=SYSTEM,
            seller=self.enterprise(seller),
            lot=lot,
            quantity_kg=Decimal(kg),
            price_per_t=Decimal(price),
            min_order_kg=Decimal(min_order),
            available_from=kwargs.pop("available_from", today() - timedelta(days=1)),
            visibility=visibility,
            publish=True,
            **kwargs,
        )

    def need(
        self,
        buyer: str = "b",
        *,
        kg: str = "400",
        max_price: str | None = None,
        material: Material | None = None,
        substitutes: list[Material] | None = None,
        zone: StorageZone | None = None,
        **kwargs: Any,
    ) -> Need:
        """An open need, delivered to ``zone`` or else to the DELIVERY point."""
        place: dict[str, Any] = {"delivery_zone": zone}
        if zone is None:
            place = {"delivery_latitude": DELIVERY[0], "delivery_longitude": DELIVERY[1]}
        return need_create(
            actor=SYSTEM,
            enterprise=self.enterprise(buyer),
            material=material or self.material,
            quantity_kg=Decimal(kg),
            needed_by=kwargs.pop("needed_by", today() + timedelta(days=30)),
            max_price_per_t=None if max_price is None else Decimal(max_price),
            substitutes=substitutes,
            **place,
            **kwargs,
        )

    def rematch(self, *materials: Material) -> MatchRun:
        """A rematch of ``materials`` (default: the world's material), as the command runs it."""
        ids = [m.pk for m in materials] or [self.material.pk]
        return run_materials(material_ids=ids, trigger=RunTrigger.COMMAND)


def live(*filters: Q, **lookups: Any) -> list[Match]:
    """Live matches (proposed, accepted, agreed), in (listing, need) order."""
    return list(
        Match.objects.filter(*filters, status__in=LIVE, **lookups).order_by("listing_id", "need_id")
    )


def pairs(matches: list[Match]) -> dict[tuple[int, int], Decimal]:
    """(listing id, need id) → quantity."""
    return {(m.listing_id, m.need_id): m.quantity_kg for m in matches}


def snapshot() -> list[tuple[Any, ...]]:
    """Every column of every match, to prove that a run wrote nothing."""
    fields = [f.attname for f in Match._meta.concrete_fields]
    return list(Match.objects.order_by("id").values_list(*fields))
