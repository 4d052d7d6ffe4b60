"""A world with figures to report: hazardous stock in park A (class 3 and 8) and park C,
orders of park A's enterprises in March 2026 (one cancelled), an order of park C, and a
joint stockpile of park A holding 4 t of its 10 t target."""

from datetime import date, datetime, time, timedelta
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


def hours_of(meter: Any, day: date, values: list[str]) -> list[dict[str, Any]]:
    """Readings of ``meter`` for the hours of ``day`` (ending 01:00 .. 24:00 local time)."""
    start = datetime.combine(day, time.min, SHANGHAI)
    return [
        {"meter": meter.pk, "at": (start + timedelta(hours=h + 1)).isoformat(), "value": v}
        for h, v in enumerate(values)
    ]


@pytest.fixture
def energy_safety_world(report_world: dict[str, Any], receive: Any) -> dict[str, Any]:
    """The report world with energy and safety figures in park A, all through the services.

    Energy (hourly readings): a1's electricity meter 2026-03-10, 23 h of 100 kWh and a jump
    to 1,000 kWh in the last hour (3,300 kWh: 405.57 kgce equivalent, 993.3 kgce equal
    value at 0.3010), and 2025-03-10, 24 h of 50 kWh (1,200 kWh: 147.48 kgce equivalent,
    363.6 equal value at 0.3030); a2's gas meter 2026-03-10, 24 h of 10 m3 (240 m3: 291.432
    kgce under both); a1's output value in March 2026: 10,000 yuan (1 × 10⁴). Both meters
    are silent now.

    Safety: an inspection of a1 on 2026-02-01 found a general hazard due 2026-03-01, not
    rectified (overdue), a major one due 2026-03-15 rectified 2026-03-10 (on time), a major
    one due 2026-04-30 rectified 2026-05-10 (late) and a general one due 2030-01-01 (open);
    incidents: a1 2026-03-05, 1 serious injury and 12,000.50 yuan (ordinary), a2 2026-04-10,
    3 deaths (relatively serious); 6 t of chlorine (Q 5 t, β 4) in a1's zone: S 1.2, R 9.6,
    level 4. Zone a2 is licensed for class 3 only since its 1.2 t of acid (class 8) came in:
    a lot in a zone that no longer admits it."""
    from energy.factors import factors_seed
    from energy.services.ingest import readings_ingest
    from energy.services.meters import meter_create, output_value_create
    from inventory.models import StorageZone
    from safety.services import (
        hazard_record,
        hazard_rectify,
        incident_report,
        inspection_create,
        major_hazards_recompute,
    )

    w = report_world
    factors_seed()  # a transactional test's flush removes the data migration's rows
    root = resolve_scope(w["users"]["superuser"])
    admin_a1 = resolve_scope(w["users"]["enterprise_admin"])
    admin_a2 = resolve_scope(w["users"]["other_admin"])
    ents = w["enterprises"]
    power = meter_create(
        actor=root, enterprise=ents["a1"], code="A1-EL", carrier="electricity", unit="kWh"
    )
    gas = meter_create(
        actor=root, enterprise=ents["a2"], code="A2-NG", carrier="natural_gas", unit="m3"
    )
    ingested = [
        readings_ingest(actor=admin_a1, rows=hours_of(power, date(2025, 3, 10), ["50"] * 24)),
        readings_ingest(
            actor=admin_a1, rows=hours_of(power, date(2026, 3, 10), ["100"] * 23 + ["1000"])
        ),
        readings_ingest(actor=admin_a2, rows=hours_of(gas, date(2026, 3, 10), ["10"] * 24)),
    ]
    assert [r.refused for r in ingested] == [[], [], []]
    output_value_create(
        actor=admin_a1, enterprise=ents["a1"], month=date(2026, 3, 1), value_yuan=Decimal(10000)
    )

    operator = resolve_scope(w["users"]["park_operator"])
    inspection = inspection_create(
        actor=operator, park=w["parks"]["a"], enterprise=ents["a1"], inspected_on=date(2026, 2, 1)
    )

    def hazard(grade: str, deadline: date, rectified: date | None = None) -> None:
        found = hazard_record(
            actor=operator,
            inspection=inspection,
            description="隐患",
            grade=grade,
            deadline=deadline,
        )
        if rectified is not None:
            hazard_rectify(actor=admin_a1, hazard=found, rectified_on=rectified)

    hazard("general", date(2026, 3, 1))
    hazard("major", date(2026, 3, 15), date(2026, 3, 10))
    hazard("major", date(2026, 4, 30), date(2026, 5, 10))
    hazard("general", date(2030, 1, 1))
    incident_report(
        actor=admin_a1,
        enterprise=ents["a1"],
        occurred_at=at(2026, 3, 5),
        description="泄漏",
        serious_injuries=1,
        direct_loss_yuan=Decimal("12000.50"),
    )
    incident_report(
        actor=admin_a2,
        enterprise=ents["a2"],
        occurred_at=at(2026, 4, 10),
        description="火灾",
        deaths=3,
    )
    chlorine = f.MaterialFactory.create(
        name_en="Chlorine", cas="7782-50-5", gb18218_threshold_t=Decimal(5)
    )
    zone = w["zones"]["a1"]
    receive(zone=zone, material=chlorine, quantity="6000")
    major_hazards_recompute(warehouse_ids=[zone.warehouse_id])
    StorageZone.objects.filter(pk=w["zones"]["a2"].pk).update(allowed_classes=["3"])
    return {**w, "power": power, "gas": gas, "chlorine": chlorine}
