"""The inventory API: materials, warehouses, zones, lots (receipt, adjust, move) and the
ledger, by role and tenant, with bad input, unit conversion and constant query counts."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.validators import UniqueValidator

from access.scope import SYSTEM
from common.models import OutboxEvent
from inventory.models import (
    Material,
    MovementKind,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)
from inventory.services import stock_reserve
from tests import factories as f
from tests.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db

API = "/api/v1"
MATERIALS, WAREHOUSES, ZONES = f"{API}/materials/", f"{API}/warehouses/", f"{API}/zones/"
LOTS, MOVEMENTS = f"{API}/lots/", f"{API}/movements/"
ALL_ROLES = [
    "enterprise_admin",
    "trader",
    "warehouse_keeper",
    "viewer",
    "park_operator",
    "regulator",
    "superuser",
]
STOCK_WRITERS = ["enterprise_admin", "warehouse_keeper"]
NOT_STOCK_WRITERS = ["trader", "viewer", "regulator", "park_operator"]


def assert_not_found(response: Any) -> None:
    """A 404 in the one error shape: the message at the top, no field named."""
    assert response.status_code == 404, response.content
    error = response.json()["error"]
    assert (error["status"], error["code"], error["fields"]) == (404, "not_found", {}), error
    assert error["message"]


def assert_error(response: Any, status: int, field: str) -> dict[str, Any]:
    """A 4xx in the one error shape, naming ``field`` (or an item of it: ``field.1``)."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["status"] == status
    named = {key.split(".")[0] for key in error["fields"]}
    assert field in named, error
    return error


def client_of(world: dict[str, Any], api_client: Callable[..., APIClient], role: str) -> APIClient:
    return api_client(world["users"][role])


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def counts() -> dict[str, int]:
    return {
        "lots": StockLot.objects.count(),
        "movements": StockMovement.objects.count(),
        "events": OutboxEvent.objects.count(),
        "zones": StorageZone.objects.count(),
        "warehouses": Warehouse.objects.count(),
        "materials": Material.objects.count(),
    }


def queries_at_page_sizes(client: APIClient, url: str) -> tuple[int, int, int]:
    """(queries at page_size=2, at page_size=20, rows on the big page)."""
    sep = "&" if "?" in url else "?"
    out = []
    rows = 0
    for size in (2, 20):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{url}{sep}page_size={size}")
        assert response.status_code == 200, response.content
        rows = len(response.json()["results"])
        out.append(len(ctx.captured_queries))
    return out[0], out[1], rows


# --- materials/ --------------------------------------------------------------------------


def material_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name_zh": "液氯",
        "name_en": "Chlorine",
        "cas": "7782-50-5",
        "un_number": "UN1017",
        "primary_class": "2.3",
        "subsidiary_classes": ["5.1", "8"],
        "physical_state": "gas",
        "family": "chlorine",
        "gb18218_threshold_t": "5",
        "default_unit": "t",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_the_catalogue(world: dict[str, Any], api_client: Any, role: str) -> None:
    material = world["material"]
    response = client_of(world, api_client, role).get(f"{MATERIALS}{material.pk}/")
    assert response.status_code == 200
    assert response.json()["cas"] == material.cas


def test_superuser_adds_a_material(world: dict[str, Any], api_client: Any) -> None:
    response = client_of(world, api_client, "superuser").post(
        MATERIALS, material_body(), format="json"
    )
    assert response.status_code == 201, response.content
    chlorine = Material.objects.get(pk=response.json()["id"])
    assert chlorine.classes == ("2.3", "5.1", "8")
    assert chlorine.gb18218_threshold_t == Decimal(5)


def test_a_material_without_cas_is_stored_as_null(world: dict[str, Any], api_client: Any) -> None:
    client = client_of(world, api_client, "superuser")
    for name in ("Mixture A", "Mixture B"):  # two without CAS: the unique column holds NULLs
        body = material_body(name_en=name, cas="", un_number="", primary_class="")
        body.update(subsidiary_classes=[], family="", gb18218_threshold_t=None)
        response = client.post(MATERIALS, body, format="json")
        assert response.status_code == 201, response.content
        assert Material.objects.get(pk=response.json()["id"]).cas is None


