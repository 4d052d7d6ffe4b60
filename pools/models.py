"""Joint stockpiles (物资联储联备): reserve pools of critical materials held together by a
park's enterprises.

A pool's stock is owned by its ``holder``, an Enterprise of kind ``pool`` in the pool's
park (parks.models.EnterpriseKind): every movement into or out of a pool is then an
ordinary ledger movement (inventory.services), ``ledger_check`` covers pools with every
other owner, and the orders and the matching engine that fill an enterprise's need fill a
pool's. Who acts for the holder is the pool's operator: its lead enterprise's staff, or the
park's operators when it has none (pools.rules).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Material, StockLot, StorageZone
from matching.models import Match
from orders.models import Order
from parks.models import Enterprise, Park


class ReplenishRule(models.TextChoices):
    """Who refills what a draw took."""

    PRO_RATA = "pro_rata", _("members pro rata to their commitments")
    DRAWER = "drawer", _("the drawer refills it all")
    EQUAL = "equal", _("members in equal shares")


class Pool(models.Model):
    park = models.ForeignKey(
        Park, on_delete=models.PROTECT, related_name="pools", verbose_name=_("park")
    )
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    material = models.ForeignKey(
        Material, on_delete=models.PROTECT, related_name="pools", verbose_name=_("material")
    )
    substitutes = models.ManyToManyField(
        Material, blank=True, related_name="+", verbose_name=_("accepted substitutes")
    )
    target_kg = models.DecimalField(_("target (kg)"), max_digits=16, decimal_places=3)
    zones = models.ManyToManyField(StorageZone, related_name="pools", verbose_name=_("zones"))
    lead = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pools_led",
        verbose_name=_("lead enterprise"),
        help_text=_("Empty: the park's operators run the pool."),
    )
    holder = models.OneToOneField(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="pool",
        verbose_name=_("holder"),
        help_text=_("The owner of the pool's stock in the ledger."),
    )
    max_price_per_t = models.DecimalField(
        _("price limit (CNY/t)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    holding_rate_per_t_month = models.DecimalField(
        _("holding cost (CNY per tonne-month)"), max_digits=12, decimal_places=2, default=0
    )
    storage_fee_per_month = models.DecimalField(
        _("storage fees (CNY per month)"), max_digits=14, decimal_places=2, default=0
    )
    replenish_rule = models.CharField(
        _("replenishment rule"),
        max_length=10,
        choices=ReplenishRule.choices,
        default=ReplenishRule.PRO_RATA,
    )
    replenish_days = models.PositiveSmallIntegerField(
        _("replenishment deadline (days)"), default=30
    )
    rotation_lead_days = models.PositiveSmallIntegerField(
        _("rotation lead time (days)"),
        default=60,
        help_text=_("A pooled lot this close to its expiry is flagged for rotation."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("joint stockpile")
        verbose_name_plural = _("joint stockpiles")
        ordering = ["park_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["park", "code"], name="pool_code_per_park"),
            models.CheckConstraint(condition=Q(target_kg__gt=0), name="pool_target_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    LEFT = "left", _("left")


class PoolMember(models.Model):
    """An enterprise's part in a pool: its commitment (kg it undertakes to keep there)."""

    pool = models.ForeignKey(
        Pool, on_delete=models.CASCADE, related_name="members", verbose_name=_("pool")
    )
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="pool_memberships",
        verbose_name=_("enterprise"),
    )
    commitment_kg = models.DecimalField(_("commitment (kg)"), max_digits=16, decimal_places=3)
    status = models.CharField(
        _("status"), max_length=8, choices=MemberStatus.choices, default=MemberStatus.ACTIVE
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("pool member")
        verbose_name_plural = _("pool members")
        ordering = ["pool_id", "enterprise_id"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "enterprise"], name="pool_member_once"),
            models.CheckConstraint(
                condition=Q(commitment_kg__gte=0), name="pool_commitment_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} @ {self.pool}"


class RequestKind(models.TextChoices):
    JOIN = "join", _("join")
    CHANGE = "change", _("change the commitment")
    LEAVE = "leave", _("leave")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class MembershipRequest(models.Model):
    """An enterprise asks to join, change its commitment or leave; the operator decides.
    Kept with who asked, who decided and when: the pool's membership history."""

    pool = models.ForeignKey(
        Pool, on_delete=models.CASCADE, related_name="requests", verbose_name=_("pool")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="+", verbose_name=_("enterprise")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=RequestKind.choices)
    commitment_kg = models.DecimalField(
        _("commitment (kg)"), null=True, blank=True, max_digits=16, decimal_places=3
    )
    status = models.CharField(
        _("status"), max_length=8, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("membership request")
        verbose_name_plural = _("membership requests")
        ordering = ["-id"]
        constraints = [
            # One open request per enterprise and pool: decide it before asking again.
            models.UniqueConstraint(
                fields=["pool", "enterprise"],
                condition=Q(status="pending"),
                name="pool_request_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.enterprise} @ {self.pool}"


class ContributionSource(models.TextChoices):
    TRANSFER = "transfer", _("transfer of own stock")
    ORDER = "order", _("order delivered into the pool")


class Contribution(models.Model):
    """Stock that came into the pool, credited to the member that brought it (none: the
    pool's own purchase)."""

    pool = models.ForeignKey(
        Pool, on_delete=models.PROTECT, related_name="contributions", verbose_name=_("pool")
    )
    member = models.ForeignKey(
        PoolMember,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contributions",
        verbose_name=_("member"),
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)
    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("pooled lot")
    )
    source = models.CharField(_("source"), max_length=10, choices=ContributionSource.choices)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_kg__gt=0), name="pool_contribution_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity_kg} kg -> {self.pool}"


class DrawSeverity(models.TextChoices):
    EMERGENCY = "emergency", _("emergency")
    URGENT = "urgent", _("urgent")
    ROUTINE = "routine", _("routine")


class DrawStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    GRANTED = "granted", _("granted")
    REJECTED = "rejected", _("rejected")


class Draw(models.Model):
    """A member takes stock out of the pool: at once in an emergency (up to what the pool
    holds, first expiry first out), after the operator's approval otherwise."""

    pool = models.ForeignKey(
        Pool, on_delete=models.PROTECT, related_name="draws", verbose_name=_("pool")
    )
    member = models.ForeignKey(
        PoolMember, on_delete=models.PROTECT, related_name="draws", verbose_name=_("member")
    )
    requested_kg = models.DecimalField(_("requested (kg)"), max_digits=16, decimal_places=3)
    granted_kg = models.DecimalField(_("granted (kg)"), default=0, max_digits=16, decimal_places=3)
    severity = models.CharField(_("severity"), max_length=10, choices=DrawSeverity.choices)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(
        _("status"), max_length=8, choices=DrawStatus.choices, default=DrawStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(requested_kg__gt=0), name="pool_draw_positive"),
            models.CheckConstraint(
                condition=Q(granted_kg__gte=0) & Q(granted_kg__lte=F("requested_kg")),
                name="pool_draw_granted_within_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requested_kg} kg from {self.pool}"


class DrawLine(models.Model):
    """What one draw took from one pooled lot, and the member's lot it became."""

    draw = models.ForeignKey(
        Draw, on_delete=models.CASCADE, related_name="lines", verbose_name=_("draw")
    )
    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("pooled lot")
    )
    to_lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="+", verbose_name=_("member's lot")
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)

    class Meta:
        verbose_name = _("draw line")
        verbose_name_plural = _("draw lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity_kg} kg of lot {self.lot_id}"


class Obligation(models.Model):
    """A member's share of refilling what a draw took, by the pool's rule, with a
    deadline; met by the member's contributions (oldest obligation first)."""

    pool = models.ForeignKey(
        Pool, on_delete=models.PROTECT, related_name="obligations", verbose_name=_("pool")
    )
    draw = models.ForeignKey(
        Draw, on_delete=models.PROTECT, related_name="obligations", verbose_name=_("draw")
    )
    member = models.ForeignKey(
        PoolMember,
        on_delete=models.PROTECT,
        related_name="obligations",
        verbose_name=_("member"),
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)
    met_kg = models.DecimalField(_("met (kg)"), default=0, max_digits=16, decimal_places=3)
    due_on = models.DateField(_("due on"))
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)

    class Meta:
        verbose_name = _("replenishment obligation")
        verbose_name_plural = _("replenishment obligations")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(met_kg__gte=0) & Q(met_kg__lte=F("quantity_kg")),
                name="pool_obligation_met_within",
            ),
            models.UniqueConstraint(fields=["draw", "member"], name="pool_obligation_once"),
        ]
        indexes = [
            models.Index(
                fields=["member", "due_on"],
                condition=Q(met_at__isnull=True),
                name="pool_obligation_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity_kg} kg by {self.due_on}"


class PoolProposal(Match):
    """The matching engine's proposals for pools (their holders buying for their needs or
    selling lots listed for rotation): a view of Match for the pools' admin, where the
    operator decides and orders them in the pool's name."""

    class Meta:
        proxy = True
        verbose_name = _("proposal for a pool")
        verbose_name_plural = _("proposals for pools")


class PoolOrder(Order):
    """Orders pools placed: a view of Order for the pools' admin, where the operator
    receives them into the pool's zone."""

    class Meta:
        proxy = True
        verbose_name = _("order of a pool")
        verbose_name_plural = _("orders of pools")
