"""The retry schedule: more than a day by default, jittered within +-20 %, never under a
second, and no delay after the last attempt."""

from datetime import timedelta
from typing import Any

import pytest

from notifications.webhooks.schedule import max_attempts, next_delay, retry_delays

DEFAULT = [5, 300, 1800, 7200, 18000, 36000, 36000]


def test_the_default_schedule_spans_more_than_a_day_in_8_attempts() -> None:
    assert retry_delays() == DEFAULT
    assert max_attempts() == 8
    assert sum(retry_delays()) >= 24 * 3600
    assert sum(retry_delays()) / 3600 == pytest.approx(27.6, abs=0.05)


@pytest.mark.parametrize("attempts_made", range(1, 8))
def test_each_delay_is_within_the_jitter(attempts_made: int) -> None:
    nominal = DEFAULT[attempts_made - 1]
    delays = [next_delay(attempts_made) for _ in range(200)]
    assert all(d is not None for d in delays)
    seconds = [d.total_seconds() for d in delays if d is not None]
    assert all(nominal * 0.8 <= s <= nominal * 1.2 for s in seconds)
    # Jittered: not all the same.
    assert len(set(seconds)) > 1


def test_no_delay_after_the_last_attempt() -> None:
    assert next_delay(7) is not None
    assert next_delay(8) is None
    assert next_delay(50) is None


def test_asked_before_any_attempt_is_an_error() -> None:
    with pytest.raises(ValueError, match="attempts_made"):
        next_delay(0)


def test_the_schedule_is_a_setting_and_never_under_a_second(settings: Any) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0.1, 2]
    assert max_attempts() == 3
    assert next_delay(1) == timedelta(seconds=1)
    second = next_delay(2)
    assert second is not None and 1.6 <= second.total_seconds() <= 2.4
    assert next_delay(3) is None
