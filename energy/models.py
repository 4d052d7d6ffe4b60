"""Energy use: meters, their readings, monthly output values, conversion factors to
standard coal, the rollups kept on ingest, and anomaly flags (docs/energy.md).

Raw readings are written once (``energy.services.ingest``) and never read by a report: the
reports read the rollups (``MeterDay``, ``EnterpriseDay``, ``EnterpriseMonth``), which the
ingest updates in the same transaction and ``manage.py energy_rollup_check`` proves equal
to the raw sums.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from energy.data.coefficients import CARRIERS, EQUAL_VALUE, EQUIVALENT


class Carrier(models.TextChoices):
    ELECTRICITY = "electricity", _("electricity")
    NATURAL_GAS = "natural_gas", _("natural gas")
    STEAM = "steam", _("low-pressure steam")
    HEAT = "heat", _("heat")
    RAW_COAL = "raw_coal", _("raw coal")
    WASHED_COAL = "washed_coal", _("washed coal")
    COKE = "coke", _("coke")
    CRUDE_OIL = "crude_oil", _("crude oil")
    FUEL_OIL = "fuel_oil", _("fuel oil")
    GASOLINE = "gasoline", _("gasoline")
    KEROSENE = "kerosene", _("kerosene")
    DIESEL = "diesel", _("diesel")
    LPG = "lpg", _("liquefied petroleum gas")


assert set(Carrier.values) == set(CARRIERS), "energy.data.coefficients.CARRIERS"


class Unit(models.TextChoices):
    KWH = "kWh", "kWh"
    M3 = "m3", "m³"
    KG = "kg", "kg"
    MJ = "MJ", "MJ"


#: The one unit each carrier is metered in.
CARRIER_UNIT: dict[str, str] = {code: unit for code, (unit, _en, _zh) in CARRIERS.items()}


class Convention(models.TextChoices):
    EQUIVALENT = EQUIVALENT, _("equivalent value (当量值)")
    EQUAL_VALUE = EQUAL_VALUE, _("equal value (等价值)")


# Precision of the stored figures. A reading has 3 decimals; a factor 6; their product 9:
# rollups of kgce keep 9 decimals so that sums of products are exact (no rounding on the
# way, the rollup check compares to the last digit).
VALUE_DIGITS, VALUE_PLACES = 15, 3
QUANTITY_DIGITS = 20
FACTOR_DIGITS, FACTOR_PLACES = 12, 6
KGCE_DIGITS, KGCE_PLACES = 32, 9


class ConversionFactor(models.Model):
    """kgce per unit of a carrier under a convention, valid from a day until a day (or
    open). The rows of one carrier and convention never overlap nor leave a gap after their
    first day (``energy.services.factors`` keeps them so)."""

    carrier = models.CharField(_("carrier"), max_length=16, choices=Carrier.choices)
    convention = models.CharField(_("convention"), max_length=16, choices=Convention.choices)
    kgce_per_unit = models.DecimalField(
        _("kgce per unit"),
        max_digits=FACTOR_DIGITS,
        decimal_places=FACTOR_PLACES,
        validators=[MinValueValidator(Decimal("0.000001"))],
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("conversion factor")
        verbose_name_plural = _("conversion factors")
        ordering = ("carrier", "convention", "valid_from")
        constraints = [
            models.UniqueConstraint(
                fields=("carrier", "convention", "valid_from"), name="energy_factor_unique_start"
            ),
            models.CheckConstraint(condition=Q(kgce_per_unit__gt=0), name="energy_factor_positive"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="energy_factor_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.convention} {self.kgce_per_unit} ({self.valid_from})"


class Meter(models.Model):
    """A meter of one enterprise measuring one carrier in the carrier's unit."""

    enterprise = models.ForeignKey(
        "parks.Enterprise", on_delete=models.PROTECT, related_name="meters"
    )
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    carrier = models.CharField(_("carrier"), max_length=16, choices=Carrier.choices)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices)
    is_active = models.BooleanField(_("active"), default=True)
    anomaly_factor = models.DecimalField(
        _("jump factor"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "A reading above this many times the recent median is flagged; empty: "
            "the setting ENERGY_JUMP_FACTOR."
        ),
        validators=[MinValueValidator(Decimal("1.01"))],
    )
    last_reading_at = models.DateTimeField(_("last reading at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        ordering = ("enterprise_id", "code")
        constraints = [
            models.UniqueConstraint(fields=("enterprise", "code"), name="energy_meter_unique_code"),
            models.CheckConstraint(
                condition=Q(anomaly_factor__isnull=True) | Q(anomaly_factor__gt=1),
                name="energy_meter_factor_above_one",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.carrier})"


class Reading(models.Model):
    """What a meter counted in the interval ending at ``at`` (hourly in the demo).

    ``day`` is the local day (settings.TIME_ZONE) the interval belongs to: the day of
    ``at`` less a microsecond, so the hour ending at midnight counts to the day before."""

    # Indexed by the unique (meter, at): no index of its own (10 million rows). No foreign
    # key constraint in the database either: checking it costs as much as the INSERT of a
    # batch (measured: 130 ms of 280 for 10,000 rows), and the ingest has just looked up
    # and locked every meter of the batch; meters are never deleted (no API or admin
    # deletes one; PROTECT keeps the ORM from it).
    meter = models.ForeignKey(
        Meter,
        on_delete=models.PROTECT,
        related_name="readings",
        db_index=False,
        db_constraint=False,
    )
    at = models.DateTimeField(_("at"))
    day = models.DateField(_("day"))
    value = models.DecimalField(_("value"), max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        constraints = [
            models.UniqueConstraint(fields=("meter", "at"), name="energy_reading_unique_at"),
            models.CheckConstraint(condition=Q(value__gte=0), name="energy_reading_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} @ {self.at}: {self.value}"


class OutputValue(models.Model):
    """An enterprise's output value (产值) of a month, in yuan; ``month`` is its first day."""

    enterprise = models.ForeignKey(
        "parks.Enterprise", on_delete=models.PROTECT, related_name="output_values"
    )
    month = models.DateField(_("month"))
    value_yuan = models.DecimalField(
        _("output value (yuan)"),
        max_digits=18,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("output value")
        verbose_name_plural = _("output values")
        ordering = ("enterprise_id", "month")
        constraints = [
            models.UniqueConstraint(fields=("enterprise", "month"), name="energy_output_unique"),
            models.CheckConstraint(
                condition=Q(value_yuan__gte=0), name="energy_output_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.month:%Y-%m}: {self.value_yuan}"


# --- Rollups ------------------------------------------------------------------------------


class MeterDay(models.Model):
    """The sum of a meter's readings of one day, and how many there were."""

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="days", db_index=False)
    day = models.DateField()
    quantity = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=VALUE_PLACES)
    readings = models.IntegerField()

    class Meta:
        verbose_name = _("meter day")
        verbose_name_plural = _("meter days")
        constraints = [
            models.UniqueConstraint(fields=("meter", "day"), name="energy_meterday_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.day}: {self.quantity}"


class _EnterpriseRollup(models.Model):
    # Indexed by the unique (enterprise, carrier, period) and (park, period).
    enterprise = models.ForeignKey(
        "parks.Enterprise", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    park = models.ForeignKey(
        "parks.Park", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    carrier = models.CharField(max_length=16, choices=Carrier.choices)
    quantity = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=VALUE_PLACES)
    kgce_equivalent = models.DecimalField(max_digits=KGCE_DIGITS, decimal_places=KGCE_PLACES)
    kgce_equal_value = models.DecimalField(max_digits=KGCE_DIGITS, decimal_places=KGCE_PLACES)

    class Meta:
        abstract = True


class EnterpriseDay(_EnterpriseRollup):
    """An enterprise's use of one carrier on one day, in its unit and in kgce under both
    conventions (each day's quantity at the factor effective that day)."""

    day = models.DateField()

    class Meta:
        verbose_name = _("enterprise day")
        verbose_name_plural = _("enterprise days")
        constraints = [
            models.UniqueConstraint(
                fields=("enterprise", "carrier", "day"), name="energy_enterpriseday_unique"
            ),
        ]
        indexes = [models.Index(fields=("park", "day"), name="energy_eday_park_day")]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.carrier} {self.day}"


class EnterpriseMonth(_EnterpriseRollup):
    """The sum of an enterprise's days of one carrier in a month (``month``: its first day)."""

    month = models.DateField()

    class Meta:
        verbose_name = _("enterprise month")
        verbose_name_plural = _("enterprise months")
        constraints = [
            models.UniqueConstraint(
                fields=("enterprise", "carrier", "month"), name="energy_enterprisemonth_unique"
            ),
        ]
        indexes = [models.Index(fields=("park", "month"), name="energy_emonth_park_month")]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.carrier} {self.month:%Y-%m}"


# --- Anomalies and batches -------------------------------------------------------------------


class AnomalyKind(models.TextChoices):
    JUMP = "jump", _("jump")
    SILENT = "silent", _("silent")


class EnergyAnomaly(models.Model):
    """A reading far above its meter's recent median (``jump``), or a meter that has sent
    nothing for too long (``silent``, ``at``: its last reading, or its creation)."""

    meter = models.ForeignKey(
        Meter, on_delete=models.CASCADE, related_name="anomalies", db_index=False
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=8, choices=AnomalyKind.choices)
    value = models.DecimalField(
        _("value"), max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, null=True, blank=True
    )
    median = models.DecimalField(
        _("median"), max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, null=True, blank=True
    )
    factor = models.DecimalField(_("factor"), max_digits=6, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(_("flagged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("energy anomaly")
        verbose_name_plural = _("energy anomalies")
        ordering = ("-at",)
        constraints = [
            models.UniqueConstraint(fields=("meter", "kind", "at"), name="energy_anomaly_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.meter_id} @ {self.at}"


class IngestSource(models.TextChoices):
    API = "api", _("API")
    ADMIN = "admin", _("admin upload")
    LOAD = "load", _("bulk load")


class IngestBatch(models.Model):
    """One batch of readings ingested: what it brought, and its audit row's object."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    enterprise = models.ForeignKey(
        "parks.Enterprise", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("source"), max_length=8, choices=IngestSource.choices)
    rows = models.IntegerField(_("rows"))
    accepted = models.IntegerField(_("accepted"))
    duplicates = models.IntegerField(_("duplicates"))
    refused = models.IntegerField(_("refused"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ingest batch")
        verbose_name_plural = _("ingest batches")
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"batch {self.pk}: {self.accepted}/{self.rows}"
