"""Bulk ingest of meter readings: :func:`readings_ingest`, the one code path of the API's
batch endpoint, the admin's CSV/XLSX upload, the demo and the benchmark's loads.

A batch is up to ``MAX_BATCH_ROWS`` rows ``{"meter": id, "at": ISO 8601 with its offset,
"value": "12.5"}``. Each row is checked by plain Python (no serializer per row: the target
is 20,000 readings/s through the API on two cores); a refused row is reported by its index
with the field and the reason, and the valid rows are stored all the same. Idempotent on
meter + at: the same reading again is a duplicate and changes nothing; another value for a
reading already recorded is refused. A meter of another enterprise is refused exactly like
an unknown one.

One transaction: the meters of the batch are locked in id order (``SELECT ... FOR
UPDATE``), so that concurrent batches on the same meters run one after the other; the new
readings go in with one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (on PostgreSQL one
statement over arrays, ``unnest``), and only the rows it returns count into the rollups
(``energy.rollups.rollups_add``), so a reading sent twice at once is counted once. Jumps
against each meter's recent median are flagged (``energy.anomalies``), the meters' last
reading times moved on, and one audit row written for the batch.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from access.roles import ADMIN_ROLES
from access.scope import Scope
from audit.services import audit_record, changes_between
from common.exceptions import DomainError, NotPermitted
from energy.anomalies import jumps_flag
from energy.factors import FactorTable, local_zone, reading_day
from energy.models import IngestBatch, IngestSource, Meter, Reading
from energy.rollups import MeterFacts, rollups_add
from energy.rules import meters_writable_q

MAX_BATCH_ROWS = 10_000
MAX_ID = 2**63 - 1
MAX_VALUE = Decimal("999999999999.999")  # Reading.value: 15 digits, 3 decimals
QUANTUM = Decimal("0.001")
EARLIEST_YEAR = 2000
#: How far ahead of the server's clock a reading may be (clocks of meters drift).
FUTURE_SLACK = timedelta(hours=1)
ROW_FIELDS = frozenset({"meter", "at", "value"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DAY_ZERO = date(2000, 1, 1).toordinal()
_MAX_TEXT = 64


@dataclass(frozen=True)
class Refusal:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    anomalies: int = 0
    batch_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "refused": [r.as_dict() for r in self.refused],
            "anomalies": self.anomalies,
            "batch": self.batch_id,
        }


class RowRefused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


# --- One row, in plain Python --------------------------------------------------------------


def parse_meter(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise RowRefused("meter", _("A meter id (an integer) is expected."))
    if not 1 <= raw <= MAX_ID:
        raise RowRefused("meter", _("Unknown meter."))
    return raw


def parse_at(raw: Any, *, latest: datetime) -> datetime:
    if isinstance(raw, datetime):
        at = raw
    elif isinstance(raw, str) and len(raw) <= _MAX_TEXT and ("T" in raw or "t" in raw):
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            raise RowRefused(
                "at", _("A time in ISO 8601 with its UTC offset is expected.")
            ) from None
    else:
        raise RowRefused("at", _("A time in ISO 8601 with its UTC offset is expected."))
    if at.tzinfo is None or at.utcoffset() is None:
        raise RowRefused("at", _("The time must carry its UTC offset (e.g. +08:00)."))
    if at.year < EARLIEST_YEAR:
        raise RowRefused("at", _("A time from the year 2000 on is expected."))
    if at > latest:
        raise RowRefused("at", _("The time is in the future."))
    return at.astimezone(UTC)


def parse_value(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise RowRefused("value", _("A number is expected."))
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise RowRefused("value", _("A finite number is expected."))
        value = Decimal(repr(raw))
    elif isinstance(raw, str) and len(raw) <= _MAX_TEXT:
        try:
            value = Decimal(raw)  # surrounding whitespace allowed
        except InvalidOperation:
            raise RowRefused("value", _("A number is expected.")) from None
    else:
        raise RowRefused("value", _("A number is expected."))
    if not value.is_finite():
        raise RowRefused("value", _("A finite number is expected."))
    if value < 0:
        raise RowRefused("value", _("A reading is not negative."))
    if value > MAX_VALUE:
        raise RowRefused("value", _("At most 999999999999.999."))
    quantized = value.quantize(QUANTUM)
    if quantized != value:
        raise RowRefused("value", _("At most 3 decimal places."))
    return quantized + 0  # -0 is 0


def parse_row(row: Any, *, latest: datetime) -> tuple[int, datetime, Decimal]:
    if type(row) is dict and len(row) == 3 and row.keys() == ROW_FIELDS:  # the usual row
        return (
            parse_meter(row["meter"]),
            parse_at(row["at"], latest=latest),
            parse_value(row["value"]),
        )
    if not isinstance(row, Mapping):
        raise RowRefused("row", _('An object {"meter", "at", "value"} is expected.'))
    unknown = [str(k) for k in row if k not in ROW_FIELDS]
    if unknown:
        raise RowRefused(str(unknown[0])[:_MAX_TEXT], _("Unknown field."))
    for name in ("meter", "at", "value"):
        if name not in row:
            raise RowRefused(name, _("This field is required."))
    return parse_meter(row["meter"]), parse_at(row["at"], latest=latest), parse_value(row["value"])


# --- The batch ----------------------------------------------------------------------------


def _check_writer(actor: Scope) -> None:
    if actor.is_superuser or actor.is_system:
        return
    if actor.enterprise is None or not actor.has_role(*ADMIN_ROLES):
        raise NotPermitted(_("Readings are recorded by an enterprise's admin, for its meters."))


def _insert(rows: Sequence[tuple[int, Any, Any, Any]]) -> set[tuple[int, Any]]:
    """Insert (meter id, at, day, value) rows, skipping those whose meter and time exist;
    the keys (meter id, at as the database returns it) of the rows inserted."""
    table = connection.ops.quote_name(Reading._meta.db_table)
    inserted: set[tuple[int, Any]] = set()
    if connection.vendor == "postgresql":
        # One statement over four arrays. Times go in and come back as microseconds since
        # the epoch and days as days since 2000-01-01 (integers: psycopg turns 10,000 of
        # them into an array, and back, many times faster than datetimes), values as text.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (meter_id, at, day, value) "  # noqa: S608
                "SELECT m, timestamptz '1970-01-01 00:00:00+00' + u * interval '1 microsecond', "
                "date '2000-01-01' + d, v::numeric "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::text[]) AS t(m, u, d, v) "
                "ON CONFLICT (meter_id, at) DO NOTHING "
                "RETURNING meter_id, (extract(epoch FROM at) * 1000000)::bigint",
                [
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                    [r[3] for r in rows],
                ],
            )
            inserted.update(cursor.fetchall())
        return inserted
    # SQLite (development, the demo, the tests): the DB-API cursor itself, in the
    # transaction Django holds. Django's cursor would, with DEBUG on (``make run``), quote
    # every parameter of every statement for its query log: a third of a demo's load.
    # The time is returned as text (CAST: no conversion to a datetime per row).
    one = "(?, ?, ?, ?)"
    raw = connection.connection.cursor()
    try:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            raw.execute(
                f"INSERT INTO {table} (meter_id, at, day, value) VALUES "  # noqa: S608
                + ", ".join([one] * len(chunk))
                + " ON CONFLICT (meter_id, at) DO NOTHING RETURNING meter_id, CAST(at AS TEXT)",
                [v for r in chunk for v in r],
            )
            inserted.update(raw.fetchall())
    finally:
        raw.close()
    return inserted


def _sqlite_at(at: datetime) -> str:
    """``at`` (aware, in UTC) as Django writes a datetime to SQLite: naive UTC,
    ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (its adapter, without the per-call overhead)."""
    return at.isoformat(" ")[:-6]


def _existing_values(keys: Iterable[tuple[int, datetime]]) -> dict[tuple[int, datetime], Decimal]:
    keys = list(keys)
    if not keys:
        return {}
    meter_ids = {m for m, _at in keys}
    times = {at for _m, at in keys}
    wanted = set(keys)
    found: dict[tuple[int, datetime], Decimal] = {}
    for meter_id, at, value in Reading.objects.filter(
        meter_id__in=meter_ids, at__in=times
    ).values_list("meter_id", "at", "value"):
        key = (meter_id, at)
        if key in wanted:
            found[key] = value
    return found


def _move_last_reading(latest: dict[int, datetime]) -> None:
    """Each meter's ``last_reading_at`` moved on to its latest reading of the batch."""
    if not latest:
        return
    whens = [When(pk=meter_id, then=Value(at)) for meter_id, at in latest.items()]
    newest = Case(*whens, output_field=DateTimeField())
    Meter.objects.filter(pk__in=list(latest)).update(
        last_reading_at=Case(
            When(last_reading_at__isnull=True, then=newest),
            default=Greatest("last_reading_at", newest),
            output_field=DateTimeField(),
        )
    )


