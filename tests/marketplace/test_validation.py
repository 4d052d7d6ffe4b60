"""Listings and needs: the services run the models' own validators on the terms they write,
so a command or a task (the service called directly) is refused like the API, naming the
field, with nothing written (no row, no audit row, no event)."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from inventory.models import StockLot
from marketplace.models import Listing, Need
from marketplace.services import listing_create, listing_update, need_create, need_update
from tests.validation import refused_on, stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(world: dict[str, Any], receive: Any) -> StockLot:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")


def offer(world: dict[str, Any], lot: StockLot, **overrides: Any) -> Listing:
    fields: dict[str, Any] = {
        "seller": lot.owner,
        "lot": lot,
        "quantity_kg": Decimal(100),
        "price_per_t": Decimal(3000),
        "available_from": date(2026, 1, 1),
    }
    return listing_create(actor=resolve_scope(world["users"]["trader"]), **{**fields, **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price_per_t": Decimal(-1)}, "price_per_t"),
        ({"price_per_t": Decimal("3000.001")}, "price_per_t"),
        ({"quantity_kg": Decimal("100.0001")}, "quantity_kg"),
        ({"visibility": "world"}, "visibility"),
        ({"note": "n" * 501}, "note"),
    ],
)
def test_listing_create_refuses_what_the_model_refuses(
    world: dict[str, Any], lot: StockLot, overrides: dict[str, Any], field: str
) -> None:
    with refused_on(field, Listing):
        offer(world, lot, **overrides)


def test_listing_update_refuses_a_negative_price_and_changes_nothing(
    world: dict[str, Any], lot: StockLot
) -> None:
    listing = offer(world, lot, publish=True)
    before = stored(listing)
    with refused_on("price_per_t", Listing):
        listing_update(
            actor=resolve_scope(world["users"]["trader"]),
            listing=listing,
            price_per_t=Decimal(-5),
            note="x",
        )
    assert stored(listing) == before


def ask(world: dict[str, Any], **overrides: Any) -> Need:
    fields: dict[str, Any] = {
        "enterprise": world["enterprises"]["a2"],
        "material": world["material"],
        "quantity_kg": Decimal(500),
        "needed_by": date(2027, 6, 30),
        "delivery_zone": world["zones"]["a2"],
    }
    return need_create(
        actor=resolve_scope(world["users"]["other_admin"]), **{**fields, **overrides}
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"max_price_per_t": Decimal(-1)}, "max_price_per_t"),
        ({"max_distance_km": Decimal(20001)}, "max_distance_km"),
        ({"min_purity_pct": Decimal(101)}, "min_purity_pct"),
        ({"delivery_latitude": Decimal(91), "delivery_longitude": Decimal(0)}, "delivery_latitude"),
        ({"quantity_kg": Decimal("0.0005")}, "quantity_kg"),
    ],
)
def test_need_create_refuses_what_the_model_refuses(
    world: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    with refused_on(field, Need):
        ask(world, **overrides)


def test_need_update_refuses_a_distance_out_of_range_and_changes_nothing(
    world: dict[str, Any],
) -> None:
    need = ask(world)
    before = stored(need)
    with refused_on("max_distance_km", Need):
        need_update(
            actor=resolve_scope(world["users"]["other_admin"]),
            need=need,
            max_distance_km=Decimal(-1),
            note="x",
        )
    assert stored(need) == before