@pytest.mark.parametrize(
    "role",
    ["enterprise_admin", "trader", "warehouse_keeper", "viewer", "park_operator", "regulator"],
)
def test_only_superusers_change_the_catalogue(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    client = client_of(world, api_client, role)
    before = counts()
    assert_error(client.post(MATERIALS, material_body(), format="json"), 403, "detail")
    material = world["material"]
    response = client.patch(f"{MATERIALS}{material.pk}/", {"name_en": "Renamed"}, format="json")
    assert_error(response, 403, "detail")
    material.refresh_from_db()
    assert material.name_en != "Renamed"
    assert counts() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cas": "7782-50-4"}, "cas"),  # wrong check digit
        ({"cas": "7782505"}, "cas"),
        ({"cas": "12345678-50-5"}, "cas"),
        ({"cas": "x" * 13}, "cas"),
        ({"un_number": "1017"}, "un_number"),
        ({"un_number": "UN10170"}, "un_number"),
        ({"primary_class": "10"}, "primary_class"),
        ({"subsidiary_classes": ["8", "11.1"]}, "subsidiary_classes"),
        ({"subsidiary_classes": "8"}, "subsidiary_classes"),
        ({"subsidiary_classes": ["8", "8"]}, "subsidiary_classes"),
        ({"subsidiary_classes": ["2.3"]}, "subsidiary_classes"),  # repeats the primary
        ({"primary_class": "", "subsidiary_classes": ["8"]}, "subsidiary_classes"),
        ({"physical_state": "plasma"}, "physical_state"),
        ({"gb18218_threshold_t": "0"}, "gb18218_threshold_t"),
        ({"gb18218_threshold_t": "-5"}, "gb18218_threshold_t"),
        ({"gb18218_threshold_t": 1e20}, "gb18218_threshold_t"),
        ({"density_kg_per_l": "31"}, "density_kg_per_l"),
        ({"default_unit": "L"}, "default_unit"),  # a volume unit without a density
        ({"default_unit": "lb"}, "default_unit"),
        ({"name_en": "x" * 201}, "name_en"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_material_input_names_the_field(
    world: dict[str, Any], api_client: Any, overrides: dict[str, Any], field: str
) -> None:
    before = counts()
    response = client_of(world, api_client, "superuser").post(
        MATERIALS, material_body(**overrides), format="json"
    )
    assert_error(response, 400, field)
    assert counts() == before


def test_duplicate_cas_is_refused(world: dict[str, Any], api_client: Any) -> None:
    body = material_body(cas=world["material"].cas)
    response = client_of(world, api_client, "superuser").post(MATERIALS, body, format="json")
    assert_error(response, 400, "cas")


def test_superuser_updates_a_material(world: dict[str, Any], api_client: Any) -> None:
    material = world["material"]
    response = client_of(world, api_client, "superuser").patch(
        f"{MATERIALS}{material.pk}/", {"primary_class": "3", "un_number": "UN1230"}, format="json"
    )
    assert response.status_code == 200, response.content
    material.refresh_from_db()
    assert (material.primary_class, material.un_number) == ("3", "UN1230")
    # Subsidiary classes need a primary one, also when the primary is already stored.
    response = client_of(world, api_client, "superuser").patch(
        f"{MATERIALS}{material.pk}/", {"primary_class": ""}, format="json"
    )
    assert response.status_code == 200
    response = client_of(world, api_client, "superuser").patch(
        f"{MATERIALS}{material.pk}/", {"subsidiary_classes": ["6.1"]}, format="json"
    )
    assert_error(response, 400, "subsidiary_classes")


def test_materials_are_not_deleted(world: dict[str, Any], api_client: Any) -> None:
    material = world["material"]
    response = client_of(world, api_client, "superuser").delete(f"{MATERIALS}{material.pk}/")
    assert_error(response, 405, "method")
    assert Material.objects.filter(pk=material.pk).exists()


@pytest.fixture
def catalogue(world: dict[str, Any]) -> dict[str, Material]:
    return {
        "plain": world["material"],
        "chlorine": f.MaterialFactory.create(
            cas="7782-50-5",
            un_number="UN1017",
            primary_class="2.3",
            subsidiary_classes=["5.1", "8"],
            physical_state="gas",
            gb18218_threshold_t=Decimal(5),
        ),
        "methanol": f.MaterialFactory.create(
            cas="67-56-1",
            un_number="UN1230",
            primary_class="3",
            subsidiary_classes=["6.1"],
            gb18218_threshold_t=Decimal(500),
        ),
        "caustic": f.MaterialFactory.create(
            cas="1310-73-2", un_number="UN1823", primary_class="8", physical_state="solid"
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cas=67-56-1", {"methanol"}),
        ("un_number=UN1017", {"chlorine"}),
        ("primary_class=8", {"caustic"}),
        ("hazard_class=8", {"chlorine", "caustic"}),  # primary or subsidiary
        ("hazard_class=6.1", {"methanol"}),
        ("hazard_class=5.1", {"chlorine"}),
        ("physical_state=solid", {"caustic"}),
        ("has_gb18218_threshold=true", {"chlorine", "methanol"}),
        ("has_gb18218_threshold=false", {"plain", "caustic"}),
        ("search=UN1823", {"caustic"}),
        ("search=7782-50", {"chlorine"}),
    ],
)
def test_material_filters(
    world: dict[str, Any],
    api_client: Any,
    catalogue: dict[str, Material],
    query: str,
    expected: set[str],
) -> None:
    response = client_of(world, api_client, "viewer").get(f"{MATERIALS}?{query}")
    assert ids(response) == {catalogue[name].pk for name in expected}


def test_material_filter_with_an_unknown_class_names_it(
    world: dict[str, Any], api_client: Any
) -> None:
    response = client_of(world, api_client, "viewer").get(f"{MATERIALS}?hazard_class=11")
    assert_error(response, 400, "hazard_class")


# --- warehouses/ -------------------------------------------------------------------------


def warehouse_ids(world: dict[str, Any], *zones: str) -> set[int]:
    return {world["zones"][z].warehouse_id for z in zones}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("enterprise_admin", ("a1", "shared")),
        ("viewer", ("a1", "shared")),
        ("other_admin", ("a2", "shared")),
        ("park_b_admin", ("b",)),
        ("park_operator", ("a1", "a2", "shared")),
        ("regulator", ("a1", "a2", "shared")),
        ("regulator_c", ("c",)),
        ("superuser", ("a1", "a2", "b", "c", "shared")),
    ],
)
def test_warehouses_visible_by_role(
    world: dict[str, Any], api_client: Any, role: str, visible: tuple[str, ...]
) -> None:
    response = client_of(world, api_client, role).get(WAREHOUSES)
    assert ids(response) == warehouse_ids(world, *visible)


def test_warehouse_lists_its_zones(world: dict[str, Any], api_client: Any) -> None:
    zone = world["zones"]["a1"]
    f.StorageZoneFactory.create(warehouse=zone.warehouse, code="B2")
    body = client_of(world, api_client, "viewer").get(f"{WAREHOUSES}{zone.warehouse_id}/").json()
    assert {z["code"] for z in body["zones"]} == {zone.code, "B2"}
    assert body["owner"] == world["enterprises"]["a1"].pk
    assert body["is_shared"] is False
    assert body["park_code"] == "park-a"


def test_another_enterprises_warehouse_answers_404(world: dict[str, Any], api_client: Any) -> None:
    other = world["zones"]["a2"].warehouse_id
    response = client_of(world, api_client, "enterprise_admin").get(f"{WAREHOUSES}{other}/")
    assert_not_found(response)


