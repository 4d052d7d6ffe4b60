"""Reading reservations (API and admin) and zone occupancy, per role and tenant, with
filters and constant query counts."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.scope import SYSTEM, resolve_scope
from inventory.models import Reservation
from inventory.selectors import ZoneOccupancy, zone_occupancy
from inventory.services import reservation_release, stock_adjust
from tests import factories as f
from tests.inventory.flows import in_hours, reserve

pytestmark = pytest.mark.django_db

RESERVATIONS = "/api/v1/reservations/"


@pytest.fixture
def held(world: dict[str, Any], receive: Any) -> dict[str, Reservation]:
    """a1's stock held for b; a2's stock held for a1; c's stock held for itself; a released
    one on a1's lot."""
    ents, zones, material = world["enterprises"], world["zones"], world["material"]
    a1_lot = receive(zone=zones["a1"], material=material, quantity="100")
    a2_lot = receive(zone=zones["a2"], material=material, quantity="100")
    c_lot = receive(zone=zones["c"], material=material, quantity="100")
    released = reserve(a1_lot, "5", holder=ents["a2"], reference="order:4")
    reservation_release(actor=SYSTEM, reservation=released)
    return {
        "a1_for_b": reserve(
            a1_lot, "10", holder=ents["b"], reference="order:1", expires_at=in_hours(1)
        ),
        "a2_for_a1": reserve(a2_lot, "20", holder=ents["a1"], reference="order:2"),
        "c_for_c": reserve(c_lot, "30", reference="order:3"),
        "a1_released": released,
    }


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("enterprise_admin", {"a1_for_b", "a2_for_a1", "a1_released"}),  # own lots + held
        ("viewer", {"a1_for_b", "a2_for_a1", "a1_released"}),
        ("other_admin", {"a2_for_a1", "a1_released"}),  # its lot; what it held once
        ("park_b_admin", {"a1_for_b"}),  # held for b in another park
        ("park_c_admin", {"c_for_c"}),
        ("park_operator", {"a1_for_b", "a2_for_a1", "a1_released"}),  # stored in park A
        ("regulator", {"a1_for_b", "a2_for_a1", "a1_released"}),
        ("regulator_c", {"c_for_c"}),
        ("superuser", {"a1_for_b", "a2_for_a1", "c_for_c", "a1_released"}),
    ],
)
def test_reservations_visible_by_role(
    world: dict[str, Any],
    api_client: Any,
    held: dict[str, Reservation],
    who: str,
    visible: set[str],
) -> None:
    client = api_client(world["users"][who])
    assert ids(client.get(RESERVATIONS)) == {held[name].pk for name in visible}
    for name, reservation in held.items():
        status = client.get(f"{RESERVATIONS}{reservation.pk}/").status_code
        assert status == (200 if name in visible else 404), (who, name)


def test_reservation_fields(
    world: dict[str, Any], api_client: Any, held: dict[str, Reservation]
) -> None:
    reservation = held["a1_for_b"]
    lot = reservation.lot
    body = api_client(world["users"]["park_b_admin"]).get(f"{RESERVATIONS}{reservation.pk}/")
    assert body.status_code == 200
    row = body.json()
    assert row == {
        "id": reservation.pk,
        "lot": lot.pk,
        "material": lot.material_id,
        "material_name_en": lot.material.name_en,
        "owner": lot.owner_id,
        "zone": lot.zone_id,
        "holder": world["enterprises"]["b"].pk,
        "holder_name_zh": world["enterprises"]["b"].name_zh,
        "quantity_kg": "10.000",
        "status": "held",
        "expires_at": row["expires_at"],
        "reference": "order:1",
        "created_by": None,
        "created_at": row["created_at"],
        "closed_at": None,
        "close_reason": "",
    }
    assert row["expires_at"] is not None
    # The list renders the same row.
    listed = api_client(world["users"]["park_b_admin"]).get(RESERVATIONS).json()["results"]
    assert listed == [row]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=held", {"a1_for_b", "a2_for_a1", "c_for_c"}),
        ("status=released", {"a1_released"}),
        ("status=held&status=released", {"a1_for_b", "a2_for_a1", "c_for_c", "a1_released"}),
        ("reference=order:2", {"a2_for_a1"}),
        ("search=order:3", {"c_for_c"}),
    ],
)
def test_reservation_filters(
    world: dict[str, Any],
    api_client: Any,
    held: dict[str, Reservation],
    query: str,
    expected: set[str],
) -> None:
    client = api_client(world["users"]["superuser"])
    assert ids(client.get(f"{RESERVATIONS}?{query}")) == {held[n].pk for n in expected}


