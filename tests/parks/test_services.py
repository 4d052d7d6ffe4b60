"""Services of the enterprise directory: registration, changes, and what they refuse."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import SYSTEM, resolve_scope
from common.exceptions import DomainError
from parks.models import Enterprise
from parks.services import enterprise_create, enterprise_update
from tests.concurrency import run_concurrently
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db


def register(world: dict[str, Any], **overrides: Any) -> Enterprise:
    fields: dict[str, Any] = {
        "park": world["parks"]["a"],
        "uscc": make_uscc(950),
        "name_zh": "新材料公司",
        "latitude": Decimal("29.95"),
        "longitude": Decimal("121.71"),
    }
    fields.update(overrides)
    return enterprise_create(actor=resolve_scope(world["users"]["park_operator"]), **fields)


def test_enterprise_create_registers_an_active_enterprise(world: dict[str, Any]) -> None:
    enterprise = register(world, name_en="New Materials Co.", industry="coatings")
    stored = Enterprise.objects.get(pk=enterprise.pk)
    assert stored.park == world["parks"]["a"]
    assert (stored.uscc, stored.name_en, stored.industry) == (
        make_uscc(950),
        "New Materials Co.",
        "coatings",
    )
    assert stored.is_active


def test_enterprise_create_refuses_a_registered_uscc_naming_it(world: dict[str, Any]) -> None:
    before = Enterprise.objects.count()
    with pytest.raises(DomainError) as info:
        register(world, uscc=world["enterprises"]["b"].uscc)
    assert info.value.field == "uscc"
    assert info.value.status_code == 400
    assert Enterprise.objects.count() == before


def test_enterprise_update_writes_the_changes(world: dict[str, Any]) -> None:
    enterprise = world["enterprises"]["a1"]
    updated = enterprise_update(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=enterprise,
        name_en="Renamed Co.",
        hazchem_licence_no="ZJ-2026-7",
    )
    assert (updated.name_en, updated.hazchem_licence_no) == ("Renamed Co.", "ZJ-2026-7")
    enterprise.refresh_from_db()
    assert (enterprise.name_en, enterprise.hazchem_licence_no) == ("Renamed Co.", "ZJ-2026-7")
    assert enterprise.uscc == updated.uscc


def test_enterprise_update_writes_only_the_changed_columns(world: dict[str, Any]) -> None:
    stale = Enterprise.objects.get(pk=world["enterprises"]["a1"].pk)
    Enterprise.objects.filter(pk=stale.pk).update(industry="changed meanwhile")
    enterprise_update(actor=SYSTEM, enterprise=stale, name_en="Renamed Co.")
    fresh = Enterprise.objects.get(pk=stale.pk)
    assert (fresh.name_en, fresh.industry) == ("Renamed Co.", "changed meanwhile")


@pytest.mark.parametrize("field", ["id", "created_at", "members", "owner"])
def test_enterprise_update_refuses_unknown_and_immutable_fields(
    world: dict[str, Any], field: str
) -> None:
    enterprise = world["enterprises"]["a1"]
    before = Enterprise.objects.filter(pk=enterprise.pk).values().get()
    with pytest.raises(DomainError) as info:
        enterprise_update(actor=SYSTEM, enterprise=enterprise, name_en="x", **{field: 1})
    assert info.value.field == field
    assert Enterprise.objects.filter(pk=enterprise.pk).values().get() == before


def test_enterprise_update_refuses_a_taken_uscc_naming_it(world: dict[str, Any]) -> None:
    enterprise = world["enterprises"]["a1"]
    with pytest.raises(DomainError) as info:
        enterprise_update(actor=SYSTEM, enterprise=enterprise, uscc=world["enterprises"]["c"].uscc)
    assert info.value.field == "uscc"
    enterprise.refresh_from_db()
    assert enterprise.uscc != world["enterprises"]["c"].uscc


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_concurrent_registrations_of_one_uscc(world: dict[str, Any]) -> None:
    results = run_concurrently(8, lambda i: register(world, name_zh=f"公司{i}"))

    assert sum(isinstance(r, Enterprise) for r in results) == 1
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 7, results
    assert {r.field for r in refused} == {"uscc"}
    assert Enterprise.objects.filter(uscc=make_uscc(950)).count() == 1
