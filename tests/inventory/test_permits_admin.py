"""The permits' admin: tenant-scoped like the other inventory admins, writing through
inventory.services.permit_*."""

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from access.scope import resolve_scope
from common.models import OutboxEvent
from inventory.controls import PermitKind
from inventory.models import Permit
from inventory.services import permit_create
from tests.test_admin import changelist_pks, client_for

pytestmark = pytest.mark.django_db
K = PermitKind


@pytest.fixture
def world(world: dict[str, Any]) -> dict[str, Any]:
    """The conftest world with staff logins (the admin serves only staff users)."""
    for user in world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return world


def form(**changes: Any) -> dict[str, Any]:
    return {
        "kind": K.SAFE_USE_LICENCE,
        "number": "（浙）WH安使证字〔2026〕0009",
        "valid_from": "2026-01-01",
        "expires_on": "2028-12-31",
        "note": "",
        **changes,
    }


@pytest.fixture
def permit(world: dict[str, Any]) -> Permit:
    return permit_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        kind=K.BUSINESS_LICENCE,
        number="浙甬安经字〔2026〕000001",
        valid_from=date(2026, 1, 1),
        expires_on=date(2028, 12, 31),
    )


def test_the_admin_adds_changes_and_deletes_a_permit_through_the_services(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    response = client.post(
        reverse("admin:inventory_permit_add"), form(materials=[world["material"].pk])
    )
    assert response.status_code == 302
    permit = Permit.objects.get()
    assert permit.enterprise == world["enterprises"]["a1"]
    assert list(permit.materials.all()) == [world["material"]]
    change = reverse("admin:inventory_permit_change", args=[permit.pk])
    response = client.post(change, form(expires_on="2029-01-31"))
    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.expires_on == date(2029, 1, 31)
    assert not permit.materials.exists()
    response = client.post(
        reverse("admin:inventory_permit_delete", args=[permit.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Permit.objects.exists()
    topics = list(
        OutboxEvent.objects.filter(topic__startswith="permit.")
        .order_by("id")
        .values_list("topic", flat=True)
    )
    assert topics == ["permit.created", "permit.updated", "permit.deleted"]


def test_a_refusal_of_the_service_is_a_form_error(world: dict[str, Any], permit: Permit) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    response = client.post(reverse("admin:inventory_permit_add"), form(expires_on="2025-01-01"))
    assert response.status_code == 200
    assert "expires_on" in response.context["adminform"].form.errors
    duplicate = form(kind=permit.kind, number=permit.number)
    response = client.post(reverse("admin:inventory_permit_add"), duplicate)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Permit.objects.count() == 1


def test_staff_read_park_staff_read_others_find_nothing(
    world: dict[str, Any], permit: Permit
) -> None:
    change = reverse("admin:inventory_permit_change", args=[permit.pk])
    for who in ("viewer", "trader", "regulator", "park_operator"):
        client = client_for(world["users"][who])
        assert changelist_pks(client, "inventory_permit") == {permit.pk}, who
        assert client.get(change).status_code == 200, who  # read-only page
        assert client.get(reverse("admin:inventory_permit_add")).status_code == 403, who
        assert client.post(change, form(note="x")).status_code == 403, who
        delete = reverse("admin:inventory_permit_delete", args=[permit.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403, who
    other = client_for(world["users"]["other_admin"])
    assert changelist_pks(other, "inventory_permit") == set()
    assert other.get(change).status_code == 302  # "doesn't exist": back to the index
    assert Permit.objects.get().note == ""


def test_a_superuser_names_the_enterprise(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["superuser"])
    enterprise = world["enterprises"]["b"]
    response = client.post(reverse("admin:inventory_permit_add"), form(enterprise=enterprise.pk))
    assert response.status_code == 302
    assert Permit.objects.get().enterprise == enterprise
