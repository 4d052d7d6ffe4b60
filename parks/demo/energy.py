"""The demo's energy use (docs/energy.md): meters for every demo enterprise, a year of hourly
readings up to the current hour with a daily, weekly and seasonal shape, a couple of jumps
and one meter gone silent, and monthly output values; built through the energy services as
the enterprises' admins would (readings in batches of 10,000 through ``readings_ingest``,
the API's code path, so the rollups and flags are the ingest's own).

Idempotent: a meter that exists is kept, and only the hours after its last reading are
loaded, so a run on a later day brings the readings up to date; an output value that
exists is left as it is.
"""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from access.scope import Scope, resolve_scope
from energy.anomalies import silent_meters_flag
from energy.factors import factors_seed, local_zone
from energy.models import Meter, OutputValue
from energy.services.ingest import MAX_BATCH_ROWS, readings_ingest
from energy.services.meters import meter_create, output_value_create
from parks.demo.world import ENTERPRISES, _rng
from parks.models import Enterprise

DAYS = 365


@dataclass(frozen=True)
class MeterSpec:
    code: str
    name: str
    carrier: str
    unit: str
    per_hour: float  # the mean use in an hour of a working day


# Every enterprise meters its electricity; the large plants also burn gas or take steam.
POWER = MeterSpec("E-01", "总进线电表", "electricity", "kWh", 0.0)
HEAVY_INDUSTRIES = {
    "refining": ("natural_gas", "m3", 900.0),
    "olefins": ("natural_gas", "m3", 700.0),
    "isocyanate": ("steam", "kg", 9000.0),
    "pta_polyester": ("steam", "kg", 12000.0),
    "chlor_alkali": ("steam", "kg", 5000.0),
    "aromatics": ("natural_gas", "m3", 500.0),
    "caprolactam": ("steam", "kg", 6000.0),
    "fine_chem": ("steam", "kg", 1500.0),
}
#: The meter gone silent (it stopped two days ago) and the meters with a jump.
SILENT = ("hb02", "E-01")
JUMPS = (("zh01", "E-01", 40), ("dx02", "S-01", 100))  # enterprise, meter, days ago


def _scope(key: str) -> Scope:
    return resolve_scope(get_user_model().objects.get(username=f"{key}.admin"))


def _specs(key: str, industry: str) -> list[MeterSpec]:
    rng = _rng("power", key)
    specs = [MeterSpec(POWER.code, POWER.name, POWER.carrier, POWER.unit, rng.uniform(800, 6000))]
    heavy = HEAVY_INDUSTRIES.get(industry)
    if heavy is not None:
        carrier, unit, mean = heavy
        code = "G-01" if carrier == "natural_gas" else "S-01"
        name = "天然气总表" if carrier == "natural_gas" else "蒸汽总表"
        specs.append(MeterSpec(code, name, carrier, unit, mean * rng.uniform(0.7, 1.3)))
    return specs


def _shape(at: datetime) -> float:
    """Use in the hour ending at ``at`` relative to a working day's mean: day shift higher,
    weekends lower, summer (air conditioning, cooling water) higher."""
    hour = (at.hour - 1) % 24
    daily = 1.0 + 0.25 * math.sin((hour - 8) / 24 * 2 * math.pi)
    weekly = 0.82 if at.weekday() >= 5 else 1.0
    seasonal = 1.0 + 0.12 * math.cos((at.timetuple().tm_yday - 200) / 365 * 2 * math.pi)
    return daily * weekly * seasonal


def _readings(
    meter: Meter,
    spec: MeterSpec,
    hours: list[tuple[datetime, float]],
    end: datetime,
    jump_at: datetime | None,
) -> list[dict[str, object]]:
    rng = _rng("readings", meter.enterprise_id, meter.code, hours[0][0] if hours else "")
    rows: list[dict[str, object]] = []
    for at, shape in hours:
        if at > end:
            break
        value = spec.per_hour * shape * rng.uniform(0.95, 1.05)
        if jump_at is not None and at == jump_at:
            value *= 8  # a leak, a meter fault: flagged by the ingest
        rows.append({"meter": meter.pk, "at": at, "value": Decimal(f"{value:.3f}")})
    return rows


def build_energy(*, today: date) -> dict[str, int]:
    """Meters, readings and output values of the demo enterprises that are not there yet;
    what was added."""
    factors_seed()
    zone = local_zone()
    now = timezone.now().astimezone(zone).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=DAYS)
    added = {"meters": 0, "readings": 0, "output_values": 0, "anomalies": 0}
    # Every hour of the year with its shape, computed once for all meters (in UTC: what
    # the ingest stores).
    year = [first + timedelta(hours=h) for h in range(DAYS * 24 + 1)]
    shapes = [(at.astimezone(UTC), _shape(at)) for at in year]
    for spec in ENTERPRISES:
        actor = _scope(spec.key)  # the enterprise's admin, whom every demo enterprise has
        enterprise = actor.enterprise
        if enterprise is None:
            continue
        pending: list[dict[str, object]] = []
        for meter_spec in _specs(spec.key, spec.industry):
            meter = Meter.objects.filter(enterprise=enterprise, code=meter_spec.code).first()
            if meter is None:
                meter = meter_create(
                    actor=actor,
                    enterprise=enterprise,
                    code=meter_spec.code,
                    name=meter_spec.name,
                    carrier=meter_spec.carrier,
                    unit=meter_spec.unit,
                )
                added["meters"] += 1
            hours = shapes
            if meter.last_reading_at is not None:
                hours = [h for h in shapes if h[0] > meter.last_reading_at]
            end = now - timedelta(days=2) if (spec.key, meter_spec.code) == SILENT else now
            jump_at = next(
                (
                    (now - timedelta(days=days)).replace(hour=11)
                    for key, code, days in JUMPS
                    if (key, code) == (spec.key, meter_spec.code)
                ),
                None,
            )
            pending += _readings(meter, meter_spec, hours, end, jump_at)
        for i in range(0, len(pending), MAX_BATCH_ROWS):
            result = readings_ingest(actor=actor, rows=pending[i : i + MAX_BATCH_ROWS])
            assert not result.refused, result.refused[:3]
            added["readings"] += result.accepted
            added["anomalies"] += result.anomalies
        added["output_values"] += _outputs(actor, enterprise, spec.key, today)
    added["anomalies"] += silent_meters_flag()
    return added


def _outputs(actor: Scope, enterprise: Enterprise, key: str, today: date) -> int:
    """The output value of each of the last 13 months (this one included)."""
    rng = _rng("output", key)
    base = rng.uniform(3_000_000, 60_000_000)
    existing = set(
        OutputValue.objects.filter(enterprise=enterprise).values_list("month", flat=True)
    )
    added = 0
    month = today.replace(day=1)
    for _ in range(13):
        if month not in existing:
            value = Decimal(base * rng.uniform(0.85, 1.15)).quantize(Decimal("0.01"))
            output_value_create(actor=actor, enterprise=enterprise, month=month, value_yuan=value)
            added += 1
        month = (month - timedelta(days=1)).replace(day=1)
    return added