def test_reservation_filters_by_lot_and_holder(
    world: dict[str, Any], api_client: Any, held: dict[str, Reservation]
) -> None:
    client = api_client(world["users"]["superuser"])
    lot = held["a1_for_b"].lot_id
    assert ids(client.get(f"{RESERVATIONS}?lot={lot}")) == {
        held["a1_for_b"].pk,
        held["a1_released"].pk,
    }
    holder = world["enterprises"]["a1"].pk
    assert ids(client.get(f"{RESERVATIONS}?holder={holder}")) == {held["a2_for_a1"].pk}
    response = client.get(f"{RESERVATIONS}?status=lost")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_reservations_are_read_only(
    world: dict[str, Any], api_client: Any, held: dict[str, Reservation]
) -> None:
    client = api_client(world["users"]["enterprise_admin"])
    reservation = held["a2_for_a1"]
    assert client.post(RESERVATIONS, {}, format="json").status_code == 405
    for method in ("patch", "put", "delete"):
        response = getattr(client, method)(f"{RESERVATIONS}{reservation.pk}/", {}, format="json")
        assert response.status_code == 405, method
    assert Reservation.objects.get(pk=reservation.pk).status == "held"


@pytest.mark.parametrize("who", ["enterprise_admin", "regulator", "superuser"])
def test_reservation_list_queries_do_not_grow(
    world: dict[str, Any], api_client: Any, receive: Any, who: str
) -> None:
    client = api_client(world["users"][who])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{RESERVATIONS}?page_size=50").status_code == 200
        return len(ctx.captured_queries)

    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    reserve(lot, "1", holder=world["enterprises"]["b"])
    few = queries()
    for _ in range(10):
        reserve(lot, "1", holder=world["enterprises"]["b"])
    assert queries() == few <= 4


# --- zone occupancy ------------------------------------------------------------------------


@pytest.fixture
def stocked_shared(world: dict[str, Any], receive: Any) -> dict[str, Any]:
    """The shared zone of park A: 300 kg of a flammable of a1 (100 reserved), 200 kg of a
    toxic corrosive of a2, and an emptied lot of an oxidizer."""
    zone = world["zones"]["shared"]
    ents = world["enterprises"]
    flammable = receive(
        zone=zone,
        material=f.MaterialFactory.create(primary_class="3"),
        owner=ents["a1"],
        quantity="300",
    )
    reserve(flammable, "100", holder=ents["a2"])
    receive(
        zone=zone,
        material=f.MaterialFactory.create(primary_class="8", subsidiary_classes=["6.1"]),
        owner=ents["a2"],
        quantity="200",
    )
    emptied = receive(
        zone=zone,
        material=f.MaterialFactory.create(primary_class="9"),
        owner=ents["a2"],
        quantity="5",
    )
    stock_adjust(actor=SYSTEM, lot=emptied, delta_kg=Decimal(-5))
    return {"zone": zone}


def test_zone_occupancy_sums_every_owner(
    world: dict[str, Any], stocked_shared: dict[str, Any], django_assert_num_queries: Any
) -> None:
    zone = stocked_shared["zone"]
    scope = resolve_scope(world["users"]["park_operator"])
    with django_assert_num_queries(2):
        rows = zone_occupancy(scope=scope, warehouse_id=zone.warehouse_id)
    assert rows == [
        ZoneOccupancy(
            zone_id=zone.pk,
            warehouse_id=zone.warehouse_id,
            code=zone.code,
            capacity_kg=zone.capacity_kg,
            on_hand_kg=Decimal(500),
            reserved_kg=Decimal(100),
            free_kg=zone.capacity_kg - 500,
            materials=2,
            classes=("3", "6.1", "8"),
        )
    ]
    empty = world["zones"]["a1"]
    (row,) = zone_occupancy(scope=scope, zone_id=empty.pk)
    assert (row.on_hand_kg, row.reserved_kg, row.materials, row.classes) == (0, 0, 0, ())
    assert row.free_kg == empty.capacity_kg


