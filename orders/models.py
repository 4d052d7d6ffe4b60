"""Orders (订单): an agreed match or a direct order on a listing, from reservation to
delivered stock, and the record of every step it took.

An order holds its quantity three ways from the moment it is created: a reservation on the
seller's lot (``inventory.Reservation``), and the listing's and the need's ``ordered_kg``.
Its status changes only through ``orders.services``; each change writes an
OrderTransition (who, when, from, to, why). Quantities never change here: the inventory
services write the ledger.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import Material, Reservation, StockLot, StorageZone
from marketplace.models import Listing, Need
from matching.models import Match
from parks.models import Enterprise


class OrderStatus(models.TextChoices):
    RESERVED = "reserved", _("reserved")
    CONFIRMED = "confirmed", _("confirmed")
    DISPATCHED = "dispatched", _("dispatched")
    RECEIVED = "received", _("received")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")
    REJECTED = "rejected", _("rejected")
    EXPIRED = "expired", _("expired")


# Statuses in which the order still holds its quantity (reservation or stock on the way).
OPEN_STATUSES = (OrderStatus.RESERVED, OrderStatus.CONFIRMED, OrderStatus.DISPATCHED)
CLOSED_STATUSES = (
    OrderStatus.COMPLETED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
    OrderStatus.EXPIRED,
)


class Order(models.Model):
    """``quantity_kg`` of the seller's ``lot`` for the buyer, at the prices agreed (CNY/t)."""

    seller = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="sales", verbose_name=_("seller")
    )
    buyer = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("buyer")
    )
    listing = models.ForeignKey(
        Listing, on_delete=models.PROTECT, related_name="orders", verbose_name=_("listing")
    )
    need = models.ForeignKey(
        Need,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("need"),
    )
    # One order per agreed match (the unique key is the last guard against a second one).
    match = models.OneToOneField(
        Match,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order",
        verbose_name=_("match"),
    )
    material = models.ForeignKey(
        Material, on_delete=models.PROTECT, related_name="orders", verbose_name=_("material")
    )
    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="orders", verbose_name=_("seller's lot")
    )
    # Null only inside the transaction that creates the order: the reservation's reference
    # names the order, so the order row is inserted first.
    reservation = models.OneToOneField(
        Reservation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order",
        verbose_name=_("reservation"),
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)
    price_per_t = models.DecimalField(_("unit price (CNY/t)"), max_digits=14, decimal_places=2)
    transport_per_t = models.DecimalField(
        _("transport (CNY/t)"), max_digits=14, decimal_places=2, default=Decimal(0)
    )
    total_yuan = models.DecimalField(_("total (CNY)"), max_digits=20, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.RESERVED
    )
    delivery_zone = models.ForeignKey(
        StorageZone,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery zone"),
    )
    buyer_lot = models.ForeignKey(
        StockLot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("buyer's lot"),
    )
    shared_transfer = models.BooleanField(
        _("shared-warehouse transfer"),
        default=False,
        help_text=_("Received by a change of owner in the park's shared warehouse."),
    )
    hold_until = models.DateTimeField(
        _("reserved until"),
        null=True,
        blank=True,
        help_text=_("The reservation expires then unless the seller confirms the order."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        indexes = [
            # Each party's orders by status: the two sides of the tenant filter.
            models.Index(fields=["seller", "status"]),
            models.Index(fields=["buyer", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_kg__gt=0), name="order_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(price_per_t__gte=0) & Q(transport_per_t__gte=0) & Q(total_yuan__gte=0),
                name="order_money_gte_0",
            ),
            models.CheckConstraint(condition=~Q(seller=F("buyer")), name="order_parties_differ"),
        ]

    def __str__(self) -> str:
        return gettext("Order #%(id)s (%(status)s)") % {
            "id": self.pk,
            "status": self.get_status_display(),
        }

    @property
    def reference(self) -> str:
        """How the ledger and the reservation name this order."""
        return f"order:{self.pk}"


class OrderTransition(models.Model):
    """One step of an order: who took it (none for the system's expiry), when, from which
    status to which, and why. Append-only; the creation is the step from "" to reserved."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("order")
    )
    from_status = models.CharField(
        _("from"), max_length=10, choices=OrderStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=10, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("order transition")
        verbose_name_plural = _("order transitions")
        ordering = ["order_id", "id"]
        indexes = [models.Index(fields=["order", "id"])]

    def __str__(self) -> str:
        return gettext("Order #%(id)s: %(from)s → %(to)s") % {
            "id": self.order_id,
            "from": self.get_from_status_display() if self.from_status else "-",
            "to": self.get_to_status_display(),
        }

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Order transitions are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
