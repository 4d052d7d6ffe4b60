"""/api/v1/audit/: who reads which rows (another tenant's never), the filters, the CSV and
XLSX exports, and a constant number of queries."""

import csv
import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.scope import resolve_scope
from audit.context import audit_context
from audit.models import AuditEntry
from audit.services import audit_record

pytestmark = pytest.mark.django_db
AUDIT = "/api/v1/audit/"
World = dict[str, Any]


@pytest.fixture
def rows(world: World) -> dict[str, AuditEntry]:
    """One row per tenant: a1 and a2 (park A), b (park B), c (park C), and park A's
    operator on the shared warehouse (no enterprise)."""
    users, enterprises = world["users"], world["enterprises"]
    out = {}
    for name, user in (
        ("a1", "enterprise_admin"),
        ("a2", "other_admin"),
        ("b", "park_b_admin"),
        ("c", "park_c_admin"),
    ):
        out[name] = audit_record(
            actor=resolve_scope(users[user]),
            action="enterprise.update",
            target=enterprises[name],
            changes={"name_en": ["Old", "New"]},
        )
    out["operator"] = audit_record(
        actor=resolve_scope(users["park_operator"]),
        action="zone.update",
        target=world["zones"]["shared"],
    )
    return out


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("enterprise_admin", {"a1"}),
        ("other_admin", {"a2"}),
        ("park_b_admin", {"b"}),
        ("park_operator", {"a1", "a2", "operator"}),
        ("regulator", {"a1", "a2", "operator"}),
        ("regulator_c", {"c"}),
        ("superuser", {"a1", "a2", "b", "c", "operator"}),
    ],
)
def test_each_reader_sees_its_own_rows_only(
    who: str, sees: set[str], world: World, rows: dict[str, AuditEntry], api_client: Any
) -> None:
    client = api_client(world["users"][who])
    assert ids(client.get(AUDIT)) == {rows[name].pk for name in sees}
    for name, row in rows.items():
        status = client.get(f"{AUDIT}{row.pk}/").status_code
        assert status == (200 if name in sees else 404), (who, name, status)


@pytest.mark.parametrize("role", ["trader", "warehouse_keeper", "viewer"])
def test_other_roles_are_refused(
    role: str, world: World, rows: dict[str, AuditEntry], api_client: Any
) -> None:
    client = api_client(world["users"][role])
    for url in (AUDIT, f"{AUDIT}{rows['a1'].pk}/", f"{AUDIT}?format=csv"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "permission_denied"


def test_the_trail_is_read_only(world: World, rows: dict[str, AuditEntry], api_client: Any) -> None:
    client = api_client(world["users"]["superuser"])
    url = f"{AUDIT}{rows['a1'].pk}/"
    assert client.post(AUDIT, {}, format="json").status_code == 405
    assert client.patch(url, {"note": "x"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert AuditEntry.objects.get(pk=rows["a1"].pk).note == ""


def test_a_row_reads_as_written(world: World, rows: dict[str, AuditEntry], api_client: Any) -> None:
    body = api_client(world["users"]["enterprise_admin"]).get(f"{AUDIT}{rows['a1'].pk}/").json()
    admin, a1 = world["users"]["enterprise_admin"], world["enterprises"]["a1"]
    assert body["user"] == admin.pk and body["username"] == admin.username
    assert (body["enterprise"], body["park"]) == (a1.pk, a1.park_id)
    assert (body["role"], body["action"]) == ("enterprise_admin", "enterprise.update")
    assert (body["object_type"], body["object_id"]) == ("parks.enterprise", str(a1.pk))
    assert body["changes"] == {"name_en": ["Old", "New"]}


def test_filters(world: World, rows: dict[str, AuditEntry], api_client: Any) -> None:
    client = api_client(world["users"]["regulator"])
    a1, a2, op = rows["a1"].pk, rows["a2"].pk, rows["operator"].pk
    assert ids(client.get(AUDIT, {"action": "zone.update"})) == {op}
    assert ids(client.get(AUDIT, {"action": "zone.update,enterprise.update"})) == {a1, a2, op}
    target = world["enterprises"]["a2"]
    query = {"object_type": "parks.enterprise", "object_id": str(target.pk)}
    assert ids(client.get(AUDIT, query)) == {a2}
    assert ids(client.get(AUDIT, {"user": world["users"]["enterprise_admin"].pk})) == {a1}
    assert ids(client.get(AUDIT, {"request_id": "nothing-like-it"})) == set()
    soon = (timezone.now() + timedelta(minutes=5)).isoformat()
    before = (timezone.now() - timedelta(minutes=5)).isoformat()
    assert ids(client.get(AUDIT, {"at_after": before, "at_before": soon})) == {a1, a2, op}
    assert ids(client.get(AUDIT, {"at_after": soon})) == set()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"user": "abc"}, "user"),
        ({"user": str(2**64)}, "user"),
        ({"at_after": "yesterday"}, "at"),  # a range is named as a whole, as on other lists
        ({"request_id": "x" * 129}, "request_id"),
        ({"action": ",".join(["a"] * 101)}, "action"),
    ],
)
def test_bad_filters_are_400s_naming_the_parameter(
    query: dict[str, str], field: str, world: World, api_client: Any
) -> None:
    response = api_client(world["users"]["regulator"]).get(AUDIT, query)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_a_request_id_finds_the_rows_of_a_call(
    world: World, rows: dict[str, AuditEntry], api_client: Any
) -> None:
    with audit_context(request_id="partner-call-1", via="session"):
        call = audit_record(
            actor=resolve_scope(world["users"]["enterprise_admin"]),
            action="listing.update",
            target=world["enterprises"]["a1"],
        )
    admin = api_client(world["users"]["enterprise_admin"])
    assert ids(admin.get(AUDIT, {"request_id": "partner-call-1"})) == {call.pk}
    # Another enterprise's admin finds nothing by the same id.
    other = api_client(world["users"]["other_admin"])
    assert ids(other.get(AUDIT, {"request_id": "partner-call-1"})) == set()


