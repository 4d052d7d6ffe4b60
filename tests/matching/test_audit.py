"""The matching writes in the audit trail: each party's decision is one row (who, which
side's acceptance, the status before and after); a run is ONE row, ``matching_run.start``,
however many proposals it writes (they are derived data, recomputed by the next run);
``match_side`` only reads."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.scope import resolve_scope
from audit.models import AuditEntry
from matching.exceptions import InvalidTransition
from matching.models import Match, MatchRun, MatchStatus, RunKind, RunTrigger
from matching.services.decisions import match_accept, match_decline, match_side
from matching.services.runs import run_full, run_materials, run_request
from tests import factories as f
from tests.audited import one_audit_row
from tests.matching.market import Market

World = dict[str, Any]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.tasks import outbox_fanout

    monkeypatch.setattr(outbox_fanout, "delay", lambda *args, **kwargs: None)


@pytest.fixture
def deal(world: World, receive: Any) -> World:
    """A proposal of 300 kg between a1 (seller, its trader) and b (buyer, its admin)."""
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    listing = f.ListingFactory.create(lot=lot, quantity_kg=Decimal(500), status="published")
    need = f.NeedFactory.create(
        enterprise=world["enterprises"]["b"], material=world["material"], quantity_kg=Decimal(400)
    )
    match = f.MatchFactory.create(listing=listing, need=need, quantity_kg=Decimal(300))
    return {
        **world,
        "match": match,
        "seller": world["users"]["trader"],
        "buyer": world["users"]["park_b_admin"],
    }


def test_each_sides_acceptance_is_one_row_in_its_trail(deal: World) -> None:
    match, seller, buyer = deal["match"], deal["seller"], deal["buyer"]
    with one_audit_row(actor=seller, action="match.accept", target=match) as first:
        match_accept(actor=resolve_scope(seller), match=match)
    assert first.entry.changes["status"] == ["proposed", "accepted"]
    assert first.entry.changes["seller_accepted_at"][0] is None
    assert set(first.entry.changes) == {"status", "seller_accepted_at"}
    assert (first.entry.enterprise_id, first.entry.role) == (deal["enterprises"]["a1"].pk, "trader")

    with one_audit_row(actor=buyer, action="match.accept", target=match) as second:
        match_accept(actor=resolve_scope(buyer), match=match)
    assert second.entry.changes["status"] == ["accepted", "agreed"]
    assert set(second.entry.changes) == {"status", "buyer_accepted_at", "decided_at"}
    assert second.entry.enterprise_id == deal["enterprises"]["b"].pk


def test_a_decline_is_one_row_with_the_reason(deal: World) -> None:
    match, buyer = deal["match"], deal["buyer"]
    match_accept(actor=resolve_scope(deal["seller"]), match=match)
    with one_audit_row(actor=buyer, action="match.decline", target=match) as row:
        match_decline(actor=resolve_scope(buyer), match=match, reason=" too far ")
    assert row.entry.changes["status"] == ["accepted", "declined"]
    assert row.entry.changes["decline_reason"] == ["", "too far"]
    assert row.entry.changes["decided_by"] == [None, buyer.pk]


def test_a_refused_decision_leaves_no_row(deal: World) -> None:
    match = deal["match"]
    match_decline(actor=resolve_scope(deal["seller"]), match=match)
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidTransition):
        match_accept(actor=resolve_scope(deal["buyer"]), match=match)
    with pytest.raises(InvalidTransition):
        match_decline(actor=resolve_scope(deal["buyer"]), match=match)
    assert AuditEntry.objects.count() == before


def test_match_side_only_reads(deal: World) -> None:
    """Listed as READS_ONLY in tests/audit/test_coverage.py: no row and no write."""
    before = AuditEntry.objects.count()
    with CaptureQueriesContext(connection) as queries:
        assert match_side(actor=resolve_scope(deal["seller"]), match=deal["match"]) == "seller"
        assert match_side(actor=resolve_scope(deal["buyer"]), match=deal["match"]) == "buyer"
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE"))
    ]
    assert writes == []
    assert AuditEntry.objects.count() == before
    assert Match.objects.get(pk=deal["match"].pk).status == MatchStatus.PROPOSED


# --- runs ------------------------------------------------------------------------------


@pytest.fixture
def market(world: World) -> Market:
    """Two materials, each with a listing and two needs: a run writes several proposals."""
    m = Market(world)
    other = f.MaterialFactory.create()
    for material in (world["material"], other):
        m.offer("a1", material=material, kg="2000", lot_kg="3000")
        m.need("b", material=material, kg="500")
        m.need("b", material=material, kg="700")
    m.other = other  # type: ignore[attr-defined]
    return m


def test_a_run_of_materials_is_one_row_not_one_per_proposal(world: World, market: Market) -> None:
    root = world["users"]["superuser"]
    ids = [world["material"].pk, market.other.pk]  # type: ignore[attr-defined]
    with one_audit_row(actor=root, action="matching_run.start") as row:
        run = run_materials(material_ids=ids, trigger=RunTrigger.API, actor=resolve_scope(root))
    assert run.created >= 2  # proposals were written, and none has a row of its own
    assert Match.objects.filter(status=MatchStatus.PROPOSED).count() >= 2
    assert (row.entry.object_type, row.entry.object_id) == ("matching.matchrun", str(run.pk))
    assert row.entry.changes == {
        "kind": [None, RunKind.MATERIALS],
        "trigger": [None, RunTrigger.API],
        "material_ids": [None, sorted(ids)],
        "pending_chunks": [None, 1],
    }
    assert row.entry.role == "superuser"


def test_a_full_run_by_the_system_is_one_row(world: World, market: Market) -> None:
    with one_audit_row(actor=None, action="matching_run.start") as row:
        run = run_full(trigger=RunTrigger.SCHEDULE)
    assert run.created >= 2
    assert row.entry.object_id == str(run.pk)
    assert row.entry.changes["kind"] == [None, RunKind.FULL]
    assert (row.entry.user_id, row.entry.enterprise_id) == (None, None)


@pytest.mark.parametrize("materials", [True, False])
def test_a_run_asked_through_the_api_is_the_runs_one_row(
    world: World, market: Market, materials: bool
) -> None:
    """run_request is DELEGATED in the coverage test: the run it starts records."""
    root = world["users"]["superuser"]
    ids = [world["material"].pk] if materials else None
    with one_audit_row(actor=root, action="matching_run.start") as row:
        run = run_request(actor=resolve_scope(root), material_ids=ids)
    assert row.entry.object_id == str(run.pk)
    assert MatchRun.objects.get(pk=run.pk).requested_by == root
