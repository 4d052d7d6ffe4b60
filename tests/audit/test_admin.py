"""The audit trail in the admin: read-only, scoped like the API."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from access.scope import resolve_scope
from audit.models import AuditEntry
from audit.services import audit_record

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:audit_auditentry_changelist"


def client_for(user: Any) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rows(world: dict[str, Any]) -> dict[str, AuditEntry]:
    users, enterprises = world["users"], world["enterprises"]
    return {
        name: audit_record(
            actor=resolve_scope(users[user]), action="enterprise.update", target=enterprises[name]
        )
        for name, user in (("a1", "enterprise_admin"), ("a2", "other_admin"), ("c", "park_c_admin"))
    }


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("enterprise_admin", {"a1"}),
        ("regulator", {"a1", "a2"}),
        ("regulator_c", {"c"}),
        ("superuser", {"a1", "a2", "c"}),
    ],
)
def test_the_changelist_is_scoped_and_read_only(
    who: str, sees: set[str], world: dict[str, Any], rows: dict[str, AuditEntry]
) -> None:
    client = client_for(world["users"][who])
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert {obj.pk for obj in response.context["cl"].result_list} == {
        rows[name].pk for name in sees
    }
    for name, row in rows.items():
        url = reverse("admin:audit_auditentry_change", args=[row.pk])
        page = client.get(url)
        if name in sees:
            assert page.status_code == 200
            assert client.post(url, {"note": "edited"}).status_code == 403
        else:
            assert page.status_code in (302, 404)  # the admin's "not found" for out of scope
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert not AuditEntry.objects.filter(note="edited").exists()


@pytest.mark.parametrize("role", ["trader", "viewer"])
def test_other_roles_see_no_trail(role: str, world: dict[str, Any], rows: Any) -> None:
    client = client_for(world["users"][role])
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_the_changelist_fits_without_the_navigation_sidebar(
    world: dict[str, Any], rows: dict[str, AuditEntry]
) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    response = client.get(reverse(CHANGELIST))
    assert response.context["is_nav_sidebar_enabled"] is False
    html = response.content.decode()
    assert f"parks.enterprise #{world['enterprises']['a1'].pk}" in html
