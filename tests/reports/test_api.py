import csv
import io
from typing import Any

import openpyxl
import pytest

pytestmark = pytest.mark.django_db

PARKS = "/api/v1/reports/parks/"


def errors(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"]["fields"])


def names(response: Any, field: str) -> bool:
    """Whether the error names ``field`` (or one of its items, ``park.0``)."""
    return any(key == field or key.startswith(f"{field}.") for key in errors(response))


@pytest.fixture
def regulator(report_world: dict[str, Any], api_client: Any) -> Any:
    return api_client(report_world["users"]["regulator"])


def test_the_parks_a_regulator_reports_on(report_world: dict[str, Any], regulator: Any) -> None:
    response = regulator.get(PARKS)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [report_world["parks"]["a"].pk]


def test_the_list_filters_by_region(report_world: dict[str, Any], api_client: Any) -> None:
    root = api_client(report_world["users"]["superuser"])
    parks = report_world["parks"]
    region = parks["a"].region_code
    response = root.get(PARKS, {"region_code": region})
    assert {row["id"] for row in response.json()["results"]} == {parks["a"].pk, parks["b"].pk}
    # The filters are the list's: a report's parameters are its period.
    assert root.get(f"{PARKS}{parks['c'].pk}/", {"region_code": region}).status_code == 200


#: The sections of a park's pages: the overview, energy, safety.
ALL_SECTIONS = [
    "trade",
    "hazardous-stock",
    "pools",
    "enterprises",
    "energy-trend",
    "energy-share",
    "energy-intensity",
    "energy-yoy",
    "energy-anomalies",
    "safety-hazards",
    "safety-closure",
    "safety-incidents",
    "safety-major-hazards",
    "safety-stock-capacity",
    "safety-misplaced",
]


def test_overview_of_a_past_period(report_world: dict[str, Any], regulator: Any) -> None:
    park = report_world["parks"]["a"]
    response = regulator.get(f"{PARKS}{park.pk}/", {"start": "2026-01", "end": "2026-06"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"start": "2026-01", "end": "2026-06"}
    sections = {s["key"]: s for s in body["sections"]}
    assert list(sections) == ALL_SECTIONS
    march = next(r for r in sections["trade"]["rows"] if r["month"] == "2026-03")
    assert (march["orders"], march["sold_t"], march["bought_t"]) == (2, "3.000", "0.500")
    assert [c["key"] for c in sections["trade"]["columns"]] == [
        "month",
        "orders",
        "sold_t",
        "bought_t",
        "sales_cny",
    ]


def test_one_section_as_csv(report_world: dict[str, Any], regulator: Any) -> None:
    park = report_world["parks"]["a"]
    response = regulator.get(
        f"{PARKS}{park.pk}/",
        {"start": "2026-01", "end": "2026-06", "section": "trade", "format": "csv"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["month", "orders", "sold_t", "bought_t", "sales_cny"]
    assert len(rows) == 7
    assert rows[3][:4] == ["2026-03", "2", "3.000", "0.500"]


def test_the_overview_as_xlsx_has_a_sheet_per_section(
    report_world: dict[str, Any], regulator: Any
) -> None:
    park = report_world["parks"]["a"]
    response = regulator.get(
        f"{PARKS}{park.pk}/",
        {"start": "2026-01", "end": "2026-06"},
        HTTP_ACCEPT=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ALL_SECTIONS
    trade = list(book["trade"].iter_rows(values_only=True))
    assert len(trade) == 7
    assert trade[3][0] == "2026-03" and float(trade[3][2]) == 3.0


def test_monthly_report(report_world: dict[str, Any], regulator: Any) -> None:
    park = report_world["parks"]["a"]
    response = regulator.get(f"{PARKS}{park.pk}/monthly/", {"month": "2026-03"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"start": "2026-03", "end": "2026-03"}
    trade = next(s for s in body["sections"] if s["key"] == "trade")
    assert [r["month"] for r in trade["rows"]] == ["2026-03"]
    assert body["as_of"].startswith("2026-04-01T00:00:00")


def test_comparison_of_chosen_parks(report_world: dict[str, Any], api_client: Any) -> None:
    parks = report_world["parks"]
    root = api_client(report_world["users"]["superuser"])
    response = root.get(
        f"{PARKS}comparison/",
        {"park": [parks["c"].pk, parks["a"].pk], "start": "2026-01", "end": "2026-06"},
    )
    assert response.status_code == 200
    rows = response.json()["sections"][0]["rows"]
    assert [r["code"] for r in rows] == [parks["c"].code, parks["a"].code]
    assert rows[1]["sold_t"] == "3.100"
    assert root.get(f"{PARKS}comparison/", {"format": "csv"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "1e400"}, "start"),
        ({"start": "18446744073709551616"}, "start"),
        ({"end": "2026-13"}, "end"),
        ({"end": "3000-01"}, "end"),
        ({"start": "2026-06", "end": "2026-01"}, "start"),
        ({"start": "2020-01", "end": "2026-01"}, "start"),
        ({"start": "x" * 5000}, "start"),
        ({"section": "energy"}, "section"),
    ],
)
def test_bad_parameters_name_their_field(
    report_world: dict[str, Any], regulator: Any, params: dict[str, str], field: str
) -> None:
    park = report_world["parks"]["a"]
    for fmt in ("json", "csv"):
        response = regulator.get(f"{PARKS}{park.pk}/", {**params, "format": fmt})
        assert response.status_code == 400, (params, fmt)
        assert response["Content-Type"].startswith("application/json")
        assert field in errors(response), response.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"park": "1e400"}, "park"),
        ({"park": str(2**64)}, "park"),
        ({"park": "-1"}, "park"),
        ({"park": [str(i) for i in range(1, 102)]}, "park"),
        ({"end": "2026-00"}, "end"),
    ],
)
def test_bad_comparison_parameters(
    report_world: dict[str, Any], regulator: Any, params: dict[str, Any], field: str
) -> None:
    response = regulator.get(f"{PARKS}comparison/", params)
    assert response.status_code == 400
    assert names(response, field), errors(response)


