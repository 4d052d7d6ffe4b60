"""The outbox: domain events written in the same transaction as the change they describe,
and their deliveries, one per subscriber.

After commit a task fans each event out: one OutboxDelivery per subscriber taking its topic
(common.events), each run, retried and failed on its own. A periodic sweep fans out what
was not and re-sends deliveries that are due, so no event is lost when a worker or the
broker is down at commit time. The database holds the retry schedule (``due_at``).

Beside it, the idempotency keys of the API's POSTs (``common.idempotency``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    topic = models.CharField(_("topic"), max_length=80, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    fanned_out_at = models.DateTimeField(
        _("fanned out at"),
        null=True,
        blank=True,
        help_text=_("When its deliveries (one per subscriber) were created."),
    )

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(fanned_out_at__isnull=True),
                name="outbox_not_fanned_out",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class OutboxDelivery(models.Model):
    """One subscriber's delivery of one event: pending until its handler ran (done) or
    failed ``max_attempts`` times (failed). ``due_at`` is when the sweep (re)sends it: a
    retry's time after a failure, or the end of the lease of a delivery just sent."""

    event = models.ForeignKey(
        OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    subscriber = models.CharField(_("subscriber"), max_length=80)
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox delivery")
        verbose_name_plural = _("outbox deliveries")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="outbox_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="pending"),
                name="outbox_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} <- {self.event_id}"


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", _("in flight")
    DONE = "done", _("done")


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` a user sent with a POST, and the response it got.

    The row is claimed (``in_flight``) in its own transaction before the view runs, and
    completed (``done``, with the response) after it; see ``common.idempotency``. Rows
    older than ``IDEMPOTENCY_KEY_TTL_HOURS`` are free again and purged by a beat task.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="idempotency_keys",
    )
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(
        _("fingerprint"), max_length=64, help_text=_("SHA-256 of method, path and body.")
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=IdempotencyState.choices,
        default=IdempotencyState.IN_FLIGHT,
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    response_body = models.BinaryField(_("response body"), default=b"")
    response_headers = models.JSONField(_("response headers"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
