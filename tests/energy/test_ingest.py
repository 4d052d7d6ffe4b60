"""The bulk ingest: idempotent on meter + at, partial batches with each refused row named,
other tenants' meters refused like unknown ones, bad values and times refused per row."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from common.exceptions import DomainError, NotPermitted
from energy.models import IngestBatch, MeterDay, Reading
from energy.rollups import rollups_check
from energy.services.ingest import MAX_BATCH_ROWS, readings_ingest
from tests.audited import one_audit_row
from tests.energy.conftest import hourly

pytestmark = pytest.mark.django_db


def test_a_batch_is_stored_once_and_counted_once(make_meter: Any, admin_a1: Any) -> None:
    meter = make_meter()
    rows = hourly(meter, "2026-03-01", "10.5")
    with one_audit_row(actor=admin_a1, action="readings.ingest") as written:
        result = readings_ingest(actor=admin_a1, rows=rows)
    assert (result.accepted, result.duplicates, result.refused) == (24, 0, [])
    assert written.entry.changes["accepted"] == [None, 24]
    assert written.entry.object_id == str(IngestBatch.objects.get().pk)
    again = readings_ingest(actor=admin_a1, rows=rows)
    assert (again.accepted, again.duplicates, again.refused) == (0, 24, [])
    assert Reading.objects.count() == 24
    day = MeterDay.objects.get()
    assert (day.day, day.quantity, day.readings) == (date(2026, 3, 1), Decimal("252"), 24)
    assert rollups_check().ok


def test_a_partial_batch_stores_the_valid_rows_and_names_the_others(
    world: dict[str, Any], make_meter: Any, admin_a1: Any
) -> None:
    mine = make_meter()
    theirs = make_meter("a2")  # another enterprise of the same park
    far = make_meter("c")
    inactive = make_meter(is_active=False)
    ok = {"meter": mine.pk, "at": "2026-03-01T01:00:00+08:00", "value": "1.5"}
    readings_ingest(actor=admin_a1, rows=[ok])
    rows = [
        {**ok, "at": "2026-03-01T02:00:00+08:00"},  # 0: stored
        {**ok, "meter": theirs.pk},  # 1: another enterprise's meter
        {**ok, "meter": far.pk},  # 2: another park's
        {**ok, "meter": 2**63 - 1},  # 3: unknown
        {**ok, "meter": 2**64},  # 4: beyond any id
        {**ok, "value": "2"},  # 5: another value for a recorded reading
        ok,  # 6: a duplicate
        {**ok, "at": "2026-03-01T03:00:00"},  # 7: naive
        {**ok, "at": "2026-02-30T03:00:00+08:00"},  # 8: no such day
        {**ok, "at": "yesterday"},  # 9
        {**ok, "value": "NaN"},  # 10
        {**ok, "value": "1e400"},  # 11
        {**ok, "value": "-1"},  # 12
        {**ok, "value": "1000000000000"},  # 13: huge
        {**ok, "value": "1.2345"},  # 14: finer than the meter's grams
        {**ok, "value": True},  # 15
        {**ok, "extra": 1},  # 16
        {"meter": mine.pk, "at": ok["at"]},  # 17: no value
        "a row",  # 18
        {**ok, "meter": "1"},  # 19: a string id
        {**ok, "at": "2099-01-01T00:00:00+08:00"},  # 20: the future
        {**ok, "at": "1999-12-31T12:00:00+08:00"},  # 21: before 2000
        {**ok, "meter": inactive.pk},  # 22
        {**ok, "at": "2026-03-01T04:00:00+08:00", "value": 2.25},  # 23: a JSON number
        {**ok, "at": "2026-03-01T04:00:00+08:00", "value": "3"},  # 24: differs from 23
        {**ok, "value": float("inf")},  # 25
    ]
    result = readings_ingest(actor=admin_a1, rows=rows)
    refused = {r.index: (r.field, r.reason) for r in result.refused}
    assert result.accepted == 2  # rows 0 and 23
    assert result.duplicates == 1  # row 6
    assert sorted(refused) == [i for i in range(26) if i not in (0, 6, 23)]
    fields = {i: field for i, (field, _reason) in refused.items()}
    assert fields == {
        1: "meter", 2: "meter", 3: "meter", 4: "meter", 5: "value", 7: "at", 8: "at",
        9: "at", 10: "value", 11: "value", 12: "value", 13: "value", 14: "value",
        15: "value", 16: "extra", 17: "value", 18: "row", 19: "meter", 20: "at", 21: "at",
        22: "meter", 24: "value", 25: "value",
    }  # fmt: skip
    # Another tenant's meter reads exactly like an unknown one: no leak.
    assert refused[1] == refused[2] == refused[3]
    assert "offset" in refused[7][1]
    assert Reading.objects.count() == 3
    assert rollups_check().ok


def test_a_batch_over_the_limit_is_refused_whole(make_meter: Any, admin_a1: Any) -> None:
    meter = make_meter()
    rows = [{"meter": meter.pk, "at": "2026-03-01T01:00:00+08:00", "value": "1"}] * (
        MAX_BATCH_ROWS + 1
    )
    with pytest.raises(DomainError) as refused:
        readings_ingest(actor=admin_a1, rows=rows)
    assert refused.value.field == "readings"
    assert not Reading.objects.exists()
    assert not IngestBatch.objects.exists()


def test_only_an_enterprises_admin_records_readings(world: dict[str, Any], make_meter: Any) -> None:
    meter = make_meter()
    rows = hourly(meter, "2026-03-01", "1", hours=2)
    for who in ("trader", "viewer", "regulator", "park_operator"):
        with pytest.raises(NotPermitted):
            readings_ingest(actor=resolve_scope(world["users"][who]), rows=rows)
    root = resolve_scope(world["users"]["superuser"])
    assert readings_ingest(actor=root, rows=rows).accepted == 2
