"""Conversion to standard coal against hand-computed figures, for both conventions and the
factors' effective dates; a factor added or corrected reprices the rollups it covers."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from common.exceptions import DomainError, NotPermitted
from energy.factors import FactorTable, reading_day
from energy.models import ConversionFactor, EnterpriseDay, EnterpriseMonth
from energy.rollups import rollups_check
from energy.selectors import park_energy_series
from energy.services.factors import conversion_factor_create, conversion_factor_update
from energy.services.ingest import readings_ingest
from tests.audited import one_audit_row
from tests.energy.conftest import hourly

pytestmark = pytest.mark.django_db


def test_seeded_factors_are_those_of_gb_t_2589() -> None:
    table = FactorTable.load()
    day = date(2026, 6, 1)
    assert table.factor("electricity", "equivalent", day) == Decimal("0.1229")
    assert table.factor("electricity", "equal_value", day) == Decimal("0.3010")
    assert table.factor("electricity", "equal_value", date(2025, 6, 1)) == Decimal("0.3030")
    assert table.factor("electricity", "equal_value", date(2024, 12, 31)) == Decimal("0.3050")
    for carrier, value in {
        "raw_coal": "0.7143",
        "washed_coal": "0.9000",
        "coke": "0.9714",
        "crude_oil": "1.4286",
        "gasoline": "1.4714",
        "diesel": "1.4571",
        "lpg": "1.7143",
        "natural_gas": "1.2143",
        "heat": "0.03412",
        "steam": "0.1286",
    }.items():
        # One factor serves both conventions for every carrier but electricity.
        assert table.factor(carrier, "equivalent", day) == Decimal(value), carrier
        assert table.factor(carrier, "equal_value", day) == Decimal(value), carrier
    assert table.factor("electricity", "equivalent", date(1999, 12, 31)) is None


def test_the_hour_ending_at_midnight_counts_to_the_day_before() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    assert reading_day(datetime(2026, 1, 1, 0, 0, tzinfo=shanghai)) == date(2025, 12, 31)
    assert reading_day(datetime(2026, 1, 1, 0, 0, 1, tzinfo=shanghai)) == date(2026, 1, 1)
    # 16:00 UTC is midnight in Shanghai.
    assert reading_day(datetime(2026, 1, 1, 16, 0, tzinfo=ZoneInfo("UTC"))) == date(2026, 1, 1)


def test_tce_in_both_conventions_by_hand(
    world: dict[str, Any], make_meter: Any, admin_a1: Any
) -> None:
    """10,000 kWh on 31 Dec 2025 and 10,000 kWh on 1 Jan 2026 (two equal-value factors),
    500 m3 of natural gas and 2,000 kg of diesel in January 2026."""
    power, gas, diesel = (
        make_meter(),
        make_meter(carrier="natural_gas", unit="m3"),
        make_meter(carrier="diesel", unit="kg"),
    )
    rows = (
        hourly(power, "2025-12-31", "10000", hours=1)
        + hourly(power, "2026-01-01", "10000", hours=1)
        + hourly(gas, "2026-01-10", "500", hours=1)
        + hourly(diesel, "2026-01-20", "2000", hours=1)
    )
    assert readings_ingest(actor=admin_a1, rows=rows).accepted == 4
    regulator = resolve_scope(world["users"]["regulator"])
    park = world["parks"]["a"].pk
    equivalent = park_energy_series(
        scope=regulator,
        park_id=park,
        start=date(2025, 12, 1),
        end=date(2026, 1, 31),
        granularity="month",
        convention="equivalent",
    )
    equal = park_energy_series(
        scope=regulator,
        park_id=park,
        start=date(2025, 12, 1),
        end=date(2026, 1, 31),
        granularity="month",
        convention="equal_value",
    )
    assert (equivalent.convention, equal.convention) == ("equivalent", "equal_value")
    dec, jan = equivalent.periods
    # December: 10,000 kWh x 0.1229 = 1,229 kgce = 1.229 tce.
    assert dec.tce == Decimal("1.229000")
    # January: 1.229 + 500 x 1.2143 = 607.15 kgce + 2,000 x 1.4571 = 2,914.2 kgce
    assert jan.tce == Decimal("4.750350")
    assert jan.tce_by_carrier == {
        "diesel": Decimal("2.914200"),
        "electricity": Decimal("1.229000"),
        "natural_gas": Decimal("0.607150"),
    }
    dec_ev, jan_ev = equal.periods
    assert dec_ev.tce == Decimal("3.030000")  # 10,000 x 0.3030 (2025's figure)
    assert jan_ev.tce == Decimal("6.531350")  # 10,000 x 0.3010 + 607.15 + 2,914.2 kgce
    assert equal.total_tce == Decimal("9.561350")


def test_a_new_factor_supersedes_the_one_in_force_and_reprices_the_rollups(
    world: dict[str, Any], make_meter: Any, admin_a1: Any
) -> None:
    meter = make_meter()
    readings_ingest(
        actor=admin_a1,
        rows=hourly(meter, "2026-03-31", "100", hours=1)
        + hourly(meter, "2026-04-01", "100", hours=1),
    )
    root = resolve_scope(world["users"]["superuser"])
    with one_audit_row(actor=root, action="conversion_factor.create"):
        factor = conversion_factor_create(
            actor=root,
            carrier="electricity",
            convention="equal_value",
            kgce_per_unit=Decimal("0.2900"),
            valid_from=date(2026, 4, 1),
            source="illustrative",
        )
    assert factor.valid_until is None
    before = ConversionFactor.objects.get(
        carrier="electricity", convention="equal_value", valid_from=date(2026, 1, 1)
    )
    assert before.valid_until == date(2026, 3, 31)
    days = dict(EnterpriseDay.objects.values_list("day", "kgce_equal_value"))
    assert days[date(2026, 3, 31)] == Decimal("30.1")  # 100 x 0.3010, unchanged
    assert days[date(2026, 4, 1)] == Decimal("29")  # 100 x 0.2900
    months = dict(EnterpriseMonth.objects.values_list("month", "kgce_equal_value"))
    assert months[date(2026, 4, 1)] == Decimal("29")
    with one_audit_row(actor=root, action="conversion_factor.update"):
        conversion_factor_update(actor=root, factor=factor, kgce_per_unit=Decimal("0.3100"))
    months = dict(EnterpriseMonth.objects.values_list("month", "kgce_equal_value"))
    assert months[date(2026, 4, 1)] == Decimal("31")
    assert months[date(2026, 3, 1)] == Decimal("30.1")
    assert rollups_check().ok


def test_factors_are_kept_by_superusers_only(world: dict[str, Any], admin_a1: Any) -> None:
    with pytest.raises(NotPermitted):
        conversion_factor_create(
            actor=admin_a1,
            carrier="coke",
            convention="equivalent",
            kgce_per_unit=Decimal(1),
            valid_from=date(2026, 1, 1),
        )
    root = resolve_scope(world["users"]["superuser"])
    with pytest.raises(DomainError) as refused:
        conversion_factor_create(
            actor=root,
            carrier="coke",
            convention="equal_value",
            kgce_per_unit=Decimal(1),
            valid_from=date(2026, 1, 1),
        )
    assert refused.value.field == "convention"
    with pytest.raises(DomainError) as refused:
        conversion_factor_create(
            actor=root,
            carrier="coke",
            convention="equivalent",
            kgce_per_unit=Decimal(1),
            valid_from=date(2000, 1, 1),
        )
    assert refused.value.field == "valid_from"