def test_zone_occupancy_is_scoped_and_constant(
    world: dict[str, Any], stocked_shared: dict[str, Any], django_assert_num_queries: Any
) -> None:
    operator = resolve_scope(world["users"]["park_operator"])
    zones = world["zones"]
    assert {r.zone_id for r in zone_occupancy(scope=operator)} == {
        zones[z].pk for z in ("a1", "a2", "shared")
    }
    a2 = resolve_scope(world["users"]["other_admin"])
    assert {r.zone_id for r in zone_occupancy(scope=a2)} == {zones["a2"].pk, zones["shared"].pk}
    assert zone_occupancy(scope=a2, zone_id=zones["a1"].pk) == []
    regulator_c = resolve_scope(world["users"]["regulator_c"])
    assert [r.zone_id for r in zone_occupancy(scope=regulator_c)] == [zones["c"].pk]
    for _ in range(3):
        f.StorageZoneFactory.create(warehouse=zones["shared"].warehouse)
    with django_assert_num_queries(2):
        assert len(zone_occupancy(scope=operator)) == 6


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("park_operator", 200),
        ("regulator", 200),
        ("enterprise_admin", 200),  # a1 stores in its park's shared warehouse
        ("park_b_admin", 404),
        ("regulator_c", 404),
        ("superuser", 200),
    ],
)
def test_zone_occupancy_endpoint(
    world: dict[str, Any],
    api_client: Any,
    stocked_shared: dict[str, Any],
    who: str,
    status: int,
) -> None:
    zone = stocked_shared["zone"]
    client = api_client(world["users"][who])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/zones/{zone.pk}/occupancy/")
    assert response.status_code == status, response.content
    if status != 200:
        assert response.json()["error"]["status"] == 404
        return
    assert len(ctx.captured_queries) <= 4  # authentication, the sums, the classes
    assert response.json() == {
        "zone": zone.pk,
        "warehouse": zone.warehouse_id,
        "code": zone.code,
        "capacity_kg": f"{zone.capacity_kg:.3f}",
        "on_hand_kg": "500.000",
        "reserved_kg": "100.000",
        "free_kg": f"{zone.capacity_kg - 500:.3f}",
        "materials": 2,
        "classes": ["3", "6.1", "8"],
    }


def test_zone_occupancy_of_an_unknown_zone_is_404(world: dict[str, Any], api_client: Any) -> None:
    client = api_client(world["users"]["superuser"])
    assert client.get("/api/v1/zones/987654321/occupancy/").status_code == 404
    assert client.get("/api/v1/zones/x/occupancy/").status_code == 404


# --- the admin -----------------------------------------------------------------------------


def admin_client(user: Any) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("enterprise_admin", {"a1_for_b", "a2_for_a1", "a1_released"}),
        ("park_b_admin", {"a1_for_b"}),
        ("regulator", {"a1_for_b", "a2_for_a1", "a1_released"}),
        ("regulator_c", {"c_for_c"}),
        ("superuser", {"a1_for_b", "a2_for_a1", "c_for_c", "a1_released"}),
    ],
)
def test_admin_shows_reservations_in_scope_read_only(
    world: dict[str, Any], held: dict[str, Reservation], who: str, visible: set[str]
) -> None:
    client = admin_client(world["users"][who])
    response = client.get(reverse("admin:inventory_reservation_changelist"))
    assert response.status_code == 200
    assert {r.pk for r in response.context["cl"].result_list} == {held[n].pk for n in visible}
    assert client.get(reverse("admin:inventory_reservation_add")).status_code == 403
    for name, reservation in held.items():
        url = reverse("admin:inventory_reservation_change", args=[reservation.pk])
        response = client.get(url)
        if name not in visible:
            assert response.status_code == 302  # "doesn't exist", as for a deleted row
            continue
        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert client.post(url, {"status": "released"}).status_code == 403
        delete = reverse("admin:inventory_reservation_delete", args=[reservation.pk])
        assert client.get(delete).status_code == 403
    assert Reservation.objects.filter(status="held").count() == 3


def test_admin_changelist_queries_do_not_grow(
    world: dict[str, Any], receive: Any, held: dict[str, Reservation]
) -> None:
    client = admin_client(world["users"]["superuser"])
    url = reverse("admin:inventory_reservation_changelist")
    client.get(url)  # warm up the session and content types

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for _ in range(5):
        lot = receive(zone=world["zones"]["a2"], material=f.MaterialFactory.create(), quantity="10")
        reserve(lot, "1", holder=world["enterprises"]["c"])
    assert queries() == few
