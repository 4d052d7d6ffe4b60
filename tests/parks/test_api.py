"""The parks API: the park list and the enterprise directory, by role, with bad input."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.validators import UniqueValidator

from parks.models import Enterprise
from tests import factories as f
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db

PARKS = "/api/v1/parks/"
ENTERPRISES = "/api/v1/enterprises/"
ALL_ROLES = [
    "enterprise_admin",
    "trader",
    "warehouse_keeper",
    "viewer",
    "park_operator",
    "regulator",
    "superuser",
]


def assert_not_found(response: Any) -> None:
    """A 404 in the one error shape: the message at the top, no field named."""
    assert response.status_code == 404, response.content
    error = response.json()["error"]
    assert (error["status"], error["code"], error["fields"]) == (404, "not_found", {}), error
    assert error["message"]


def assert_error(response: Any, status: int, field: str) -> dict[str, Any]:
    """A 4xx in the one error shape, naming ``field``."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["status"] == status
    assert field in error["fields"], error
    return error


def client_of(world: dict[str, Any], api_client: Callable[..., APIClient], role: str) -> APIClient:
    return api_client(world["users"][role])


def new_enterprise(park: Any, /, n: int = 900, **overrides: Any) -> dict[str, Any]:
    body = {
        "uscc": make_uscc(n),
        "name_zh": "新材料公司",
        "name_en": "New Materials Co.",
        "park": park.pk,
        "industry": "fine chemicals",
        "hazchem_licence_no": "ZJ-WH-0001",
        "latitude": "29.950000",
        "longitude": "121.710000",
    }
    body.update(overrides)
    return body


def query_count(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


# --- parks/ ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_every_park(world: dict[str, Any], api_client: Any, role: str) -> None:
    response = client_of(world, api_client, role).get(PARKS)
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {"park-a", "park-b", "park-c"}


def test_park_detail_has_its_region(world: dict[str, Any], api_client: Any) -> None:
    park = world["parks"]["a"]
    body = client_of(world, api_client, "viewer").get(f"{PARKS}{park.pk}/").json()
    assert body["division_code"] == "330211"
    assert body["region_code"] == "3302"
    assert body["name_zh"] == park.name_zh


def test_anonymous_is_refused_in_the_error_shape(world: dict[str, Any], api_client: Any) -> None:
    assert_error(api_client(None).get(PARKS), 401, "authorization")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("region_code=3302", {"park-a", "park-b"}),
        ("division_code=320506", {"park-c"}),
        ("code=park-b", {"park-b"}),
        ("search=park-c", {"park-c"}),
    ],
)
def test_parks_filter_and_search(
    world: dict[str, Any], api_client: Any, query: str, expected: set[str]
) -> None:
    response = client_of(world, api_client, "viewer").get(f"{PARKS}?{query}")
    assert {row["code"] for row in response.json()["results"]} == expected


def test_parks_ordering(world: dict[str, Any], api_client: Any) -> None:
    response = client_of(world, api_client, "viewer").get(f"{PARKS}?ordering=-code")
    assert [row["code"] for row in response.json()["results"]] == ["park-c", "park-b", "park-a"]


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_parks_are_read_only_even_for_superusers(
    world: dict[str, Any], api_client: Any, method: str
) -> None:
    park = world["parks"]["a"]
    url = PARKS if method == "post" else f"{PARKS}{park.pk}/"
    response = getattr(client_of(world, api_client, "superuser"), method)(
        url, {"code": "x"}, format="json"
    )
    assert_error(response, 405, "method")


# --- enterprises/: reads -----------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_the_whole_directory(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    response = client_of(world, api_client, role).get(ENTERPRISES)
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {e.pk for e in world["enterprises"].values()}


def test_directory_entry_fields(world: dict[str, Any], api_client: Any) -> None:
    ent = world["enterprises"]["c"]
    body = client_of(world, api_client, "viewer").get(f"{ENTERPRISES}{ent.pk}/").json()
    assert body == {
        "id": ent.pk,
        "uscc": ent.uscc,
        "name_zh": ent.name_zh,
        "name_en": ent.name_en,
        "park": world["parks"]["c"].pk,
        "park_code": "park-c",
        "industry": "petrochemicals",
        "hazchem_licence_no": "",
        "latitude": "29.960000",
        "longitude": "121.700000",
        "is_active": True,
    }