def test_csv_export(world: World, rows: dict[str, AuditEntry], api_client: Any) -> None:
    response = api_client(world["users"]["enterprise_admin"]).get(AUDIT, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response["X-Export-Truncated"] == "false"
    text = response.content.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in table] == [rows["a1"].pk]
    assert table[0]["action"] == "enterprise.update"
    assert table[0]["username"] == world["users"]["enterprise_admin"].username
    assert table[0]["changes"] == '{"name_en": ["Old", "New"]}'


def test_xlsx_export(world: World, rows: dict[str, AuditEntry], api_client: Any) -> None:
    client = api_client(world["users"]["regulator"])
    response = client.get(AUDIT, {"format": "xlsx", "action": "enterprise.update"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *body = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:3] == ["id", "at", "user"]
    exported = {int(r[header.index("id")]) for r in body}
    assert exported == {rows["a1"].pk, rows["a2"].pk}  # newest first, filtered, in scope


def test_an_export_is_bounded(
    world: World, rows: dict[str, AuditEntry], api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("audit.api.EXPORT_MAX_ROWS", 2)
    response = api_client(world["users"]["superuser"]).get(AUDIT, {"format": "csv"})
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert response["X-Export-Truncated"] == "true"
    assert [int(r["id"]) for r in table] == [rows["operator"].pk, rows["c"].pk]  # the newest


def test_an_export_refused_is_a_json_error(world: World, api_client: Any) -> None:
    response = api_client(world["users"]["regulator"]).get(AUDIT, {"format": "csv", "user": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["user"]


def test_queries_per_list_are_constant(world: World, api_client: Any) -> None:
    client = api_client(world["users"]["superuser"])
    counts = []
    for n in (1, 20):
        for _ in range(n):
            audit_record(
                actor=resolve_scope(world["users"]["trader"]),
                action="x.y",
                target=world["enterprises"]["a1"],
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(AUDIT).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4


def test_exports_count_against_the_expensive_rate(
    world: World, rows: dict[str, AuditEntry], api_client: Any, settings: Any
) -> None:
    cache.clear()
    framework = dict(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = {
        **framework["DEFAULT_THROTTLE_RATES"],
        "expensive_list": "1/day",
    }
    settings.REST_FRAMEWORK = framework
    client = api_client(world["users"]["enterprise_admin"])
    assert client.get(AUDIT, {"format": "csv"}).status_code == 200
    refused = client.get(AUDIT, {"format": "xlsx"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert client.get(AUDIT).status_code == 200  # pages are not exports
    cache.clear()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_never_holds_a_formula(fmt: str, world: World, api_client: Any) -> None:
    """A note written by a user is data, not a formula, in the spreadsheet."""
    audit_record(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        action="listing.update",
        target=world["enterprises"]["a1"],
        note='=HYPERLINK("http://example.invalid","x")',
    )
    response = api_client(world["users"]["enterprise_admin"]).get(AUDIT, {"format": fmt})
    if fmt == "csv":
        (row,) = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
        note = row["note"]
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        sheet = workbook.active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        cell = sheet.cell(row=2, column=header.index("note") + 1)
        assert cell.data_type == "s"
        note = cell.value
    assert note == "'" + '=HYPERLINK("http://example.invalid","x")'
