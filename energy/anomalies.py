"""Anomaly flags: a reading far above its meter's recent median (``jump``), flagged at
ingest; a meter that has sent nothing for too long (``silent``), flagged by a sweep.

The median is that of the meter's last ``ENERGY_MEDIAN_WINDOW`` readings up to its latest
reading of the batch (the batch's own included), read once per meter per batch: on
PostgreSQL one query for the whole batch (a LATERAL join on the (meter, at) index), on
SQLite one per meter. A reading above ``factor`` times that median is flagged, ``factor``
being the meter's own ``anomaly_factor`` or the setting ``ENERGY_JUMP_FACTOR``. A median of
zero flags nothing (a meter idle most of the week).
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median_low

from django.conf import settings
from django.db import connection
from django.db.models import DateTimeField, Exists, F, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone

from energy.models import AnomalyKind, EnergyAnomaly, Meter, Reading


def jump_factor_default() -> Decimal:
    return Decimal(str(settings.ENERGY_JUMP_FACTOR))


def medians(latest: Mapping[int, datetime]) -> dict[int, Decimal]:
    """Each meter's median of its last readings up to ``latest[meter]``."""
    window = int(settings.ENERGY_MEDIAN_WINDOW)
    values: dict[int, list[Decimal]] = {m: [] for m in latest}
    if not latest:
        return {}
    if connection.vendor == "postgresql":
        ids = sorted(latest)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.id, r.value FROM unnest(%s::bigint[], %s::timestamptz[]) AS m(id, upto) "
                "CROSS JOIN LATERAL (SELECT value FROM energy_reading "
                "WHERE meter_id = m.id AND at <= m.upto ORDER BY at DESC LIMIT %s) r",
                [ids, [latest[i] for i in ids], window],
            )
            for meter_id, value in cursor.fetchall():
                values[meter_id].append(value)
    else:
        for meter_id, upto in latest.items():
            values[meter_id] = list(
                Reading.objects.filter(meter_id=meter_id, at__lte=upto)
                .order_by("-at")
                .values_list("value", flat=True)[:window]
            )
    return {m: Decimal(median_low(v)) for m, v in values.items() if v}


def jumps_flag(
    readings: Mapping[int, Sequence[tuple[datetime, Decimal]]],
    factors: Mapping[int, Decimal | None],
) -> int:
    """Flag the readings (per meter: (at, value)) above their meter's factor times its
    recent median; how many were flagged (a reading flagged before is not flagged again)."""
    latest = {m: max(at for at, _v in rows) for m, rows in readings.items() if rows}
    found = medians(latest)
    default = jump_factor_default()
    flags = []
    for meter_id, rows in readings.items():
        median = found.get(meter_id)
        if not median or median <= 0:
            continue
        factor = factors.get(meter_id) or default
        limit = median * factor
        for at, value in rows:
            if value > limit:
                flags.append(
                    EnergyAnomaly(
                        meter_id=meter_id,
                        at=at,
                        kind=AnomalyKind.JUMP,
                        value=value,
                        median=median,
                        factor=factor,
                    )
                )
    if flags:
        EnergyAnomaly.objects.bulk_create(flags, ignore_conflicts=True)
    return len(flags)


def silent_meters_flag(*, now: datetime | None = None, hours: float | None = None) -> int:
    """Flag each active meter with no reading for more than ``hours`` (the setting
    ``ENERGY_SILENT_HOURS``), once per silence: the flag's ``at`` is the meter's last
    reading (or its creation), so a meter still silent at the next sweep is not flagged
    again. What the system does on its own: no actor, no audit row (like the expiry
    sweeps). How many meters were flagged."""
    now = now or timezone.now()
    hours = float(settings.ENERGY_SILENT_HOURS if hours is None else hours)
    since = now - timedelta(hours=hours)
    last = Coalesce(F("last_reading_at"), F("created_at"), output_field=DateTimeField())
    silent = (
        Meter.objects.filter(is_active=True)
        .annotate(last=last)
        .filter(last__lt=since)
        .filter(
            ~Exists(
                EnergyAnomaly.objects.filter(
                    meter_id=OuterRef("pk"), kind=AnomalyKind.SILENT, at=OuterRef("last")
                )
            )
        )
        .values_list("id", "last")
    )
    flags = [
        EnergyAnomaly(meter_id=meter_id, at=at, kind=AnomalyKind.SILENT) for meter_id, at in silent
    ]
    created = EnergyAnomaly.objects.bulk_create(flags, ignore_conflicts=True)
    return len(created)
