"""Who hears of what, and how: in-app notifications, e-mail deliveries, webhook endpoints
and their deliveries, and each user's choices.

Every row here is derived from one outbox event (common.models.OutboxEvent) by the
``notifications`` subscriber: one Notification per (event, user) for the in-app channel,
one MailDelivery per (event, user) for e-mail, one WebhookDelivery per (event, endpoint).
Each is unique on that pair, so a fan-out run twice (at least once) writes each once.
Deliveries keep their own retry schedule in ``due_at`` (swept by beat), never a long
Celery countdown.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.models import OutboxEvent


class Channel(models.TextChoices):
    IN_APP = "in_app", _("in-app")
    EMAIL = "email", _("e-mail")


class Notification(models.Model):
    """An in-app notification of one event to one user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    event = models.ForeignKey(
        OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(_("type"), max_length=80)
    data = models.JSONField(_("data"), default=dict)
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="notification_once")]
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_recent"),
            # The unread count a client polls: an index-only count of the user's unread rows.
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} -> {self.user_id}"


class Preference(models.Model):
    """A user's choice for one event type on one channel, where it differs from the
    default (notifications.catalogue). No row: the default applies."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    type = models.CharField(_("type"), max_length=80)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "type", "channel"], name="notification_preference_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.type} {self.channel}: {self.enabled}"


class MailSettings(models.Model):
    """How a user gets e-mail: the language (zh-hans or en) and the digest interval (0: each
    notification at once; N: one mail per N minutes with everything since the last)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="mail_settings",
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="zh-hans"
    )
    digest_minutes = models.PositiveSmallIntegerField(
        _("digest every (minutes)"),
        default=0,
        help_text=_("0 sends each notification at once; otherwise one mail per interval."),
    )

    class Meta:
        verbose_name = _("mail settings")
        verbose_name_plural = _("mail settings")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}, {self.digest_minutes} min"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("pending")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")


class MailDelivery(models.Model):
    """One event's e-mail to one user: sent at once, or with the user's next digest."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="mail_deliveries",
    )
    event = models.ForeignKey(
        OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mail delivery")
        verbose_name_plural = _("mail deliveries")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="mail_once")]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(status="pending"), name="mail_due")
        ]

    def __str__(self) -> str:
        return f"mail {self.event_id} -> {self.user_id}"


class WebhookEndpoint(models.Model):
    """A partner system's URL that receives an enterprise's events, signed per the
    Standard Webhooks specification. Managed by the enterprise's admins."""

    enterprise = models.ForeignKey(
        "parks.Enterprise",
        verbose_name=_("enterprise"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("event types"),
        default=list,
        blank=True,
        help_text=_("The event types sent; none: every type."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        help_text=_("The first failed attempt since the last success."),
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]
        indexes = [models.Index(fields=["enterprise", "enabled"], name="webhook_endpoint_ent")]

    def __str__(self) -> str:
        return self.url


class WebhookSecret(models.Model):
    """A signing secret of an endpoint (``whsec_`` + base64 of 32 random bytes). After a
    rotation the old one signs too until ``expires_at`` (the overlap window). Never shown
    after it is created."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="secrets",
    )
    secret = models.CharField(_("secret"), max_length=100)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook secret")
        verbose_name_plural = _("webhook secrets")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"secret #{self.pk} of endpoint {self.endpoint_id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: the same ``webhook-id`` on every attempt; pending until
    a 2xx (succeeded) or the last attempt of the schedule (failed)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=models.Q(status="pending"), name="webhook_due"
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> endpoint {self.endpoint_id}"

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header: the same on every attempt, so receivers dedupe."""
        return f"msg_{self.event_id}_{self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: its answer (or the error), how long it took and
    the beginning of the body, for the endpoint's delivery log."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
    )
    number = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    response_excerpt = models.CharField(_("response"), max_length=1024, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-id"]
        indexes = [models.Index(fields=["delivery", "-id"], name="webhook_attempt_recent")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
