"""Concurrent ingests of overlapping batches on PostgreSQL: every reading is stored once and
counted once in the rollups, whatever the interleaving."""

from typing import Any

import pytest
from django.db.models import Sum

from access.scope import resolve_scope
from energy.models import IngestBatch, MeterDay, Reading
from energy.rollups import rollups_check
from energy.services.ingest import IngestResult, readings_ingest
from tests.concurrency import run_concurrently
from tests.energy.conftest import hourly

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.usefixtures("on_postgres"),
    pytest.mark.django_db(transaction=True),
]


def test_overlapping_batches_at_once_count_each_reading_once(
    world: dict[str, Any], make_meter: Any
) -> None:
    from energy.factors import factors_seed

    factors_seed()
    meters = [make_meter(), make_meter(carrier="natural_gas", unit="m3"), make_meter("a1")]
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    rows = [row for meter in meters for day in days for row in hourly(meter, day, "1.5")]
    user = world["users"]["enterprise_admin"]
    # Eight clients, each sending a different overlapping slice (some rows in every slice).
    slices = [rows[i * 20 : i * 20 + 120] + rows[:10] for i in range(8)]

    results = run_concurrently(
        8, lambda i: readings_ingest(actor=resolve_scope(user), rows=list(reversed(slices[i])))
    )

    assert all(isinstance(r, IngestResult) for r in results), results
    distinct = {(r["meter"], r["at"]) for s in slices for r in s}
    assert sum(r.accepted for r in results) == len(distinct) == Reading.objects.count()
    assert sum(r.accepted + r.duplicates for r in results) == sum(len(s) for s in slices)
    assert not any(r.refused for r in results)
    assert (
        MeterDay.objects.aggregate(s=Sum("quantity"))["s"]
        == Reading.objects.aggregate(s=Sum("value"))["s"]
    )
    assert IngestBatch.objects.count() == 8
    check = rollups_check()
    assert check.ok, check.mismatches
