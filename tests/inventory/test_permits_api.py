"""/api/v1/permits/: an enterprise's staff read its permits, its admin writes them; park
operators and regulators read those of their parks' enterprises; others find nothing."""

from datetime import date
from typing import Any

import pytest

from access.scope import resolve_scope
from common.models import OutboxEvent
from inventory.controls import PermitKind
from inventory.models import Permit
from inventory.services import permit_create
from tests import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/permits/"
K = PermitKind


def body(**changes: Any) -> dict[str, Any]:
    return {
        "kind": K.SAFE_USE_LICENCE,
        "number": "（浙）WH安使证字〔2026〕0007",
        "valid_from": "2026-01-01",
        "expires_on": "2028-12-31",
        **changes,
    }


@pytest.fixture
def permit(world: dict[str, Any]) -> Permit:
    return permit_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        kind=K.DRUG_PRECURSOR_FILING_CERTIFICATE,
        number="浙公易备〔2026〕00001",
        valid_from=date(2026, 1, 1),
        expires_on=date(2026, 12, 31),
        materials=[world["material"]],
    )


def errors(response: Any) -> dict[str, Any]:
    return response.json()["error"]["fields"]


def test_the_admin_records_a_permit_and_staff_read_it(
    world: dict[str, Any], api_client: Any
) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    material = world["material"]
    response = admin.post(URL, body(materials=[material.pk], note="tank farm"), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["enterprise"] == world["enterprises"]["a1"].pk
    assert created["materials"] == [material.pk]
    assert created["kind"] == K.SAFE_USE_LICENCE and created["note"] == "tank farm"
    assert OutboxEvent.objects.filter(topic="permit.created").count() == 1
    for role in ("trader", "warehouse_keeper", "viewer"):
        listed = api_client(world["users"][role]).get(URL).json()["results"]
        assert [row["id"] for row in listed] == [created["id"]]
    detail = api_client(world["users"]["viewer"]).get(f"{URL}{created['id']}/").json()
    assert detail == created

    response = admin.patch(
        f"{URL}{created['id']}/", {"expires_on": "2029-06-30", "materials": []}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["expires_on"] == "2029-06-30"
    assert response.json()["materials"] == []
    assert admin.delete(f"{URL}{created['id']}/").status_code == 204
    assert not Permit.objects.exists()
    assert OutboxEvent.objects.filter(topic="permit.deleted").count() == 1


@pytest.mark.parametrize("role", ["trader", "warehouse_keeper", "viewer"])
def test_other_roles_never_write(
    role: str, world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    client = api_client(world["users"][role])
    assert client.post(URL, body(), format="json").status_code == 403
    assert client.patch(f"{URL}{permit.pk}/", {"note": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}{permit.pk}/").status_code == 403
    assert Permit.objects.get().note == ""


def test_another_enterprise_finds_nothing(
    world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    other = api_client(world["users"]["other_admin"])  # same park
    assert other.get(URL).json()["results"] == []
    assert other.get(f"{URL}{permit.pk}/").status_code == 404
    assert other.patch(f"{URL}{permit.pk}/", {"note": "x"}, format="json").status_code == 404
    assert other.delete(f"{URL}{permit.pk}/").status_code == 404
    assert api_client(world["users"]["park_c_admin"]).get(f"{URL}{permit.pk}/").status_code == 404
    assert Permit.objects.filter(pk=permit.pk).exists()


@pytest.mark.parametrize("who", ["regulator", "park_operator"])
def test_park_staff_read_their_parks_permits_and_never_write(
    who: str, world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    client = api_client(world["users"][who])
    assert [row["id"] for row in client.get(URL).json()["results"]] == [permit.pk]
    assert client.get(f"{URL}{permit.pk}/").status_code == 200
    assert client.post(URL, body(), format="json").status_code == 403
    assert client.patch(f"{URL}{permit.pk}/", {"note": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}{permit.pk}/").status_code == 403
    far = api_client(world["users"]["regulator_c"])
    assert far.get(URL).json()["results"] == []
    assert far.get(f"{URL}{permit.pk}/").status_code == 404


def test_put_is_not_offered(world: dict[str, Any], api_client: Any, permit: Permit) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    assert admin.put(f"{URL}{permit.pk}/", body(), format="json").status_code == 405


def test_a_superuser_reads_every_permit_but_records_none_without_an_enterprise(
    world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    root = api_client(world["users"]["superuser"])
    assert [row["id"] for row in root.get(URL).json()["results"]] == [permit.pk]
    assert root.post(URL, body(), format="json").status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expires_on": "2025-12-31"}, "expires_on"),
        ({"valid_from": "2026-13-01"}, "valid_from"),
        ({"number": ""}, "number"),
        ({"number": "   "}, "number"),
        ({"number": "x" * 65}, "number"),
        ({"kind": "driving_licence"}, "kind"),
        ({"materials": [10**9]}, "materials"),
        ({"materials": [2**64]}, "materials"),
        ({"materials": [-1]}, "materials"),
        ({"materials": ["abc"]}, "materials"),
        ({"materials": 5}, "materials"),
        ({"materials": list(range(1, 300))}, "materials"),
        ({"note": "x" * 256}, "note"),
        ({"enterprise": 1}, "enterprise"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_bad_input_is_a_400_on_its_field(
    changes: dict[str, Any], field: str, world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    response = admin.post(URL, body(**changes), format="json")
    assert response.status_code == 400, response.json()
    assert field in errors(response)
    response = admin.patch(f"{URL}{permit.pk}/", changes, format="json")
    assert response.status_code == 400, response.json()
    assert field in errors(response)
    assert Permit.objects.count() == 1


def test_a_patch_is_checked_against_the_dates_it_keeps(
    world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    response = admin.patch(f"{URL}{permit.pk}/", {"valid_from": "2027-01-01"}, format="json")
    assert response.status_code == 400
    assert "expires_on" in errors(response)


def test_a_number_twice_is_a_400_on_number(
    world: dict[str, Any], api_client: Any, permit: Permit
) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    again = body(kind=permit.kind, number=permit.number)
    response = admin.post(URL, again, format="json")
    assert response.status_code == 400
    assert "number" in errors(response)


def test_filters(world: dict[str, Any], api_client: Any, permit: Permit) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    licence = admin.post(URL, body(), format="json").json()
    other_material = f.MaterialFactory.create()

    def ids(query: str) -> set[int]:
        response = admin.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(f"kind={K.SAFE_USE_LICENCE}") == {licence["id"]}
    assert ids("valid_on=2027-06-01") == {licence["id"]}
    assert ids("valid_on=2026-06-01") == {licence["id"], permit.pk}
    assert ids(f"material={world['material'].pk}") == {licence["id"], permit.pk}
    assert ids(f"material={other_material.pk}") == {licence["id"]}  # names no material
    assert ids("expires_before=2027-01-01") == {permit.pk}
    for query in (f"material={2**64}", f"enterprise={2**64}", "park=0", "material=x"):
        assert admin.get(f"{URL}?{query}").status_code == 400, query
    assert admin.get(f"{URL}?valid_on=tomorrow").status_code == 400


def test_the_list_costs_the_same_queries_for_any_number_of_permits(
    world: dict[str, Any], api_client: Any, django_assert_max_num_queries: Any
) -> None:
    admin = api_client(world["users"]["enterprise_admin"])
    materials = [f.MaterialFactory.create() for _ in range(3)]
    for n in range(12):
        permit_create(
            actor=resolve_scope(world["users"]["enterprise_admin"]),
            enterprise=world["enterprises"]["a1"],
            kind=K.HIGHLY_TOXIC_PURCHASE_PERMIT,
            number=f"P-{n}",
            valid_from=date(2026, 1, 1),
            expires_on=date(2027, 1, 1),
            materials=materials[: n % 4],
        )
    # Authentication, the capped count, the page, the materials of the page.
    with django_assert_max_num_queries(4):
        response = admin.get(URL)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 12
