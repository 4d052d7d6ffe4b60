"""A real Celery worker for the tests that need Redis (CELERY_BROKER_URL set)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery.signals import task_postrun
from django.db import connections


@contextmanager
def real_worker(*, concurrency: int = 2) -> Iterator[None]:
    """A worker consuming every declared queue from Redis, in threads of this process.

    Tasks left by earlier tests are purged first (they refer to rows that are gone). A
    worker keeps its database connections from task to task (CELERY_DB_REUSE_MAX); those of
    this worker's threads are closed when it stops, so that the test database can be
    flushed and dropped.
    """
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    opened: list[Any] = []

    def record(**kwargs: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            return
        opened.extend(c for c in connections.all(initialized_only=True) if c not in opened)

    task_postrun.connect(record, weak=False, dispatch_uid="tests.workers.record")
    app.control.purge()
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=10,
        ):
            yield
    finally:
        task_postrun.disconnect(dispatch_uid="tests.workers.record")
        for connection in opened:
            connection.inc_thread_sharing()
            connection.close()
