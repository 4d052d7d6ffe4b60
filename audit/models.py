"""The audit trail: one append-only row per write, saying who did what, when, how and
with which request (docs/architecture.md, "Audit trail")."""

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

APPEND_ONLY = "Audit entries are append-only."


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk updates and deletes are refused like those of a single row. (On PostgreSQL a
    trigger refuses them whatever path they take: see the migration.)"""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ValueError(APPEND_ONLY)

    def delete(self) -> NoReturn:
        raise ValueError(APPEND_ONLY)


class AuditEntry(models.Model):
    """One write: who (user, enterprise, role, how authenticated), when, what (object and
    action), the fields changed with their values before and after, and the request id."""

    at = models.DateTimeField(_("at"), db_default=Now())
    # The keys below carry no database constraint: checking one would lock the user's,
    # the enterprise's and the park's row (FOR KEY SHARE) in every writing transaction,
    # every writer of a park sharing the park's row (docs/performance.md). Deleting
    # through Django still applies on_delete: a tenant with history is refused (PROTECT);
    # a deleted user keeps their rows, the key cleared (the one update the PostgreSQL
    # trigger lets through) and the username kept.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    # The tenant whose trail holds the row (by default the acting user's enterprise) and
    # the park whose operator and regulators see it.
    enterprise = models.ForeignKey(
        "parks.Enterprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,  # leads the (enterprise, -id) index
        verbose_name=_("enterprise"),
    )
    park = models.ForeignKey(
        "parks.Park",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,  # leads the (park, -id) index
        verbose_name=_("park"),
    )
    role = models.CharField(_("role"), max_length=32, blank=True)
    via = models.CharField(
        _("via"),
        max_length=64,
        blank=True,
        help_text=_('"token:<key prefix>", "session", "command" or "task".'),
    )
    request_id = models.CharField(_("request id"), max_length=128, blank=True)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    changes = models.JSONField(
        _("changes"), default=dict, blank=True, help_text=_("{field: [before, after]}")
    )
    note = models.TextField(_("note"), blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["enterprise", "-id"], name="audit_enterprise_idx"),
            models.Index(fields=["park", "-id"], name="audit_park_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["request_id"], name="audit_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id} by {self.username or '-'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError(APPEND_ONLY)
