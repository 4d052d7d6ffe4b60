"""Who sees which listing and which need through the API.

The world (tests/conftest.py): parks A and B share region 3302, park C is elsewhere;
enterprises a1 and a2 are in park A, b in park B, c in park C. Every enterprise has one
listing per (visibility, status), so each test reads one row of the matrix.
"""

from itertools import product
from typing import Any

import pytest

from marketplace.models import ListingStatus, Visibility
from tests import factories as f

LISTINGS = "/api/v1/listings/"
NEEDS = "/api/v1/needs/"
SELLERS = ("a1", "a2", "b", "c")
VISIBILITIES = (Visibility.PARK, Visibility.REGION, Visibility.ALL)
STATUSES = (ListingStatus.DRAFT, ListingStatus.PUBLISHED, ListingStatus.WITHDRAWN)

# Which visibilities of another enterprise's *published* listing reach the viewer.
SEEN_FROM = {
    "a1": {"a2": {"park", "region", "all"}, "b": {"region", "all"}, "c": {"all"}},
    "b": {"a1": {"region", "all"}, "a2": {"region", "all"}, "c": {"all"}},
    "c": {"a1": {"all"}, "a2": {"all"}, "b": {"all"}},
}
VIEWER_USER = {"a1": "viewer", "b": "park_b_admin", "c": "park_c_admin"}

Key = tuple[str, str, str]


@pytest.fixture
def market(world: dict[str, Any]) -> dict[Key, int]:
    """(seller, visibility, status) → listing id, for every combination."""
    ids: dict[Key, int] = {}
    for seller, visibility, status in product(SELLERS, VISIBILITIES, STATUSES):
        lot = f.LotFactory.create(zone=world["zones"][seller], material=world["material"])
        listing = f.ListingFactory.create(lot=lot, visibility=visibility, status=status)
        ids[(seller, str(visibility), str(status))] = listing.pk
    return ids


def listed_ids(client: Any, **params: Any) -> set[int]:
    response = client.get(LISTINGS, {"page_size": 500, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    return {row["id"] for row in body["results"]}


def expected_for(viewer: str, market: dict[Key, int]) -> set[int]:
    seen = SEEN_FROM[viewer]
    return {
        pk
        for (seller, visibility, status), pk in market.items()
        if seller == viewer
        or (status == ListingStatus.PUBLISHED and visibility in seen.get(seller, set()))
    }


@pytest.mark.parametrize("viewer", ["a1", "b", "c"])
def test_list_shows_own_listings_and_visible_published_ones(
    viewer: str, world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    client = api_client(world["users"][VIEWER_USER[viewer]])
    assert listed_ids(client) == expected_for(viewer, market)


def test_own_drafts_and_withdrawn_listings_are_visible_to_self(
    world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    client = api_client(world["users"]["viewer"])
    for visibility, status in product(VISIBILITIES, STATUSES):
        pk = market[("a1", visibility, status)]
        response = client.get(f"{LISTINGS}{pk}/")
        assert response.status_code == 200
        assert response.json()["status"] == status


@pytest.mark.parametrize(
    ("seller", "visibility", "status", "seen"),
    [
        (seller, str(vis), str(status), status == "published" and vis in SEEN_FROM["a1"][seller])
        for seller, vis, status in product(("a2", "b", "c"), VISIBILITIES, STATUSES)
    ],
)
def test_detail_of_another_enterprise_listing_follows_visibility(
    seller: str,
    visibility: str,
    status: str,
    seen: bool,
    world: dict[str, Any],
    market: dict[Key, int],
    api_client: Any,
) -> None:
    client = api_client(world["users"]["trader"])
    response = client.get(f"{LISTINGS}{market[(seller, visibility, status)]}/")
    assert response.status_code == (200 if seen else 404)
    if not seen:
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("status", ["draft", "withdrawn"])
def test_drafts_and_withdrawn_listings_of_others_never_show_even_when_filtered(
    status: str, world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    client = api_client(world["users"]["other_admin"])  # a2, same park as a1
    a1 = world["enterprises"]["a1"]
    rows = listed_ids(client, seller=a1.pk, status=status, visibility="all")
    assert rows == set()
    assert listed_ids(client, seller=a1.pk) == {
        market[("a1", v, "published")] for v in VISIBILITIES
    }


def test_filters_never_widen_visibility(
    world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    client = api_client(world["users"]["viewer"])
    park_c = world["parks"]["c"]
    assert listed_ids(client, park=park_c.pk) == {market[("c", "all", "published")]}
    assert listed_ids(client, search=world["material"].name_en) == expected_for("a1", market)


@pytest.mark.parametrize(
    ("user", "parks"),
    [("regulator", {"a1", "a2"}), ("park_operator", {"a1", "a2"}), ("regulator_c", {"c"})],
)
def test_regulators_and_operators_read_every_listing_of_their_parks(
    user: str, parks: set[str], world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    client = api_client(world["users"][user])
    expected = {pk for (seller, _, _), pk in market.items() if seller in parks}
    assert listed_ids(client) == expected
    outside = next(pk for (seller, _, _), pk in market.items() if seller not in parks)
    assert client.get(f"{LISTINGS}{outside}/").status_code == 404


def test_superuser_reads_every_listing(
    world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    assert listed_ids(api_client(world["users"]["superuser"])) == set(market.values())


def test_anonymous_reads_nothing(
    world: dict[str, Any], market: dict[Key, int], api_client: Any
) -> None:
    response = api_client().get(LISTINGS)
    assert response.status_code == 401
    assert "authorization" in response.json()["error"]["fields"]


# --- Needs are private ------------------------------------------------------------------


@pytest.fixture
def needs(world: dict[str, Any]) -> dict[str, int]:
    return {
        key: f.NeedFactory.create(
            enterprise=world["enterprises"][key], material=world["material"]
        ).pk
        for key in SELLERS
    }


def need_ids(client: Any) -> set[int]:
    response = client.get(NEEDS, {"page_size": 500})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("user", "owners"),
    [
        ("viewer", {"a1"}),
        ("warehouse_keeper", {"a1"}),
        ("other_admin", {"a2"}),
        ("park_b_admin", {"b"}),
        ("regulator", {"a1", "a2"}),
        ("park_operator", {"a1", "a2"}),
        ("regulator_c", {"c"}),
        ("superuser", {"a1", "a2", "b", "c"}),
    ],
)
def test_needs_are_seen_by_their_enterprise_and_their_park_only(
    user: str, owners: set[str], world: dict[str, Any], needs: dict[str, int], api_client: Any
) -> None:
    client = api_client(world["users"][user])
    assert need_ids(client) == {needs[k] for k in owners}
    for key, pk in needs.items():
        assert client.get(f"{NEEDS}{pk}/").status_code == (200 if key in owners else 404)
