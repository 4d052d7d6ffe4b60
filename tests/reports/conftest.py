"""A world with figures to report: hazardous stock in park A (class 3 and 8) and park C,
orders of park A's enterprises in March 2026 (one cancelled), an order of park C, and a
joint stockpile of park A holding 4 t of its 10 t target."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from access.scope import SYSTEM, resolve_scope
from inventory.models import StockMovement
from orders.models import Order
from pools.models import RequestKind
from pools.services import membership_decide, membership_request, pool_contribute, pool_create
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int = 15) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=SHANGHAI)


def order(*, seller: Any, buyer: Any, kg: str, when: datetime, status: str = "completed") -> Any:
    listing = f.ListingFactory.create(
        seller=seller,
        lot=f.LotFactory.create(zone=f.StorageZoneFactory.create(warehouse__owner=seller)),
        status="published",
    )
    made = f.OrderFactory.create(
        listing=listing, buyer=buyer, quantity_kg=Decimal(kg), status=status
    )
    Order.objects.filter(pk=made.pk).update(created_at=when)
    return made


@pytest.fixture
def report_world(world: dict[str, Any], receive: Any) -> dict[str, Any]:
    ents, zones = world["enterprises"], world["zones"]
    solvent = f.MaterialFactory.create(primary_class="3", un_number="1090")
    acid = f.MaterialFactory.create(primary_class="8", un_number="1789")
    lots = {
        "a1_solvent": receive(zone=zones["a1"], material=solvent, quantity="2500"),
        "a2_acid": receive(zone=zones["a2"], material=acid, quantity="1200"),
        "a1_inert": receive(zone=zones["a1"], material=world["material"], quantity="900"),
        "c_solvent": receive(zone=zones["c"], material=solvent, quantity="7000"),
    }
    # The acid arrived in February 2026: it is in the stock at the end of March.
    StockMovement.objects.filter(lot=lots["a2_acid"]).update(created_at=at(2026, 2))
    order(seller=ents["a1"], buyer=ents["b"], kg="3000", when=at(2026, 3, 2))
    order(seller=ents["b"], buyer=ents["a2"], kg="500", when=at(2026, 3, 20))
    order(seller=ents["a2"], buyer=ents["a1"], kg="800", when=at(2026, 3, 21), status="cancelled")
    order(seller=ents["a1"], buyer=ents["a2"], kg="100", when=at(2026, 5, 1), status="reserved")
    c2 = f.EnterpriseFactory.create(park=world["parks"]["c"])
    order(seller=ents["c"], buyer=c2, kg="999", when=at(2026, 3, 5))
    operator = resolve_scope(world["users"]["park_operator"])
    pool = pool_create(
        actor=operator,
        park=world["parks"]["a"],
        code="naoh",
        name="烧碱联储",
        material=world["material"],
        target_kg=Decimal(10000),
        zones=[zones["shared"]],
    )
    request = membership_request(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        kind=RequestKind.JOIN,
        commitment_kg=Decimal(6000),
    )
    membership_decide(actor=operator, request=request, approve=True)
    stock = receive(
        zone=zones["shared"], material=world["material"], quantity="4000", owner=ents["a1"]
    )
    pool_contribute(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        lot=stock,
        quantity_kg=Decimal(4000),
    )
    assert SYSTEM.is_system
    return {**world, "pool": pool, "lots": lots, "solvent": solvent, "acid": acid}
