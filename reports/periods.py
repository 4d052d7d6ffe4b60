"""Periods of the reports: whole months in the local time zone (Asia/Shanghai), written
``YYYY-MM``, bounded at the edge (years 2000 to 2999, at most :data:`MAX_MONTHS` months)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: The longest period one report covers: three years of months.
MAX_MONTHS = 36
#: The period of a report when none is asked for: the last twelve months, this one included.
DEFAULT_MONTHS = 12
FIRST_YEAR, LAST_YEAR = 2000, 2999


#: The conventions of electricity in tce (energy.models.Convention), the first the default.
CONVENTIONS = ("equivalent", "equal_value")
CONVENTION_LABELS = {
    "equivalent": _("electricity at equivalent value (当量值)"),
    "equal_value": _("electricity at equal value (等价值)"),
}
#: The steps of an energy trend; a series by day covers at most MAX_DAYS days.
GRANULARITIES = ("month", "day")
MAX_DAYS = 400


class PeriodError(ValueError):
    """A month or a period the reports refuse; ``field`` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_month(value: str, *, field: str) -> date:
    """``YYYY-MM`` as the first day of that month, or :class:`PeriodError` naming ``field``."""
    found = MONTH.match(value) if isinstance(value, str) else None
    if found is None:
        raise PeriodError(field, str(_("A month as YYYY-MM.")))
    year, month = int(found[1]), int(found[2])
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        raise PeriodError(field, str(_("A month as YYYY-MM, from 2000-01 to 2999-12.")))
    return date(year, month, 1)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _instant(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@dataclass(frozen=True)
class Period:
    """The months from ``first`` to ``last`` (both the first day of their month), inclusive."""

    first: date
    last: date

    @classmethod
    def of(cls, start: str | None, end: str | None, *, today: date | None = None) -> "Period":
        """The period ``start``..``end`` (``YYYY-MM`` each); without ``end`` the current
        month, without ``start`` the :data:`DEFAULT_MONTHS` months up to ``end``."""
        today = today or timezone.localdate()
        last = parse_month(end, field="end") if end else date(today.year, today.month, 1)
        first = parse_month(start, field="start") if start else add_months(last, 1 - DEFAULT_MONTHS)
        if first > last:
            raise PeriodError("start", str(_("The start is after the end.")))
        period = cls(first, last)
        if len(period.months) > MAX_MONTHS:
            raise PeriodError(
                "start", str(_("At most %(max)s months in one report.") % {"max": MAX_MONTHS})
            )
        return period

    @classmethod
    def month(cls, value: str, *, field: str = "month") -> "Period":
        first = parse_month(value, field=field)
        return cls(first, first)

    @property
    def months(self) -> list[date]:
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return [add_months(self.first, i) for i in range(max(count, 0))]

    @property
    def last_day(self) -> date:
        """The last day of the period."""
        return add_months(self.last, 1) - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """The first instant of the period."""
        return _instant(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return _instant(add_months(self.last, 1))

    @property
    def as_of(self) -> datetime:
        """When stock and holdings are read: the period's end, or now while it lasts."""
        return min(self.end, timezone.now())

    @property
    def is_current(self) -> bool:
        return self.end > timezone.now()

    def label(self) -> str:
        first, last = self.first.strftime("%Y-%m"), self.last.strftime("%Y-%m")
        return first if first == last else f"{first} – {last}"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.first.strftime("%Y-%m"), "end": self.last.strftime("%Y-%m")}


def parse_convention(value: str | None) -> str:
    """``?convention=``: equivalent (the default) or equal_value, else :class:`PeriodError`."""
    if not value:
        return CONVENTIONS[0]
    if value not in CONVENTIONS:
        raise PeriodError("convention", str(_("One of equivalent, equal_value.")))
    return value


def parse_granularity(value: str | None, period: Period) -> str:
    """``?granularity=``: month (the default) or day, by day for a period of at most
    :data:`MAX_DAYS` days, else :class:`PeriodError`."""
    if not value:
        return GRANULARITIES[0]
    if value not in GRANULARITIES:
        raise PeriodError("granularity", str(_("One of month, day.")))
    if value == "day" and (period.last_day - period.first).days + 1 > MAX_DAYS:
        raise PeriodError(
            "granularity",
            str(_("A series by day covers at most %(max)s days.") % {"max": MAX_DAYS}),
        )
    return value
