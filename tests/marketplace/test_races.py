"""Concurrent transitions of one listing on PostgreSQL: exactly one wins."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM
from marketplace.exceptions import InvalidTransition
from marketplace.models import Listing
from marketplace.services import listing_create, listing_publish, listing_withdraw
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("on_postgres")]


def test_concurrent_withdrawals_of_one_listing(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    listing = listing_create(
        actor=SYSTEM,
        seller=lot.owner,
        lot=lot,
        quantity_kg=Decimal(50),
        price_per_t=Decimal(100),
        available_from=date(2026, 1, 1),
        publish=True,
    )

    results = run_concurrently(
        8, lambda i: listing_withdraw(actor=SYSTEM, listing=Listing.objects.get(pk=listing.pk))
    )

    assert sum(isinstance(r, Listing) for r in results) == 1
    assert sum(isinstance(r, InvalidTransition) for r in results) == 7


def test_concurrent_publications_of_one_listing(world: dict[str, Any], receive: Any) -> None:
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")
    listing = listing_create(
        actor=SYSTEM,
        seller=lot.owner,
        lot=lot,
        quantity_kg=Decimal(50),
        price_per_t=Decimal(100),
        available_from=date(2026, 1, 1),
    )

    results = run_concurrently(
        8, lambda i: listing_publish(actor=SYSTEM, listing=Listing.objects.get(pk=listing.pk))
    )

    assert sum(isinstance(r, Listing) for r in results) == 1
    assert sum(isinstance(r, InvalidTransition) for r in results) == 7
