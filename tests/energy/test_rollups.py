"""Rollups equal the raw sums after any sequence of ingests (hypothesis), and the command
that proves it agrees; a tampered rollup makes it fail with a clear difference."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy.models import EnterpriseDay, EnterpriseMonth, MeterDay, Reading
from energy.rollups import rollups_check
from energy.services.ingest import readings_ingest

pytestmark = pytest.mark.django_db

START = datetime(2025, 12, 30, 14, 0, tzinfo=UTC)  # around two month ends and a factor change

rows_strategy = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # which meter
            st.integers(0, 24 * 40),  # hours after START: into February
            st.decimals(min_value=0, max_value=100000, places=3, allow_nan=False),
        ),
        max_size=30,
    ),
    min_size=1,
    max_size=4,
)


def test_rollups_equal_raw_sums_after_random_ingests(
    world: dict[str, Any], make_meter: Any, admin_a1: Any
) -> None:
    meters = [
        make_meter(),
        make_meter(carrier="natural_gas", unit="m3"),
        make_meter(carrier="steam", unit="kg"),
    ]

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(batches=rows_strategy)
    def check(batches: list[list[tuple[int, int, Decimal]]]) -> None:
        with transaction.atomic():
            for batch in batches:
                readings_ingest(
                    actor=admin_a1,
                    rows=[
                        {
                            "meter": meters[m].pk,
                            "at": (START + timedelta(hours=h)).isoformat(),
                            "value": str(v),
                        }
                        for m, h, v in batch
                    ],
                )
            result = rollups_check()
            assert result.ok, result.mismatches
            raw = Reading.objects.aggregate(s=Sum("value"))["s"] or 0
            for model in (MeterDay, EnterpriseDay, EnterpriseMonth):
                assert (model.objects.aggregate(s=Sum("quantity"))["s"] or 0) == pytest.approx(raw)
            transaction.set_rollback(True)

    check()


def test_the_command_says_equal_or_shows_the_difference(
    world: dict[str, Any], make_meter: Any, admin_a1: Any
) -> None:
    meter = make_meter()
    readings_ingest(
        actor=admin_a1,
        rows=[
            {"meter": meter.pk, "at": (START + timedelta(hours=h)).isoformat(), "value": "2.5"}
            for h in range(48)
        ],
    )
    out = StringIO()
    call_command("energy_rollup_check", stdout=out)
    assert "equal the raw readings" in out.getvalue()
    EnterpriseMonth.objects.filter(month="2026-01-01").update(kgce_equivalent=Decimal(1))
    MeterDay.objects.filter(day="2025-12-31").update(quantity=Decimal(0))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("energy_rollup_check", stdout=StringIO(), stderr=err)
    text = err.getvalue()
    assert f"meter {meter.pk} day 2025-12-31: readings sum 60" in text
    assert "EnterpriseMonth" in text and "kgce_equivalent 1" in text
