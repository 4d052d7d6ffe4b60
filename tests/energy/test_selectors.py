"""The park's series and the enterprises' breakdown: figures from the rollups (never the
raw readings), year-on-year and intensity by hand, who sees which park, constant queries."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from energy.selectors import (
    ParkNotVisible,
    energy_anomalies,
    enterprise_energy_breakdown,
    meters_silent,
    park_energy_series,
)
from energy.services.ingest import readings_ingest
from energy.services.meters import output_value_create
from tests.energy.conftest import hourly

pytestmark = pytest.mark.django_db


@pytest.fixture
def use(world: dict[str, Any], make_meter: Any) -> dict[str, Any]:
    """a1: 1,000 kWh a day on 1-3 March 2025 and 2026; a2: 100 kg of diesel on 2 March 2026;
    c (another park): 5,000 kWh. Output: a1 200 x 10⁴ yuan in March 2026."""
    root = resolve_scope(world["users"]["superuser"])
    a1, a2, c = make_meter("a1"), make_meter("a2", carrier="diesel", unit="kg"), make_meter("c")
    rows = []
    for year in (2025, 2026):
        for day in (1, 2, 3):
            rows += hourly(a1, f"{year}-03-0{day}", "1000", hours=1)
    rows += hourly(a2, "2026-03-02", "100", hours=1) + hourly(c, "2026-03-02", "5000", hours=1)
    assert readings_ingest(actor=root, rows=rows).accepted == 8
    output_value_create(
        actor=root,
        enterprise=world["enterprises"]["a1"],
        month=date(2026, 3, 1),
        value_yuan=Decimal(2_000_000),
    )
    return {"meters": (a1, a2, c)}


def test_monthly_series_with_yoy_and_intensity(world: dict[str, Any], use: Any) -> None:
    operator = resolve_scope(world["users"]["park_operator"])
    series = park_energy_series(
        scope=operator,
        park_id=world["parks"]["a"].pk,
        start=date(2026, 3, 15),
        end=date(2026, 3, 20),
        granularity="month",
    )
    assert (series.start, series.end, series.convention) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        "equivalent",
    )
    (march,) = series.periods
    # 3,000 kWh x 0.1229 = 368.7 kgce; 100 kg diesel x 1.4571 = 145.71 kgce.
    assert march.tce == Decimal("0.514410")
    assert march.tce_by_carrier == {
        "diesel": Decimal("0.145710"),
        "electricity": Decimal("0.368700"),
    }
    assert march.output_10k_yuan == Decimal("200.0000")
    assert march.intensity == Decimal("0.0026")  # 0.51441 / 200
    # March 2025: 0.3687 tce; (0.51441 - 0.3687) / 0.3687 = +39.52 %
    assert march.yoy_pct == Decimal("39.52")


def test_the_month_under_way_is_compared_with_the_same_days_a_year_before(
    world: dict[str, Any],
    make_meter: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Any,
) -> None:
    """Today 2 March 2026. a1 used 1,000 kWh on 1 and 2 March 2026, and 1,000 kWh on each of
    1, 2 and 20 March and 5 April 2025. March 2026 so far (2,000 kWh) against 1-2 March 2025
    (2,000): 0 %, not -33.33 % against the whole of March 2025; April 2026 has not begun:
    no change, not -100 %. The enterprises' breakdown of March compares the same days."""
    from django.utils import timezone

    root = resolve_scope(world["users"]["superuser"])
    a1 = make_meter("a1")
    days = ("2025-03-01", "2025-03-02", "2025-03-20", "2025-04-05", "2026-03-01", "2026-03-02")
    rows = [row for day in days for row in hourly(a1, day, "1000", hours=1)]
    assert readings_ingest(actor=root, rows=rows).accepted == 6
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2026, 3, 2))
    regulator = resolve_scope(world["users"]["regulator"])
    park = world["parks"]["a"].pk
    with django_assert_num_queries(4):  # the days so far of last year's March: one more
        series = park_energy_series(
            scope=regulator, park_id=park, start=date(2026, 2, 1), end=date(2026, 4, 30)
        )
    february, march, april = series.periods
    assert (february.yoy_pct, march.yoy_pct, april.yoy_pct) == (None, Decimal("0.00"), None)
    assert march.tce == Decimal("0.245800")  # 2,000 kWh x 0.1229
    assert series.yoy_pct == Decimal("0.00")  # the total: the days so far on both sides
    (row,) = enterprise_energy_breakdown(
        scope=regulator, park_id=park, start=date(2026, 3, 1), end=date(2026, 3, 31)
    )
    assert row.yoy_pct == Decimal("0.00")
    later = enterprise_energy_breakdown(
        scope=regulator, park_id=park, start=date(2026, 4, 1), end=date(2026, 4, 30)
    )
    assert later == []  # nothing used, no output: no row
    # A past month is compared whole: March 2025 against March 2024 (nothing): no change.
    past = park_energy_series(
        scope=regulator, park_id=park, start=date(2025, 3, 1), end=date(2025, 3, 31)
    )
    assert past.periods[0].tce == Decimal("0.368700") and past.periods[0].yoy_pct is None


