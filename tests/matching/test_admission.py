"""The engine proposes only what the delivery zone will admit, within the room it has, and
shares lots and dates as the warehouse and the calendar do (issue: every proposal can be
ordered and received). Through the database, on the ``world`` of tests/conftest.py."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from access.scope import resolve_scope
from inventory.controls import PermitKind
from inventory.models import Permit
from marketplace.models import Need
from matching.audit import admission_violations
from matching.models import MatchRun
from matching.services.decisions import match_accept
from tests import factories as f
from tests.matching.market import Market, live, pairs, today

pytestmark = pytest.mark.django_db

World = dict[str, Any]


@pytest.fixture
def m(world: World) -> Market:
    return Market(world)


def kg(value: str | int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.001"))


def zone_of(world: World, buyer: str, **fields: Any) -> Any:
    """Another zone in the buyer's warehouse."""
    return f.StorageZoneFactory.create(warehouse=world["zones"][buyer].warehouse, **fields)


# --- licence ------------------------------------------------------------------------------


def test_a_zone_not_licensed_for_the_class_gets_no_proposal(m: Market, world: World) -> None:
    flammable = f.MaterialFactory.create(primary_class="3", un_number="1294")
    gases_only = zone_of(world, "b", allowed_classes=["2.1", "2.2"])
    licensed = zone_of(world, "b", allowed_classes=["3"])
    listing = m.offer("a1", material=flammable, kg="800")
    refused = m.need("b", material=flammable, zone=gases_only)
    admitted = m.need("b", material=flammable, zone=licensed)

    m.rematch(flammable)

    assert pairs(live()) == {(listing.pk, admitted.pk): kg(400)}
    assert refused.pk not in {x.need_id for x in live()}
    [match] = live()
    assert f"admitted into zone {licensed}" in match.explanation
    assert f"可存入库区 {licensed}" in match.explanation_zh


def test_a_subsidiary_class_needs_the_licence_too(m: Market, world: World) -> None:
    nitric = f.MaterialFactory.create(primary_class="8", subsidiary_classes=["5.1"])
    corrosives_only = zone_of(world, "b", allowed_classes=["8"])
    m.offer("a1", material=nitric)
    m.need("b", material=nitric, zone=corrosives_only)
    m.rematch(nitric)
    assert live() == []


# --- capacity -----------------------------------------------------------------------------


def test_proposals_into_one_zone_never_exceed_its_free_room(m: Market, world: World) -> None:
    small = zone_of(world, "b", capacity_kg=Decimal("1500"))
    m.lot("b", zone=small, kg="500")  # 1,000 kg free
    m.offer("a1", kg="10000", lot_kg="10000")
    first = m.need("b", kg="4000", zone=small)
    second = m.need("b", kg="4000", zone=small)
    elsewhere = m.need("a2", kg="3000")

    run = m.rematch()

    by_need = {x.need_id: x.quantity_kg for x in live()}
    assert by_need.get(first.pk, 0) + by_need.get(second.pk, 0) == kg(1000)
    assert by_need[elsewhere.pk] == kg(3000)
    assert run.matched_kg == kg(4000)


def test_a_full_zone_gets_nothing_and_says_why_at_receipt(m: Market, world: World) -> None:
    full = zone_of(world, "b", capacity_kg=Decimal("500"))
    m.lot("b", zone=full, kg="500")
    m.offer("a1")
    m.need("b", zone=full)
    m.rematch()
    assert live() == []


def test_room_taken_by_another_material_is_not_offered_twice(m: Market, world: World) -> None:
    other = f.MaterialFactory.create()
    zone = zone_of(world, "b", capacity_kg=Decimal("1000"))
    m.offer("a1", material=other, kg="600")
    m.need("b", material=other, kg="600", zone=zone)
    m.rematch(other)
    m.offer("a1", kg="900")
    m.need("b", kg="900", zone=zone)

    m.rematch()

    assert sum(x.quantity_kg for x in live(need__delivery_zone=zone)) == kg(1000)
    assert [x.quantity_kg for x in live(material=world["material"])] == [kg(400)]


def test_a_delivery_point_says_admission_is_checked_at_receipt(m: Market) -> None:
    m.offer("a1")
    m.need("b")  # to the DELIVERY point
    m.rematch()
    [match] = live()
    assert "checked when the goods are received" in match.explanation
    assert "在收货时校验" in match.explanation_zh


# --- shared lots --------------------------------------------------------------------------