def warehouse_body(**overrides: Any) -> dict[str, Any]:
    body = {"code": "wh-new", "name": "Tank farm 3", "latitude": "29.95", "longitude": "121.71"}
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", STOCK_WRITERS)
def test_enterprise_builds_its_own_warehouse(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    response = client_of(world, api_client, role).post(
        WAREHOUSES, warehouse_body(address="No. 1 Road"), format="json"
    )
    assert response.status_code == 201, response.content
    warehouse = Warehouse.objects.get(pk=response.json()["id"])
    assert warehouse.owner == world["enterprises"]["a1"]
    assert warehouse.park == world["parks"]["a"]
    assert response.json()["zones"] == []


def test_park_operator_builds_a_shared_warehouse(world: dict[str, Any], api_client: Any) -> None:
    body = warehouse_body(park=world["parks"]["a"].pk)
    response = client_of(world, api_client, "park_operator").post(WAREHOUSES, body, format="json")
    assert response.status_code == 201, response.content
    warehouse = Warehouse.objects.get(pk=response.json()["id"])
    assert warehouse.owner is None
    assert warehouse.park == world["parks"]["a"]
    assert response.json()["is_shared"] is True


@pytest.mark.parametrize("role", ["trader", "viewer", "regulator"])
def test_warehouse_writes_refused_by_role(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    before = counts()
    client = client_of(world, api_client, role)
    body = warehouse_body(park=world["parks"]["a"].pk)
    assert_error(client.post(WAREHOUSES, body, format="json"), 403, "detail")
    own = world["zones"]["a1"].warehouse_id
    assert_error(client.patch(f"{WAREHOUSES}{own}/", {"name": "x"}, format="json"), 403, "detail")
    assert counts() == before


@pytest.mark.parametrize(
    ("role", "body", "field"),
    [
        ("enterprise_admin", {"park": "park-b"}, "park"),  # not an id
        ("enterprise_admin", {"park": "b"}, "park"),
        ("enterprise_admin", {"owner": "a2"}, "owner"),
        ("park_operator", {}, "park"),  # must name the park
        ("park_operator", {"park": "b"}, "park"),  # does not operate it
        ("park_operator", {"park": "a", "owner": "a1"}, "owner"),  # shared ones have no owner
        ("superuser", {"park": "b", "owner": "a1"}, "owner"),  # owner of another park
        ("enterprise_admin", {"code": "Not a slug!"}, "code"),
        ("enterprise_admin", {"code": "x" * 41}, "code"),
        ("enterprise_admin", {"name": "x" * 201}, "name"),
        ("enterprise_admin", {"name": ""}, "name"),
        ("enterprise_admin", {"latitude": "90.5"}, "latitude"),
        ("enterprise_admin", {"longitude": 1e20}, "longitude"),
        ("enterprise_admin", {"address": "x" * 256}, "address"),
        ("enterprise_admin", {"zones": []}, "zones"),
    ],
)
def test_bad_warehouse_input_names_the_field(
    world: dict[str, Any], api_client: Any, role: str, body: dict[str, Any], field: str
) -> None:
    refs = {"park": world["parks"], "owner": world["enterprises"]}
    resolved = {
        key: refs[key][value].pk if key in refs and value in refs[key] else value
        for key, value in body.items()
    }
    before = counts()
    response = client_of(world, api_client, role).post(
        WAREHOUSES, warehouse_body(**resolved), format="json"
    )
    assert_error(response, 400, field)
    assert counts() == before


def test_duplicate_warehouse_code_is_refused(world: dict[str, Any], api_client: Any) -> None:
    taken = world["zones"]["c"].warehouse.code
    response = client_of(world, api_client, "enterprise_admin").post(
        WAREHOUSES, warehouse_body(code=taken), format="json"
    )
    assert_error(response, 400, "code")


@pytest.mark.parametrize(
    ("role", "method", "url"),
    [
        ("superuser", "post", MATERIALS),
        ("superuser", "patch", "material"),
        ("enterprise_admin", "post", WAREHOUSES),
        ("enterprise_admin", "patch", "warehouse"),
        ("enterprise_admin", "post", ZONES),
        ("enterprise_admin", "patch", "zone"),
        ("enterprise_admin", "post", LOTS),
        ("enterprise_admin", "post", "adjust"),
        ("enterprise_admin", "post", "move"),
    ],
)
def test_malformed_json_is_a_400_on_the_body(
    world: dict[str, Any],
    api_client: Any,
    stock: dict[str, StockLot],
    role: str,
    method: str,
    url: str,
) -> None:
    lot, zone = stock["a1"], world["zones"]["a1"]
    url = {
        "material": f"{MATERIALS}{world['material'].pk}/",
        "warehouse": f"{WAREHOUSES}{zone.warehouse_id}/",
        "zone": f"{ZONES}{zone.pk}/",
        "adjust": f"{LOTS}{lot.pk}/adjust/",
        "move": f"{LOTS}{lot.pk}/move/",
    }.get(url, url)
    before = counts()
    response = getattr(client_of(world, api_client, role), method)(
        url, data='{"quantity": 1,, "code": "x"', content_type="application/json"
    )
    assert_error(response, 400, "body")
    assert counts() == before
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(1000)


def test_enterprise_updates_its_own_warehouse(world: dict[str, Any], api_client: Any) -> None:
    warehouse = world["zones"]["a1"].warehouse
    response = client_of(world, api_client, "warehouse_keeper").patch(
        f"{WAREHOUSES}{warehouse.pk}/", {"name": "Drum store", "address": "Gate 4"}, format="json"
    )
    assert response.status_code == 200, response.content
    warehouse.refresh_from_db()
    assert (warehouse.name, warehouse.address) == ("Drum store", "Gate 4")


@pytest.mark.parametrize(
    ("role", "zone"),
    [
        ("enterprise_admin", "shared"),  # visible, but the operator's to change
        ("enterprise_admin", "a2"),
        ("enterprise_admin", "c"),
        ("park_operator", "a1"),  # an enterprise's own warehouse
        ("park_operator", "c"),
    ],
)
def test_warehouse_update_outside_writable_set_is_404(
    world: dict[str, Any], api_client: Any, role: str, zone: str
) -> None:
    warehouse = world["zones"][zone].warehouse
    response = client_of(world, api_client, role).patch(
        f"{WAREHOUSES}{warehouse.pk}/", {"name": "Taken over"}, format="json"
    )
    assert_not_found(response)
    warehouse.refresh_from_db()
    assert warehouse.name != "Taken over"


def test_park_operator_updates_a_shared_warehouse(world: dict[str, Any], api_client: Any) -> None:
    warehouse = world["zones"]["shared"].warehouse
    response = client_of(world, api_client, "park_operator").patch(
        f"{WAREHOUSES}{warehouse.pk}/", {"name": "Shared store 1"}, format="json"
    )
    assert response.status_code == 200, response.content
    warehouse.refresh_from_db()
    assert warehouse.name == "Shared store 1"


@pytest.mark.parametrize("field", ["park", "owner"])
def test_warehouse_park_and_owner_are_fixed(
    world: dict[str, Any], api_client: Any, field: str
) -> None:
    warehouse = world["zones"]["a1"].warehouse
    value = world["parks"]["b"].pk if field == "park" else world["enterprises"]["b"].pk
    response = client_of(world, api_client, "enterprise_admin").patch(
        f"{WAREHOUSES}{warehouse.pk}/", {field: value}, format="json"
    )
    assert_error(response, 400, field)
    warehouse.refresh_from_db()
    assert (warehouse.park, warehouse.owner) == (world["parks"]["a"], world["enterprises"]["a1"])


# --- zones/ ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("enterprise_admin", ("a1", "shared")),
        ("other_admin", ("a2", "shared")),
        ("park_operator", ("a1", "a2", "shared")),
        ("regulator", ("a1", "a2", "shared")),
        ("regulator_c", ("c",)),
    ],
)
def test_zones_visible_by_role(
    world: dict[str, Any], api_client: Any, role: str, visible: tuple[str, ...]
) -> None:
    response = client_of(world, api_client, role).get(ZONES)
    assert ids(response) == {world["zones"][z].pk for z in visible}


