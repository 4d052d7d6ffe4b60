"""The admin of matches and runs: rows per role, read-only pages, decisions through the
services with refusals reported per row, constant queries, Chinese and English."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from common.models import OutboxEvent
from matching.models import Match, MatchStatus
from tests import factories as f
from tests.test_admin import client_for, count_queries

pytestmark = pytest.mark.django_db

World = dict[str, Any]
CHANGELIST = reverse("admin:matching_match_changelist")
RUNS = reverse("admin:matching_matchrun_changelist")


@pytest.fixture
def world(world: World) -> World:
    for user in world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return world


@pytest.fixture
def matches(world: World, receive: Any) -> dict[str, Match]:
    """a1 sells to b (twice, on a stocked lot), b sells to a1, c sells to b."""
    ents, zones, material = world["enterprises"], world["zones"], world["material"]

    def match(seller: str, buyer: str, quantity: str = "50") -> Match:
        lot = receive(zone=zones[seller], material=material, quantity="1000")
        listing = f.ListingFactory.create(lot=lot, quantity_kg=Decimal(500), status="published")
        need = f.NeedFactory.create(enterprise=ents[buyer], material=material)
        return f.MatchFactory.create(listing=listing, need=need, quantity_kg=Decimal(quantity))

    return {
        "a1_b": match("a1", "b", "300"),
        "a1_b_big": match("a1", "b", "600"),  # more than its listing offers
        "b_a1": match("b", "a1"),
        "c_b": match("c", "b"),
    }


def changelist_pks(client: Client, url: str = CHANGELIST) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def action_names(client: Client, url: str = CHANGELIST) -> set[str]:
    form = client.get(url).context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices if name}


@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("trader", ("a1_b", "a1_b_big", "b_a1")),
        ("viewer", ("a1_b", "a1_b_big", "b_a1")),
        ("park_b_admin", ("a1_b", "a1_b_big", "b_a1", "c_b")),
        ("other_admin", ()),
        ("park_operator", ("a1_b", "a1_b_big", "b_a1")),
        ("regulator", ("a1_b", "a1_b_big", "b_a1")),
        ("regulator_c", ("c_b",)),
        ("superuser", ("a1_b", "a1_b_big", "b_a1", "c_b")),
    ],
)
def test_changelist_shows_the_matches_in_scope(
    who: str, names: tuple[str, ...], world: World, matches: dict[str, Match]
) -> None:
    client = client_for(world["users"][who])
    assert changelist_pks(client) == {matches[n].pk for n in names}


def test_another_enterprises_match_does_not_exist(world: World, matches: dict[str, Match]) -> None:
    client = client_for(world["users"]["trader"])
    response = client.get(reverse("admin:matching_match_change", args=[matches["c_b"].pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_the_detail_page_is_read_only_and_explains(world: World, matches: dict[str, Match]) -> None:
    client = client_for(world["users"]["trader"])
    match = matches["a1_b"]
    url = reverse("admin:matching_match_change", args=[match.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    page = response.content.decode()
    assert match.explanation in page.replace("&#x27;", "'")
    assert match.explanation_zh in page
    assert client.post(url, {"status": "agreed"}).status_code == 403
    assert client.get(reverse("admin:matching_match_add")).status_code == 403
    assert client.get(reverse("admin:matching_match_delete", args=[match.pk])).status_code == 403
    match.refresh_from_db()
    assert match.status == MatchStatus.PROPOSED


@pytest.mark.parametrize(
    ("who", "actions"),
    [
        ("enterprise_admin", {"accept", "decline"}),
        ("trader", {"accept", "decline"}),
        ("warehouse_keeper", set()),
        ("viewer", set()),
        ("park_operator", set()),
        ("regulator", set()),
        ("superuser", set()),  # not a party to any match
    ],
)
def test_who_is_offered_the_decisions(
    who: str, actions: set[str], world: World, matches: dict[str, Match]
) -> None:
    assert action_names(client_for(world["users"][who])) == actions


def test_accept_and_decline_go_through_the_services(
    world: World, matches: dict[str, Match]
) -> None:
    seller = client_for(world["users"]["trader"])
    selected = [matches["a1_b"].pk, matches["a1_b_big"].pk, matches["b_a1"].pk]
    response = seller.post(
        CHANGELIST, {"action": "accept", "_selected_action": selected}, follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("2 match(es) accepted" in m for m in messages), messages
    assert any(f"#{matches['a1_b_big'].pk}" in m and "600.000 kg" in m for m in messages)
    statuses = dict(Match.objects.filter(pk__in=selected).values_list("pk", "status"))
    assert statuses == {
        matches["a1_b"].pk: "accepted",
        matches["a1_b_big"].pk: "proposed",
        matches["b_a1"].pk: "accepted",  # a1 accepted as the buyer
    }
    # Accepting again is refused per row, with the reason.
    response = seller.post(
        CHANGELIST, {"action": "accept", "_selected_action": [matches["a1_b"].pk]}, follow=True
    )
    assert any("already accepted" in str(m) for m in response.context["messages"])
    buyer = client_for(world["users"]["park_b_admin"])
    buyer.post(CHANGELIST, {"action": "accept", "_selected_action": [matches["a1_b"].pk]})
    buyer.post(CHANGELIST, {"action": "decline", "_selected_action": [matches["b_a1"].pk]})
    assert Match.objects.get(pk=matches["a1_b"].pk).status == MatchStatus.AGREED
    declined = Match.objects.get(pk=matches["b_a1"].pk)
    assert (declined.status, declined.decided_by) == ("declined", world["users"]["park_b_admin"])
    topics = list(OutboxEvent.objects.filter(topic__startswith="match.").values_list("topic"))
    assert sorted(t for (t,) in topics) == [
        "match.accepted",
        "match.accepted",
        "match.agreed",
        "match.declined",
    ]


@pytest.mark.parametrize("who", ["viewer", "regulator", "park_operator"])
def test_read_only_users_cannot_decide(who: str, world: World, matches: dict[str, Match]) -> None:
    client = client_for(world["users"][who])
    pk = matches["a1_b"].pk
    for action in ("accept", "decline"):
        client.post(CHANGELIST, {"action": action, "_selected_action": [pk]})
    assert Match.objects.get(pk=pk).status == MatchStatus.PROPOSED
    assert not OutboxEvent.objects.filter(topic__startswith="match.").exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("superuser", 200),
        ("park_operator", 200),
        ("regulator", 403),
        ("enterprise_admin", 403),
        ("trader", 403),
    ],
)
def test_runs_are_for_superusers_and_park_operators(who: str, status: int, world: World) -> None:
    run = f.MatchRunFactory.create(relaxed_matched_kg=Decimal(80), matched_kg=Decimal(60))
    client = client_for(world["users"][who])
    assert client.get(RUNS).status_code == status
    detail = client.get(reverse("admin:matching_matchrun_change", args=[run.pk]))
    if status == 200:
        assert detail.status_code == 200
        assert detail.context["has_change_permission"] is False
        assert "25.00%" in detail.content.decode()
        assert client.get(reverse("admin:matching_matchrun_add")).status_code == 403
        assert client.post(detail.request["PATH_INFO"], {"error": "x"}).status_code == 403
    else:
        assert detail.status_code in (302, 403)


@pytest.mark.parametrize("who", ["trader", "park_operator", "superuser"])
def test_changelist_queries_do_not_grow_with_rows(
    who: str, world: World, matches: dict[str, Match]
) -> None:
    client = client_for(world["users"][who])
    urls = [CHANGELIST, RUNS] if who != "trader" else [CHANGELIST]

    def add_rows(n: int) -> None:
        for _ in range(n):
            f.MatchFactory.create(
                listing__lot__zone=world["zones"]["a1"],
                need__enterprise=world["enterprises"]["b"],
                run=f.MatchRunFactory.create(),
            )

    client.get(urls[0])  # warm up the session and content types
    few = [count_queries(client, url) for url in urls]
    add_rows(5)
    many = [count_queries(client, url) for url in urls]
    assert few == many


def test_admin_speaks_chinese_and_english(world: World, matches: dict[str, Match]) -> None:
    zh = client_for(world["users"]["trader"], accept_language="zh-hans")
    page = zh.get(CHANGELIST).content.decode()
    assert "撮合" in page
    assert "接受所选撮合方案" in page
    en = client_for(world["users"]["trader"], accept_language="en")
    page = en.get(CHANGELIST).content.decode()
    assert "Accept selected matches" in page
    assert "撮合" not in page.replace(matches["a1_b"].explanation_zh, "")


def test_messages_of_refusals_name_the_row(world: World, matches: dict[str, Match]) -> None:
    client = client_for(world["users"]["trader"])
    Match.objects.filter(pk=matches["a1_b"].pk).update(status="superseded")
    response = client.post(
        CHANGELIST, {"action": "decline", "_selected_action": [matches["a1_b"].pk]}
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert texts == [f"Match #{matches['a1_b'].pk} (superseded): " + texts[0].split(": ", 1)[1]]
    assert "superseded" in texts[0].split(": ", 1)[1]


# --- The decisions on a match's page -------------------------------------------------------


def decide_url(match: Match, decision: str) -> str:
    return reverse("admin:matching_match_decide", args=[match.pk, decision])


def decision_buttons(client: Client, match: Match) -> list[str]:
    response = client.get(reverse("admin:matching_match_change", args=[match.pk]))
    assert response.status_code == 200
    steps = [s["step"] for s in response.context["steps_open"]]
    page = response.content.decode()
    for decision in ("accept", "decline"):
        assert (f'href="{decide_url(match, decision)}"' in page) == (decision in steps)
    return steps


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("trader", ["accept", "decline"]),
        ("enterprise_admin", ["accept", "decline"]),
        ("warehouse_keeper", []),
        ("viewer", []),
        ("park_operator", []),
        ("regulator", []),
        ("superuser", []),
    ],
)
def test_each_role_sees_exactly_its_decisions(
    who: str, expected: list[str], world: World, matches: dict[str, Match]
) -> None:
    assert decision_buttons(client_for(world["users"][who]), matches["a1_b"]) == expected


def test_after_accepting_only_declining_is_left(world: World, matches: dict[str, Match]) -> None:
    match = matches["a1_b"]
    trader = client_for(world["users"]["trader"])
    page = trader.get(decide_url(match, "accept"))
    assert page.status_code == 200 and page.context["refusal"] is None
    assert Match.objects.get(pk=match.pk).status == MatchStatus.PROPOSED  # GET changes nothing
    response = trader.post(decide_url(match, "accept"), follow=True)
    assert any("accepted" in str(m) for m in response.context["messages"])
    assert Match.objects.get(pk=match.pk).status == MatchStatus.ACCEPTED
    assert decision_buttons(trader, match) == ["decline"]
    # The buyer's side still has both.
    assert decision_buttons(client_for(world["users"]["park_b_admin"]), match) == [
        "accept",
        "decline",
    ]
    # Accepting again is refused with the reason, on the page and on POST.
    assert "already accepted" in trader.get(decide_url(match, "accept")).context["refusal"]
    response = trader.post(decide_url(match, "accept"), follow=True)
    assert any("already accepted" in str(m) for m in response.context["messages"])


def test_declining_from_the_page_records_the_reason(
    world: World, matches: dict[str, Match]
) -> None:
    match = matches["a1_b"]
    client_for(world["users"]["trader"]).post(decide_url(match, "decline"), {"reason": "price"})
    match.refresh_from_db()
    assert (match.status, match.decline_reason) == (MatchStatus.DECLINED, "price")


def test_a_forbidden_decision_is_refused(world: World, matches: dict[str, Match]) -> None:
    match = matches["a1_b"]
    keeper = client_for(world["users"]["warehouse_keeper"])
    assert "role" in keeper.get(decide_url(match, "accept")).context["refusal"]
    keeper.post(decide_url(match, "accept"))
    outsider = client_for(
        world["users"]["other_admin"]
    )  # a2: not a party, the match does not exist
    response = outsider.get(decide_url(match, "accept"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    outsider.post(decide_url(match, "decline"))
    assert Match.objects.get(pk=match.pk).status == MatchStatus.PROPOSED
