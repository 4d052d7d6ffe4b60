"""Production safety: inspections and the hidden hazards they find, incidents, and the
major hazard units (GB 18218) computed from the live stock of each warehouse.

A hidden hazard's status is derived from its dates, never stored: rectified once it has a
``rectified_on``, else overdue once its deadline has passed, else open (:func:`hazard_status`
and, for querysets, ``safety.selectors.hazard_status_expression``). An incident's grade is
computed from its figures by ``safety.grading.incident_grade`` each time they are written.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from inventory.models import Warehouse
from parks.models import Enterprise, Park

MAX_PEOPLE = 1_000_000  # deaths, injuries, people within 500 m: bounded at the edge
MAX_LOSS_YUAN = Decimal("99999999999999.99")
TEXT_LENGTH = 2000


class HazardGrade(models.TextChoices):
    """一般隐患 and 重大隐患."""

    GENERAL = "general", _("general")
    MAJOR = "major", _("major")


class HazardStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("hidden hazard", "open")
    OVERDUE = "overdue", _("overdue")
    RECTIFIED = "rectified", _("rectified")


def hazard_status(*, deadline: date, rectified_on: date | None, today: date) -> str:
    """Rectified once rectified; else overdue past its deadline (the deadline day itself is
    still in time); else open."""
    if rectified_on is not None:
        return HazardStatus.RECTIFIED
    if deadline < today:
        return HazardStatus.OVERDUE
    return HazardStatus.OPEN


class IncidentGrade(models.TextChoices):
    """Decree 493's grades, gravest first (safety.data.decree493)."""

    EXTRAORDINARILY_SERIOUS = "extraordinarily_serious", _("extraordinarily serious (特别重大)")
    SERIOUS = "serious", _("serious (重大)")
    RELATIVELY_SERIOUS = "relatively_serious", _("relatively serious (较大)")
    ORDINARY = "ordinary", _("ordinary (一般)")


