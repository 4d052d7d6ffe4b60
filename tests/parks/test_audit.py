"""Each write of the enterprise directory leaves exactly one audit row, in the enterprise's
own trail, with its details (licence, activation) before and after."""

from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from audit.models import AuditEntry
from common.exceptions import DomainError
from parks.services import enterprise_create, enterprise_update
from tests.audited import one_audit_row
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db


def test_enterprise_create_records_every_detail(world: dict[str, Any]) -> None:
    operator = world["users"]["park_operator"]
    park = world["parks"]["a"]
    with one_audit_row(actor=operator, action="enterprise.create") as row:
        enterprise = enterprise_create(
            actor=resolve_scope(operator),
            park=park,
            uscc=make_uscc(9001),
            name_zh="审计化工",
            latitude=Decimal("30.2"),
            longitude=Decimal("121.4"),
            hazchem_licence_no="ZJ-WH-001",
        )
    entry = row.entry
    assert entry.object_id == str(enterprise.pk)
    assert entry.changes["hazchem_licence_no"] == [None, "ZJ-WH-001"]
    assert entry.changes["park"] == [None, park.pk]
    assert entry.changes["is_active"] == [None, True]
    assert (entry.enterprise_id, entry.park_id, entry.role) == (
        enterprise.pk,
        park.pk,
        "park_operator",
    )


def test_enterprise_update_records_only_the_changed_details(world: dict[str, Any]) -> None:
    admin = world["users"]["enterprise_admin"]
    a1 = world["enterprises"]["a1"]
    licence = a1.hazchem_licence_no
    with one_audit_row(actor=admin, action="enterprise.update", target=a1) as row:
        enterprise_update(
            actor=resolve_scope(admin),
            enterprise=a1,
            hazchem_licence_no="ZJ-WH-777",
            name_zh=a1.name_zh,
        )
    assert row.entry.changes == {"hazchem_licence_no": [licence, "ZJ-WH-777"]}
    assert (row.entry.enterprise_id, row.entry.role) == (a1.pk, "enterprise_admin")


def test_a_refused_update_leaves_no_row(world: dict[str, Any]) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        enterprise_update(
            actor=resolve_scope(world["users"]["superuser"]),
            enterprise=world["enterprises"]["a1"],
            uscc=world["enterprises"]["b"].uscc,
        )
    assert AuditEntry.objects.count() == before
