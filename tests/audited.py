"""Audit assertions shared by the tests of every write service:

    with one_audit_row(actor=user, action="listing.update", target=listing) as row:
        listing_update(actor=user, listing=listing, price_per_t=Decimal(900))
    assert row.entry.changes == {"price_per_t": ["800.00", "900.00"]}

fails unless the block wrote exactly one audit row, with this actor (user, or None for the
system) and action (and target, when given)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db.models import Max

from audit.models import AuditEntry


@dataclass
class Written:
    entry: Any = None


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
    user_id = getattr(actor, "pk", None)
    assert entry.user_id == user_id, f"audit row by user {entry.user_id}, expected {user_id}"
    if target is not None:
        assert (entry.object_type, entry.object_id) == (target._meta.label_lower, str(target.pk))
    written.entry = entry