def test_directory_filters_by_park_and_searches_uscc(
    world: dict[str, Any], api_client: Any
) -> None:
    client = client_of(world, api_client, "viewer")
    park_a = world["parks"]["a"]
    rows = client.get(f"{ENTERPRISES}?park={park_a.pk}").json()["results"]
    assert {r["id"] for r in rows} == {world["enterprises"]["a1"].pk, world["enterprises"]["a2"].pk}
    rows = client.get(f"{ENTERPRISES}?region_code=3205").json()["results"]
    assert [r["id"] for r in rows] == [world["enterprises"]["c"].pk]
    uscc = world["enterprises"]["b"].uscc
    rows = client.get(f"{ENTERPRISES}?search={uscc}").json()["results"]
    assert [r["id"] for r in rows] == [world["enterprises"]["b"].pk]


def test_directory_bad_filter_value_names_the_filter(
    world: dict[str, Any], api_client: Any
) -> None:
    response = client_of(world, api_client, "viewer").get(f"{ENTERPRISES}?park=abc")
    assert_error(response, 400, "park")


@pytest.mark.parametrize("role", ["enterprise_admin", "regulator", "park_operator"])
def test_directory_queries_do_not_grow_with_page_size(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    for _ in range(20):
        f.EnterpriseFactory.create(park=world["parks"]["b"])
    client = client_of(world, api_client, role)
    small = query_count(client, f"{ENTERPRISES}?page_size=2")
    large = query_count(client, f"{ENTERPRISES}?page_size=20")
    assert small == large
    assert large <= 5
    assert query_count(client, f"{PARKS}?page_size=2") <= 5


# --- enterprises/: create ----------------------------------------------------------------


def test_park_operator_registers_an_enterprise_in_its_park(
    world: dict[str, Any], api_client: Any
) -> None:
    park = world["parks"]["a"]
    response = client_of(world, api_client, "park_operator").post(
        ENTERPRISES, new_enterprise(park), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    created = Enterprise.objects.get(pk=body["id"])
    assert created.park == park
    assert created.uscc == make_uscc(900)
    assert created.is_active
    assert body["park_code"] == "park-a"


def test_superuser_registers_an_enterprise_in_any_park(
    world: dict[str, Any], api_client: Any
) -> None:
    park = world["parks"]["c"]
    response = client_of(world, api_client, "superuser").post(
        ENTERPRISES, new_enterprise(park), format="json"
    )
    assert response.status_code == 201, response.content
    assert Enterprise.objects.get(pk=response.json()["id"]).park == park


@pytest.mark.parametrize(
    "role", ["enterprise_admin", "trader", "warehouse_keeper", "viewer", "regulator"]
)
def test_only_operators_register_enterprises(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    before = Enterprise.objects.count()
    response = client_of(world, api_client, role).post(
        ENTERPRISES, new_enterprise(world["parks"]["a"]), format="json"
    )
    assert_error(response, 403, "detail")
    assert Enterprise.objects.count() == before


def _bad_enterprise_inputs(world: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    park_a, park_b = world["parks"]["a"], world["parks"]["b"]
    good = make_uscc(901)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    return [
        (new_enterprise(park_a, uscc=wrong_check), "uscc"),
        (new_enterprise(park_a, uscc="91330200MA0000001I"), "uscc"),  # I is not in the alphabet
        (new_enterprise(park_a, uscc=good + "0"), "uscc"),  # 19 characters
        (new_enterprise(park_a, uscc=world["enterprises"]["a1"].uscc), "uscc"),  # taken
        (new_enterprise(park_b), "park"),  # a park it does not operate
        (new_enterprise(park_a, park=10**12), "park"),  # no such park
        (new_enterprise(park_a, park="abc"), "park"),
        (new_enterprise(park_a, name_zh="化" * 201), "name_zh"),
        (new_enterprise(park_a, name_zh=""), "name_zh"),
        (new_enterprise(park_a, latitude="91"), "latitude"),
        (new_enterprise(park_a, longitude="-180.5"), "longitude"),
        (new_enterprise(park_a, latitude=1e20), "latitude"),
        (new_enterprise(park_a, hazchem_licence_no="x" * 65), "hazchem_licence_no"),
        (new_enterprise(park_a, is_active=False), "is_active"),  # not the caller's to set
        (new_enterprise(park_a, owner=1), "owner"),  # not a field at all
    ]


def test_bad_enterprise_input_is_refused_naming_the_field(
    world: dict[str, Any], api_client: Any
) -> None:
    client = client_of(world, api_client, "park_operator")
    before = Enterprise.objects.count()
    for body, field in _bad_enterprise_inputs(world):
        assert_error(client.post(ENTERPRISES, body, format="json"), 400, field)
    assert Enterprise.objects.count() == before


def test_malformed_json_is_a_400_on_the_body(world: dict[str, Any], api_client: Any) -> None:
    before = Enterprise.objects.count()
    response = client_of(world, api_client, "park_operator").post(
        ENTERPRISES, data='{"uscc": "9133', content_type="application/json"
    )
    assert_error(response, 400, "body")
    assert Enterprise.objects.count() == before


# --- enterprises/: update ----------------------------------------------------------------


def test_enterprise_admin_edits_its_own_enterprise(world: dict[str, Any], api_client: Any) -> None:
    ent = world["enterprises"]["a1"]
    response = client_of(world, api_client, "enterprise_admin").patch(
        f"{ENTERPRISES}{ent.pk}/",
        {"name_en": "Renamed Co.", "hazchem_licence_no": "ZJ-2026-7", "latitude": "30.000001"},
        format="json",
    )
    assert response.status_code == 200, response.content
    ent.refresh_from_db()
    assert (ent.name_en, ent.hazchem_licence_no, str(ent.latitude)) == (
        "Renamed Co.",
        "ZJ-2026-7",
        "30.000001",
    )
    assert response.json()["name_en"] == "Renamed Co."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"uscc": make_uscc(902)}, "uscc"),
        ({"park": "park-b"}, "park"),
        ({"is_active": False}, "is_active"),
        ({"name_en": "x" * 201}, "name_en"),
        ({"longitude": "181"}, "longitude"),
    ],
)
def test_enterprise_admin_may_not_change_identity_or_send_bad_values(
    world: dict[str, Any], api_client: Any, body: dict[str, Any], field: str
) -> None:
    ent = world["enterprises"]["a1"]
    before = Enterprise.objects.filter(pk=ent.pk).values().get()
    response = client_of(world, api_client, "enterprise_admin").patch(
        f"{ENTERPRISES}{ent.pk}/", body, format="json"
    )
    assert_error(response, 400, field)
    assert Enterprise.objects.filter(pk=ent.pk).values().get() == before