def test_zone_occupancy_sums_every_owner(
    world: dict[str, Any], api_client: Any, receive: Any
) -> None:
    shared = world["zones"]["shared"]
    material = world["material"]
    receive(zone=shared, material=material, quantity="300", owner=world["enterprises"]["a1"])
    receive(zone=shared, material=material, quantity="200.5", owner=world["enterprises"]["a2"])
    rows = client_of(world, api_client, "enterprise_admin").get(ZONES).json()["results"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[shared.pk]["occupancy_kg"] == "500.500"
    assert by_id[shared.pk]["free_kg"] == f"{shared.capacity_kg - Decimal('500.5'):.3f}"
    assert by_id[world["zones"]["a1"].pk]["occupancy_kg"] == "0.000"
    response = client_of(world, api_client, "regulator").get(f"{ZONES}?occupancy_min=500")
    assert ids(response) == {shared.pk}


def test_zone_filters(world: dict[str, Any], api_client: Any) -> None:
    client = client_of(world, api_client, "park_operator")
    shared = world["zones"]["shared"]
    assert ids(client.get(f"{ZONES}?shared=true")) == {shared.pk}
    assert ids(client.get(f"{ZONES}?warehouse={shared.warehouse_id}")) == {shared.pk}
    licensed_for_3 = f.StorageZoneFactory.create(warehouse=shared.warehouse, allowed_classes=["3"])
    f.StorageZoneFactory.create(warehouse=shared.warehouse, allowed_classes=["8"])
    assert ids(client.get(f"{ZONES}?allows_class=3&shared=true")) == {shared.pk, licensed_for_3.pk}
    assert_error(client.get(f"{ZONES}?allows_class=33"), 400, "allows_class")


def zone_body(warehouse: Any, /, **overrides: Any) -> dict[str, Any]:
    body = {
        "warehouse": warehouse.pk,
        "code": "Z-NEW",
        "name": "Acids",
        "building": "B",
        "capacity_kg": "50000",
        "allowed_classes": ["8"],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", STOCK_WRITERS)
def test_enterprise_adds_a_zone_to_its_warehouse(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    warehouse = world["zones"]["a1"].warehouse
    response = client_of(world, api_client, role).post(ZONES, zone_body(warehouse), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    zone = StorageZone.objects.get(pk=body["id"])
    assert (zone.warehouse, zone.capacity_kg, zone.allowed_classes) == (
        warehouse,
        Decimal(50000),
        ["8"],
    )
    assert (body["occupancy_kg"], body["free_kg"]) == ("0.000", "50000.000")


def test_park_operator_adds_a_zone_to_a_shared_warehouse(
    world: dict[str, Any], api_client: Any
) -> None:
    warehouse = world["zones"]["shared"].warehouse
    response = client_of(world, api_client, "park_operator").post(
        ZONES, zone_body(warehouse), format="json"
    )
    assert response.status_code == 201, response.content
    assert StorageZone.objects.filter(warehouse=warehouse, code="Z-NEW").exists()


@pytest.mark.parametrize("role", ["trader", "viewer", "regulator"])
def test_zone_writes_refused_by_role(world: dict[str, Any], api_client: Any, role: str) -> None:
    zone = world["zones"]["a1"]
    client = client_of(world, api_client, role)
    before = counts()
    assert_error(client.post(ZONES, zone_body(zone.warehouse), format="json"), 403, "detail")
    response = client.patch(f"{ZONES}{zone.pk}/", {"capacity_kg": "1"}, format="json")
    assert_error(response, 403, "detail")
    assert counts() == before
    zone.refresh_from_db()
    assert zone.capacity_kg == Decimal(1000000)


@pytest.mark.parametrize(
    ("role", "zone", "overrides", "field"),
    [
        ("enterprise_admin", "shared", {}, "warehouse"),  # the operator's warehouse
        ("enterprise_admin", "a2", {}, "warehouse"),  # another enterprise's
        ("enterprise_admin", "c", {}, "warehouse"),
        ("park_operator", "a1", {}, "warehouse"),
        ("enterprise_admin", "a1", {"warehouse": 10**12}, "warehouse"),
        ("enterprise_admin", "a1", {"capacity_kg": "-1"}, "capacity_kg"),
        ("enterprise_admin", "a1", {"capacity_kg": 1e20}, "capacity_kg"),
        ("enterprise_admin", "a1", {"capacity_kg": "10000000001"}, "capacity_kg"),
        ("enterprise_admin", "a1", {"capacity_kg": "abc"}, "capacity_kg"),
        ("enterprise_admin", "a1", {"allowed_classes": ["8", "X"]}, "allowed_classes"),
        ("enterprise_admin", "a1", {"allowed_classes": "8"}, "allowed_classes"),
        ("enterprise_admin", "a1", {"allowed_classes": ["8", None]}, "allowed_classes"),
        ("enterprise_admin", "a1", {"code": "x" * 21}, "code"),
        ("enterprise_admin", "a1", {"building": "x" * 21}, "building"),
        ("enterprise_admin", "a1", {"occupancy_kg": "0"}, "occupancy_kg"),
    ],
)
def test_bad_zone_input_names_the_field(
    world: dict[str, Any],
    api_client: Any,
    role: str,
    zone: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = counts()
    body = zone_body(world["zones"][zone].warehouse, **overrides)
    response = client_of(world, api_client, role).post(ZONES, body, format="json")
    assert_error(response, 400, field)
    assert counts() == before


def test_zone_code_is_unique_within_its_warehouse(world: dict[str, Any], api_client: Any) -> None:
    zone = world["zones"]["a1"]
    client = client_of(world, api_client, "enterprise_admin")
    response = client.post(ZONES, zone_body(zone.warehouse, code=zone.code), format="json")
    assert_error(response, 400, "code")
    other = f.StorageZoneFactory.create(warehouse=zone.warehouse, code="Z-OTHER")
    response = client.patch(f"{ZONES}{other.pk}/", {"code": zone.code}, format="json")
    assert_error(response, 400, "code")


def test_zone_update_by_owner_and_refusals(world: dict[str, Any], api_client: Any) -> None:
    zone = world["zones"]["a1"]
    client = client_of(world, api_client, "warehouse_keeper")
    response = client.patch(
        f"{ZONES}{zone.pk}/", {"capacity_kg": "2500", "allowed_classes": ["3", "8"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["free_kg"] == "2500.000"
    zone.refresh_from_db()
    assert (zone.capacity_kg, zone.allowed_classes) == (Decimal(2500), ["3", "8"])
    # A zone stays in its warehouse; the shared zone is the operator's to change.
    other_warehouse = f.WarehouseFactory.create(owner=world["enterprises"]["a1"])
    response = client.patch(f"{ZONES}{zone.pk}/", {"warehouse": other_warehouse.pk}, format="json")
    assert_error(response, 400, "warehouse")
    shared = world["zones"]["shared"]
    response = client.patch(f"{ZONES}{shared.pk}/", {"capacity_kg": "1"}, format="json")
    assert_not_found(response)
    shared.refresh_from_db()
    assert shared.capacity_kg == Decimal(1000000)


# --- lots/: reads ------------------------------------------------------------------------


@pytest.fixture
def stock(world: dict[str, Any], receive: Any) -> dict[str, StockLot]:
    """A lot of each enterprise in park A (one in the shared warehouse), one in park C."""
    material = world["material"]
    a1 = receive(zone=world["zones"]["a1"], material=material, quantity="1000", batch_no="B-1")
    stock_reserve(
        actor=SYSTEM,
        lot=a1,
        holder=world["enterprises"]["b"],
        quantity_kg=Decimal("250"),
        expires_at=None,
    )
    a1.refresh_from_db()
    return {
        "a1": a1,
        "a1_shared": receive(
            zone=world["zones"]["shared"],
            material=material,
            quantity="40",
            owner=world["enterprises"]["a1"],
        ),
        "a2": receive(zone=world["zones"]["a2"], material=material, quantity="500"),
        "c": receive(zone=world["zones"]["c"], material=material, quantity="700"),
    }


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("enterprise_admin", ("a1", "a1_shared")),
        ("trader", ("a1", "a1_shared")),
        ("viewer", ("a1", "a1_shared")),
        ("other_admin", ("a2",)),
        ("park_operator", ("a1", "a1_shared", "a2")),
        ("regulator", ("a1", "a1_shared", "a2")),
        ("regulator_c", ("c",)),
        ("superuser", ("a1", "a1_shared", "a2", "c")),
    ],
)
def test_lots_visible_by_role(
    world: dict[str, Any],
    api_client: Any,
    stock: dict[str, StockLot],
    role: str,
    visible: tuple[str, ...],
) -> None:
    response = client_of(world, api_client, role).get(LOTS)
    assert ids(response) == {stock[name].pk for name in visible}


def test_lot_fields(world: dict[str, Any], api_client: Any, stock: dict[str, StockLot]) -> None:
    lot, material, zone = stock["a1"], world["material"], world["zones"]["a1"]
    body = client_of(world, api_client, "viewer").get(f"{LOTS}{lot.pk}/").json()
    expected = {
        "id": lot.pk,
        "material": material.pk,
        "material_name_en": material.name_en,
        "material_name_zh": material.name_zh,
        "material_cas": material.cas,
        "material_primary_class": "",
        "owner": world["enterprises"]["a1"].pk,
        "zone": zone.pk,
        "zone_code": zone.code,
        "warehouse": zone.warehouse_id,
        "warehouse_code": zone.warehouse.code,
        "park": world["parks"]["a"].pk,
        "park_code": "park-a",
        "on_hand_kg": "1000.000",
        "reserved_kg": "250.000",
        "available_kg": "750.000",
        "batch_no": "B-1",
    }
    assert {key: body[key] for key in expected} == expected


def test_another_enterprises_lot_answers_404(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot]
) -> None:
    response = client_of(world, api_client, "enterprise_admin").get(f"{LOTS}{stock['a2'].pk}/")
    assert_not_found(response)


def test_lot_filters(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot], receive: Any
) -> None:
    methanol = f.MaterialFactory.create(
        cas="67-56-1", primary_class="3", subsidiary_classes=["6.1"]
    )
    tox = receive(
        zone=world["zones"]["a2"],
        material=methanol,
        quantity="80",
        expires_on=date(2026, 3, 1),
    )
    client = client_of(world, api_client, "regulator")
    park_a_lots = {stock[n].pk for n in ("a1", "a1_shared", "a2")} | {tox.pk}
    assert ids(client.get(f"{LOTS}?park={world['parks']['a'].pk}")) == park_a_lots
    assert ids(client.get(f"{LOTS}?cas=67-56-1")) == {tox.pk}
    assert ids(client.get(f"{LOTS}?hazard_class=6.1")) == {tox.pk}
    assert ids(client.get(f"{LOTS}?material={methanol.pk}")) == {tox.pk}
    assert ids(client.get(f"{LOTS}?on_hand_min=500&on_hand_max=1000")) == {
        stock["a1"].pk,
        stock["a2"].pk,
    }
    assert ids(client.get(f"{LOTS}?available_max=750&available_min=750")) == {stock["a1"].pk}
    assert ids(client.get(f"{LOTS}?expires_before=2026-06-30")) == {tox.pk}
    assert ids(client.get(f"{LOTS}?owner={world['enterprises']['a2'].pk}&ordering=-on_hand_kg"))
    rows = client.get(f"{LOTS}?ordering=-available").json()["results"]
    assert [r["id"] for r in rows][:2] == [stock["a1"].pk, stock["a2"].pk]
    assert_error(client.get(f"{LOTS}?on_hand_min=lots"), 400, "on_hand_min")
    assert_error(client.get(f"{LOTS}?expires_before=yesterday"), 400, "expires_before")


# --- lots/: receipt ----------------------------------------------------------------------


def receipt(world: dict[str, Any], zone: str = "a1", **overrides: Any) -> dict[str, Any]:
    body = {
        "material": world["material"].pk,
        "zone": world["zones"][zone].pk,
        "quantity": "2.5",
        "unit": "t",
        "batch_no": "2026-04-A",
        "purity_pct": "99.5",
        "grade": "industrial",
        "produced_on": "2026-04-01",
        "expires_on": "2027-04-01",
        "note": "delivery note 17",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", STOCK_WRITERS)
def test_receipt_creates_a_lot_and_its_ledger_row(
    world: dict[str, Any], api_client: Any, role: str
) -> None:
    response = client_of(world, api_client, role).post(LOTS, receipt(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    lot = StockLot.objects.get(pk=body["id"])
    assert lot.owner == world["enterprises"]["a1"]
    assert lot.zone == world["zones"]["a1"]
    assert lot.on_hand_kg == Decimal("2500.000")  # 2.5 t
    assert (lot.batch_no, lot.purity_pct, lot.grade) == ("2026-04-A", Decimal("99.5"), "industrial")
    assert (lot.produced_on, lot.expires_on) == (date(2026, 4, 1), date(2027, 4, 1))
    movement = lot.movements.get()
    assert (movement.kind, movement.quantity_kg) == (MovementKind.RECEIPT, Decimal("2500.000"))
    assert movement.actor == world["users"][role]
    assert movement.note == "delivery note 17"
    assert (body["on_hand_kg"], body["available_kg"], body["park_code"]) == (
        "2500.000",
        "2500.000",
        "park-a",
    )
    assert_ledger_balanced()


@pytest.mark.parametrize(
    ("quantity", "unit", "kg"),
    [
        ("2.5", "t", "2500.000"),
        ("1250.5", "kg", "1250.500"),
        ("750", "g", "0.750"),
        ("100", "L", "80.000"),  # density 0.8 kg/L
        ("1.5", "m3", "1200.000"),
        ("3", None, "3.000"),  # the material's default unit, kg
    ],
)
def test_receipt_converts_units_to_kg(
    world: dict[str, Any], api_client: Any, quantity: str, unit: str | None, kg: str
) -> None:
    body = receipt(world, quantity=quantity, unit=unit)
    if unit is None:
        del body["unit"]
    response = client_of(world, api_client, "warehouse_keeper").post(LOTS, body, format="json")
    assert response.status_code == 201, response.content
    lot = StockLot.objects.get(pk=response.json()["id"])
    assert lot.on_hand_kg == Decimal(kg)
    assert lot.movements.get().quantity_kg == Decimal(kg)


def test_receipt_into_the_parks_shared_warehouse(world: dict[str, Any], api_client: Any) -> None:
    response = client_of(world, api_client, "enterprise_admin").post(
        LOTS, receipt(world, zone="shared"), format="json"
    )
    assert response.status_code == 201, response.content
    lot = StockLot.objects.get(pk=response.json()["id"])
    assert (lot.owner, lot.zone) == (world["enterprises"]["a1"], world["zones"]["shared"])


@pytest.mark.parametrize("role", [*NOT_STOCK_WRITERS, "superuser"])
def test_receipt_refused_by_role(world: dict[str, Any], api_client: Any, role: str) -> None:
    before = counts()
    response = client_of(world, api_client, role).post(LOTS, receipt(world), format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["fields"]
    assert counts() == before


def _bad_receipts(world: dict[str, Any]) -> list[tuple[dict[str, Any], str, int]]:
    no_density = f.MaterialFactory.create(density_kg_per_l=None)
    inactive = f.MaterialFactory.create(is_active=False)
    return [
        (receipt(world, quantity="0"), "quantity", 400),
        (receipt(world, quantity="-5"), "quantity", 400),
        (receipt(world, quantity=-5), "quantity", 400),
        (receipt(world, quantity=1e20), "quantity", 400),
        (receipt(world, quantity="1e20"), "quantity", 400),
        (receipt(world, quantity="10000001", unit="t"), "quantity", 400),  # > 10 Mt once in kg
        (receipt(world, quantity="0.0001", unit="g"), "quantity", 400),  # rounds to 0 kg
        (receipt(world, quantity="NaN"), "quantity", 400),
        (receipt(world, quantity="Infinity"), "quantity", 400),
        (receipt(world, quantity="lots"), "quantity", 400),
        (receipt(world, quantity=None), "quantity", 400),
        (receipt(world, unit="lb"), "unit", 400),
        (receipt(world, unit="kilograms"), "unit", 400),
        (receipt(world, unit="L", material=no_density.pk), "unit", 400),
        (receipt(world, material=10**12), "material", 400),
        (receipt(world, material="chlorine"), "material", 400),
        (receipt(world, material=inactive.pk), "material", 400),
        (receipt(world, zone="a2"), "zone", 400),  # another enterprise's warehouse
        (receipt(world, zone="b"), "zone", 400),  # another park
        (receipt(world, zone="c"), "zone", 400),
        (receipt(world, zone="a1") | {"zone": 10**12}, "zone", 400),
        (receipt(world, batch_no="x" * 65), "batch_no", 400),
        (receipt(world, grade="x" * 41), "grade", 400),
        (receipt(world, note="x" * 256), "note", 400),
        (receipt(world, purity_pct="100.001"), "purity_pct", 400),
        (receipt(world, purity_pct="-1"), "purity_pct", 400),
        (receipt(world, produced_on="2026-13-01"), "produced_on", 400),
        (receipt(world, expires_on="2026-03-01"), "expires_on", 400),  # before production
        (receipt(world, owner=world["enterprises"]["a2"].pk), "owner", 400),
        (receipt(world, on_hand_kg="5"), "on_hand_kg", 400),
    ]


def test_bad_receipts_name_the_field_and_write_nothing(
    world: dict[str, Any], api_client: Any
) -> None:
    client = client_of(world, api_client, "enterprise_admin")
    cases = _bad_receipts(world)
    before = counts()
    for body, field, status in cases:
        error = assert_error(client.post(LOTS, body, format="json"), status, field)
        assert error["code"] == "invalid", (field, error)
    assert counts() == before


def test_receipt_refused_by_the_zone_names_the_zone(world: dict[str, Any], api_client: Any) -> None:
    small = f.StorageZoneFactory.create(
        warehouse=world["zones"]["a1"].warehouse, capacity_kg=Decimal(100), allowed_classes=["3"]
    )
    corrosive = f.MaterialFactory.create(primary_class="8")
    client = client_of(world, api_client, "enterprise_admin")
    before = counts()
    over = receipt(world, zone="a1") | {"zone": small.pk, "quantity": "101", "unit": "kg"}
    error = assert_error(client.post(LOTS, over, format="json"), 400, "zone")
    assert error["code"] == "capacity_exceeded"
    unlicensed = over | {"quantity": "1", "material": corrosive.pk}
    error = assert_error(client.post(LOTS, unlicensed, format="json"), 400, "zone")
    assert error["code"] == "incompatible_storage"
    assert counts() == before


# --- lots/{id}/adjust/ -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "unit", "kg"),
    [("-100", "kg", "-100.000"), ("0.5", "t", "500.000"), ("25", "L", "20.000")],
)
def test_adjust_writes_an_adjustment(
    world: dict[str, Any],
    api_client: Any,
    stock: dict[str, StockLot],
    delta: str,
    unit: str,
    kg: str,
) -> None:
    lot = stock["a1"]
    response = client_of(world, api_client, "warehouse_keeper").post(
        f"{LOTS}{lot.pk}/adjust/", {"delta": delta, "unit": unit, "note": "count"}, format="json"
    )
    assert response.status_code == 200, response.content
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(1000) + Decimal(kg)
    assert response.json()["on_hand_kg"] == str(lot.on_hand_kg)
    movement = lot.movements.order_by("-id").first()
    assert movement is not None
    assert (movement.kind, movement.quantity_kg, movement.note) == (
        MovementKind.ADJUSTMENT,
        Decimal(kg),
        "count",
    )
    assert movement.actor == world["users"]["warehouse_keeper"]
    assert_ledger_balanced()


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"delta": "0", "unit": "kg"}, "delta", 400),
        ({"delta": "0.0001", "unit": "g"}, "delta", 400),
        ({"delta": 1e20, "unit": "kg"}, "delta", 400),
        ({"delta": "-10000001", "unit": "t"}, "delta", 400),
        ({"delta": "-751", "unit": "kg"}, "delta", 409),  # 250 of 1000 kg are reserved
        ({"delta": "NaN", "unit": "kg"}, "delta", 400),
        ({"unit": "kg"}, "delta", 400),
        ({"delta": "5", "unit": "lb"}, "unit", 400),
        ({"delta": "5", "unit": "kg", "note": "x" * 256}, "note", 400),
        ({"delta": "5", "unit": "kg", "lot": 1}, "lot", 400),
    ],
)
def test_bad_adjustments_name_the_field_and_write_nothing(
    world: dict[str, Any],
    api_client: Any,
    stock: dict[str, StockLot],
    body: dict[str, Any],
    field: str,
    status: int,
) -> None:
    lot = stock["a1"]
    before = counts()
    response = client_of(world, api_client, "enterprise_admin").post(
        f"{LOTS}{lot.pk}/adjust/", body, format="json"
    )
    assert_error(response, status, field)
    assert counts() == before
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(1000)


def test_adjust_in_litres_needs_a_density(
    world: dict[str, Any], api_client: Any, receive: Any
) -> None:
    lot = receive(
        zone=world["zones"]["a1"],
        material=f.MaterialFactory.create(density_kg_per_l=None),
        quantity="10",
    )
    before = counts()
    response = client_of(world, api_client, "enterprise_admin").post(
        f"{LOTS}{lot.pk}/adjust/", {"delta": "1", "unit": "L"}, format="json"
    )
    error = assert_error(response, 400, "unit")
    assert "kg" in error["fields"]["unit"][0]  # says which units are accepted
    assert counts() == before


@pytest.mark.parametrize("lot_name", ["a2", "c"])
def test_adjusting_another_tenants_lot_answers_404(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot], lot_name: str
) -> None:
    before = counts()
    response = client_of(world, api_client, "enterprise_admin").post(
        f"{LOTS}{stock[lot_name].pk}/adjust/", {"delta": "-1", "unit": "kg"}, format="json"
    )
    assert_not_found(response)
    assert counts() == before


@pytest.mark.parametrize("role", NOT_STOCK_WRITERS)
def test_adjust_and_move_refused_by_role(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot], role: str
) -> None:
    lot = stock["a1"]
    client = client_of(world, api_client, role)
    before = counts()
    response = client.post(f"{LOTS}{lot.pk}/adjust/", {"delta": "-1"}, format="json")
    assert_error(response, 403, "detail")
    body = {"to_zone": world["zones"]["shared"].pk, "quantity": "1"}
    assert_error(client.post(f"{LOTS}{lot.pk}/move/", body, format="json"), 403, "detail")
    assert counts() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_lots_are_not_edited_or_deleted(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot], method: str
) -> None:
    lot = stock["a1"]
    response = getattr(client_of(world, api_client, "enterprise_admin"), method)(
        f"{LOTS}{lot.pk}/", {"on_hand_kg": "1"}, format="json"
    )
    assert_error(response, 405, "method")
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(1000)