def test_another_park_in_a_comparison_is_refused_on_its_field(
    report_world: dict[str, Any], regulator: Any
) -> None:
    response = regulator.get(f"{PARKS}comparison/", {"park": report_world["parks"]["c"].pk})
    assert response.status_code == 400
    assert "park" in errors(response)


def test_an_unknown_format_is_a_400_naming_it(report_world: dict[str, Any], regulator: Any) -> None:
    park = report_world["parks"]["a"]
    for url in (f"{PARKS}{park.pk}/", f"{PARKS}comparison/", f"{PARKS}{park.pk}/monthly/"):
        response = regulator.get(url, {"format": "AAA"})
        assert response.status_code == 400, url
        assert "format" in errors(response)


def test_bad_month_and_ids(report_world: dict[str, Any], regulator: Any) -> None:
    park = report_world["parks"]["a"]
    response = regulator.get(f"{PARKS}{park.pk}/monthly/", {"month": "2026-1"})
    assert response.status_code == 400 and "month" in errors(response)
    for pk in (str(2**64), "1e400", "0", "-3"):
        assert regulator.get(f"{PARKS}{pk}/").status_code == 404, pk


def test_enterprise_staff_are_refused_in_json_even_for_an_export(
    report_world: dict[str, Any], api_client: Any
) -> None:
    park = report_world["parks"]["a"]
    admin = api_client(report_world["users"]["enterprise_admin"])
    for url in (PARKS, f"{PARKS}{park.pk}/?format=csv", f"{PARKS}comparison/?format=xlsx"):
        response = admin.get(url)
        assert response.status_code == 403, url
        assert response["Content-Type"].startswith("application/json")


def test_queries_per_report_are_constant(
    report_world: dict[str, Any], regulator: Any, receive: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.reports.conftest import at, order

    park = report_world["parks"]["a"]

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert regulator.get(f"{PARKS}{park.pk}/").status_code == 200
            assert regulator.get(f"{PARKS}comparison/").status_code == 200
        return len(captured)

    before = count()
    ents = report_world["enterprises"]
    for i in range(4):
        order(seller=ents["a1"], buyer=ents["b"], kg="7", when=at(2026, 7 + i))
        receive(zone=report_world["zones"]["a1"], material=report_world["solvent"], quantity="3")
    assert count() == before
