from typing import Any

from django.apps import AppConfig
from django.db import close_old_connections
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun

        # Around each task as around each request: a broken connection, or one older than
        # CONN_MAX_AGE, is closed; the worker reuses the others (CELERY_DB_REUSE_MAX).
        for when, signal in (("pre", task_prerun), ("post", task_postrun)):
            signal.connect(
                _close_old_connections,
                weak=False,
                dispatch_uid=f"common.close_old_connections.{when}",
            )


def _close_old_connections(*, task: Any = None, **kwargs: Any) -> None:
    """Close the connections that are unusable or obsolete, except in an eager task (it runs
    inside the caller's request or transaction)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