@transaction.atomic
def readings_ingest(
    *,
    actor: Scope,
    rows: Sequence[Any],
    source: str = IngestSource.API,
    max_rows: int = MAX_BATCH_ROWS,
) -> IngestResult:
    """Store a batch of readings: the valid rows, each once; report the others by index.

    Refuses the whole batch (a DomainError on ``readings``) only when it is not a list or
    holds more than ``max_rows`` rows. Locks the batch's meters in id order; writes the
    readings, their rollups, jump flags and one audit row (``readings.ingest``, on the
    batch's ``IngestBatch``) in one transaction. Sends nothing after commit."""
    _check_writer(actor)
    if not isinstance(rows, list | tuple):
        raise DomainError(_("A list of readings is expected."), field="readings")
    if len(rows) > max_rows:
        raise DomainError(
            _("At most %(max)d readings per batch.") % {"max": max_rows}, field="readings"
        )
    result = IngestResult()
    latest = timezone.now() + FUTURE_SLACK
    parsed: dict[int, tuple[int, datetime, Decimal]] = {}
    refusals: dict[int, Refusal] = {}
    for index, row in enumerate(rows):
        try:
            parsed[index] = parse_row(row, latest=latest)
        except RowRefused as refused:
            refusals[index] = Refusal(index, refused.field, refused.reason)
    meter_ids = sorted({meter for meter, _at, _value in parsed.values()})
    meters: dict[int, Any] = {}
    if meter_ids:
        found = (
            Meter.objects.filter(meters_writable_q(actor), pk__in=meter_ids)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values(
                "id",
                "enterprise_id",
                "enterprise__park_id",
                "carrier",
                "is_active",
                "anomaly_factor",
            )
        )
        meters = {m["id"]: m for m in found}
    factors = FactorTable.load({m["carrier"] for m in meters.values()})
    zone = local_zone()
    first_of: dict[tuple[int, datetime], int] = {}  # key -> index of its first row
    repeats: list[tuple[int, tuple[int, datetime], Decimal]] = []  # later rows of a key
    candidates: list[tuple[int, int, datetime, Any, Decimal]] = []  # index, meter, at, day, value
    for index, (meter_id, at, value) in parsed.items():
        meter = meters.get(meter_id)
        if meter is None:
            refusals[index] = Refusal(index, "meter", _("Unknown meter."))
            continue
        if not meter["is_active"]:
            refusals[index] = Refusal(index, "meter", _("The meter is inactive."))
            continue
        day = reading_day(at, zone)
        if not factors.covers(meter["carrier"], day):
            refusals[index] = Refusal(
                index, "at", _("No conversion factor of this carrier covers that day.")
            )
            continue
        key = (meter_id, at)
        if key in first_of:
            repeats.append((index, key, value))
            continue
        first_of[key] = index
        candidates.append((index, meter_id, at, day, value))
    postgres = connection.vendor == "postgresql"
    db_rows: list[tuple[int, Any, Any, Any]]
    if postgres:
        db_rows = [
            (m, (at - EPOCH) // MICROSECOND, d.toordinal() - DAY_ZERO, str(v))
            for _i, m, at, d, v in candidates
        ]
    else:
        db_rows = [(m, _sqlite_at(at), d.isoformat(), str(v)) for _i, m, at, d, v in candidates]
    inserted = _insert(db_rows) if candidates else set()
    # The value each key now has: the batch's own where it was inserted, else the one
    # recorded before. Every other row of the key is a duplicate of it or refused.
    stored: list[tuple[int, datetime, Any, Decimal]] = []
    final: dict[tuple[int, datetime], Decimal] = {}
    conflicting: list[tuple[int, tuple[int, datetime], Decimal]] = []
    for (index, meter_id, at, day, value), db_row in zip(candidates, db_rows, strict=True):
        # RETURNING gives the time as it went in: microseconds on PostgreSQL, text on SQLite.
        if (meter_id, db_row[1]) in inserted:
            stored.append((meter_id, at, day, value))
            final[(meter_id, at)] = value
        else:
            conflicting.append((index, (meter_id, at), value))
    existing = _existing_values(key for _i, key, _v in conflicting)
    final.update(existing)
    for index, key, value in [*conflicting, *repeats]:
        if final.get(key) == value:
            result.duplicates += 1
        elif key in existing:
            refusals[index] = Refusal(
                index, "value", _("A different value is already recorded for this meter and time.")
            )
        else:
            refusals[index] = Refusal(
                index, "value", _("Another value for this meter and time in this batch.")
            )
    result.accepted = len(stored)
    result.refused = [refusals[i] for i in sorted(refusals)]
    if stored:
        facts = {
            m["id"]: MeterFacts(m["enterprise_id"], m["enterprise__park_id"], m["carrier"])
            for m in meters.values()
        }
        rollups_add(((m, day, v) for m, _at, day, v in stored), facts, factors)
        by_meter: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
        newest: dict[int, datetime] = {}
        for meter_id, at, _day, value in stored:
            by_meter[meter_id].append((at, value))
            if meter_id not in newest or at > newest[meter_id]:
                newest[meter_id] = at
        result.anomalies = jumps_flag(by_meter, {m: meters[m]["anomaly_factor"] for m in by_meter})
        _move_last_reading(newest)
    batch = IngestBatch.objects.create(
        user=actor.user if getattr(actor.user, "is_authenticated", False) else None,
        enterprise_id=actor.enterprise_id,
        source=source,
        rows=len(rows),
        accepted=result.accepted,
        duplicates=result.duplicates,
        refused=len(result.refused),
    )
    result.batch_id = batch.pk
    audit_record(
        actor=actor,
        action="readings.ingest",
        target=batch,
        changes=changes_between(
            {},
            {
                "rows": len(rows),
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "refused": len(result.refused),
            },
        ),
    )
    return result
