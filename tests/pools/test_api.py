"""The pools' API per role (member, operator, park operator, regulator, other enterprise,
viewer), bad input, the statement's exact split and its exports."""

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import tablib
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from inventory.models import StockMovement
from pools.models import (
    Contribution,
    Draw,
    DrawStatus,
    MembershipRequest,
    MemberStatus,
    Obligation,
    Pool,
    PoolMember,
    RequestStatus,
)
from pools.statements import month_bounds
from tests import factories as f
from tests.pools.conftest import stock_in_pool_zone

pytestmark = pytest.mark.django_db

POOLS = "/api/v1/pools/"


def errors(response: Any) -> dict[str, Any]:
    return dict(response.json()["error"]["fields"])


@pytest.fixture
def pw(pool_world: dict[str, Any], api_client: Any) -> dict[str, Any]:
    """The pool world with a third enterprise of park A (a3, not a member) and clients."""
    world = pool_world
    a3 = f.EnterpriseFactory.create(park=world["parks"]["a"])
    world["enterprises"]["a3"] = a3
    world["users"]["a3_trader"] = f.MembershipFactory.create(enterprise=a3, role="trader").user
    world["client"] = {name: api_client(user) for name, user in world["users"].items()}
    world["url"] = f"{POOLS}{world['pool'].pk}/"
    return world


def contribute(pw: dict[str, Any], receive: Any, who: str = "trader", kg: str = "500") -> Any:
    owner = "a1" if who == "trader" else "a2"
    lot = stock_in_pool_zone(pw, receive, owner, "5000")
    return pw["client"][who].post(
        f"{pw['url']}contribute/", {"lot": lot.pk, "quantity_kg": kg}, format="json"
    )


# --- Who sees what ---------------------------------------------------------------------------


def test_a_member_reads_its_pool_with_figures_and_members(pw: dict[str, Any], receive: Any) -> None:
    assert contribute(pw, receive).status_code == 201
    member = pw["client"]["trader"]
    listed = member.get(POOLS).json()["results"]
    assert [row["id"] for row in listed] == [pw["pool"].pk]
    row = member.get(pw["url"]).json()
    assert row["held_kg"] == "500.000" and row["target_kg"] == "10000.000"
    assert row["coverage"] == "0.0500"
    assert row["member_count"] == 2 and row["open_obligations"] == 0
    assert row["zones"] == [pw["zones"]["shared"].pk]
    members = member.get(f"{pw['url']}members/").json()
    assert [(m["enterprise"], m["commitment_kg"]) for m in members] == [
        (pw["enterprises"]["a1"].pk, "6000.000"),
        (pw["enterprises"]["a2"].pk, "4000.000"),
    ]
    # The viewer of a member reads too.
    assert pw["client"]["viewer"].get(pw["url"]).status_code == 200


def test_a_member_sees_its_own_rows_and_the_operator_all(pw: dict[str, Any], receive: Any) -> None:
    assert contribute(pw, receive).status_code == 201
    assert contribute(pw, receive, who="a2_trader").status_code == 201
    a1, a2 = pw["enterprises"]["a1"].pk, pw["enterprises"]["a2"].pk

    def enterprises(who: str, route: str) -> list[int]:
        rows = pw["client"][who].get(f"/api/v1/{route}/").json()["results"]
        return sorted(row["enterprise"] for row in rows)

    assert enterprises("trader", "pool-contributions") == [a1]
    assert enterprises("a2_trader", "pool-contributions") == [a2]
    assert enterprises("park_operator", "pool-contributions") == sorted([a1, a2])
    assert enterprises("regulator", "pool-contributions") == sorted([a1, a2])
    assert enterprises("park_c_admin", "pool-contributions") == []
    assert enterprises("regulator_c", "pool-contributions") == []


