"""Who acts for which is audited: memberships and park roles granted, changed and revoked,
through parks.services, from the admin as from code. So are the park directory and the
deletion of warehouses and zones, the other admin writes that had no service."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from access.models import Membership, ParkRole
from access.scope import resolve_scope
from audit.models import AuditEntry
from common.exceptions import DomainError
from inventory.models import StorageZone, Warehouse
from inventory.services import warehouse_delete, zone_delete
from parks.models import Park
from parks.services import (
    membership_grant,
    membership_revoke,
    membership_update,
    park_create,
    park_role_grant,
    park_role_revoke,
    park_role_update,
    park_update,
)
from tests import factories as f
from tests.audited import one_audit_row
from tests.test_admin import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: dict[str, Any]) -> dict[str, Any]:
    for user in world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return world


def actions_since(last: int) -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(id__gt=last).order_by("id").values_list("action", "object_id")
    )


def last_id() -> int:
    entry = AuditEntry.objects.order_by("-id").first()
    return entry.pk if entry else 0


# --- the services ------------------------------------------------------------------------


def test_a_membership_granted_changed_and_revoked_leaves_one_row_each(
    world: dict[str, Any],
) -> None:
    admin = world["users"]["enterprise_admin"]
    scope = resolve_scope(admin)
    a1 = world["enterprises"]["a1"]
    login = f.UserFactory.create()
    with one_audit_row(actor=admin, action="membership.grant") as row:
        membership = membership_grant(actor=scope, user=login, enterprise=a1, role="viewer")
    assert row.entry.changes == {
        "user": [None, login.pk],
        "enterprise": [None, a1.pk],
        "role": [None, "viewer"],
    }
    assert (row.entry.enterprise_id, row.entry.park_id) == (a1.pk, a1.park_id)
    with one_audit_row(actor=admin, action="membership.update", target=membership) as row:
        membership_update(actor=scope, membership=membership, role="enterprise_admin")
    assert row.entry.changes == {"role": ["viewer", "enterprise_admin"]}
    with one_audit_row(actor=admin, action="membership.revoke", target=membership) as row:
        membership_revoke(actor=scope, membership=membership)
    assert row.entry.changes["role"] == ["enterprise_admin", None]
    assert not Membership.objects.filter(user=login).exists()


def test_a_login_acts_for_one_enterprise_and_a_bad_role_is_refused(world: dict[str, Any]) -> None:
    scope = resolve_scope(world["users"]["superuser"])
    trader = world["users"]["trader"]
    before = last_id()
    with pytest.raises(DomainError) as refused:
        membership_grant(
            actor=scope, user=trader, enterprise=world["enterprises"]["b"], role="trader"
        )
    assert refused.value.field == "user"
    with pytest.raises(ValidationError) as invalid:
        membership_grant(
            actor=scope,
            user=f.UserFactory.create(),
            enterprise=world["enterprises"]["b"],
            role="boss",
        )
    assert "role" in invalid.value.message_dict
    assert actions_since(before) == []


def test_a_park_role_granted_and_revoked_is_in_the_parks_trail(world: dict[str, Any]) -> None:
    root = world["users"]["superuser"]
    scope = resolve_scope(root)
    park = world["parks"]["b"]
    login = f.UserFactory.create()
    with one_audit_row(actor=root, action="park_role.grant") as row:
        role = park_role_grant(actor=scope, user=login, park=park, role="regulator")
    assert (row.entry.park_id, row.entry.enterprise_id) == (park.pk, None)
    assert row.entry.changes["role"] == [None, "regulator"]
    with pytest.raises(DomainError) as twice:
        park_role_grant(actor=scope, user=login, park=park, role="regulator")
    assert twice.value.field == "role"
    with one_audit_row(actor=root, action="park_role.update", target=role) as row:
        role = park_role_update(actor=scope, park_role=role, role="park_operator")
    assert row.entry.changes == {"role": ["regulator", "park_operator"]}
    with one_audit_row(actor=root, action="park_role.revoke", target=role):
        park_role_revoke(actor=scope, park_role=role)
    assert not ParkRole.objects.filter(user=login).exists()


def test_parks_are_created_and_changed_with_a_row(world: dict[str, Any]) -> None:
    root = world["users"]["superuser"]
    scope = resolve_scope(root)
    with one_audit_row(actor=root, action="park.create") as row:
        park = park_create(
            actor=scope,
            code="park-new",
            name_zh="新园区",
            name_en="New Park",
            division_code="330211",
            latitude=Decimal("29.9"),
            longitude=Decimal("121.6"),
            area_mu=Decimal("1200"),
        )
    assert row.entry.park_id == park.pk
    assert row.entry.changes["code"] == [None, "park-new"]
    with one_audit_row(actor=root, action="park.update", target=park) as row:
        park_update(actor=scope, park=park, name_en="Newer Park")
    assert row.entry.changes == {"name_en": ["New Park", "Newer Park"]}
    with pytest.raises(DomainError) as taken:
        park_update(actor=scope, park=park, code=world["parks"]["a"].code)
    assert taken.value.field == "code"


def test_an_empty_zone_and_warehouse_are_deleted_with_a_row(
    world: dict[str, Any], receive: Any
) -> None:
    admin = world["users"]["enterprise_admin"]
    scope = resolve_scope(admin)
    warehouse = f.WarehouseFactory.create(owner=world["enterprises"]["a1"])
    empty = f.StorageZoneFactory.create(warehouse=warehouse)
    used = f.StorageZoneFactory.create(warehouse=warehouse)
    receive(zone=used, material=world["material"])
    with one_audit_row(actor=admin, action="zone.delete", target=empty) as row:
        zone_delete(actor=scope, zone=empty)
    assert row.entry.changes["code"] == [empty.code, None]
    before = last_id()
    with pytest.raises(DomainError) as kept:
        zone_delete(actor=scope, zone=used)
    assert kept.value.field == "zone"
    with pytest.raises(DomainError) as kept:
        warehouse_delete(actor=scope, warehouse=warehouse)
    assert kept.value.field == "warehouse"
    assert actions_since(before) == []
    assert StorageZone.objects.filter(pk=used.pk).exists()
    bare = f.WarehouseFactory.create(owner=world["enterprises"]["a1"])
    f.StorageZoneFactory.create(warehouse=bare, code="Z9")
    with one_audit_row(actor=admin, action="warehouse.delete", target=bare) as row:
        warehouse_delete(actor=scope, warehouse=bare)
    assert row.entry.note == "zones: Z9"
    assert not Warehouse.objects.filter(pk=bare.pk).exists()


# --- the admin writes through them --------------------------------------------------------


def test_an_enterprise_admin_invites_changes_and_removes_staff_in_the_trail(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    login = f.UserFactory.create(username="new.colleague")
    before = last_id()
    response = client.post(
        reverse("admin:access_membership_add"), {"username": login.username, "role": "viewer"}
    )
    assert response.status_code == 302, response.content[:2000]
    membership = Membership.objects.get(user=login)
    assert membership.enterprise == world["enterprises"]["a1"]
    change = reverse("admin:access_membership_change", args=[membership.pk])
    assert client.post(change, {"role": "trader"}).status_code == 302
    delete = reverse("admin:access_membership_delete", args=[membership.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    key = str(membership.pk)
    assert actions_since(before) == [
        ("membership.grant", key),
        ("membership.update", key),
        ("membership.revoke", key),
    ]
    rows = AuditEntry.objects.filter(id__gt=before)
    assert {row.user_id for row in rows} == {world["users"]["enterprise_admin"].pk}
    assert {row.via for row in rows} == {"session"}


def test_a_superuser_grants_a_park_role_and_bulk_revokes_in_the_trail(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["superuser"])
    login = f.UserFactory.create()
    park = world["parks"]["c"]
    before = last_id()
    response = client.post(
        reverse("admin:access_parkrole_add"),
        {"user": login.pk, "park": park.pk, "role": "park_operator"},
    )
    assert response.status_code == 302
    role = ParkRole.objects.get(user=login)
    response = client.post(
        reverse("admin:access_parkrole_changelist"),
        {"action": "delete_selected", "_selected_action": [role.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert actions_since(before) == [
        ("park_role.grant", str(role.pk)),
        ("park_role.revoke", str(role.pk)),
    ]
    assert AuditEntry.objects.filter(id__gt=before, park=park).count() == 2


def test_a_duplicate_grant_in_the_admin_is_a_form_error_with_nothing_written(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["superuser"])
    regulator = world["users"]["regulator"]
    before = last_id()
    response = client.post(
        reverse("admin:access_parkrole_add"),
        {"user": regulator.pk, "park": world["parks"]["a"].pk, "role": "regulator"},
    )
    assert response.status_code == 200  # the form again, with the reason
    assert response.context["adminform"].form.errors
    assert actions_since(before) == []


def test_the_admin_deletes_zones_and_changes_parks_through_the_services(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["superuser"])
    park = world["parks"]["c"]
    before = last_id()
    data = {
        "code": park.code,
        "name_zh": park.name_zh,
        "name_en": "Renamed",
        "division_code": park.division_code,
        "latitude": park.latitude,
        "longitude": park.longitude,
        "area_mu": park.area_mu,
    }
    response = client.post(reverse("admin:parks_park_change", args=[park.pk]), data)
    assert response.status_code == 302, response.content[:2000]
    zone = f.StorageZoneFactory.create(warehouse=world["zones"]["c"].warehouse)
    response = client.post(
        reverse("admin:inventory_storagezone_delete", args=[zone.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert actions_since(before) == [("park.update", str(park.pk)), ("zone.delete", str(zone.pk))]
    assert Park.objects.get(pk=park.pk).name_en == "Renamed"