class Inspection(models.Model):
    """A safety inspection of one enterprise of a park, by a park operator or a regulator
    of that park (safety.rules.may_inspect)."""

    park = models.ForeignKey(
        Park, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("park")
    )
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="inspections",
        verbose_name=_("enterprise inspected"),
    )
    inspected_on = models.DateField(_("inspected on"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("inspector"),
    )
    notes = models.TextField(_("notes"), max_length=TEXT_LENGTH, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("safety inspection")
        verbose_name_plural = _("safety inspections")
        ordering = ["-inspected_on", "-id"]
        indexes = [
            models.Index(fields=["park", "inspected_on"], name="inspection_park_date"),
            models.Index(fields=["enterprise", "inspected_on"], name="inspection_ent_date"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.inspected_on}"


class HiddenHazard(models.Model):
    """A hidden hazard (隐患) found by an inspection: graded general or major, to be
    rectified by its deadline; the enterprise reports the rectification, the park's
    operators or regulators confirm it or reopen the hazard."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, related_name="hazards", verbose_name=_("inspection")
    )
    # The inspection's, copied so that a park's or an enterprise's hazards need no join.
    park = models.ForeignKey(
        Park, on_delete=models.PROTECT, related_name="hidden_hazards", verbose_name=_("park")
    )
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="hidden_hazards",
        verbose_name=_("enterprise"),
    )
    description = models.TextField(_("description"), max_length=TEXT_LENGTH)
    grade = models.CharField(_("grade"), max_length=8, choices=HazardGrade.choices)
    found_on = models.DateField(_("found on"))
    deadline = models.DateField(_("rectification deadline"))
    rectified_on = models.DateField(_("rectified on"), null=True, blank=True)
    rectification_note = models.TextField(
        _("rectification note"), max_length=TEXT_LENGTH, blank=True
    )
    confirmed_at = models.DateTimeField(_("rectification confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("hidden hazard")
        verbose_name_plural = _("hidden hazards")
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["park", "deadline"], name="hazard_park_deadline"),
            models.Index(fields=["enterprise", "deadline"], name="hazard_ent_deadline"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gte=F("found_on")), name="hazard_deadline_after_found"
            ),
            models.CheckConstraint(
                condition=Q(rectified_on__isnull=True) | Q(rectified_on__gte=F("found_on")),
                name="hazard_rectified_after_found",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(rectified_on__isnull=False),
                name="hazard_confirmed_when_rectified",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_grade_display()}: {self.description[:60]}"

    def status_on(self, today: date) -> str:
        return hazard_status(deadline=self.deadline, rectified_on=self.rectified_on, today=today)

    @property
    def status(self) -> str:
        return self.status_on(timezone.localdate())


class Incident(models.Model):
    """A production-safety incident of an enterprise, graded per Decree 493."""

    park = models.ForeignKey(
        Park, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("park")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("enterprise")
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    description = models.TextField(_("description"), max_length=TEXT_LENGTH)
    deaths = models.PositiveIntegerField(
        _("deaths"), default=0, validators=[MaxValueValidator(MAX_PEOPLE)]
    )
    serious_injuries = models.PositiveIntegerField(
        _("serious injuries (incl. acute poisoning)"),
        default=0,
        validators=[MaxValueValidator(MAX_PEOPLE)],
    )
    direct_loss_yuan = models.DecimalField(
        _("direct economic loss (CNY)"),
        max_digits=16,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_LOSS_YUAN)],
    )
    grade = models.CharField(_("grade"), max_length=24, choices=IncidentGrade.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["park", "occurred_at"], name="incident_park_time"),
            models.Index(fields=["enterprise", "occurred_at"], name="incident_ent_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direct_loss_yuan__gte=0), name="incident_loss_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_grade_display()} {self.occurred_at:%Y-%m-%d}"


class HazardUnit(models.Model):
    """A warehouse (its zones together) as a unit of GB 18218: its safety profile (people
    within 500 m, set by the park's operators) and its status, recomputed from the ledger's
    lots whenever their stock moves (safety.services.major_hazards): S, R and level now,
    and at capacity (each zone's capacity filled with its current mix)."""

    warehouse = models.OneToOneField(
        Warehouse,
        on_delete=models.CASCADE,
        related_name="hazard_unit",
        verbose_name=_("warehouse"),
    )
    park = models.ForeignKey(
        Park, on_delete=models.PROTECT, related_name="hazard_units", verbose_name=_("park")
    )
    people_within_500m = models.PositiveIntegerField(
        _("people within 500 m"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_PEOPLE)],
        help_text=_("Empty: not surveyed yet; α is then taken as 2.0 (the most populated band)."),
    )
    hazardous_t = models.DecimalField(
        _("hazardous chemicals on hand (t)"), max_digits=20, decimal_places=3, default=Decimal(0)
    )
    s = models.DecimalField(_("S"), max_digits=24, decimal_places=4, default=Decimal(0))
    r = models.DecimalField(_("R"), max_digits=24, decimal_places=4, default=Decimal(0))
    level = models.PositiveSmallIntegerField(_("level"), null=True, blank=True)
    s_at_capacity = models.DecimalField(
        _("S at capacity"), max_digits=24, decimal_places=4, default=Decimal(0)
    )
    r_at_capacity = models.DecimalField(
        _("R at capacity"), max_digits=24, decimal_places=4, default=Decimal(0)
    )
    level_at_capacity = models.PositiveSmallIntegerField(
        _("level at capacity"), null=True, blank=True
    )
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("major hazard unit")
        verbose_name_plural = _("major hazard units")
        ordering = ["park_id", "id"]
        indexes = [models.Index(fields=["park", "level"], name="hazard_unit_park_level")]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__isnull=True) | Q(level__gte=1, level__lte=4),
                name="hazard_unit_level_1_4",
            ),
        ]

    def __str__(self) -> str:
        return str(self.warehouse)

    @property
    def is_major(self) -> bool:
        return self.level is not None
