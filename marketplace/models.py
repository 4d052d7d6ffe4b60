"""Offers of idle stock (listings) and wants (needs)."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import Material, StockLot, StorageZone
from parks.models import LATITUDE, LONGITUDE, Enterprise


class Visibility(models.TextChoices):
    PARK = "park", _("own park")
    REGION = "region", _("same region")
    ALL = "all", _("all parks")


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Listing(models.Model):
    """An offer of a quantity from one stock lot (闲置物资). Prices are CNY per tonne."""

    seller = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="listings", verbose_name=_("seller")
    )
    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="listings", verbose_name=_("lot")
    )
    # The lot's material, copied when the listing is created (a lot's material never
    # changes): filters and counts by material or hazard class then need no join of lots.
    material = models.ForeignKey(
        Material,
        on_delete=models.PROTECT,
        related_name="listings",
        verbose_name=_("material"),
        editable=False,
    )
    quantity_kg = models.DecimalField(
        _("quantity offered (kg)"),
        max_digits=16,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    price_per_t = models.DecimalField(
        _("unit price (CNY/t)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    # What orders hold of the offer (changed in the database by the orders' services): the
    # listing still offers quantity_kg − ordered_kg.
    ordered_kg = models.DecimalField(
        _("ordered (kg)"), max_digits=16, decimal_places=3, default=Decimal(0), editable=False
    )
    min_order_kg = models.DecimalField(
        _("minimum order (kg)"),
        max_digits=16,
        decimal_places=3,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
    )
    available_from = models.DateField(_("available from"))
    available_until = models.DateField(_("available until"), null=True, blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.PARK
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ListingStatus.choices, default=ListingStatus.DRAFT
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "visibility", "-id"]),
            models.Index(fields=["seller", "status"]),
            # The browse path (status + material or class, then visibility and seller):
            # covering on PostgreSQL, so the capped count of a page is an index-only scan.
            models.Index(
                fields=["status", "material"],
                include=["visibility", "seller"],
                name="listing_browse",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_kg__gt=0), name="listing_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price_per_t__gte=0), name="listing_price_gte_0"),
            models.CheckConstraint(
                condition=Q(ordered_kg__gte=0) & Q(ordered_kg__lte=F("quantity_kg")),
                name="listing_ordered_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(min_order_kg__gte=0) & Q(min_order_kg__lte=F("quantity_kg")),
                name="listing_min_order_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(available_until__isnull=True)
                | Q(available_until__gte=F("available_from")),
                name="listing_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Listing #%(id)s (%(status)s)") % {
            "id": self.pk,
            "status": self.get_status_display(),
        }


class NeedStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    # Closed by the system because its date passed (marketplace.services.needs_expire_due);
    # like a closed need it takes no part in matching, and its owner may set a later date
    # and reopen it.
    EXPIRED = "expired", _("expired")


class Need(models.Model):
    """A want (需求): a quantity of a material, by a date, delivered to a zone or a point."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="needs", verbose_name=_("enterprise")
    )
    material = models.ForeignKey(
        Material, on_delete=models.PROTECT, related_name="needs", verbose_name=_("material")
    )
    substitutes = models.ManyToManyField(
        Material,
        blank=True,
        related_name="substitute_for_needs",
        verbose_name=_("accepted substitutes"),
    )
    quantity_kg = models.DecimalField(
        _("quantity (kg)"),
        max_digits=16,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    # What orders placed against the need hold (changed by the orders' services): the need
    # still asks for quantity_kg − ordered_kg.
    ordered_kg = models.DecimalField(
        _("ordered (kg)"), max_digits=16, decimal_places=3, default=Decimal(0), editable=False
    )
    max_price_per_t = models.DecimalField(
        _("maximum unit price (CNY/t)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    needed_by = models.DateField(_("needed by"))
    delivery_zone = models.ForeignKey(
        StorageZone,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("delivery zone"),
    )
    delivery_latitude = models.DecimalField(
        _("delivery latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=LATITUDE,
    )
    delivery_longitude = models.DecimalField(
        _("delivery longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=LONGITUDE,
    )
    max_distance_km = models.DecimalField(
        _("maximum distance (km)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(20000)],
    )
    min_purity_pct = models.DecimalField(
        _("minimum purity (%)"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    status = models.CharField(
        _("status"), max_length=8, choices=NeedStatus.choices, default=NeedStatus.OPEN
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["material", "status"]),
            models.Index(fields=["enterprise", "status"]),
            # The hourly expiry (open needs past their date): open needs only, by date.
            models.Index(
                fields=["needed_by"], condition=Q(status="open"), name="need_open_by_date"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_kg__gt=0), name="need_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(ordered_kg__gte=0) & Q(ordered_kg__lte=F("quantity_kg")),
                name="need_ordered_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(delivery_zone__isnull=False)
                | (Q(delivery_latitude__isnull=False) & Q(delivery_longitude__isnull=False)),
                name="need_has_delivery_place",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Need #%(id)s (%(status)s)") % {
            "id": self.pk,
            "status": self.get_status_display(),
        }
