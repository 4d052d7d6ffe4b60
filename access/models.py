"""Who may act for what: a user's Membership of an enterprise and their roles in parks.

These models were born in ``parks``; they moved here without touching the database (the
tables keep their names, ``parks_membership`` and ``parks_parkrole``). Parks and
enterprises are named by string, so this module imports no domain app.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.roles import EnterpriseRole, ParkRoleKind


class Membership(models.Model):
    """A user acting for one enterprise. A login belongs to at most one enterprise."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=_("user"),
    )
    enterprise = models.ForeignKey(
        "parks.Enterprise",
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=_("enterprise"),
    )
    role = models.CharField(_("role"), max_length=32, choices=EnterpriseRole.choices)

    class Meta:
        db_table = "parks_membership"
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.enterprise} ({self.get_role_display()})"


class ParkRole(models.Model):
    """A user's standing in a park: its operator (runs shared warehouses and pools) or a
    regulator (reads the park's data, never writes)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="park_roles",
        verbose_name=_("user"),
    )
    park = models.ForeignKey(
        "parks.Park", on_delete=models.CASCADE, related_name="roles", verbose_name=_("park")
    )
    role = models.CharField(_("role"), max_length=32, choices=ParkRoleKind.choices)

    class Meta:
        db_table = "parks_parkrole"
        verbose_name = _("park role")
        verbose_name_plural = _("park roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "park", "role"], name="park_role_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} {self.park.code}"
