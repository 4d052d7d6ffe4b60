"""What the orders app may do to a match (matching.services.decisions): mark an agreed match
ordered, release an ordered one whose order ended without delivery; and where the new
status ``released`` shows (choices, filters) and where it must not (live, committed)."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from access.scope import SYSTEM
from common.exceptions import Conflict
from common.models import OutboxEvent
from matching.models import COMMITTED, LIVE, Match, MatchStatus
from matching.services.decisions import match_mark_ordered, match_release
from tests import factories as f

World = dict[str, Any]
MATCHES = "/api/v1/matches/"


def released_events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic="match.released").order_by("id"))


def status_of(match: Match) -> str:
    match.refresh_from_db()
    return match.status


def test_released_is_neither_live_nor_committed() -> None:
    assert MatchStatus.RELEASED == "released"
    assert MatchStatus.RELEASED not in LIVE
    assert MatchStatus.RELEASED not in COMMITTED
    assert "released" in dict(MatchStatus.choices)


# --- match_mark_ordered ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_agreed_match_is_marked_ordered() -> None:
    match = f.MatchFactory.create(status="agreed")
    marked = match_mark_ordered(actor=SYSTEM, match_id=match.pk)
    assert marked.status == MatchStatus.ORDERED
    assert (marked.listing, marked.need) == (match.listing, match.need)
    assert status_of(match) == MatchStatus.ORDERED
    assert not OutboxEvent.objects.filter(topic__startswith="match.").exists()


@pytest.mark.django_db
def test_marking_an_ordered_match_again_is_a_conflict() -> None:
    match = f.MatchFactory.create(status="agreed")
    match_mark_ordered(actor=SYSTEM, match_id=match.pk)
    with pytest.raises(Conflict) as refused:
        match_mark_ordered(actor=SYSTEM, match_id=match.pk)
    assert (refused.value.status_code, refused.value.field) == (409, "match")
    assert "already" in refused.value.message


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["proposed", "accepted", "declined", "superseded", "released"])
def test_only_an_agreed_match_is_marked_ordered(status: str) -> None:
    match = f.MatchFactory.create(status=status)
    with pytest.raises(Conflict) as refused:
        match_mark_ordered(actor=SYSTEM, match_id=match.pk)
    assert (refused.value.status_code, refused.value.field) == (409, "match")
    assert "only an agreed match" in refused.value.message
    assert status_of(match) == status


# --- match_release ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_ordered_match_is_released_and_the_engine_told() -> None:
    match = f.MatchFactory.create(status="ordered")
    assert match_release(actor=SYSTEM, match_id=match.pk, reason="cancelled") is None
    assert status_of(match) == MatchStatus.RELEASED
    (event,) = released_events()
    assert event.payload == {
        "match_id": match.pk,
        "material_ids": [match.material_id],
        "reason": "cancelled",
    }


@pytest.mark.django_db
def test_a_second_release_is_harmless() -> None:
    match = f.MatchFactory.create(status="ordered")
    match_release(actor=SYSTEM, match_id=match.pk, reason="rejected")
    match_release(actor=SYSTEM, match_id=match.pk, reason="expired")
    assert status_of(match) == MatchStatus.RELEASED
    assert [e.payload["reason"] for e in released_events()] == ["rejected"]


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["proposed", "accepted", "agreed", "declined", "superseded"])
def test_a_match_not_ordered_is_not_released(status: str) -> None:
    match = f.MatchFactory.create(status=status)
    match_release(actor=SYSTEM, match_id=match.pk, reason="cancelled")
    assert status_of(match) == status
    assert released_events() == []


@pytest.mark.django_db
def test_a_released_pair_may_be_proposed_again_naming_the_released_match() -> None:
    released = f.MatchFactory.create(status="released")
    again = f.MatchFactory.create(
        listing=released.listing, need=released.need, status="proposed", previous=released
    )
    assert list(released.reproposals.all()) == [again]
    # A released match is not live: a second live match of the pair is still refused by the
    # partial unique index, the released one does not count.
    assert (
        Match.objects.filter(listing=released.listing, need=released.need, status__in=LIVE).count()
        == 1
    )
    # Deleting the released match (never done, but the key says so) leaves the new one.
    Match.objects.filter(pk=released.pk).delete()
    again.refresh_from_db()
    assert again.previous_id is None


# --- the API and the admin --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_and_filters_released_matches(world: World, api_client: Any) -> None:
    ents = world["enterprises"]
    listing = f.ListingFactory.create(seller=ents["a1"], status="published")
    need = f.NeedFactory.create(enterprise=ents["b"], material=listing.material)
    released = f.MatchFactory.create(listing=listing, need=need, status="released")
    proposed = f.MatchFactory.create(listing=listing, need=need, previous=released)
    client = api_client(world["users"]["trader"])

    rows = client.get(MATCHES, {"status": "released"}).json()["results"]
    assert [(r["id"], r["status"]) for r in rows] == [(released.pk, "released")]
    assert client.get(f"{MATCHES}{proposed.pk}/").json()["previous"] == released.pk
    rows = client.get(MATCHES, {"status": ["proposed", "accepted", "agreed"]}).json()["results"]
    assert [r["id"] for r in rows] == [proposed.pk]
    assert client.get(MATCHES, {"status": "freed"}).status_code == 400


@pytest.mark.django_db
def test_the_admin_filters_by_released(world: World, client: Any) -> None:
    released = f.MatchFactory.create(status="released")
    client.force_login(world["users"]["superuser"])
    page = client.get("/admin/matching/match/", {"status__exact": "released"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert list(page.context["cl"].result_list) == [released]


# --- the index of an enterprise's match list ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
@pytest.mark.parametrize("side", ["seller", "buyer"])
def test_a_sides_newest_matches_are_read_in_index_order(side: str) -> None:
    match = f.MatchFactory.create(quantity_kg=Decimal(5))
    enterprise_id = getattr(match, f"{side}_id")
    query = Match.objects.filter(**{f"{side}_id": enterprise_id}).order_by("-id")[:20]
    sql, params = query.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"match_{side}_recent" in plan, plan
    assert "Sort" not in plan, plan
