from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.scope import SYSTEM
from common.exceptions import DomainError
from common.models import OutboxEvent
from inventory.exceptions import InsufficientStock
from inventory.models import StockLot
from inventory.services import stock_reserve
from marketplace.exceptions import InvalidTransition
from marketplace.models import Listing, Need
from marketplace.services import (
    listing_create,
    listing_publish,
    listing_update,
    listing_withdraw,
    need_close,
    need_create,
    need_reopen,
    need_update,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(world: dict[str, Any], receive: Any) -> StockLot:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")


def create(world: dict[str, Any], lot: StockLot, **kwargs: Any) -> Listing:
    terms: dict[str, Any] = {
        "actor": SYSTEM,
        "seller": world["enterprises"]["a1"],
        "lot": lot,
        "quantity_kg": Decimal("400"),
        "price_per_t": Decimal("5200"),
        "available_from": date(2026, 1, 1),
    }
    terms.update(kwargs)
    return listing_create(**terms)


def test_listing_starts_as_draft_and_publishes(world: dict[str, Any], lot: StockLot) -> None:
    listing = create(world, lot)
    assert listing.status == "draft"
    listing = listing_publish(actor=SYSTEM, listing=listing)
    assert listing.status == "published"
    assert listing.published_at is not None
    topics = list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))
    assert topics[-2:] == ["listing.created", "listing.published"]
    assert OutboxEvent.objects.latest("id").payload["material_ids"] == [lot.material_id]


def test_listing_cannot_offer_more_than_unreserved_stock(
    world: dict[str, Any], lot: StockLot
) -> None:
    stock_reserve(
        actor=SYSTEM, lot=lot, holder=lot.owner, quantity_kg=Decimal("700"), expires_at=None
    )
    listing = create(world, lot, quantity_kg=Decimal("301"))
    with pytest.raises(InsufficientStock):
        listing_publish(actor=SYSTEM, listing=listing)
    assert Listing.objects.get(pk=listing.pk).status == "draft"
    listing_update(actor=SYSTEM, listing=listing, quantity_kg=Decimal("300"))
    assert listing_publish(actor=SYSTEM, listing=listing).status == "published"


def test_listing_rules(world: dict[str, Any], lot: StockLot) -> None:
    with pytest.raises(DomainError) as info:
        create(world, lot, min_order_kg=Decimal("500"))
    assert info.value.field == "min_order"
    with pytest.raises(DomainError) as info:
        create(world, lot, available_until=date(2025, 12, 31))
    assert info.value.field == "available_until"
    with pytest.raises(DomainError) as info:
        create(world, lot, seller=world["enterprises"]["a2"])
    assert info.value.field == "lot"
    assert not Listing.objects.exists()


def test_expired_window_cannot_be_published(world: dict[str, Any], lot: StockLot) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    listing = create(world, lot, available_from=yesterday, available_until=yesterday)
    with pytest.raises(DomainError) as info:
        listing_publish(actor=SYSTEM, listing=listing)
    assert info.value.field == "available_until"


def test_listing_transitions(world: dict[str, Any], lot: StockLot) -> None:
    listing = create(world, lot, publish=True)
    with pytest.raises(InvalidTransition):
        listing_publish(actor=SYSTEM, listing=listing)
    listing = listing_withdraw(actor=SYSTEM, listing=listing)
    assert listing.status == "withdrawn"
    with pytest.raises(InvalidTransition):
        listing_withdraw(actor=SYSTEM, listing=listing)
    with pytest.raises(InvalidTransition):
        listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal(1))
    assert listing_publish(actor=SYSTEM, listing=listing).status == "published"


def test_update_refuses_unknown_fields(world: dict[str, Any], lot: StockLot) -> None:
    listing = create(world, lot)
    with pytest.raises(DomainError) as info:
        listing_update(actor=SYSTEM, listing=listing, seller=world["enterprises"]["a2"])
    assert info.value.field == "seller"


def test_need_lifecycle_and_substitutes(world: dict[str, Any]) -> None:
    substitute = f.MaterialFactory.create()
    need = need_create(
        actor=SYSTEM,
        enterprise=world["enterprises"]["a2"],
        material=world["material"],
        quantity_kg=Decimal("250"),
        needed_by=date(2027, 3, 1),
        delivery_zone=world["zones"]["a2"],
        substitutes=[substitute],
    )
    assert list(need.substitutes.all()) == [substitute]
    event = OutboxEvent.objects.get(topic="need.opened")
    assert event.payload["material_ids"] == sorted([world["material"].pk, substitute.pk])
    need = need_update(actor=SYSTEM, need=need, quantity_kg=Decimal("300"))
    assert need.quantity_kg == Decimal("300")
    assert list(need.substitutes.all()) == [substitute]
    need = need_close(actor=SYSTEM, need=need)
    with pytest.raises(InvalidTransition):
        need_close(actor=SYSTEM, need=need)
    with pytest.raises(InvalidTransition):
        need_update(actor=SYSTEM, need=need, quantity_kg=Decimal("1"))
    assert need_reopen(actor=SYSTEM, need=need).status == "open"


def test_need_needs_a_place_and_a_real_substitute(world: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "actor": SYSTEM,
        "enterprise": world["enterprises"]["a2"],
        "material": world["material"],
        "quantity_kg": Decimal("1"),
        "needed_by": date(2027, 1, 1),
    }
    with pytest.raises(DomainError) as info:
        need_create(**base, delivery_latitude=Decimal("29.9"))
    assert info.value.field == "delivery_zone"
    with pytest.raises(DomainError) as info:
        need_create(**base, delivery_zone=world["zones"]["a2"], substitutes=[world["material"]])
    assert info.value.field == "substitutes"
    assert not Need.objects.exists()
