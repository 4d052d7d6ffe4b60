"""The energy and safety pages (issue 13): their sections' rows against hand-computed
values on a small world built through the energy and safety services
(``energy_safety_world`` in conftest.py), the convention and granularity parameters (bounded,
a bad one a 400 naming it), the pages and the monthly report showing them, and a constant
number of queries per page whatever the size of the park."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from access.scope import resolve_scope
from reports.pages import ENERGY, SAFETY, monthly_sections
from reports.periods import Period
from reports.sections import ParkQuery, compute
from reports.selectors import local_name

pytestmark = pytest.mark.django_db
D = Decimal
PARKS = "/api/v1/reports/parks/"
H1 = Period(date(2026, 1, 1), date(2026, 6, 1))  # 2026-01 .. 2026-06


def tables(world: dict[str, Any], page: Any, **kwargs: Any) -> dict[str, Any]:
    scope = resolve_scope(world["users"]["regulator"])
    query = ParkQuery(scope, world["parks"]["a"], kwargs.pop("period", H1), **kwargs)
    return {t.section.key: t for t in compute(page.sections, query)}


def test_energy_trend_by_month_and_carrier(energy_safety_world: dict[str, Any]) -> None:
    trend = tables(energy_safety_world, ENERGY)["energy-trend"]
    assert len(trend.rows) == 6 * 2  # every month, every carrier used in the period
    march = {r["carrier"]: r["tce"] for r in trend.rows if r["period"] == "2026-03"}
    # 3,300 kWh × 0.1229 = 405.57 kgce; 240 m3 × 1.2143 = 291.432 kgce
    assert march == {"electricity": D("0.405570"), "natural gas": D("0.291432")}
    assert {r["tce"] for r in trend.rows if r["period"] != "2026-03"} == {D(0)}
    assert "equivalent value" in trend.title and "equivalent value" in trend.as_dict()["title"]


def test_energy_share_intensity_and_year_on_year(energy_safety_world: dict[str, Any]) -> None:
    found = tables(energy_safety_world, ENERGY)
    share = [(r["carrier"], r["tce"], r["share_pct"]) for r in found["energy-share"].rows]
    assert share == [
        ("electricity", D("0.405570"), D("58.2")),
        ("natural_gas", D("0.291432"), D("41.8")),
    ]
    ents = energy_safety_world["enterprises"]
    intensity = {r["enterprise"]: r for r in found["energy-intensity"].rows}
    assert list(intensity) == [local_name(e.name_zh, e.name_en) for e in (ents["a1"], ents["a2"])]
    a1 = intensity[local_name(ents["a1"].name_zh, ents["a1"].name_en)]
    # 0.40557 tce / 1 × 10⁴ yuan; against 1,200 kWh × 0.1229 = 0.14748 tce a year before
    assert (a1["tce"], a1["output_10k_cny"], a1["intensity"], a1["yoy_pct"]) == (
        D("0.405570"),
        D("1.0000"),
        D("0.4056"),
        D("175.00"),
    )
    a2 = intensity[local_name(ents["a2"].name_zh, ents["a2"].name_en)]
    assert (a2["tce"], a2["intensity"], a2["yoy_pct"]) == (D("0.291432"), None, None)
    yoy = {r["period"]: r for r in found["energy-yoy"].rows}
    assert list(yoy) == [f"2026-0{m}" for m in range(1, 7)]
    march = yoy["2026-03"]
    assert (march["tce"], march["intensity"], march["yoy_pct"]) == (
        D("0.697002"),
        D("0.6970"),
        D("372.61"),  # (0.697002 - 0.14748) / 0.14748
    )
    assert yoy["2026-04"]["yoy_pct"] is None  # nothing a year before


def test_the_equal_value_convention_gives_other_electricity_figures(
    energy_safety_world: dict[str, Any],
) -> None:
    found = tables(energy_safety_world, ENERGY, convention="equal_value")
    march = {r["carrier"]: r["tce"] for r in found["energy-trend"].rows if r["period"] == "2026-03"}
    # 3,300 kWh × 0.3010 (2026) = 993.3 kgce; gas has one factor for both conventions
    assert march == {"electricity": D("0.993300"), "natural gas": D("0.291432")}
    yoy = {r["period"]: r for r in found["energy-yoy"].rows}
    assert yoy["2026-03"]["yoy_pct"] == D("253.34")  # against 1,200 × 0.3030 = 0.3636 tce
    for key in ("energy-trend", "energy-share", "energy-intensity", "energy-yoy"):
        assert "equal value" in found[key].title, key


def test_the_trend_by_day(energy_safety_world: dict[str, Any]) -> None:
    march = Period(date(2026, 3, 1), date(2026, 3, 1))
    trend = tables(energy_safety_world, ENERGY, period=march, granularity="day")["energy-trend"]
    assert len(trend.rows) == 31 * 2
    tenth = {r["carrier"]: r["tce"] for r in trend.rows if r["period"] == "2026-03-10"}
    assert tenth == {"electricity": D("0.405570"), "natural gas": D("0.291432")}


def test_the_anomalies_list_silent_meters_and_the_jump(energy_safety_world: dict[str, Any]) -> None:
    rows = tables(energy_safety_world, ENERGY)["energy-anomalies"].rows
    assert [(r["kind"], r["meter"]) for r in rows] == [
        ("silent now", "A1-EL"),  # both meters' last readings are of March
        ("silent now", "A2-NG"),
        ("jump", "A1-EL"),
    ]
    jump = rows[2]
    assert (jump["at"], jump["value"], jump["median"]) == (
        "2026-03-11 00:00",
        D(1000),
        D(50),  # the median of the meter's last 168 readings: 24 of 2025's, 24 of 2026's
    )


def test_the_safety_sections(energy_safety_world: dict[str, Any]) -> None:
    w = energy_safety_world
    found = tables(w, SAFETY)
    hazards = [(r["grade"], r["open"], r["overdue"]) for r in found["safety-hazards"].rows]
    assert hazards == [("general", 1, 1), ("major", 0, 0)]
    (closure,) = found["safety-closure"].rows
    # due in the period: 03-01, 03-15, 04-30; rectified 03-10 (on time) and 05-10 (late)
    assert (closure["due"], closure["rectified"], closure["on_time"], closure["closure_pct"]) == (
        3,
        2,
        1,
        D("66.7"),
    )
    incidents = {
        r["grade"]: (r["incidents"], r["deaths"], r["serious_injuries"], r["direct_loss_cny"])
        for r in found["safety-incidents"].rows
    }
    assert incidents == {
        "extraordinarily serious (特别重大)": (0, 0, 0, D("0.00")),
        "serious (重大)": (0, 0, 0, D("0.00")),
        "relatively serious (较大)": (1, 3, 0, D("0.00")),
        "ordinary (一般)": (1, 0, 1, D("12000.50")),
    }
    (unit,) = found["safety-major-hazards"].rows
    assert unit["warehouse"] == w["zones"]["a1"].warehouse.code
    assert (unit["s"], unit["r"], unit["level"]) == (D("1.2"), D("9.6"), 4)
    stock = {r["class"]: r for r in found["safety-stock-capacity"].rows}
    # six zones of park A (a1, a2, shared, the three of the orders' listings), 1,000 t each
    # and licensed for every class; a2 no longer for class 8
    assert (stock["3"]["on_hand_t"], stock["3"]["capacity_t"], stock["3"]["zones"]) == (
        D("2.500"),
        D("6000.000"),
        6,
    )
    assert (stock["8"]["on_hand_t"], stock["8"]["capacity_t"], stock["8"]["zones"]) == (
        D("1.200"),
        D("5000.000"),
        5,
    )
    assert stock["8"]["utilisation_pct"] == D("0.0")  # 1.2 / 5000: 0.0002 → 0.02 % → 0.0
    (misplaced,) = found["safety-misplaced"].rows
    assert misplaced["lot"] == w["lots"]["a2_acid"].pk
    assert (misplaced["on_hand_t"], misplaced["check"]) == (D("1.200"), "licence")


def test_the_api_takes_the_convention_and_refuses_a_bad_one(
    energy_safety_world: dict[str, Any], api_client: Any
) -> None:
    client = api_client(energy_safety_world["users"]["regulator"])
    url = f"{PARKS}{energy_safety_world['parks']['a'].pk}/"
    period = {"start": "2026-03", "end": "2026-03", "section": "energy-share"}
    figures = {}
    for convention in ("equivalent", "equal_value"):
        response = client.get(url, {**period, "convention": convention})
        assert response.status_code == 200
        (section,) = response.json()["sections"]
        figures[convention] = {r["carrier"]: r["tce"] for r in section["rows"]}
        assert ("equal value" if convention == "equal_value" else "equivalent value") in section[
            "title"
        ]
    assert figures["equivalent"]["electricity"] == "0.405570"
    assert figures["equal_value"]["electricity"] == "0.993300"
    default = client.get(url, period).json()["sections"][0]["rows"]
    assert default[0]["tce"] == "0.405570"  # equivalent by default
    for bad in ("kcal", "EQUIVALENT", "equal value", "x" * 5000):
        response = client.get(url, {**period, "convention": bad})
        assert response.status_code == 400, bad
        assert list(response.json()["error"]["fields"]) == ["convention"], bad
    for fmt in ("csv", "xlsx"):
        response = client.get(url, {**period, "convention": "nope", "format": fmt})
        assert response.status_code == 400
        assert "convention" in response.content.decode()
    assert (
        client.get(
            f"{PARKS}{energy_safety_world['parks']['a'].pk}/monthly/", {"convention": "x"}
        ).status_code
        == 400
    )
    assert client.get(f"{PARKS}comparison/", {"convention": "x"}).status_code == 400


def test_the_granularity_is_bounded(energy_safety_world: dict[str, Any], api_client: Any) -> None:
    client = api_client(energy_safety_world["users"]["regulator"])
    url = f"{PARKS}{energy_safety_world['parks']['a'].pk}/"
    ok = client.get(url, {"start": "2025-12", "end": "2026-12", "granularity": "day"})
    assert ok.status_code == 200  # 13 months: 396 days
    trend = next(s for s in ok.json()["sections"] if s["key"] == "energy-trend")
    assert len(trend["rows"]) == 396 * 2
    for params in (
        {"start": "2025-01", "end": "2026-12", "granularity": "day"},  # 730 days
        {"granularity": "week"},
    ):
        response = client.get(url, params)
        assert response.status_code == 400, params
        assert "granularity" in response.content.decode()


def test_the_pages_show_the_convention_and_refuse_a_bad_one(
    energy_safety_world: dict[str, Any],
) -> None:
    client = Client()
    client.force_login(energy_safety_world["users"]["regulator"])
    park = energy_safety_world["parks"]["a"].pk
    html = client.get(f"/reports/parks/{park}/energy/?start=2026-01&end=2026-06").content.decode()
    assert 'id="chart-energy-trend"' in html and "equivalent value" in html
    assert 'name="convention"' in html and 'name="granularity"' in html
    assert "convention=equivalent" in html  # the export links keep it
    html = client.get(
        f"/reports/parks/{park}/energy/?start=2026-01&end=2026-06&convention=equal_value"
    ).content.decode()
    # The page rounds tce to the kilogram (the exports and the JSON keep 0.993300).
    assert "equal value" in html and '<td class="decimal">0.993</td>' in html
    bad = client.get(f"/reports/parks/{park}/energy/?convention=kcal")
    assert bad.status_code == 400 and "convention" in bad.content.decode()
    bad = client.get(f"/reports/parks/{park}/energy/?start=2024-01&granularity=day")
    assert bad.status_code == 400 and "granularity" in bad.content.decode()
    html = client.get(f"/reports/parks/{park}/safety/?start=2026-01&end=2026-06").content.decode()
    for key in ("safety-hazards", "safety-closure", "safety-incidents", "safety-stock-capacity"):
        assert f'id="chart-{key}"' in html, key
    assert "Major hazard units" in html


def test_the_monthly_report_includes_energy_and_safety(energy_safety_world: dict[str, Any]) -> None:
    keys = [s.key for s in monthly_sections()]
    assert {s.key for s in ENERGY.sections} <= set(keys)
    assert {s.key for s in SAFETY.sections} <= set(keys)
    client = Client()
    client.force_login(energy_safety_world["users"]["regulator"])
    park = energy_safety_world["parks"]["a"].pk
    html = client.get(f"/reports/parks/{park}/monthly/2026-03/").content.decode()
    assert 'id="section-energy-trend"' in html and 'id="section-safety-incidents"' in html
    assert '<td class="decimal">0.406</td>' in html  # 0.405570 tce, to the kilogram


@pytest.mark.parametrize("page", ["energy", "safety"])
def test_queries_per_page_are_constant(
    energy_safety_world: dict[str, Any], page: str, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = energy_safety_world
    client = Client()
    client.force_login(w["users"]["regulator"])
    url = f"/reports/parks/{w['parks']['a'].pk}/{page}/?start=2026-01&end=2026-06"
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    # More of everything: meters, readings, enterprises, hazards, incidents, units.
    from energy.services.ingest import readings_ingest
    from energy.services.meters import meter_create
    from safety.services import incident_report
    from tests import factories as f
    from tests.reports.conftest import at, hours_of

    root = resolve_scope(w["users"]["superuser"])
    for i in range(3):
        enterprise = f.EnterpriseFactory.create(park=w["parks"]["a"])
        meter = meter_create(
            actor=root, enterprise=enterprise, code=f"X{i}", carrier="steam", unit="kg"
        )
        admin = f.MembershipFactory.create(enterprise=enterprise, role="enterprise_admin").user
        readings_ingest(
            actor=resolve_scope(admin), rows=hours_of(meter, date(2026, 4, 2), ["7"] * 24)
        )
        incident_report(
            actor=resolve_scope(admin),
            enterprise=enterprise,
            occurred_at=at(2026, 4, 3),
            description="x",
            serious_injuries=i,
        )
    with CaptureQueriesContext(connection) as after:
        assert client.get(url).status_code == 200
    assert len(after) == len(before), [q["sql"] for q in after.captured_queries]


def test_the_comparison_of_parks_gains_energy_and_safety(
    energy_safety_world: dict[str, Any], api_client: Any, django_assert_num_queries: Any
) -> None:
    from reports.sections import ComparisonQuery
    from reports.selectors import park_comparison_energy_safety

    w = energy_safety_world
    root = api_client(w["users"]["superuser"])
    parks = [w["parks"]["c"].pk, w["parks"]["a"].pk]
    figures = {}
    for convention in ("equivalent", "equal_value"):
        response = root.get(
            f"{PARKS}comparison/",
            {"park": parks, "start": "2026-01", "end": "2026-06", "convention": convention},
        )
        assert response.status_code == 200
        section = next(s for s in response.json()["sections"] if s["key"] == "parks-energy-safety")
        assert ("equal value" if convention == "equal_value" else "equivalent value") in section[
            "title"
        ]
        c, a = section["rows"]
        assert (c["code"], c["tce"], c["intensity"], c["open_hazards"]) == (
            w["parks"]["c"].code,
            "0.000000",
            None,
            0,
        )
        assert (a["open_hazards"], a["overdue_hazards"]) == (1, 1)
        assert [a[f"units_level_{n}"] for n in (1, 2, 3, 4)] == [0, 0, 0, 1]
        assert a["output_10k_cny"] == "1.0000"
        figures[convention] = (a["tce"], a["intensity"])
    # 0.40557 + 0.291432 (the 2025 readings are outside the period); 0.9933 + 0.291432
    assert figures == {
        "equivalent": ("0.697002", "0.6970"),
        "equal_value": ("1.284732", "1.2847"),
    }
    # Four queries whatever the number of parks.
    scope = resolve_scope(w["users"]["superuser"])
    every = list(w["parks"].values())
    with django_assert_num_queries(4):
        park_comparison_energy_safety(ComparisonQuery(scope, every, H1))
    with django_assert_num_queries(4):
        park_comparison_energy_safety(ComparisonQuery(scope, every[:1], H1))


def test_the_comparison_selectors_refuse_another_park(energy_safety_world: dict[str, Any]) -> None:
    from energy.selectors import ParkNotVisible as EnergyParkNotVisible
    from energy.selectors import parks_energy_totals
    from safety.exceptions import ParkNotVisible as SafetyParkNotVisible
    from safety.selectors import parks_safety_totals

    w = energy_safety_world
    other = resolve_scope(w["users"]["regulator_c"])
    ids = [w["parks"]["c"].pk, w["parks"]["a"].pk]
    with pytest.raises(EnergyParkNotVisible):
        parks_energy_totals(
            scope=other, park_ids=ids, start=date(2026, 1, 1), end=date(2026, 6, 30)
        )
    with pytest.raises(SafetyParkNotVisible):
        parks_safety_totals(scope=other, park_ids=ids)
    mine = parks_safety_totals(scope=other, park_ids=ids[:1])
    assert mine[ids[0]].open_hazards == 0
