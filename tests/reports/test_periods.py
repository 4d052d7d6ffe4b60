from datetime import date

import pytest

from reports.periods import MAX_MONTHS, Period, PeriodError


def test_default_is_the_last_twelve_months() -> None:
    period = Period.of(None, None, today=date(2026, 3, 9))
    assert (period.first, period.last) == (date(2025, 4, 1), date(2026, 3, 1))
    assert len(period.months) == 12


def test_bounds_are_whole_local_months() -> None:
    period = Period.of("2025-12", "2026-02")
    assert period.start.isoformat() == "2025-12-01T00:00:00+08:00"
    assert period.end.isoformat() == "2026-03-01T00:00:00+08:00"
    assert [m.month for m in period.months] == [12, 1, 2]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-13", None, "start"),
        ("1e400", None, "start"),
        ("18446744073709551616", None, "start"),
        ("1999-12", "2000-01", "start"),
        (None, "3000-01", "end"),
        (None, "2026-1", "end"),
        ("2026-05", "2026-04", "start"),
        ("2020-01", "2026-01", "start"),  # more than MAX_MONTHS
    ],
)
def test_bad_periods_name_their_field(start: str | None, end: str | None, field: str) -> None:
    with pytest.raises(PeriodError) as caught:
        Period.of(start, end)
    assert caught.value.field == field


def test_the_longest_period_is_accepted() -> None:
    period = Period.of("2024-01", "2026-12")
    assert len(period.months) == MAX_MONTHS
