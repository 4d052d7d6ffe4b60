"""The figures of the reports against hand-counted values of ``report_world``."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from access.scope import resolve_scope
from reports.periods import Period
from reports.sections import ComparisonQuery, ParkQuery
from reports.selectors import (
    park_comparison,
    park_enterprises,
    park_hazardous_stock,
    park_pool_coverage,
    park_trade_by_month,
)
from tests.reports.conftest import at, order

pytestmark = pytest.mark.django_db

PAST = Period.of("2026-01", "2026-06")


def query(rw: dict[str, Any], user: str = "regulator", period: Period = PAST) -> ParkQuery:
    return ParkQuery(resolve_scope(rw["users"][user]), rw["parks"]["a"], period)


def test_trade_by_month_counts_both_sides_and_leaves_out_what_did_not_go_ahead(
    report_world: dict[str, Any],
) -> None:
    rows = {row["month"]: row for row in park_trade_by_month(query(report_world))}
    assert list(rows) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    march = rows["2026-03"]
    # a1 sold 3 t to b; b sold 0.5 t to a2; the cancelled 0.8 t and park C's order are out.
    assert (march["orders"], march["sold_t"], march["bought_t"]) == (
        2,
        Decimal("3.000"),
        Decimal("0.500"),
    )
    assert march["sales_cny"] > 0
    # A reserved order inside the park is a sale and a purchase of the park.
    assert (rows["2026-05"]["sold_t"], rows["2026-05"]["bought_t"]) == (
        Decimal("0.100"),
        Decimal("0.100"),
    )
    assert rows["2026-01"]["orders"] == 0


def test_hazardous_stock_now_and_at_the_end_of_a_past_period(report_world: dict[str, Any]) -> None:
    now = park_hazardous_stock(query(report_world, period=Period.of(None, None)))
    assert [(r["class"], r["lots"], r["on_hand_t"]) for r in now] == [
        ("3", 1, Decimal("2.500")),
        ("8", 1, Decimal("1.200")),
    ]
    # At the end of June 2026 only the acid (received in February) was there.
    past = park_hazardous_stock(query(report_world))
    assert [(r["class"], r["on_hand_t"]) for r in past] == [("8", Decimal("1.200"))]


def test_pool_coverage_now_and_at_the_end_of_a_past_period(report_world: dict[str, Any]) -> None:
    (now,) = park_pool_coverage(query(report_world, period=Period.of(None, None)))
    assert (now["pool"], now["target_t"], now["held_t"], now["coverage_pct"]) == (
        "naoh",
        Decimal("10.000"),
        Decimal("4.000"),
        Decimal("40.0"),
    )
    (past,) = park_pool_coverage(query(report_world))
    assert (past["held_t"], past["coverage_pct"]) == (Decimal("0.000"), Decimal("0.0"))


def test_enterprises_with_their_hazardous_stock(report_world: dict[str, Any]) -> None:
    rows = {r["uscc"]: r for r in park_enterprises(query(report_world))}
    a1, a2 = report_world["enterprises"]["a1"], report_world["enterprises"]["a2"]
    assert set(rows) == {a1.uscc, a2.uscc}  # the pool's holder is not an enterprise here
    # At the end of June 2026: only a2's acid (received in February); a1's solvent came later.
    assert rows[a1.uscc]["hazardous_t"] == Decimal("0.000")
    assert rows[a2.uscc]["hazardous_t"] == Decimal("1.200")
    now = {
        r["uscc"]: r for r in park_enterprises(query(report_world, period=Period.of(None, None)))
    }
    assert (now[a1.uscc]["hazardous_lots"], now[a1.uscc]["hazardous_t"]) == (1, Decimal("2.500"))
    assert now[a2.uscc]["hazardous_t"] == Decimal("1.200")


def test_comparison_of_every_park(report_world: dict[str, Any]) -> None:
    parks = report_world["parks"]
    scope = resolve_scope(report_world["users"]["superuser"])
    rows = {
        r["code"]: r
        for r in park_comparison(ComparisonQuery(scope, [parks["a"], parks["c"]], PAST))
    }
    a, c = rows[parks["a"].code], rows[parks["c"].code]
    assert (a["enterprises"], a["pools"], a["pool_coverage_pct"]) == (2, 1, Decimal("40.0"))
    assert (a["orders_sold"], a["sold_t"], a["orders_bought"], a["bought_t"]) == (
        2,
        Decimal("3.100"),
        2,
        Decimal("0.600"),
    )
    assert a["hazardous_t"] == Decimal("3.700")
    assert (c["orders_sold"], c["sold_t"], c["hazardous_t"]) == (
        1,
        Decimal("0.999"),
        Decimal("7.000"),
    )


@pytest.mark.parametrize("user", ["regulator_c", "enterprise_admin", "viewer"])
def test_a_selector_refuses_a_caller_outside_the_park(
    report_world: dict[str, Any], user: str
) -> None:
    for selector in (
        park_trade_by_month,
        park_hazardous_stock,
        park_pool_coverage,
        park_enterprises,
    ):
        with pytest.raises(PermissionDenied):
            selector(query(report_world, user))
    scope = resolve_scope(report_world["users"][user])
    with pytest.raises(PermissionDenied):
        park_comparison(ComparisonQuery(scope, [report_world["parks"]["a"]], PAST))


def test_queries_do_not_grow_with_the_park(
    report_world: dict[str, Any], receive: Any, django_assert_num_queries: Any
) -> None:
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            q = query(report_world, "superuser")
            for selector in (
                park_trade_by_month,
                park_hazardous_stock,
                park_pool_coverage,
                park_enterprises,
            ):
                selector(q)
            park_comparison(ComparisonQuery(q.scope, list(report_world["parks"].values()), PAST))
        return len(captured)

    before = count()
    ents = report_world["enterprises"]
    for i in range(5):
        order(seller=ents["a2"], buyer=ents["a1"], kg="10", when=at(2026, 1 + i))
        receive(zone=report_world["zones"]["a2"], material=report_world["acid"], quantity="5")
    assert count() == before
