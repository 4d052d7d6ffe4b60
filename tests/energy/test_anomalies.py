"""Jumps above a factor of the meter's recent median are flagged at ingest (the setting, or
the meter's own factor); meters gone silent are flagged by the sweep, once per silence."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from energy.anomalies import silent_meters_flag
from energy.models import AnomalyKind, EnergyAnomaly, Meter
from energy.services.ingest import readings_ingest
from energy.tasks import energy_silent_sweep
from tests.energy.conftest import hourly

pytestmark = pytest.mark.django_db


def test_a_jump_above_five_times_the_median_is_flagged(
    make_meter: Any, admin_a1: Any, settings: Any
) -> None:
    settings.ENERGY_JUMP_FACTOR = 5.0
    meter = make_meter()
    readings_ingest(actor=admin_a1, rows=hourly(meter, "2026-03-01", "10"))
    values = ["10"] * 24
    values[5], values[9] = "50", "50.001"  # 5x is not above; 50.001 is
    result = readings_ingest(actor=admin_a1, rows=hourly(meter, "2026-03-02", values))
    assert result.anomalies == 1
    flag = EnergyAnomaly.objects.get()
    assert (flag.kind, flag.value, flag.median, flag.factor) == (
        AnomalyKind.JUMP,
        Decimal("50.001"),
        Decimal("10"),
        Decimal("5"),
    )
    assert flag.at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_a_meters_own_factor_overrides_the_setting(make_meter: Any, admin_a1: Any) -> None:
    meter = make_meter(anomaly_factor=Decimal("1.50"))
    values = ["10"] * 24
    values[3] = "16"
    readings_ingest(actor=admin_a1, rows=hourly(meter, "2026-03-01", values))
    assert EnergyAnomaly.objects.get().factor == Decimal("1.5")


def test_silent_meters_are_flagged_once_per_silence(
    make_meter: Any, admin_a1: Any, settings: Any
) -> None:
    settings.ENERGY_SILENT_HOURS = 6
    talking, silent = make_meter(), make_meter()
    readings_ingest(actor=admin_a1, rows=hourly(silent, "2026-03-01", "1", hours=2))
    readings_ingest(actor=admin_a1, rows=hourly(talking, "2026-03-01", "1", hours=23))
    # 22:30 in Shanghai: silent last read at 02:00 (20.5 hours ago), talking at 23:00.
    now = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
    assert silent_meters_flag(now=now) == 1
    assert silent_meters_flag(now=now + timedelta(hours=1)) == 0  # the same silence
    flag = EnergyAnomaly.objects.get()
    assert (flag.meter_id, flag.kind) == (silent.pk, AnomalyKind.SILENT)
    assert flag.at == Meter.objects.get(pk=silent.pk).last_reading_at
    # It speaks again, then falls silent again: a new flag.
    readings_ingest(actor=admin_a1, rows=hourly(silent, "2026-03-02", "1", hours=1))
    assert silent_meters_flag(now=now + timedelta(days=2)) == 2  # both are silent now
    assert isinstance(energy_silent_sweep(), int)