@pytest.mark.parametrize("who", ["park_c_admin", "park_b_admin", "a3_trader", "regulator_c"])
def test_others_find_nothing(pw: dict[str, Any], who: str) -> None:
    client = pw["client"][who]
    assert client.get(POOLS).json()["results"] == []
    for suffix in ("", "members/", "statement/"):
        assert client.get(f"{pw['url']}{suffix}").status_code == 404, suffix
    assert client.post(f"{pw['url']}draw/", {}, format="json").status_code in (403, 404)


def test_a_regulator_reads_everything_and_writes_nothing(pw: dict[str, Any], receive: Any) -> None:
    assert contribute(pw, receive).status_code == 201
    regulator = pw["client"]["regulator"]
    assert regulator.get(pw["url"]).json()["held_kg"] == "500.000"
    assert regulator.get(f"{pw['url']}statement/").status_code == 200
    for suffix, body in (
        ("draw/", {"quantity_kg": "1", "severity": "emergency", "reason": "x"}),
        ("request/", {"kind": "leave"}),
    ):
        response = regulator.post(f"{pw['url']}{suffix}", body, format="json")
        assert response.status_code == 403, suffix
    assert regulator.post(POOLS, {}, format="json").status_code == 403


def test_a_viewer_never_writes(pw: dict[str, Any], receive: Any) -> None:
    lot = stock_in_pool_zone(pw, receive, "a1", "1000")
    viewer = pw["client"]["viewer"]
    response = viewer.post(
        f"{pw['url']}contribute/", {"lot": lot.pk, "quantity_kg": "1"}, format="json"
    )
    assert response.status_code == 403
    body = {"quantity_kg": "1", "severity": "emergency", "reason": "x"}
    assert viewer.post(f"{pw['url']}draw/", body, format="json").status_code == 403
    assert not Contribution.objects.exists() and not Draw.objects.exists()


# --- Membership --------------------------------------------------------------------------------


