"""When a failed webhook delivery is tried again: the Standard Webhooks / Svix practice of
retries spread over more than a day (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 attempts
over about 27.6 h by default), each delay with +-20 % jitter so that the retries of many
deliveries failing together (an endpoint down) do not come back together.

The delays are the setting WEBHOOK_RETRY_SCHEDULE_SECONDS (one per retry), so tests and
benchmarks shorten it.
"""

import secrets
from datetime import timedelta

from django.conf import settings

JITTER = 0.2
MIN_DELAY_SECONDS = 1.0
_random = secrets.SystemRandom()


def retry_delays() -> list[float]:
    """The nominal delays in seconds after attempt 1, 2, ... (no jitter)."""
    return [float(s) for s in settings.WEBHOOK_RETRY_SCHEDULE_SECONDS]


def max_attempts() -> int:
    """How many attempts a delivery gets in all: the first and one per retry delay."""
    return len(retry_delays()) + 1


def next_delay(attempts_made: int) -> timedelta | None:
    """How long to wait after ``attempts_made`` failed attempts (1 after the first), with
    jitter and never under a second; None once every attempt was made (give up)."""
    if attempts_made < 1:
        raise ValueError("next_delay is asked after an attempt: attempts_made >= 1")
    delays = retry_delays()
    if attempts_made > len(delays):
        return None
    nominal = delays[attempts_made - 1]
    jittered = nominal * _random.uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=max(MIN_DELAY_SECONDS, jittered))
