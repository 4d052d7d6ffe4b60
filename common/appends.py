"""Append-only rows (outbox events, audit entries) written together at the end of a block.

A service on a hot path writes several such rows: an emergency draw writes three events and
two audit entries, five INSERTs. Inside ``appended_together()`` each is kept in memory and
all are written at the end of the block, one INSERT per table, in the order they were
appended; nothing reads them before (they are append-only: written, then read by others
after commit). Outside such a block ``append_row`` writes at once.

The block lives inside the caller's transaction (an atomic block is required) and ends
before it does: if the block raises, its rows are dropped with the rest of its writes. A
row appended from a deeper savepoint than the block's own is written at once instead, so
that it goes with that savepoint if the savepoint is rolled back.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import Model

AfterWrite = Callable[[Model], None]


@dataclass
class _Block:
    using: str
    savepoints: frozenset[str]
    rows: list[tuple[Model, AfterWrite | None]] = field(default_factory=list)

    def is_current(self) -> bool:
        """True while no savepoint deeper than the block's own is open."""
        return _savepoints(self.using) == self.savepoints


_block: ContextVar[_Block | None] = ContextVar("appended_together", default=None)


def _savepoints(using: str) -> frozenset[str]:
    """The open savepoints (an atomic block without one of its own stands as None)."""
    return frozenset(s for s in connections[using].savepoint_ids if s is not None)


@contextmanager
def appended_together(using: str = "default") -> Iterator[None]:
    """Write the rows appended inside the block (``append_row``) at its end, one INSERT per
    table. Nested blocks join the outermost one."""
    if _block.get() is not None:
        yield
        return
    if not connections[using].in_atomic_block:
        raise transaction.TransactionManagementError(
            "appended_together() needs a transaction: its rows are written at its end"
        )
    block = _Block(using=using, savepoints=_savepoints(using))
    token = _block.set(block)
    try:
        yield
    finally:
        _block.reset(token)
    _write(block)


def _write(block: _Block) -> None:
    by_model: dict[type[Model], list[Model]] = {}
    for row, _then in block.rows:
        by_model.setdefault(type(row), []).append(row)
    for model, rows in by_model.items():
        model._default_manager.using(block.using).bulk_create(rows)
    for row, then in block.rows:
        if then is not None:
            then(row)


def append_row(row: Model, *, then: AfterWrite | None = None, using: str = "default") -> Model:
    """INSERT ``row`` now, or with the enclosing ``appended_together`` block's rows at its
    end (then its primary key is set only there); ``then(row)`` is called once it is
    written."""
    block = _block.get()
    if block is None or block.using != using or not block.is_current():
        row.save(force_insert=True, using=using)
        if then is not None:
            then(row)
        return row
    block.rows.append((row, then))
    return row