# --- lots/{id}/move/ ---------------------------------------------------------------------


def test_move_writes_a_pair_of_ledger_rows(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot]
) -> None:
    lot, shared = stock["a1"], world["zones"]["shared"]
    response = client_of(world, api_client, "warehouse_keeper").post(
        f"{LOTS}{lot.pk}/move/",
        {"to_zone": shared.pk, "quantity": "0.4", "unit": "t", "note": "to shared store"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    target = StockLot.objects.get(pk=body["target_lot"]["id"])
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(600)
    assert (target.zone, target.owner, target.on_hand_kg) == (
        shared,
        world["enterprises"]["a1"],
        Decimal(400),
    )
    assert target.batch_no == "B-1"
    assert (body["source_lot"]["on_hand_kg"], body["target_lot"]["on_hand_kg"]) == (
        "600.000",
        "400.000",
    )
    out = lot.movements.get(kind=MovementKind.MOVE_OUT)
    into = target.movements.get(kind=MovementKind.MOVE_IN)
    assert (out.quantity_kg, into.quantity_kg) == (Decimal(-400), Decimal(400))
    assert out.reference == into.reference == f"move:{lot.pk}->{target.pk}"
    assert out.actor == into.actor == world["users"]["warehouse_keeper"]
    assert_ledger_balanced()


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"to_zone": "a2", "quantity": "1"}, "to_zone", 400),  # another enterprise's zone
        ({"to_zone": "c", "quantity": "1"}, "to_zone", 400),
        ({"to_zone": 10**12, "quantity": "1"}, "to_zone", 400),
        ({"to_zone": "a1", "quantity": "1"}, "to_zone", 400),  # where it already is
        ({"quantity": "1"}, "to_zone", 400),
        ({"to_zone": "shared", "quantity": "0"}, "quantity", 400),
        ({"to_zone": "shared", "quantity": "-1"}, "quantity", 400),
        ({"to_zone": "shared", "quantity": 1e20}, "quantity", 400),
        ({"to_zone": "shared", "quantity": "751"}, "quantity", 409),  # 250 kg reserved
        ({"to_zone": "shared", "quantity": "1", "unit": "lb"}, "unit", 400),
        ({"to_zone": "shared", "quantity": "1", "note": "x" * 256}, "note", 400),
    ],
)
def test_bad_moves_name_the_field_and_write_nothing(
    world: dict[str, Any],
    api_client: Any,
    stock: dict[str, StockLot],
    body: dict[str, Any],
    field: str,
    status: int,
) -> None:
    lot = stock["a1"]
    if isinstance(body.get("to_zone"), str):
        body = body | {"to_zone": world["zones"][body["to_zone"]].pk}
    before = counts()
    response = client_of(world, api_client, "enterprise_admin").post(
        f"{LOTS}{lot.pk}/move/", body, format="json"
    )
    assert_error(response, status, field)
    assert counts() == before
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal(1000)


