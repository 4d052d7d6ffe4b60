"""List endpoints that render ``.values()`` rows must say exactly what detail says.

The list view of a FlatReadSerializer of plain columns skips model instances; the detail
view renders the instance. Both must give the same JSON for every row.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.api import _value_columns
from access.scope import SYSTEM, resolve_scope
from config.api_urls import router
from energy.factors import factors_seed
from energy.services.ingest import readings_ingest
from energy.services.meters import meter_create, output_value_create
from inventory.services import reservation_release, stock_adjust, stock_reserve
from marketplace.services import listing_create
from tests import factories as f

pytestmark = pytest.mark.django_db


def list_serializer_class(viewset: Any) -> Any:
    view = viewset(action="list", swagger_fake_view=True)
    return view.get_serializer_class()


VALUES_ROUTES = [
    (prefix, viewset)
    for prefix, viewset, _ in router.registry
    if _value_columns(list_serializer_class(viewset)) is not None
]


def test_the_big_lists_take_the_values_path() -> None:
    assert {"listings", "lots", "movements", "matches"} <= {prefix for prefix, _ in VALUES_ROUTES}


@pytest.fixture
def rows(world: dict[str, Any], receive: Any) -> None:
    lot = receive(
        zone=world["zones"]["a1"],
        material=world["material"],
        quantity="1234.5",
        batch_no="B-1",
        purity_pct=Decimal("99.5"),
        produced_on=date(2026, 1, 2),
    )
    stock_adjust(
        actor=resolve_scope(world["users"]["warehouse_keeper"]), lot=lot, delta_kg=Decimal("-4.5")
    )
    # Stock of a1 held for b (with an expiry), and a reservation released (closed).
    for expires_at in (timezone.now() + timedelta(hours=2), None):
        reservation = stock_reserve(
            actor=resolve_scope(world["users"]["trader"]),
            lot=lot,
            holder=world["enterprises"]["b"],
            quantity_kg=Decimal("2.5"),
            expires_at=expires_at,
            reference="order:1",
        )
    reservation_release(actor=SYSTEM, reservation=reservation, reason="cancelled")
    receive(
        zone=world["zones"]["shared"],
        owner=world["enterprises"]["a1"],
        material=world["material"],
        quantity="7",
    )
    published = listing_create(
        actor=SYSTEM,
        seller=lot.owner,
        lot=lot,
        quantity_kg=Decimal("100.125"),
        price_per_t=Decimal("5230.50"),
        available_from=date(2026, 1, 1),
        publish=True,
    )
    listing_create(
        actor=SYSTEM,
        seller=lot.owner,
        lot=lot,
        quantity_kg=Decimal(3),
        price_per_t=Decimal(1),
        available_from=date(2026, 1, 1),
        visibility="all",
    )
    # An order of b's from a1's listing (rows to list; its steps are tests/orders').
    f.OrderFactory.create(listing=published, buyer=world["enterprises"]["b"])
    # a1 sells to b: one proposal, and one agreed by a run with every timestamp set.
    for status, when, run in (
        ("proposed", None, None),
        ("agreed", timezone.now(), f.MatchRunFactory.create()),
    ):
        f.MatchFactory.create(
            listing=published,
            need__enterprise=world["enterprises"]["b"],
            quantity_kg=Decimal("12.345"),
            status=status,
            seller_accepted_at=when,
            buyer_accepted_at=when,
            decided_at=when,
            run=run,
        )


@pytest.fixture
def energy_rows(world: dict[str, Any]) -> None:
    """A meter of a1 with readings, an output value, the conversion factors."""
    factors_seed()
    admin = resolve_scope(world["users"]["enterprise_admin"])
    meter = meter_create(
        actor=admin,
        enterprise=world["enterprises"]["a1"],
        code="E-1",
        carrier="natural_gas",
        unit="m3",
        anomaly_factor=Decimal("3.50"),
    )
    readings_ingest(
        actor=admin,
        rows=[
            {"meter": meter.pk, "at": f"2026-03-01T0{h}:00:00+08:00", "value": f"{h}.125"}
            for h in range(1, 4)
        ],
    )
    output_value_create(
        actor=admin,
        enterprise=world["enterprises"]["a1"],
        month=date(2026, 3, 1),
        value_yuan=Decimal("1000000.50"),
    )


@pytest.mark.usefixtures("rows", "energy_rows")
@pytest.mark.parametrize(("prefix", "viewset"), VALUES_ROUTES)
def test_list_rows_equal_detail(
    prefix: str, viewset: Any, world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    listed = client.get(f"/api/v1/{prefix}/").json()["results"]
    assert listed, f"no {prefix} to compare"
    for row in listed:
        detail = client.get(f"/api/v1/{prefix}/{row['id']}/").json()
        # A detail may say more (an order's transitions); what the list says, it says alike.
        assert set(row) <= set(detail)
        assert {key: detail[key] for key in row} == row
