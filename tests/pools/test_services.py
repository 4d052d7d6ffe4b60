"""The pools' writes: membership by request and approval, contributions and draws through
the ledger (FEFO), replenishment split exactly, and what is refused."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from access.scope import resolve_scope
from audit.models import AuditEntry
from common.exceptions import DomainError, NotPermitted
from inventory.models import StockLot
from pools.models import DrawStatus, MemberStatus, Obligation, PoolMember, RequestKind
from pools.services import (
    draw_decide,
    membership_decide,
    membership_request,
    pool_contribute,
    pool_create,
    pool_draw,
    pool_held_kg,
)
from tests import factories as f
from tests.pools.conftest import stock_in_pool_zone

pytestmark = pytest.mark.django_db


def test_the_pool_owns_its_stock_through_its_holder(pool_world: dict[str, Any]) -> None:
    pool = pool_world["pool"]
    assert pool.holder.kind == "pool" and pool.holder.park_id == pool.park_id
    assert pool.holder.uscc == ""
    members = PoolMember.objects.filter(pool=pool, status=MemberStatus.ACTIVE)
    assert sorted(m.commitment_kg for m in members) == [Decimal(4000), Decimal(6000)]


def test_a_contribution_moves_stock_to_the_pool_and_credits_the_member(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    lot = stock_in_pool_zone(world, receive, "a1", "5000")
    contribution = pool_contribute(
        actor=resolve_scope(world["users"]["trader"]), pool=pool, lot=lot, quantity_kg=Decimal(3000)
    )
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(2000)
    assert contribution.lot.owner_id == pool.holder_id and contribution.lot.on_hand_kg == 3000
    assert contribution.member is not None
    assert contribution.member.enterprise == world["enterprises"]["a1"]
    assert pool_held_kg(pool) == Decimal(3000)
    assert AuditEntry.objects.filter(action="pool.contribute").count() == 1
    call_command("ledger_check")  # raises on any imbalance


def test_an_emergency_draw_is_granted_at_once_first_expiry_first(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    late = stock_in_pool_zone(world, receive, "a1", "3000", expires_on=date(2028, 1, 1))
    soon = stock_in_pool_zone(world, receive, "a2", "2000", expires_on=date(2027, 3, 1))
    trader, a2_trader = (
        resolve_scope(world["users"]["trader"]),
        resolve_scope(world["users"]["a2_trader"]),
    )
    pool_contribute(actor=trader, pool=pool, lot=late, quantity_kg=Decimal(3000))
    pool_contribute(actor=a2_trader, pool=pool, lot=soon, quantity_kg=Decimal(2000))
    draw = pool_draw(
        actor=a2_trader, pool=pool, quantity_kg=Decimal(2500), severity="emergency", reason="泄漏"
    )
    assert draw.status == DrawStatus.GRANTED and draw.granted_kg == Decimal(2500)
    lines = list(draw.lines.order_by("id"))
    assert [line.lot.expires_on for line in lines] == [date(2027, 3, 1), date(2028, 1, 1)]
    assert [line.quantity_kg for line in lines] == [Decimal(2000), Decimal(500)]
    assert all(line.to_lot.owner == world["enterprises"]["a2"] for line in lines)
    assert pool_held_kg(pool) == Decimal(2500)
    # Replenishment pro rata to commitments (6 t : 4 t): 1,500 and 1,000 kg.
    owed = {o.member.enterprise_id: o.quantity_kg for o in Obligation.objects.filter(draw=draw)}
    assert owed == {
        world["enterprises"]["a1"].pk: Decimal(1500),
        world["enterprises"]["a2"].pk: Decimal(1000),
    }
    due = Obligation.objects.filter(draw=draw).first().due_on  # type: ignore[union-attr]
    assert due == date.today() + timedelta(days=pool.replenish_days)
    call_command("ledger_check")


def test_an_emergency_never_gets_more_than_the_pool_holds(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    lot = stock_in_pool_zone(world, receive, "a1", "1000")
    trader = resolve_scope(world["users"]["trader"])
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(1000))
    draw = pool_draw(
        actor=trader, pool=pool, quantity_kg=Decimal(1500), severity="emergency", reason="x"
    )
    assert draw.granted_kg == Decimal(1000) and pool_held_kg(pool) == 0
    again = pool_draw(
        actor=trader, pool=pool, quantity_kg=Decimal(1), severity="emergency", reason="x"
    )
    assert again.granted_kg == 0


def test_other_draws_wait_for_the_operator(pool_world: dict[str, Any], receive: Any) -> None:
    world, pool = pool_world, pool_world["pool"]
    lot = stock_in_pool_zone(world, receive, "a1", "1000")
    trader = resolve_scope(world["users"]["trader"])
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(1000))
    draw = pool_draw(
        actor=trader, pool=pool, quantity_kg=Decimal(400), severity="routine", reason="检修"
    )
    assert draw.status == DrawStatus.PENDING and pool_held_kg(pool) == Decimal(1000)
    with pytest.raises(NotPermitted):
        draw_decide(actor=trader, draw=draw, approve=True)
    draw = draw_decide(
        actor=resolve_scope(world["users"]["park_operator"]), draw=draw, approve=True
    )
    assert draw.status == DrawStatus.GRANTED and pool_held_kg(pool) == Decimal(600)


def test_a_contribution_meets_the_earliest_obligation_first(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    trader = resolve_scope(world["users"]["trader"])
    lot = stock_in_pool_zone(world, receive, "a1", "5000")
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(2000))
    pool_draw(actor=trader, pool=pool, quantity_kg=Decimal(1000), severity="emergency", reason="x")
    mine = Obligation.objects.get(member__enterprise=world["enterprises"]["a1"])
    assert mine.quantity_kg == Decimal(600)
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(700))
    mine.refresh_from_db()
    assert mine.met_kg == Decimal(600) and mine.met_at is not None


def test_membership_changes_are_requested_approved_and_kept(pool_world: dict[str, Any]) -> None:
    world, pool = pool_world, pool_world["pool"]
    operator = resolve_scope(world["users"]["park_operator"])
    trader = resolve_scope(world["users"]["trader"])
    over = membership_request(
        actor=trader, pool=pool, kind=RequestKind.CHANGE, commitment_kg=Decimal(6001)
    )
    with pytest.raises(DomainError) as exceeded:
        membership_decide(actor=operator, request=over, approve=True)
    assert exceeded.value.field == "commitment_kg"
    membership_decide(actor=operator, request=over, approve=False, note="over the target")
    leave = membership_request(actor=trader, pool=pool, kind=RequestKind.LEAVE)
    membership_decide(actor=operator, request=leave, approve=True)
    member = PoolMember.objects.get(pool=pool, enterprise=world["enterprises"]["a1"])
    assert member.status == MemberStatus.LEFT and member.left_at is not None
    actions = list(
        AuditEntry.objects.filter(action__startswith="pool_request.").values_list(
            "action", flat=True
        )
    )
    assert actions.count("pool_request.create") == 4 and "pool_request.reject" in actions


def test_what_is_refused(pool_world: dict[str, Any], receive: Any) -> None:
    world, pool = pool_world, pool_world["pool"]
    users = world["users"]
    trader = resolve_scope(users["trader"])
    outsider = resolve_scope(users["park_b_admin"])  # an enterprise of another park
    with pytest.raises(DomainError) as other_park:
        membership_request(
            actor=outsider, pool=pool, kind=RequestKind.JOIN, commitment_kg=Decimal(1)
        )
    assert other_park.value.field == "pool"
    for bad in (Decimal(-1), Decimal(0), Decimal("0.0001")):
        with pytest.raises(DomainError):
            pool_draw(actor=trader, pool=pool, quantity_kg=bad, severity="emergency", reason="x")
    with pytest.raises(DomainError) as severity:
        pool_draw(actor=trader, pool=pool, quantity_kg=Decimal(1), severity="panic", reason="x")
    assert severity.value.field == "severity"
    private = receive(zone=world["zones"]["a1"], material=world["material"], quantity="10")
    with pytest.raises(DomainError) as zone:
        pool_contribute(actor=trader, pool=pool, lot=private, quantity_kg=Decimal(5))
    assert zone.value.field == "lot"
    with pytest.raises(NotPermitted):
        pool_draw(
            actor=resolve_scope(users["viewer"]),
            pool=pool,
            quantity_kg=Decimal(1),
            severity="emergency",
            reason="x",
        )
    with pytest.raises(DomainError) as zones:
        pool_create(
            actor=resolve_scope(users["park_operator"]),
            park=world["parks"]["a"],
            code="bad",
            name="x",
            material=world["material"],
            target_kg=Decimal(1),
            zones=[world["zones"]["a1"]],  # an enterprise's own warehouse
        )
    assert zones.value.field == "zones"
    acid = f.MaterialFactory.create(primary_class="8")
    narrow = f.StorageZoneFactory.create(
        warehouse=world["zones"]["shared"].warehouse, allowed_classes=["3"]
    )
    with pytest.raises(DomainError) as licence:
        pool_create(
            actor=resolve_scope(users["park_operator"]),
            park=world["parks"]["a"],
            code="acid",
            name="x",
            material=acid,
            target_kg=Decimal(1),
            zones=[narrow],  # not licensed for class 8
        )
    assert licence.value.field == "zones"
    assert StockLot.objects.filter(owner__kind="pool").count() == 0


def test_each_write_leaves_its_audit_row_in_the_pools_park(
    pool_world: dict[str, Any], receive: Any
) -> None:
    world, pool = pool_world, pool_world["pool"]
    trader = resolve_scope(world["users"]["trader"])
    lot = stock_in_pool_zone(world, receive, "a1", "100")
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(100))
    draw = pool_draw(
        actor=trader, pool=pool, quantity_kg=Decimal(10), severity="urgent", reason="x"
    )
    draw_decide(actor=resolve_scope(world["users"]["park_operator"]), draw=draw, approve=False)
    rows = {
        row.action: row
        for row in AuditEntry.objects.filter(action__startswith="pool").order_by("id")
    }
    assert {
        "pool.create",
        "pool_request.create",
        "pool_request.approve",
        "pool.contribute",
        "pool.draw",
        "pool_draw.reject",
    } <= set(rows)
    assert rows["pool.draw"].user == world["users"]["trader"]
    assert rows["pool_draw.reject"].user == world["users"]["park_operator"]
    assert all(row.park_id == pool.park_id for row in rows.values())


def test_a_pool_short_of_its_target_has_a_need_the_engine_fills(
    pool_world: dict[str, Any], receive: Any
) -> None:
    """The shortfall is a need of the pool's holder, delivered into the pool's zone;
    resized as the pool fills, closed once it is full; the engine proposes a listing of
    the park for it."""
    from marketplace.models import NeedStatus
    from marketplace.services import listing_create, listing_publish
    from matching.models import Match
    from matching.services.runs import run_full
    from pools.services.shortfall import pool_need, pool_shortfall_sync

    world, pool = pool_world, pool_world["pool"]
    need = pool_shortfall_sync(pool=pool)
    assert need is not None and need.enterprise_id == pool.holder_id
    assert need.quantity_kg == Decimal(10000) and need.delivery_zone == world["zones"]["shared"]
    trader = resolve_scope(world["users"]["trader"])
    lot = stock_in_pool_zone(world, receive, "a1", "4000")
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(4000))
    need = pool_shortfall_sync(pool=pool)
    assert need is not None and need.quantity_kg == Decimal(6000)
    # a2 offers the material from its own warehouse: the engine proposes it to the pool.
    offer = receive(zone=world["zones"]["a2"], material=world["material"], quantity="9000")
    listing = listing_create(
        actor=resolve_scope(world["users"]["a2_trader"]),
        seller=world["enterprises"]["a2"],
        lot=offer,
        quantity_kg=Decimal(9000),
        price_per_t=Decimal(900),
        available_from=date.today(),
    )
    listing_publish(actor=resolve_scope(world["users"]["a2_trader"]), listing=listing)
    run_full(trigger="command")
    proposal = Match.objects.filter(need=need, status="proposed").first()
    assert proposal is not None and proposal.buyer_id == pool.holder_id
    assert proposal.quantity_kg == Decimal(6000)
    more = stock_in_pool_zone(world, receive, "a1", "6000")
    pool_contribute(actor=trader, pool=pool, lot=more, quantity_kg=Decimal(6000))
    assert pool_shortfall_sync(pool=pool) is None
    need.refresh_from_db()
    assert need.status == NeedStatus.CLOSED and pool_need(pool) is None


def test_a_code_taken_in_the_park_is_refused_and_leaves_no_holder(
    pool_world: dict[str, Any],
) -> None:
    from parks.models import Enterprise

    world = pool_world
    holders = Enterprise.objects.filter(kind="pool").count()
    with pytest.raises(DomainError) as taken:
        pool_create(
            actor=resolve_scope(world["users"]["park_operator"]),
            park=world["parks"]["a"],
            code="naoh",
            name="again",
            material=world["material"],
            target_kg=Decimal(1),
            zones=[world["zones"]["shared"]],
        )
    assert taken.value.field == "code"
    assert Enterprise.objects.filter(kind="pool").count() == holders


@pytest.mark.usefixtures("eager_tasks")
def test_the_need_follows_a_draw_and_a_contribution_at_once(
    pool_world: dict[str, Any], receive: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """No waiting for the daily sweep: a contribution resizes the pool's need in its own
    transaction, and a draw's ``pool.shortfall`` resizes it through the outbox subscriber
    once the draw has committed (the draw itself stays lean)."""
    from pools.services.shortfall import pool_need

    world, pool = pool_world, pool_world["pool"]
    trader = resolve_scope(world["users"]["trader"])
    lot = stock_in_pool_zone(world, receive, "a1", "4000")
    pool_contribute(actor=trader, pool=pool, lot=lot, quantity_kg=Decimal(4000))
    need = pool_need(pool)
    assert need is not None and need.quantity_kg == Decimal(6000)
    with django_capture_on_commit_callbacks(execute=True):
        pool_draw(
            actor=trader, pool=pool, quantity_kg=Decimal(1500), severity="emergency", reason="x"
        )
    need.refresh_from_db()
    assert need.quantity_kg == Decimal(7500)
    more = stock_in_pool_zone(world, receive, "a1", "7500")
    pool_contribute(actor=trader, pool=pool, lot=more, quantity_kg=Decimal(7500))
    assert pool_need(pool) is None
