"""Append-only rows written together at the end of a block (common.appends)."""

from typing import Any, TypedDict

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from access.scope import SYSTEM
from audit.models import AuditEntry
from audit.services import audit_record
from common import events
from common.appends import appended_together
from common.events import declare, event_emit
from common.models import OutboxEvent
from common.tasks import outbox_fanout
from tests import factories as f

pytestmark = pytest.mark.django_db


class Count(TypedDict):
    n: int


APPENDED = declare("test.appended", Count, "A test's event, appended in a block.")


@pytest.fixture(autouse=True)
def no_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "_subscribers", {})


def inserts(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split('"')[1] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]


def test_the_blocks_rows_are_written_at_its_end_one_insert_per_table() -> None:
    park = f.ParkFactory.create()
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        with appended_together():
            first = event_emit(topic=APPENDED, payload={"n": 1})
            entry = audit_record(actor=SYSTEM, action="x.one", target=park, park=park.pk)
            event_emit(topic=APPENDED, payload={"n": 2})
            audit_record(actor=SYSTEM, action="x.two", target=park, park=park.pk)
            last = event_emit(topic=APPENDED, payload={"n": 3})
            assert inserts(ctx) == []
            assert first.pk is None and entry.pk is None
        assert sorted(inserts(ctx)) == ["audit_auditentry", "common_outboxevent"]
    assert first.pk is not None and entry.pk is not None
    ns = list(OutboxEvent.objects.filter(topic="test.appended").order_by("pk"))
    assert [e.payload["n"] for e in ns] == [1, 2, 3]
    assert ns[0].pk == first.pk and ns[-1].pk == last.pk
    actions = AuditEntry.objects.filter(object_id=str(park.pk)).order_by("pk")
    assert [a.action for a in actions] == ["x.one", "x.two"]


def test_a_block_that_raises_writes_nothing() -> None:
    def refused() -> None:
        with appended_together():
            event_emit(topic=APPENDED, payload={"n": 1})
            raise RuntimeError("refused")

    with transaction.atomic(), pytest.raises(RuntimeError):
        refused()
    assert not OutboxEvent.objects.filter(topic="test.appended").exists()


def test_a_row_of_a_deeper_savepoint_is_written_at_once_and_rolled_back_with_it() -> None:
    with transaction.atomic(), appended_together():
        kept = event_emit(topic=APPENDED, payload={"n": 1})
        try:
            with transaction.atomic():
                inner = event_emit(topic=APPENDED, payload={"n": 2})
                assert inner.pk is not None  # written at once, inside the savepoint
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert kept.pk is None
    got = OutboxEvent.objects.filter(topic="test.appended").values_list("payload__n", flat=True)
    assert list(got) == [1]


def test_a_nested_block_joins_the_outermost() -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        with appended_together():
            with appended_together():
                inner = event_emit(topic=APPENDED, payload={"n": 1})
            assert inner.pk is None and inserts(ctx) == []
            event_emit(topic=APPENDED, payload={"n": 2})
        assert inserts(ctx) == ["common_outboxevent"]


@pytest.mark.django_db(transaction=True)
def test_a_block_needs_a_transaction() -> None:
    with pytest.raises(transaction.TransactionManagementError), appended_together():
        pass


def test_the_blocks_events_are_fanned_out_in_one_task_after_commit(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(outbox_fanout, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with appended_together():
            one = event_emit(topic=APPENDED, payload={"n": 1})
            two = event_emit(topic=APPENDED, payload={"n": 2})
        three = event_emit(topic=APPENDED, payload={"n": 3})
        assert sent == []
    assert sent == [[one.pk, two.pk, three.pk]]


def test_an_audit_row_whose_park_is_read_by_its_insert_is_written_in_a_block() -> None:
    """An enterprise named by its key: the INSERT reads its park (a subquery), in a bulk
    INSERT too."""
    enterprise = f.EnterpriseFactory.create()
    with transaction.atomic(), appended_together():
        entry = audit_record(
            actor=SYSTEM, action="x.key", target=enterprise, enterprise=enterprise.pk
        )
    assert AuditEntry.objects.get(pk=entry.pk).park_id == enterprise.park_id