def test_move_refused_by_the_target_zone(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot]
) -> None:
    full = f.StorageZoneFactory.create(
        warehouse=world["zones"]["a1"].warehouse, capacity_kg=Decimal(10)
    )
    before = counts()
    response = client_of(world, api_client, "enterprise_admin").post(
        f"{LOTS}{stock['a1'].pk}/move/", {"to_zone": full.pk, "quantity": "11"}, format="json"
    )
    error = assert_error(response, 400, "to_zone")
    assert error["code"] == "capacity_exceeded"
    assert counts() == before


# --- movements/ --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("enterprise_admin", ("a1", "a1_shared")),
        ("viewer", ("a1", "a1_shared")),
        ("other_admin", ("a2",)),
        ("regulator", ("a1", "a1_shared", "a2")),
        ("regulator_c", ("c",)),
    ],
)
def test_movements_visible_by_role(
    world: dict[str, Any],
    api_client: Any,
    stock: dict[str, StockLot],
    role: str,
    visible: tuple[str, ...],
) -> None:
    response = client_of(world, api_client, role).get(MOVEMENTS)
    expected = set(
        StockMovement.objects.filter(lot__in=[stock[n] for n in visible]).values_list(
            "pk", flat=True
        )
    )
    assert ids(response) == expected


def test_movement_filters(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot]
) -> None:
    client = client_of(world, api_client, "enterprise_admin")
    lot = stock["a1"]
    response = client.post(f"{LOTS}{lot.pk}/adjust/", {"delta": "-30", "unit": "kg"}, format="json")
    assert response.status_code == 200
    adjustment = lot.movements.get(kind=MovementKind.ADJUSTMENT)
    receipt_row = lot.movements.get(kind=MovementKind.RECEIPT)
    assert ids(client.get(f"{MOVEMENTS}?lot={lot.pk}")) == {adjustment.pk, receipt_row.pk}
    assert ids(client.get(f"{MOVEMENTS}?kind=adjustment")) == {adjustment.pk}
    assert ids(client.get(f"{MOVEMENTS}?quantity_max=0")) == {adjustment.pk}
    assert ids(client.get(f"{MOVEMENTS}?quantity_min=500")) == {receipt_row.pk}
    material = world["material"].pk
    assert len(ids(client.get(f"{MOVEMENTS}?material={material}"))) == 3
    future = "2099-01-01T00:00:00Z"
    assert ids(client.get(f"{MOVEMENTS}?created_after={future}")) == set()
    assert len(ids(client.get(f"{MOVEMENTS}?created_before={future}"))) == 3
    body = client.get(f"{MOVEMENTS}{adjustment.pk}/").json()
    assert (body["quantity_kg"], body["kind"], body["actor_username"]) == (
        "-30.000",
        "adjustment",
        world["users"]["enterprise_admin"].username,
    )
    assert_error(client.get(f"{MOVEMENTS}?kind=theft"), 400, "kind")
    assert_error(client.get(f"{MOVEMENTS}?created_after=soon"), 400, "created_after")