def test_editing_another_enterprise_answers_404(world: dict[str, Any], api_client: Any) -> None:
    other = world["enterprises"]["a2"]
    response = client_of(world, api_client, "enterprise_admin").patch(
        f"{ENTERPRISES}{other.pk}/", {"name_en": "Hijacked"}, format="json"
    )
    assert_not_found(response)
    other.refresh_from_db()
    assert other.name_en != "Hijacked"


@pytest.mark.parametrize(
    "role", ["trader", "warehouse_keeper", "viewer", "regulator", "park_operator"]
)
def test_only_enterprise_admins_edit_their_enterprise(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    ent = world["enterprises"]["a1"]
    response = client_of(world, api_client, role).patch(
        f"{ENTERPRISES}{ent.pk}/", {"name_en": "Changed"}, format="json"
    )
    assert_error(response, 403, "detail")
    ent.refresh_from_db()
    assert ent.name_en != "Changed"


def test_superuser_changes_anything_of_any_enterprise(
    world: dict[str, Any], api_client: Any
) -> None:
    ent = world["enterprises"]["c"]
    uscc = make_uscc(903)
    response = client_of(world, api_client, "superuser").patch(
        f"{ENTERPRISES}{ent.pk}/",
        {"uscc": uscc, "park": world["parks"]["b"].pk, "is_active": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    ent.refresh_from_db()
    assert (ent.uscc, ent.park, ent.is_active) == (uscc, world["parks"]["b"], False)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_enterprises_are_neither_replaced_nor_deleted(
    world: dict[str, Any], api_client: Any, method: str
) -> None:
    ent = world["enterprises"]["a1"]
    response = getattr(client_of(world, api_client, "superuser"), method)(
        f"{ENTERPRISES}{ent.pk}/", new_enterprise(ent.park), format="json"
    )
    assert_error(response, 405, "method")
    assert Enterprise.objects.filter(pk=ent.pk).exists()


def test_a_uscc_registered_meanwhile_is_a_400_on_uscc(
    world: dict[str, Any], api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The serializer's uniqueness check runs before the insert; a USCC registered by a
    concurrent request in between is refused by enterprise_create, naming the field."""
    monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, field: None)
    before = Enterprise.objects.count()
    body = new_enterprise(world["parks"]["a"], uscc=world["enterprises"]["a2"].uscc)
    response = client_of(world, api_client, "park_operator").post(ENTERPRISES, body, format="json")
    error = assert_error(response, 400, "uscc")
    assert error["code"] == "domain_error"
    assert Enterprise.objects.count() == before
