"""The audit trail is append-only: in Python (model and queryset) and, on PostgreSQL, in
the database (a trigger refuses UPDATE and DELETE by any path)."""

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from access.scope import resolve_scope
from audit.models import AuditEntry
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(world: dict[str, Any]) -> AuditEntry:
    return audit_record(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        action="enterprise.update",
        target=world["enterprises"]["a1"],
        changes={"name_en": ["Old", "New"]},
    )


def test_a_row_is_never_saved_again_or_deleted(entry: AuditEntry) -> None:
    entry.note = "edited"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(note="edited")
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).note == ""


def test_the_time_is_the_databases(entry: AuditEntry) -> None:
    entry.refresh_from_db()
    assert entry.at is not None


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete_by_raw_sql(
    on_postgres: None, entry: AuditEntry
) -> None:
    for sql in (
        "UPDATE audit_auditentry SET note = 'edited' WHERE id = %s",
        "UPDATE audit_auditentry SET action = 'x', user_id = NULL WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk, note="", action="enterprise.update").exists()


@pytest.mark.postgres
def test_a_deleted_user_keeps_their_rows_by_name(
    on_postgres: None, world: dict[str, Any], entry: AuditEntry
) -> None:
    """The one update the trigger lets through: on_delete=SET_NULL clearing the user."""
    user = world["users"]["enterprise_admin"]
    username = user.username
    user.delete()
    entry.refresh_from_db()
    assert entry.user_id is None
    assert entry.username == username
    assert entry.changes == {"name_en": ["Old", "New"]}


def test_a_tenant_with_history_is_not_deleted(world: dict[str, Any], entry: AuditEntry) -> None:
    """The row's keys carry no database constraint (no lock on the tenant's row in every
    write); Django's on_delete still refuses deleting what the trail names."""
    enterprise = entry.enterprise
    assert enterprise is not None
    with pytest.raises(ProtectedError):
        enterprise.delete()
    with pytest.raises(ProtectedError):
        world["parks"]["a"].delete()
    assert AuditEntry.objects.filter(pk=entry.pk, enterprise=enterprise).exists()
