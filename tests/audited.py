"""Audit assertions shared by the tests of every write service:

    with one_audit_row(actor=user, action="listing.update", target=listing) as row:
        listing_update(actor=user, listing=listing, price_per_t=Decimal(900))
    assert row.entry.changes == {"price_per_t": ["800.00", "900.00"]}

fails unless the block wrote exactly one audit row, with this actor (a user or their Scope,
or None or ``SYSTEM`` for the system) and action (and target, when given).

An outer service that calls other write services leaves its own row plus theirs:

    with audit_rows(actor=user, action="order.cancel", target=order,
                    inner={"match.release": 1}) as rows:
        order_cancel(actor=user, order=order)

fails unless the block wrote its own row (``action``) exactly once and each named inner
action exactly as many times as given, every row by the same actor with the same request
id. Rows of actions not named (another app's inner rows) are ignored."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max

from access.scope import Scope
from audit.models import AuditEntry


@dataclass
class Written:
    entry: Any = None
    inner: dict[str, list[Any]] = field(default_factory=dict)


def _user_id(actor: Any) -> int | None:
    """The id of the user ``actor`` names: a user, a Scope, or None (the system)."""
    if isinstance(actor, Scope):
        actor = actor.user
    return getattr(actor, "pk", None)


def _last_id() -> int:
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


@contextmanager
def one_audit_row(*, actor: Any, action: str, target: Any = None) -> Iterator[Written]:
    written = Written()
    since = _last_id()
    yield written
    rows = list(AuditEntry.objects.filter(id__gt=since).order_by("id"))
    assert len(rows) == 1, (
        f"expected exactly one audit row ({action}), got {[(r.action, r.username) for r in rows]}"
    )
    (entry,) = rows
    assert entry.action == action, (entry.action, action)
    user_id = _user_id(actor)
    assert entry.user_id == user_id, f"audit row by user {entry.user_id}, expected {user_id}"
    if target is not None:
        assert (entry.object_type, entry.object_id) == (target._meta.label_lower, str(target.pk))
    written.entry = entry


def _check_actor(entry: AuditEntry, actor: Any) -> None:
    user_id = _user_id(actor)
    assert entry.user_id == user_id, (
        f"audit row {entry.action} by user {entry.user_id}, expected {user_id}"
    )


@contextmanager
def audit_rows(
    *, actor: Any, action: str, target: Any = None, inner: Mapping[str, int] | None = None
) -> Iterator[Written]:
    written = Written()
    since = _last_id()
    yield written
    rows = list(AuditEntry.objects.filter(id__gt=since).order_by("id"))
    own = [r for r in rows if r.action == action]
    assert len(own) == 1, (
        f"expected its own row ({action}) exactly once, got {[r.action for r in rows]}"
    )
    (entry,) = own
    if target is not None:
        assert (entry.object_type, entry.object_id) == (target._meta.label_lower, str(target.pk))
    for name, count in (inner or {}).items():
        found = [r for r in rows if r.action == name]
        assert len(found) == count, (
            f"expected {count} inner row(s) {name}, got {[r.action for r in rows]}"
        )
        written.inner[name] = found
    for row in [entry, *(r for found in written.inner.values() for r in found)]:
        _check_actor(row, actor)
        assert row.request_id == entry.request_id, (row.action, row.request_id, entry.request_id)
    written.entry = entry