def test_an_enterprise_of_the_park_asks_to_join_and_the_operator_decides(
    pw: dict[str, Any],
) -> None:
    # Make room: a2 lowers its commitment to 3 t.
    a2 = pw["client"]["a2_trader"]
    response = a2.post(
        f"{pw['url']}request/", {"kind": "change", "commitment_kg": "3000"}, format="json"
    )
    assert response.status_code == 201, response.json()
    operator = pw["client"]["park_operator"]
    assert (
        operator.post(
            f"/api/v1/pool-requests/{response.json()['id']}/approve/", {}, format="json"
        ).json()["status"]
        == RequestStatus.APPROVED
    )
    a3 = pw["client"]["a3_trader"]
    response = a3.post(
        f"{pw['url']}request/",
        {"kind": "join", "commitment_kg": "1000", "reason": "we use it"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    asked = response.json()["id"]
    # The candidate reads its own request; a member may not decide it.
    assert a3.get(f"/api/v1/pool-requests/{asked}/").json()["kind"] == "join"
    assert (
        pw["client"]["trader"].post(f"/api/v1/pool-requests/{asked}/approve/", {}, format="json")
    ).status_code == 404
    response = operator.post(
        f"/api/v1/pool-requests/{asked}/approve/", {"note": "welcome"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert AuditEntry.objects.filter(action="pool_request.approve").count() == 4
    assert a3.get(pw["url"]).json()["member_count"] == 3


def test_a_commitment_over_the_target_is_refused_on_commitment_kg(pw: dict[str, Any]) -> None:
    response = pw["client"]["a3_trader"].post(
        f"{pw['url']}request/", {"kind": "join", "commitment_kg": "1"}, format="json"
    )
    response = pw["client"]["park_operator"].post(
        f"/api/v1/pool-requests/{response.json()['id']}/approve/", {}, format="json"
    )
    assert response.status_code == 400
    assert "commitment_kg" in errors(response)
    assert MembershipRequest.objects.filter(status=RequestStatus.PENDING).count() == 1


def test_a_member_that_left_may_not_draw(pw: dict[str, Any]) -> None:
    a2 = pw["client"]["a2_trader"]
    asked = a2.post(f"{pw['url']}request/", {"kind": "leave"}, format="json").json()["id"]
    pw["client"]["park_operator"].post(f"/api/v1/pool-requests/{asked}/approve/", {}, format="json")
    assert PoolMember.objects.get(enterprise=pw["enterprises"]["a2"]).status == MemberStatus.LEFT
    assert a2.get(pw["url"]).status_code == 200  # a past member still reads its pool
    body = {"quantity_kg": "1", "severity": "emergency", "reason": "a leak"}
    assert a2.post(f"{pw['url']}draw/", body, format="json").status_code == 403


# --- Contributions and draws -------------------------------------------------------------------


def test_draws_emergency_at_once_others_by_the_operator(pw: dict[str, Any], receive: Any) -> None:
    assert contribute(pw, receive, kg="1000").status_code == 201
    member = pw["client"]["trader"]
    response = member.post(
        f"{pw['url']}draw/",
        {"quantity_kg": "100", "severity": "emergency", "reason": "a leak"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == DrawStatus.GRANTED
    assert response.json()["granted_kg"] == "100.000"
    response = member.post(
        f"{pw['url']}draw/",
        {"quantity_kg": "300", "severity": "routine", "reason": "a batch"},
        format="json",
    )
    pending = response.json()["id"]
    assert response.json()["status"] == DrawStatus.PENDING
    # The drawer may not grant itself; more than asked is refused on quantity_kg.
    grant = f"/api/v1/pool-draws/{pending}/grant/"
    assert member.post(grant, {}, format="json").status_code == 404
    operator = pw["client"]["park_operator"]
    response = operator.post(grant, {"quantity_kg": "301"}, format="json")
    assert response.status_code == 400 and "quantity_kg" in errors(response)
    response = operator.post(grant, {"quantity_kg": "200"}, format="json")
    assert response.status_code == 200 and response.json()["granted_kg"] == "200.000"
    assert operator.post(grant, {}, format="json").status_code == 409
    assert pw["client"]["trader"].get(pw["url"]).json()["held_kg"] == "700.000"
    # Two draws' obligations, pro rata 6 : 4, none overdue yet.
    assert Obligation.objects.count() == 4
    overdue = "/api/v1/pool-obligations/?overdue=true"
    assert pw["client"]["regulator"].get(overdue).json()["results"] == []
    Obligation.objects.update(due_on=timezone.localdate() - timedelta(days=1))
    rows = pw["client"]["regulator"].get(overdue).json()["results"]
    assert len(rows) == 4
    mine = pw["client"]["trader"].get(f"{overdue}&pool={pw['pool'].pk}").json()["results"]
    assert {row["enterprise"] for row in mine} == {pw["enterprises"]["a1"].pk}
    assert pw["client"]["park_operator"].get(pw["url"]).json()["overdue_obligations"] == 4


def test_a_draw_rejected_by_the_operator(pw: dict[str, Any], receive: Any) -> None:
    assert contribute(pw, receive).status_code == 201
    drawn = pw["client"]["trader"].post(
        f"{pw['url']}draw/",
        {"quantity_kg": "10", "severity": "urgent", "reason": "x"},
        format="json",
    )
    url = f"/api/v1/pool-draws/{drawn.json()['id']}/reject/"
    response = pw["client"]["park_operator"].post(url, {"note": "not now"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == DrawStatus.REJECTED


@pytest.mark.parametrize(
    ("quantity", "lot", "extra", "field"),
    [
        ('"-1"', None, "", "quantity_kg"),
        ('"0"', None, "", "quantity_kg"),
        ('"0.0001"', None, "", "quantity_kg"),
        ("1e400", None, "", "quantity_kg"),
        ('"1e400"', None, "", "quantity_kg"),
        ('"1"', str(2**64), "", "lot"),
        ('"1"', "1e400", "", "lot"),
        ('"1"', "true", "", "lot"),
        ('"1"', None, ', "owner": 1', "owner"),
    ],
)
def test_bad_contributions_are_a_400_on_their_field(
    pw: dict[str, Any], receive: Any, quantity: str, lot: str | None, extra: str, field: str
) -> None:
    own = stock_in_pool_zone(pw, receive, "a1", "1000")
    body = f'{{"lot": {lot or own.pk}, "quantity_kg": {quantity}{extra}}}'
    response = pw["client"]["trader"].post(
        f"{pw['url']}contribute/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert not Contribution.objects.exists()


def test_a_lot_outside_the_pools_zones_or_of_another_enterprise_is_refused(
    pw: dict[str, Any], receive: Any
) -> None:
    own_zone = receive(zone=pw["zones"]["a1"], material=pw["material"], quantity="100")
    others = stock_in_pool_zone(pw, receive, "a2", "100")
    for lot in (own_zone, others):
        response = pw["client"]["trader"].post(
            f"{pw['url']}contribute/", {"lot": lot.pk, "quantity_kg": "1"}, format="json"
        )
        assert response.status_code == 400
        assert "lot" in errors(response)
    # More than the lot holds: the inventory refuses, nothing moves.
    lot = stock_in_pool_zone(pw, receive, "a1", "10")
    response = pw["client"]["trader"].post(
        f"{pw['url']}contribute/", {"lot": lot.pk, "quantity_kg": "11"}, format="json"
    )
    assert 400 <= response.status_code < 500
    assert not Contribution.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "panic"}, "severity"),
        ({"reason": ""}, "reason"),
        ({"quantity_kg": "-5"}, "quantity_kg"),
        ({"member": 1}, "member"),
    ],
)
def test_bad_draws_are_a_400_on_their_field(
    pw: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = pw["client"]["trader"].post(
        f"{pw['url']}draw/",
        {"quantity_kg": "1", "severity": "routine", "reason": "x", **body},
        format="json",
    )
    assert response.status_code == 400 and field in errors(response)


def test_bad_ids_and_filters_are_400_or_404(pw: dict[str, Any]) -> None:
    client = pw["client"]["park_operator"]
    assert client.get(f"{POOLS}{2**64}/").status_code == 404
    for query in ("pool=1e400", f"pool={2**64}", "overdue=maybe"):
        assert client.get(f"/api/v1/pool-obligations/?{query}").status_code == 400, query
    assert client.get(f"{pw['url']}statement/?month=2026-13").status_code == 400
    assert client.get(f"{pw['url']}statement/?month=20261").status_code == 400


# --- Opening a pool ---------------------------------------------------------------------------


def pool_body(pw: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "park": pw["parks"]["a"].pk,
        "code": "n2",
        "name": "氮气联储",
        "material": pw["material"].pk,
        "target_kg": "2000",
        "zones": [pw["zones"]["shared"].pk],
        **overrides,
    }


def test_a_park_operator_opens_a_pool_in_its_park(pw: dict[str, Any]) -> None:
    response = pw["client"]["park_operator"].post(POOLS, pool_body(pw), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["held_kg"] == "0.000" and response.json()["member_count"] == 0
    for who in ("enterprise_admin", "trader", "regulator", "viewer"):
        body = pool_body(pw, code=f"x-{who.replace('_', '-')}")
        assert pw["client"][who].post(POOLS, body, format="json").status_code == 403, who


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"park": "c"}, "park"),
        ({"zones": "a1"}, "zones"),
        ({"zones": []}, "zones"),
        ({"target_kg": "0"}, "target_kg"),
        ({"code": "naoh"}, "code"),
        ({"code": "has space"}, "code"),
        ({"lead": "c"}, "lead"),
        ({"holder": 1}, "holder"),
    ],
)
def test_a_bad_pool_is_a_400_on_its_field(
    pw: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    if overrides.get("park") == "c":
        overrides = {"park": pw["parks"]["c"].pk}
    if overrides.get("zones") == "a1":
        overrides = {"zones": [pw["zones"]["a1"].pk]}
    if overrides.get("lead") == "c":
        overrides = {"lead": pw["enterprises"]["c"].pk}
    count = Pool.objects.count()
    response = pw["client"]["park_operator"].post(POOLS, pool_body(pw, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in errors(response)
    assert Pool.objects.count() == count


# --- The statement ----------------------------------------------------------------------------


def last_november(pw: dict[str, Any], receive: Any) -> str:
    """November of last year (30 days), as docs/stockpiling.md's worked example: a1 (6 t
    committed) a member and 1,000 kg in the pool from before the month; a2 (4 t) joining
    and contributing 500 kg at the first instant of the 16th. (The rows' instants are set
    as history would have written them.)"""
    year = timezone.localdate().year - 1
    start, _end = month_bounds(year, 11)
    before, sixteenth = start - timedelta(days=1), start + timedelta(days=15)
    pool = pw["pool"]
    requests = MembershipRequest.objects.filter(pool=pool, status=RequestStatus.APPROVED)
    requests.filter(enterprise=pw["enterprises"]["a1"]).update(decided_at=before)
    requests.filter(enterprise=pw["enterprises"]["a2"]).update(decided_at=sixteenth)
    members = PoolMember.objects.filter(pool=pool)
    members.filter(enterprise=pw["enterprises"]["a1"]).update(joined_at=before)
    members.filter(enterprise=pw["enterprises"]["a2"]).update(joined_at=sixteenth)
    pooled = StockMovement.objects.filter(lot__owner_id=pool.holder_id)
    assert contribute(pw, receive, kg="1000").status_code == 201
    pooled.update(created_at=before)
    assert contribute(pw, receive, who="a2_trader", kg="500").status_code == 201
    pooled.filter(created_at__gt=before).update(created_at=sixteenth)
    return f"{year}-11"


def test_the_statement_charges_tonne_months_split_by_commitment_and_time(
    pw: dict[str, Any], receive: Any
) -> None:
    # Held: 1,000 kg for 15 days, 1,500 kg for 15: 1.25 tonne-months, 1.25 x 30.00 + 500.00
    # = 537.50 CNY = 53,750 fen. Commitment x time: a1 6 t x 30 days, a2 4 t x 15 days,
    # 3 : 1 = 40,312.5 : 13,437.5 fen; whole fen 40,312 + 13,437 = 53,749, the fen left to
    # the larger fraction, a tie (0.5 each) going to the lower member: a1.
    month = last_november(pw, receive)
    response = pw["client"]["trader"].get(f"{pw['url']}statement/?month={month}")
    assert response.status_code == 200
    data = response.json()
    assert data["basis"] == "tonne-months held; commitment x time"
    assert data["tonne_months"] == "1.250000" and data["average_held_kg"] == "1250.000"
    assert data["held_at_end_kg"] == "1500.000" and data["total_cny"] == "537.50"
    assert [
        (line["enterprise"], line["commitment_kg"], line["cost_cny"]) for line in data["lines"]
    ] == [
        (pw["enterprises"]["a1"].pk, "6000.000", "403.13"),
        (pw["enterprises"]["a2"].pk, "2000.000", "134.37"),
    ]
    # A month before the stock came: the storage fees only, and nobody to bear them yet.
    data = pw["client"]["trader"].get(f"{pw['url']}statement/?month={month[:4]}-06").json()
    assert data["tonne_months"] == "0.000000" and data["total_cny"] == "500.00"
    assert data["lines"] == []


def test_the_current_months_statement_is_to_date(pw: dict[str, Any], receive: Any) -> None:
    """The period ends now: what is held counts from the contribution's instant on, the
    storage fees pro rata; the lines still sum to the total exactly."""
    assert contribute(pw, receive, kg="1000").status_code == 201
    data = pw["client"]["trader"].get(f"{pw['url']}statement/").json()
    start, end = month_bounds(timezone.localdate().year, timezone.localdate().month)
    now = timezone.now()
    assert data["period_start"] == start.isoformat()
    elapsed = (now - start) / (end - start)
    assert abs(Decimal(data["total_cny"]) - Decimal(500) * Decimal(elapsed)) < 1
    assert Decimal(data["average_held_kg"]) < Decimal(1000)  # held only since just now
    assert data["held_at_end_kg"] == "1000.000"
    total = sum(Decimal(line["cost_cny"]) for line in data["lines"])
    assert total == Decimal(data["total_cny"])


def test_the_statement_exports_as_csv_and_xlsx(pw: dict[str, Any], receive: Any) -> None:
    month = last_november(pw, receive)
    client = pw["client"]["park_operator"]
    response = client.get(f"{pw['url']}statement/?format=csv&month={month}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "month,member,enterprise,enterprise_name,commitment_kg,cost_cny"
    assert lines[1].endswith(",6000.000,403.13") and lines[2].endswith(",2000.000,134.37")
    assert lines[3].endswith(",total,,537.50")
    response = client.get(f"{pw['url']}statement/?format=xlsx&month={month}")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    sheet = tablib.Dataset().load(io.BytesIO(response.content), format="xlsx")
    assert [row[-1] for row in sheet] == ["403.13", "134.37", "537.50"]
    # An error is answered as JSON, not as a spreadsheet.
    response = client.get(f"{pw['url']}statement/?format=csv&month=bad")
    assert response.status_code == 400 and "month" in errors(response)


def test_the_pool_list_costs_the_same_queries_for_more_pools(pw: dict[str, Any]) -> None:
    client = pw["client"]["park_operator"]
    client.get(POOLS)  # warm the token and the scope
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(POOLS).json()["results"]) == 1
    for n in range(3):
        client.post(POOLS, pool_body(pw, code=f"more-{n}"), format="json")
    with CaptureQueriesContext(connection) as four:
        assert len(client.get(POOLS).json()["results"]) == 4
    assert len(four.captured_queries) == len(one.captured_queries) <= 8


# --- The operator's terms ----------------------------------------------------------------------


def test_the_operator_changes_the_pools_terms(pw: dict[str, Any]) -> None:
    """PATCH by the park operator: audited, the target never below the commitments (10 t
    committed), the pool's need resized; members, regulators and others may not."""
    operator = pw["client"]["park_operator"]
    changed = operator.patch(
        pw["url"], {"target_kg": "12000", "holding_rate_per_t_month": "35.00"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["target_kg"] == "12000.000"
    row = AuditEntry.objects.get(action="pool.update")
    assert row.changes["target_kg"] == ["10000.000", "12000.000"]
    from pools.services.shortfall import pool_need

    need = pool_need(Pool.objects.get(pk=pw["pool"].pk))
    assert need is not None and str(need.quantity_kg) == "12000.000"
    refused = operator.patch(pw["url"], {"target_kg": "9999.999"}, format="json")
    assert refused.status_code == 400 and "target_kg" in errors(refused)
    for body, field in (
        ({"target_kg": "-1"}, "target_kg"),
        ({"replenish_days": 2**64}, "replenish_days"),
        ({"holding_rate_per_t_month": "1e400"}, "holding_rate_per_t_month"),
        ({"code": "renamed"}, "code"),
    ):
        answer = operator.patch(pw["url"], body, format="json")
        assert answer.status_code == 400 and field in errors(answer), (body, answer.content)
    assert pw["client"]["trader"].patch(pw["url"], {"name": "x"}, format="json").status_code == 403
    assert (
        pw["client"]["regulator"].patch(pw["url"], {"name": "x"}, format="json").status_code == 403
    )
    outsider = pw["client"]["park_b_admin"].patch(pw["url"], {"name": "x"}, format="json")
    assert outsider.status_code == 404
    assert Pool.objects.get(pk=pw["pool"].pk).name == "烧碱联储"
    assert AuditEntry.objects.filter(action="pool.update").count() == 1