def test_daily_series(world: dict[str, Any], use: Any) -> None:
    regulator = resolve_scope(world["users"]["regulator"])
    series = park_energy_series(
        scope=regulator,
        park_id=world["parks"]["a"].pk,
        start=date(2026, 3, 1),
        end=date(2026, 3, 4),
        granularity="day",
        convention="equal_value",
    )
    assert [p.tce for p in series.periods] == [
        Decimal("0.301000"),
        Decimal("0.446710"),
        Decimal("0.301000"),
        Decimal("0.000000"),
    ]
    assert [p.yoy_pct for p in series.periods] == [
        Decimal("-0.66"),
        Decimal("47.43"),
        Decimal("-0.66"),
        None,
    ]
    assert series.periods[0].output_10k_yuan is None


def test_breakdown_per_enterprise(world: dict[str, Any], use: Any) -> None:
    regulator = resolve_scope(world["users"]["regulator"])
    rows = enterprise_energy_breakdown(
        scope=regulator,
        park_id=world["parks"]["a"].pk,
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    )
    assert [(r.enterprise_id, r.tce, r.intensity, r.yoy_pct) for r in rows] == [
        (world["enterprises"]["a1"].pk, Decimal("0.368700"), Decimal("0.0018"), Decimal("0.00")),
        (world["enterprises"]["a2"].pk, Decimal("0.145710"), None, None),
    ]


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("superuser", True),
        ("park_operator", True),
        ("regulator", True),
        ("regulator_c", False),
        ("enterprise_admin", False),
        ("viewer", False),
        ("park_b_admin", False),
    ],
)
def test_who_reads_the_park_figures(world: dict[str, Any], use: Any, who: str, sees: bool) -> None:
    scope = resolve_scope(world["users"][who])
    park = world["parks"]["a"].pk
    calls = [
        lambda: park_energy_series(
            scope=scope, park_id=park, start=date(2026, 3, 1), end=date(2026, 3, 31)
        ),
        lambda: enterprise_energy_breakdown(
            scope=scope, park_id=park, start=date(2026, 3, 1), end=date(2026, 3, 31)
        ),
        lambda: list(energy_anomalies(scope=scope, park_id=park)),
        lambda: list(meters_silent(scope=scope, park_id=park)),
    ]
    for call in calls:
        if sees:
            call()
        else:
            with pytest.raises(ParkNotVisible):
                call()


def test_the_series_takes_three_queries_whatever_the_range(
    world: dict[str, Any], use: Any, django_assert_num_queries: Any
) -> None:
    regulator = resolve_scope(world["users"]["regulator"])
    with django_assert_num_queries(3):  # a range of past months (the current: see above)
        park_energy_series(
            scope=regulator,
            park_id=world["parks"]["a"].pk,
            start=date(2023, 1, 1),
            end=date(2025, 12, 31),
        )


def test_silent_meters_and_anomalies_of_the_park(world: dict[str, Any], use: Any) -> None:
    regulator = resolve_scope(world["users"]["regulator"])
    park = world["parks"]["a"].pk
    silent = list(meters_silent(scope=regulator, park_id=park))
    assert {m.pk for m in silent} == {use["meters"][0].pk, use["meters"][1].pk}
    assert list(energy_anomalies(scope=regulator, park_id=park)) == []