def test_a_shared_lot_is_allocated_by_the_solver_even_with_minimum_orders(
    m: Market, world: World
) -> None:
    """A lot of 12 t offered by two listings; the first (lower id) can serve nobody, the
    second has a minimum order. Sharing the lot out in listing order gave the need 3 t; the
    solver gives all 12 t, and the run reports no gap to the relaxed optimum."""
    lot = m.lot("a1", kg="12000")
    m.offer("a1", kg="9000", lot=lot, visibility="park")  # park A only: b is in park B
    useful = m.offer("a1", kg="12000", lot=lot, min_order="2000")
    need = m.need("b", kg="12000")

    run = m.rematch()

    assert pairs(live()) == {(useful.pk, need.pk): kg(12000)}
    run = MatchRun.objects.get(pk=run.pk)
    assert run.matched_kg == run.relaxed_matched_kg == kg(12000)
    assert run.moq_components == 1


def test_minimum_orders_and_a_shared_lot_never_promise_more_than_it_holds(m: Market) -> None:
    lot = m.lot("a1", kg="1000")
    m.offer("a1", kg="800", lot=lot, min_order="300")
    m.offer("a1", kg="800", lot=lot, min_order="300", price="3100.00")
    m.need("b", kg="700")
    m.need("a2", kg="700")
    run = m.rematch()
    assert sum(x.quantity_kg for x in live()) == kg(1000)
    assert all(x.quantity_kg >= kg(300) for x in live())
    assert run.matched_kg == kg(1000)


# --- dates --------------------------------------------------------------------------------


def test_a_lot_expired_today_takes_no_part(m: Market) -> None:
    m.offer("a1", lot=m.lot("a1", expires_on=today()))
    fresh = m.offer("a1", lot=m.lot("a1", expires_on=today() + timedelta(days=40)))
    m.need("b", kg="400")
    m.rematch()
    assert [x.listing_id for x in live()] == [fresh.pk]


def test_a_need_past_its_date_takes_no_part(m: Market) -> None:
    m.offer("a1", kg="800")
    late = m.need("b")
    in_time = m.need("a2")
    Need.objects.filter(pk=late.pk).update(needed_by=today() - timedelta(days=1))
    m.rematch()
    assert [x.need_id for x in live()] == [in_time.pk]


# --- what other proposals bring into the warehouse ---------------------------------------


def _acid_and_cyanide() -> tuple[Any, Any]:
    acid = f.MaterialFactory.create(primary_class="8", family="acid", physical_state="liquid")
    cyanide = f.MaterialFactory.create(
        primary_class="6.1", family="cyanide", physical_state="solid"
    )
    return acid, cyanide


def test_materials_that_may_not_share_a_warehouse_are_one_choice(m: Market, world: World) -> None:
    """Acids are never stored with cyanides: b's warehouse gets one of them, the one that
    matches more (0.4 t of cyanide rather than 0.3 t of acid), whichever is rematched."""
    acid, cyanide = _acid_and_cyanide()
    m.offer("a1", material=acid)
    m.offer("a2", material=cyanide)
    m.need("b", kg="300", material=acid, zone=zone_of(world, "b", building="B1"))
    cyanide_need = m.need("b", kg="400", material=cyanide, zone=zone_of(world, "b", building="B2"))

    run = m.rematch(acid)

    assert [x.need_id for x in live()] == [cyanide_need.pk]
    assert run.components == 1 and run.matched_kg == kg(400)
    assert admission_violations().total == 0


def test_a_committed_match_keeps_what_it_brings_in(m: Market, world: World) -> None:
    acid, cyanide = _acid_and_cyanide()
    m.offer("a1", material=acid)
    m.offer("a2", material=cyanide)
    m.need("b", kg="300", material=acid, zone=zone_of(world, "b", building="B1"))
    m.rematch(acid)
    [acid_match] = live()
    match_accept(
        actor=resolve_scope(world["users"]["trader"]), match=acid_match
    )  # a1's trader: committed
    m.need("b", kg="400", material=cyanide, zone=zone_of(world, "b", building="B2"))

    m.rematch(cyanide)

    assert [x.pk for x in live()] == [acid_match.pk]
    assert admission_violations().total == 0


# --- the audit -----------------------------------------------------------------------------


def test_the_audit_finds_nothing_wrong_with_the_engines_proposals(m: Market, world: World) -> None:
    small = zone_of(world, "b", capacity_kg=Decimal("700"))
    m.offer("a1", kg="2000", lot_kg="2000")
    m.need("b", kg="500", zone=small)
    m.need("b", kg="500", zone=small)
    m.rematch()
    found = admission_violations()
    assert (found.checked, found.zones, found.total) == (2, 1, 0)
    out = StringIO()
    call_command("match_check", stdout=out)
    assert "2 live matches into 1 zones checked" in out.getvalue()


