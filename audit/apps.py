from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun

        from audit.context import task_ended, task_started

        task_prerun.connect(task_started, weak=False, dispatch_uid="audit.task_started")
        task_postrun.connect(task_ended, weak=False, dispatch_uid="audit.task_ended")