def test_the_ledger_is_read_only(
    world: dict[str, Any], api_client: Any, stock: dict[str, StockLot]
) -> None:
    client = client_of(world, api_client, "superuser")
    movement = stock["a1"].movements.get()
    body = {"lot": stock["a1"].pk, "quantity_kg": "5", "kind": "receipt"}
    assert_error(client.post(MOVEMENTS, body, format="json"), 405, "method")
    assert_error(client.delete(f"{MOVEMENTS}{movement.pk}/"), 405, "method")
    assert StockMovement.objects.count() == 4


# --- query counts ------------------------------------------------------------------------


@pytest.fixture
def many_rows(world: dict[str, Any], receive: Any) -> None:
    """22+ rows behind every list: warehouses with zones, lots with movements, materials."""
    ent = world["enterprises"]["a1"]
    for _ in range(22):
        warehouse = f.WarehouseFactory.create(owner=ent)
        zone = f.StorageZoneFactory.create(warehouse=warehouse)
        f.StorageZoneFactory.create(warehouse=warehouse)
        receive(zone=zone, material=f.MaterialFactory.create(), quantity="10")


@pytest.mark.parametrize("url", [MATERIALS, WAREHOUSES, ZONES, LOTS, MOVEMENTS])
@pytest.mark.parametrize("role", ["enterprise_admin", "regulator", "superuser"])
def test_list_queries_do_not_grow_with_page_size(
    world: dict[str, Any], api_client: Any, many_rows: None, url: str, role: str
) -> None:
    small, large, rows = queries_at_page_sizes(client_of(world, api_client, role), url)
    assert rows == 20
    assert small == large, (small, large)
    assert large <= 5


