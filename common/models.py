"""The outbox: domain events written in the same transaction as the change they describe.

A dispatcher task delivers each event to the handlers registered for its topic after commit;
a periodic sweep re-sends what is still pending, so no event is lost when a worker or the
broker is down at commit time. Later waves (matching triggers, notifications) subscribe here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    topic = models.CharField(_("topic"), max_length=80, db_index=True)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(dispatched_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
