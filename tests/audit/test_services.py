"""audit_record: who (from the actor's Scope), how and which request (from the context),
what changed (JSON values that lose nothing)."""

import datetime
from decimal import Decimal
from typing import Any

import pytest
from celery import shared_task
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from access.scope import SYSTEM, resolve_scope
from audit.context import audit_context
from audit.models import AuditEntry
from audit.services import audit_record, changes_between, json_value, snapshot

pytestmark = pytest.mark.django_db


def test_changes_between_keeps_only_what_changed_as_json() -> None:
    before = {"price": Decimal("800.00"), "qty": Decimal("10"), "on": datetime.date(2026, 1, 1)}
    after = {"price": Decimal("900.00"), "qty": Decimal("10.000"), "on": datetime.date(2026, 2, 1)}
    assert changes_between(before, after) == {
        "price": ["800.00", "900.00"],
        "on": ["2026-01-01", "2026-02-01"],
    }
    assert changes_between({}, {"status": "draft", "note": None}) == {"status": [None, "draft"]}


def test_json_value_loses_no_digit() -> None:
    assert json_value(Decimal("0.1")) == "0.1"
    assert json_value({"a": [Decimal("1.50"), {2, 1}]}) == {"a": ["1.50", [1, 2]]}


def test_snapshot_reads_foreign_keys_as_their_keys(world: dict[str, Any]) -> None:
    zone = world["zones"]["a1"]
    values = snapshot(zone, ("warehouse", "name"))
    assert values == {"warehouse": zone.warehouse_id, "name": zone.name}


def test_who_comes_from_the_actors_membership(world: dict[str, Any]) -> None:
    admin = world["users"]["enterprise_admin"]
    entry = audit_record(
        actor=resolve_scope(admin), action="lot.update", target=world["zones"]["a1"]
    )
    enterprise = world["enterprises"]["a1"]
    assert (entry.user_id, entry.username) == (admin.pk, admin.username)
    assert (entry.enterprise_id, entry.park_id) == (enterprise.pk, enterprise.park_id)
    assert entry.role == "enterprise_admin"
    assert (entry.object_type, entry.object_id) == (
        "inventory.storagezone",
        str(world["zones"]["a1"].pk),
    )
    # Outside a request: a command, no request id.
    assert (entry.via, entry.request_id) == ("command", "")


def test_the_owner_may_be_named(world: dict[str, Any]) -> None:
    root = world["users"]["superuser"]
    b = world["enterprises"]["b"]
    entry = audit_record(actor=resolve_scope(root), action="x.y", target=b, enterprise=b)
    assert (entry.role, entry.enterprise_id, entry.park_id) == ("superuser", b.pk, b.park_id)


def test_an_owner_named_by_its_key_costs_no_query_more(world: dict[str, Any]) -> None:
    """The INSERT reads the owner's park itself: hot services pass ``lot.owner_id``."""
    trader = world["users"]["trader"]
    b = world["enterprises"]["b"]
    assert b.park_id != world["enterprises"]["a1"].park_id
    scope = resolve_scope(trader)
    with CaptureQueriesContext(connection) as queries:
        entry = audit_record(actor=scope, action="x.y", target=b, enterprise=b.pk)
    assert len(queries) == 1
    assert (entry.enterprise_id, entry.park_id) == (b.pk, b.park_id)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.enterprise_id, stored.park_id) == (b.pk, b.park_id)


def test_the_actors_own_enterprise_by_key_is_the_scopes(world: dict[str, Any]) -> None:
    admin = world["users"]["enterprise_admin"]
    a1 = world["enterprises"]["a1"]
    scope = resolve_scope(admin)
    with CaptureQueriesContext(connection) as queries:
        entry = audit_record(actor=scope, action="x.y", target=a1, enterprise=a1.pk)
    assert len(queries) == 1
    assert (entry.enterprise_id, entry.park_id) == (a1.pk, a1.park_id)


def test_park_staff_rows_belong_to_their_park(world: dict[str, Any]) -> None:
    operator = world["users"]["park_operator"]
    entry = audit_record(
        actor=resolve_scope(operator), action="zone.update", target=world["zones"]["shared"]
    )
    assert (entry.role, entry.enterprise_id, entry.park_id) == (
        "park_operator",
        None,
        world["parks"]["a"].pk,
    )


@pytest.mark.parametrize("who", ["enterprise_admin", "nobody"])
def test_an_actor_that_is_not_a_scope_is_refused(who: str, world: dict[str, Any]) -> None:
    """A call site passing a bare user (or None) instead of the caller's Scope fails loudly,
    before any row is written: nothing resolves the Scope a second time."""
    actor: Any = world["users"][who] if who != "nobody" else None
    with pytest.raises(TypeError, match="Scope"):
        audit_record(actor=actor, action="x.y", target=world["parks"]["a"])
    assert not AuditEntry.objects.exists()


def test_the_system_acts_with_no_user(world: dict[str, Any]) -> None:
    entry = audit_record(actor=SYSTEM, action="need.expire", target=world["enterprises"]["b"])
    assert (entry.user_id, entry.username, entry.role) == (None, "", "")


def test_how_and_which_request_come_from_the_context(world: dict[str, Any]) -> None:
    with audit_context(request_id="job-42", via="task"):
        entry = audit_record(actor=SYSTEM, action="x.y", target=world["parks"]["a"])
    assert (entry.via, entry.request_id) == ("task", "job-42")


def test_a_write_rolled_back_leaves_no_row(world: dict[str, Any]) -> None:
    def write_that_fails_after_its_row() -> None:
        with transaction.atomic():
            audit_record(actor=SYSTEM, action="x.y", target=world["parks"]["a"])
            raise RuntimeError("the write fails after its audit row")

    with pytest.raises(RuntimeError):
        write_that_fails_after_its_row()
    assert not AuditEntry.objects.exists()


@shared_task(name="tests.audit.write_in_a_task")
def write_in_a_task(park_id: int) -> int:
    from parks.models import Park

    return audit_record(actor=SYSTEM, action="x.task", target=Park.objects.get(pk=park_id)).pk


def test_a_task_writes_as_a_task_with_its_id(world: dict[str, Any]) -> None:
    result = write_in_a_task.apply(args=(world["parks"]["a"].pk,))
    entry = AuditEntry.objects.get(pk=result.get())
    assert (entry.via, entry.request_id) == ("task", result.id)
    # Back outside the task: a command again.
    after = audit_record(actor=SYSTEM, action="x.y", target=world["parks"]["a"])
    assert after.via == "command"


def test_a_task_run_within_a_request_keeps_its_id(world: dict[str, Any]) -> None:
    with audit_context(request_id="req-9"):
        result = write_in_a_task.apply(args=(world["parks"]["a"].pk,))
        inside = audit_record(actor=SYSTEM, action="x.y", target=world["parks"]["a"])
    entry = AuditEntry.objects.get(pk=result.get())
    assert (entry.via, entry.request_id) == ("task", "req-9")
    assert (inside.via, inside.request_id) == ("command", "req-9")