def test_filtered_lot_list_stays_constant(
    world: dict[str, Any], api_client: Any, many_rows: None
) -> None:
    client = client_of(world, api_client, "regulator")
    small, large, _ = queries_at_page_sizes(
        client, f"{LOTS}?hazard_class=3&on_hand_min=0&ordering=-available"
    )
    assert small == large <= 5


# --- writes through the services: what they refuse -----------------------------------------


def stored(obj: Any) -> dict[str, Any]:
    return type(obj).objects.filter(pk=obj.pk).values().get()


def test_zone_capacity_below_what_it_holds_is_a_400_on_capacity_kg(
    world: dict[str, Any], api_client: Any, receive: Any
) -> None:
    zone = world["zones"]["a1"]
    receive(zone=zone, material=world["material"], quantity="600")
    before, rows = stored(zone), counts()
    response = client_of(world, api_client, "warehouse_keeper").patch(
        f"{ZONES}{zone.pk}/", {"capacity_kg": "599.999", "name": "Smaller"}, format="json"
    )
    error = assert_error(response, 400, "capacity_kg")
    assert error["code"] == "capacity_exceeded"
    assert (stored(zone), counts()) == (before, rows)


def test_unlicensing_a_class_in_stock_is_a_400_on_allowed_classes(
    world: dict[str, Any], api_client: Any, receive: Any
) -> None:
    zone = world["zones"]["a1"]
    receive(zone=zone, material=f.MaterialFactory.create(primary_class="8"), quantity="10")
    before, rows = stored(zone), counts()
    response = client_of(world, api_client, "warehouse_keeper").patch(
        f"{ZONES}{zone.pk}/", {"allowed_classes": ["3"]}, format="json"
    )
    error = assert_error(response, 400, "allowed_classes")
    assert error["code"] == "incompatible_storage"
    assert (stored(zone), counts()) == (before, rows)


def test_moving_a_zone_into_a_building_it_may_not_share_is_a_400_on_building(
    world: dict[str, Any], api_client: Any, receive: Any
) -> None:
    zone = world["zones"]["a1"]  # building A
    infectious = f.StorageZoneFactory.create(
        warehouse=zone.warehouse, building="B", allowed_classes=["6.2"]
    )
    receive(zone=zone, material=f.MaterialFactory.create(primary_class="3"))
    receive(zone=infectious, material=f.MaterialFactory.create(primary_class="6.2"))
    before, rows = stored(infectious), counts()
    response = client_of(world, api_client, "warehouse_keeper").patch(
        f"{ZONES}{infectious.pk}/", {"building": "A"}, format="json"
    )
    assert_error(response, 400, "building")
    assert (stored(infectious), counts()) == (before, rows)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_class", "8"),
        ("subsidiary_classes", ["8"]),
        ("family", "acid"),
        ("physical_state", "solid"),
    ],
)
def test_reclassifying_a_material_in_stock_is_a_400_naming_the_field(
    world: dict[str, Any], api_client: Any, receive: Any, field: str, value: Any
) -> None:
    material = f.MaterialFactory.create(primary_class="3", subsidiary_classes=["6.1"])
    receive(zone=world["zones"]["a1"], material=material, quantity="10")
    before, rows = stored(material), counts()
    response = client_of(world, api_client, "superuser").patch(
        f"{MATERIALS}{material.pk}/", {field: value, "name_en": "Renamed"}, format="json"
    )
    assert_error(response, 400, field)
    assert (stored(material), counts()) == (before, rows)
    # What segregation does not read may still change.
    response = client_of(world, api_client, "superuser").patch(
        f"{MATERIALS}{material.pk}/", {"name_en": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["name_en"] == "Renamed"


@pytest.fixture
def serializer_uniqueness_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrent insert of the same key commits after the serializer's own check: the
    check sees nothing, and the service meets the database's constraint."""
    monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, field: None)


@pytest.mark.usefixtures("serializer_uniqueness_missed")
def test_a_duplicate_code_the_serializer_missed_is_a_400_naming_it(
    world: dict[str, Any], api_client: Any
) -> None:
    before = counts()
    taken = world["zones"]["c"].warehouse.code
    response = client_of(world, api_client, "enterprise_admin").post(
        WAREHOUSES, warehouse_body(code=taken), format="json"
    )
    assert_error(response, 400, "code")
    own = world["zones"]["a1"].warehouse
    response = client_of(world, api_client, "enterprise_admin").patch(
        f"{WAREHOUSES}{own.pk}/", {"code": taken}, format="json"
    )
    assert_error(response, 400, "code")
    response = client_of(world, api_client, "superuser").post(
        MATERIALS, material_body(cas=world["material"].cas), format="json"
    )
    assert_error(response, 400, "cas")
    assert counts() == before
    own.refresh_from_db()
    assert own.code != taken
