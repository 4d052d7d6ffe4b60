"""The dashboard's pages through Django's test client: who gets what, what they show, and
a constant number of queries per page. The charts drawn in a real browser:
``test_browser.py``."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reports.views import CONTENT_SECURITY_POLICY
from tests.reports.conftest import at, order

pytestmark = pytest.mark.django_db


def client_of(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def urls(park_id: int) -> list[str]:
    return [
        "/reports/",
        "/reports/compare/",
        f"/reports/parks/{park_id}/",
        f"/reports/parks/{park_id}/monthly/2026-03/",
    ]


def test_pages_render_for_a_regulator_with_their_charts(report_world: dict[str, Any]) -> None:
    park = report_world["parks"]["a"]
    client = client_of(report_world["users"]["regulator"])
    for url in urls(park.pk):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        html = response.content.decode()
        assert "<script>" not in html and " onclick=" not in html  # no inline script
        assert "reports/vendor/echarts/echarts.min.js" in html
    html = client.get(f"/reports/parks/{park.pk}/?start=2026-01&end=2026-06").content.decode()
    for key in ("trade", "hazardous-stock", "pools"):
        found = re.search(rf'<script id="chart-{key}" type="application/json">(.*?)</script>', html)
        assert found is not None, key
        spec = json.loads(found[1])
        assert spec["rows"], key
    trade = json.loads(
        re.search(r'<script id="chart-trade" type="application/json">(.*?)</script>', html)[1]  # type: ignore[index]
    )
    march = next(r for r in trade["rows"] if r["month"] == "2026-03")
    assert march["sold_t"] == 3.0  # numbers, for the chart


def test_anonymous_callers_are_sent_to_the_admin_login(report_world: dict[str, Any]) -> None:
    park = report_world["parks"]["a"]
    for url in urls(park.pk):
        response = client_of(None).get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={url}"


@pytest.mark.parametrize("user", ["enterprise_admin", "trader", "viewer", "other_admin"])
def test_enterprise_staff_are_refused(report_world: dict[str, Any], user: str) -> None:
    park = report_world["parks"]["a"]
    client = client_of(report_world["users"][user])
    for url in urls(park.pk):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Not for your login" in response.content.decode()


def test_another_park_is_not_found(report_world: dict[str, Any]) -> None:
    client = client_of(report_world["users"]["regulator_c"])
    park = report_world["parks"]["a"]
    for url in urls(park.pk)[2:]:
        assert client.get(url).status_code == 404, url
    assert client.get("/reports/parks/18446744073709551616/").status_code == 404
    assert client.get(f"/reports/parks/{park.pk}/energy/").status_code == 404  # not declared


def test_a_bad_period_is_a_400_naming_it(report_world: dict[str, Any]) -> None:
    client = client_of(report_world["users"]["regulator"])
    park = report_world["parks"]["a"]
    response = client.get(f"/reports/parks/{park.pk}/?start=2026-13")
    assert response.status_code == 400
    assert "<code>start</code>" in response.content.decode()
    assert client.get(f"/reports/parks/{park.pk}/monthly/2026-13/").status_code == 400
    assert client.post("/reports/").status_code == 405


def test_a_superuser_sees_every_park(report_world: dict[str, Any]) -> None:
    html = client_of(report_world["users"]["superuser"]).get("/reports/").content.decode()
    for park in report_world["parks"].values():
        assert f"/reports/parks/{park.pk}/" in html


def test_the_monthly_report_is_printable(report_world: dict[str, Any]) -> None:
    park = report_world["parks"]["a"]
    html = (
        client_of(report_world["users"]["regulator"])
        .get(f"/reports/parks/{park.pk}/monthly/2026-03/")
        .content.decode()
    )
    assert 'class="printable"' in html
    assert 'class="top"' not in html  # no navigation header
    css = (Path(__file__).parents[2] / "reports/static/reports/reports.css").read_text()
    assert "@page { size: A4" in css and "break-before: page" in css


def test_queries_per_page_are_constant(report_world: dict[str, Any], receive: Any) -> None:
    park = report_world["parks"]["a"]
    client = client_of(report_world["users"]["regulator"])

    def count() -> list[int]:
        out = []
        for url in urls(park.pk):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            out.append(len(captured))
        return out

    before = count()
    ents = report_world["enterprises"]
    for i in range(4):
        order(seller=ents["a2"], buyer=ents["b"], kg="5", when=at(2026, 3 + i))
        receive(zone=report_world["zones"]["a2"], material=report_world["acid"], quantity="2")
    assert count() == before
