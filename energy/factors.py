"""The conversion factors in force on a day, and the day a reading counts to.

:class:`FactorTable` is the one lookup the ingest, the rollup recomputation and the rollup
check share: ``factor(carrier, convention, day)`` is the kgce per unit of the row of
``ConversionFactor`` valid that day. A carrier whose factor does not depend on the
convention (every one but electricity) has its rows under ``equivalent`` only, and they
serve ``equal_value`` too.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from energy.data.coefficients import CONVENTION_SPECIFIC, EQUAL_VALUE, EQUIVALENT, FACTORS
from energy.models import ConversionFactor

CONVENTIONS = (EQUIVALENT, EQUAL_VALUE)
_ONE_MICROSECOND = timedelta(microseconds=1)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def reading_day(at: datetime, zone: ZoneInfo | None = None) -> date:
    """The local day of the interval that ends at ``at``: the hour ending at midnight is
    the last hour of the day before."""
    return (at.astimezone(zone or local_zone()) - _ONE_MICROSECOND).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def stored_convention(carrier: str, convention: str) -> str:
    """The convention under which ``carrier``'s factor for ``convention`` is stored."""
    return convention if carrier in CONVENTION_SPECIFIC else EQUIVALENT


class FactorTable:
    """The factors of some carriers, loaded in one query."""

    def __init__(self, rows: Iterable[tuple[str, str, Decimal, date, date | None]]) -> None:
        by_key: dict[tuple[str, str], list[tuple[date, date | None, Decimal]]] = defaultdict(list)
        for carrier, convention, value, valid_from, valid_until in rows:
            by_key[(carrier, convention)].append((valid_from, valid_until, value))
        self._starts: dict[tuple[str, str], list[date]] = {}
        self._rows: dict[tuple[str, str], list[tuple[date, date | None, Decimal]]] = {}
        for key, items in by_key.items():
            items.sort(key=lambda item: item[0])
            self._rows[key] = items
            self._starts[key] = [item[0] for item in items]
        self._cache: dict[tuple[str, str, date], Decimal | None] = {}
        self._covered: dict[tuple[str, date], bool] = {}

    @classmethod
    def load(cls, carriers: Iterable[str] | None = None) -> "FactorTable":
        qs = ConversionFactor.objects.all()
        if carriers is not None:
            qs = qs.filter(carrier__in=set(carriers))
        return cls(
            qs.values_list("carrier", "convention", "kgce_per_unit", "valid_from", "valid_until")
        )

    def factor(self, carrier: str, convention: str, day: date) -> Decimal | None:
        """kgce per unit of ``carrier`` on ``day`` under ``convention``; None if no row
        covers the day."""
        cached = self._cache.get((carrier, convention, day), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        key = (carrier, stored_convention(carrier, convention))
        found: Decimal | None = None
        starts = self._starts.get(key)
        if starts:
            i = bisect_right(starts, day) - 1
            if i >= 0:
                _valid_from, valid_until, value = self._rows[key][i]
                if valid_until is None or day <= valid_until:
                    found = value
        self._cache[(carrier, convention, day)] = found
        return found

    def covers(self, carrier: str, day: date) -> bool:
        """Whether ``carrier`` has a factor under both conventions on ``day``."""
        covered = self._covered.get((carrier, day))
        if covered is None:
            covered = all(self.factor(carrier, c, day) is not None for c in CONVENTIONS)
            self._covered[(carrier, day)] = covered
        return covered

    def kgce(self, carrier: str, day: date, quantity: Decimal) -> tuple[Decimal, Decimal]:
        """``quantity`` of ``carrier`` used on ``day`` in kgce: (equivalent, equal value)."""
        equivalent = self.factor(carrier, EQUIVALENT, day)
        equal_value = self.factor(carrier, EQUAL_VALUE, day)
        if equivalent is None or equal_value is None:
            raise LookupError(f"no conversion factor for {carrier} on {day}")
        return quantity * equivalent, quantity * equal_value


def factors_seed() -> int:
    """The factors of ``energy.data.coefficients`` that the table lacks (by carrier,
    convention and first day), added; how many. The data migration seeds them once; tests
    whose database was flushed, and the demo, call this. Changes no existing row."""
    added = 0
    for carrier, convention, value, valid_from, valid_until, source in FACTORS:
        _row, created = ConversionFactor.objects.get_or_create(
            carrier=carrier,
            convention=convention,
            valid_from=valid_from,
            defaults={"kgce_per_unit": value, "valid_until": valid_until, "source": source},
        )
        added += created
    return added