def test_the_audit_reports_stock_that_arrived_after_the_proposal(m: Market, world: World) -> None:
    flammable = f.MaterialFactory.create(primary_class="3", un_number="1294")
    zone = zone_of(world, "b", capacity_kg=Decimal("1000"))
    m.offer("a1", material=flammable)
    m.need("b", material=flammable, kg="400", zone=zone)
    m.rematch(flammable)
    [match] = live()
    assert admission_violations().total == 0

    m.lot("b", zone=zone, kg="700")  # not dangerous, but 300 kg left for 400 proposed
    found = admission_violations()
    assert (found.capacity, found.licence, found.segregation) == ([zone.pk], [], [])

    oxidizer = f.MaterialFactory.create(primary_class="5.1", physical_state="solid")
    m.lot("b", material=oxidizer, zone=zone, kg="1")  # 3 against 5.1: another zone
    found = admission_violations()
    assert found.segregation == [match.pk]
    with pytest.raises(CommandError, match="2 admission violations"):
        call_command("match_check", stdout=StringIO())


# --- controlled chemicals -----------------------------------------------------------------


def test_a_controlled_chemical_is_proposed_only_to_a_buyer_with_a_permit(
    m: Market, world: World
) -> None:
    cyanide = f.MaterialFactory.create(
        primary_class="6.1", family="cyanide", physical_state="solid", highly_toxic=True
    )
    m.offer("a1", material=cyanide, kg="800")
    unlicensed = m.need("b", material=cyanide)
    licensed = m.need("a2", material=cyanide)
    Permit.objects.create(
        enterprise=world["enterprises"]["a2"],
        kind=PermitKind.SAFE_USE_LICENCE,
        number="ZJ-AQSY-001",
        valid_from=today() - timedelta(days=30),
        expires_on=today() + timedelta(days=300),
    )

    run = m.rematch(cyanide)

    assert [x.need_id for x in live()] == [licensed.pk]
    assert unlicensed.pk not in {x.need_id for x in live()}
    assert run.arcs == 1


# --- needs competing for one zone's room are solved together --------------------------------


def test_materials_competing_for_a_zone_are_one_component(m: Market, world: World) -> None:
    """Room for 1 t in b's zone. Material A could fill it (its cheapest need) or go to a
    farther need; B can only go into the zone. Solved apart, A takes the room and B gets
    0.2 t (1 t matched); solved together, B takes 0.8 t of the room and A the rest, A's
    other 0.6 t going to the farther need (1.6 t matched). A rematch of A alone reaches B
    through the zone."""
    b_material = f.MaterialFactory.create()
    zone = zone_of(world, "b", capacity_kg=Decimal("1000"))
    m.offer("a1", kg="800", visibility="all")
    cheapest = m.need("b", kg="800", zone=zone)
    farther = m.need("c", kg="800")
    m.offer("a2", kg="800", material=b_material)
    only_zone = m.need("b", kg="800", material=b_material, zone=zone)

    run = m.rematch()  # world["material"] only

    by_need = {x.need_id: x.quantity_kg for x in live()}
    assert by_need == {only_zone.pk: kg(800), cheapest.pk: kg(200), farther.pk: kg(600)}
    assert run.components == 1 and run.matched_kg == kg(1600)
    assert sum(x.quantity_kg for x in live(need__delivery_zone=zone)) <= kg(1000)
    assert admission_violations().total == 0


def test_beyond_the_merge_limit_components_take_turns_and_stay_admissible(
    m: Market, world: World, settings: Any
) -> None:
    """With a merge limit of one material, A and B are solved apart: A (rematched first)
    takes the zone's cheapest room, B gets what is left; nothing exceeds the room."""
    settings.MATCHING_MERGE_MAX_MATERIALS = 1
    b_material = f.MaterialFactory.create()
    zone = zone_of(world, "b", capacity_kg=Decimal("1000"))
    m.offer("a1", kg="800", visibility="all")
    m.need("b", kg="800", zone=zone)
    m.need("c", kg="800")
    m.offer("a2", kg="800", material=b_material)
    only_zone = m.need("b", kg="800", material=b_material, zone=zone)

    run = m.rematch()
    assert run.components == 1  # A alone
    m.rematch(b_material)

    by_need = {x.need_id: x.quantity_kg for x in live()}
    assert by_need[only_zone.pk] == kg(200)
    assert sum(x.quantity_kg for x in live(need__delivery_zone=zone)) == kg(1000)
    assert admission_violations().total == 0
