"""Run a function in N threads that start together; collect results and errors."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_concurrently(n: int, fn: Callable[[int], Any], timeout: float = 60) -> list[Any]:
    """Call ``fn(i)`` for i in range(n) from n threads released by one barrier.

    Returns what each call returned or raised, in thread order. Each thread closes its own
    database connection, so the test database can be dropped afterwards.
    """
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = fn(i)
        except Exception as exc:  # the caller inspects what each thread raised
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    return results
