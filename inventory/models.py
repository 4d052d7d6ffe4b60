"""Material catalogue, warehouses with zones, stock lots, the stock ledger and reservations.

Quantities are Decimal kilograms (3 places: one gram). A lot's ``on_hand_kg`` always equals
the sum of its StockMovement rows; ``reserved_kg`` is held for buyers, never exceeds it, and
always equals the sum of the lot's held Reservations (``manage.py ledger_check`` proves both).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from common.identifiers import validate_cas, validate_un
from inventory.controls import DRUG_PRECURSOR_CATEGORIES, PermitKind
from inventory.hazards import HazardClass, HazardProfile, validate_classes
from inventory.units import MAX_QUANTITY_KG, Unit
from parks.models import LATITUDE, LONGITUDE, Enterprise, Park


def validate_class_list(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("A list of dangerous-goods class codes is expected."))
    unknown = validate_classes(value)
    if unknown:
        raise ValidationError(
            _("Unknown dangerous-goods class: %(codes)s."), params={"codes": ", ".join(unknown)}
        )


class PhysicalState(models.TextChoices):
    SOLID = "solid", _("solid")
    LIQUID = "liquid", _("liquid")
    GAS = "gas", _("gas (compressed or liquefied)")


class ChemicalFamily(models.TextChoices):
    """Families that pair rules of segregation name, beyond the class table."""

    NONE = "", _("none")
    ACID = "acid", _("acid")
    CYANIDE = "cyanide", _("cyanide")
    AMMONIA = "ammonia", _("ammonia")
    CHLORINE = "chlorine", _("chlorine")


DRUG_PRECURSOR_CHOICES = [
    (0, _("not a drug precursor")),
    (1, _("category 1")),
    (2, _("category 2")),
    (3, _("category 3")),
]


class Material(models.Model):
    """An entry of the material catalogue: a chemical, a product or a mixture."""

    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    cas = models.CharField(
        _("CAS number"),
        max_length=12,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_cas],
    )
    un_number = models.CharField(_("UN number"), max_length=6, blank=True, validators=[validate_un])
    primary_class = models.CharField(
        _("primary dangerous-goods class"),
        max_length=3,
        choices=HazardClass.choices,
        blank=True,
        help_text=_("Empty for materials that are not dangerous goods."),
    )
    subsidiary_classes = models.JSONField(
        _("subsidiary classes"), default=list, blank=True, validators=[validate_class_list]
    )
    physical_state = models.CharField(
        _("physical state"), max_length=8, choices=PhysicalState.choices, default="liquid"
    )
    family = models.CharField(
        _("chemical family"), max_length=16, choices=ChemicalFamily.choices, blank=True
    )
    gb18218_threshold_t = models.DecimalField(
        _("GB 18218 threshold (t)"),
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text=_("Critical quantity Q for a named chemical or its category (GB 18218-2018)."),
    )
    gb18218_category = models.CharField(
        _("GB 18218 category"), max_length=8, blank=True, help_text=_("e.g. J1, W2, W5.1")
    )
    default_unit = models.CharField(
        _("default unit"), max_length=4, choices=Unit.choices, default=Unit.KG
    )
    density_kg_per_l = models.DecimalField(
        _("density (kg/L)"),
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("30"))],
        help_text=_("Needed to accept quantities in L or m³."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Controlled chemicals (管制类危险化学品): who may buy it (inventory.controls).
    highly_toxic = models.BooleanField(
        _("highly toxic (剧毒化学品)"),
        default=False,
        help_text=_(
            "Marked 剧毒 in 《危险化学品目录（2015版）》. The flags follow the official lists "
            "named in the control source and must be verified against them."
        ),
    )
    explosive_precursor = models.BooleanField(
        _("explosive precursor (易制爆)"),
        default=False,
        help_text=_(
            "On 《易制爆危险化学品名录（2017年版）》. The flags follow the official lists named "
            "in the control source and must be verified against them."
        ),
    )
    drug_precursor_category = models.PositiveSmallIntegerField(
        _("drug-precursor category (易制毒)"),
        default=0,
        choices=DRUG_PRECURSOR_CHOICES,
        help_text=_(
            "Category of 《易制毒化学品的分类和品种目录》 (1-3), 0 if not listed. The flags "
            "follow the official lists named in the control source and must be verified "
            "against them."
        ),
    )
    control_source = models.TextField(
        _("control source"),
        blank=True,
        help_text=_("The official list(s) and edition the control flags were taken from."),
    )

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["name_en", "id"]
        indexes = [models.Index(fields=["primary_class"]), models.Index(fields=["un_number"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(drug_precursor_category__lte=max(DRUG_PRECURSOR_CATEGORIES)),
                name="material_drug_precursor_category_0_3",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} {self.name_en}" + (f" ({self.cas})" if self.cas else "")

    @property
    def short_name(self) -> str:
        """The name in the language of the request (Chinese unless English is active)."""
        return self.name_en if get_language() == "en" or not self.name_zh else self.name_zh

    @property
    def classes(self) -> tuple[str, ...]:
        if not self.primary_class:
            return ()
        return (self.primary_class, *self.subsidiary_classes)

    @property
    def hazard_profile(self) -> HazardProfile:
        return HazardProfile(
            classes=self.classes,
            family=self.family,
            liquid=self.physical_state == PhysicalState.LIQUID,
            label=self.name_en,
        )


# The fields of a material that its services set (inventory.services.material_*).
MATERIAL_FIELDS = (
    "name_zh",
    "name_en",
    "cas",
    "un_number",
    "primary_class",
    "subsidiary_classes",
    "physical_state",
    "family",
    "gb18218_threshold_t",
    "gb18218_category",
    "default_unit",
    "density_kg_per_l",
    "is_active",
    "highly_toxic",
    "explosive_precursor",
    "drug_precursor_category",
    "control_source",
)


class Warehouse(models.Model):
    """A warehouse or tank farm. Owned by one enterprise, or (owner empty) operated by the
    park as a shared warehouse (共享仓) that enterprises of the park store in."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    park = models.ForeignKey(
        Park, on_delete=models.PROTECT, related_name="warehouses", verbose_name=_("park")
    )
    owner = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="warehouses",
        verbose_name=_("owner"),
        help_text=_("Empty for a park-operated shared warehouse."),
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, validators=LATITUDE
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, validators=LONGITUDE
    )
    address = models.CharField(_("address"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class StorageZone(models.Model):
    """A zone of a warehouse: a capacity and the dangerous-goods classes it is licensed for."""

    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.CASCADE, related_name="zones", verbose_name=_("warehouse")
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=120, blank=True)
    building = models.CharField(
        _("building"),
        max_length=20,
        default="A",
        help_text=_("Zones in one building share it for segregation codes 3 and 4."),
    )
    capacity_kg = models.DecimalField(
        _("capacity (kg)"),
        max_digits=16,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_QUANTITY_KG)],
    )
    allowed_classes = models.JSONField(
        _("allowed classes"),
        default=list,
        blank=True,
        validators=[validate_class_list],
        help_text=_("Dangerous-goods classes licensed here; non-dangerous goods always are."),
    )

    class Meta:
        verbose_name = _("storage zone")
        verbose_name_plural = _("storage zones")
        ordering = ["warehouse_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "code"], name="zone_code_unique"),
            models.CheckConstraint(condition=Q(capacity_kg__gte=0), name="zone_capacity_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.warehouse.code}/{self.code}"


class StockLot(models.Model):
    """A quantity of one material, of one owner, in one zone, from one batch."""

    material = models.ForeignKey(
        Material, on_delete=models.PROTECT, related_name="lots", verbose_name=_("material")
    )
    owner = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="lots", verbose_name=_("owner")
    )
    zone = models.ForeignKey(
        StorageZone, on_delete=models.PROTECT, related_name="lots", verbose_name=_("zone")
    )
    on_hand_kg = models.DecimalField(
        _("on hand (kg)"), max_digits=16, decimal_places=3, default=Decimal(0)
    )
    reserved_kg = models.DecimalField(
        _("reserved (kg)"), max_digits=16, decimal_places=3, default=Decimal(0)
    )
    batch_no = models.CharField(_("batch number"), max_length=64, blank=True)
    purity_pct = models.DecimalField(
        _("purity (%)"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    grade = models.CharField(_("grade"), max_length=40, blank=True)
    produced_on = models.DateField(_("produced on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock lot")
        verbose_name_plural = _("stock lots")
        ordering = ["-id"]
        indexes = [
            # An enterprise's stock by material: covering on PostgreSQL, so counting a
            # page of lots (and summing stock for reports) reads the index alone.
            models.Index(
                fields=["owner", "material"],
                include=["on_hand_kg", "reserved_kg"],
                name="lot_owner_material",
            ),
            models.Index(fields=["zone", "material"]),
            models.Index(fields=["material", "expires_on"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(on_hand_kg__gte=0), name="lot_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved_kg__gte=0), name="lot_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved_kg__lte=F("on_hand_kg")), name="lot_reserved_lte_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True)
                | Q(produced_on__isnull=True)
                | Q(expires_on__gte=F("produced_on")),
                name="lot_expiry_after_production",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Lot #%(id)s %(material)s %(kg)s kg") % {
            "id": self.pk,
            "material": self.material.short_name,
            "kg": self.on_hand_kg,
        }

    @property
    def available_kg(self) -> Decimal:
        return self.on_hand_kg - self.reserved_kg


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("receipt")
    ADJUSTMENT = "adjustment", _("adjustment")
    MOVE_OUT = "move_out", _("move out")
    MOVE_IN = "move_in", _("move in")
    DISPATCH = "dispatch", _("dispatch")
    DELIVERY = "delivery", _("delivery")
    TRANSFER_OUT = "transfer_out", _("ownership transfer out")
    TRANSFER_IN = "transfer_in", _("ownership transfer in")


class StockMovement(models.Model):
    """One append-only ledger line: a signed change of a lot's on-hand quantity."""

    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="movements", verbose_name=_("lot")
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    reference = models.CharField(
        _("reference"), max_length=120, blank=True, help_text=_("e.g. order:42, move:17")
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-id"]
        indexes = [models.Index(fields=["lot", "id"])]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity_kg=0), name="movement_nonzero"),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s %(kg)s kg, lot #%(lot)s") % {
            "kind": self.get_kind_display(),
            "kg": f"{self.quantity_kg:+}",
            "lot": self.lot_id,
        }

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Stock movements are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Stock movements are append-only.")


class ReservationStatus(models.TextChoices):
    HELD = "held", _("held")
    RELEASED = "released", _("released")
    EXPIRED = "expired", _("expired")
    CONSUMED = "consumed", _("consumed")


class Reservation(models.Model):
    """A quantity of a lot held for an enterprise (the buyer of an order, usually).

    While held, its quantity is part of the lot's ``reserved_kg``. It ends once: released,
    expired (past ``expires_at``, by the sweep) or consumed (dispatched, or its ownership
    transferred). Only inventory.services change it; the quantity never changes.
    """

    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("lot")
    )
    holder = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="reservations_held",
        verbose_name=_("held for"),
    )
    quantity_kg = models.DecimalField(_("quantity (kg)"), max_digits=16, decimal_places=3)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReservationStatus.choices,
        default=ReservationStatus.HELD,
    )
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("Empty: held until dispatch."),
    )
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("e.g. order:12")
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
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=255, blank=True)
    # When the warning sweep announced that the hold runs out soon (reservation.expiring):
    # set once, so a reservation is warned of at most once.
    expiry_warned_at = models.DateTimeField(_("expiry warned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-id"]
        indexes = [
            # The expiry sweep reads held reservations by due time, and only those.
            models.Index(
                fields=["status", "expires_at"],
                condition=Q(status="held"),
                name="reservation_held_due",
            ),
            # ledger_check sums held reservations per lot: an index-only scan on PostgreSQL.
            models.Index(
                fields=["lot"],
                include=["quantity_kg"],
                condition=Q(status="held"),
                name="reservation_held_by_lot",
            ),
            models.Index(fields=["reference"], name="reservation_reference"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_kg__gt=0), name="reservation_quantity_gt_0"
            ),
            # Held means open; every other status is closed, with the time it closed.
            models.CheckConstraint(
                condition=Q(status="held", closed_at__isnull=True)
                | (~Q(status="held") & Q(closed_at__isnull=False)),
                name="reservation_closed_when_not_held",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Reservation #%(id)s: %(kg)s kg of lot #%(lot)s (%(status)s)") % {
            "id": self.pk,
            "kg": self.quantity_kg,
            "lot": self.lot_id,
            "status": self.get_status_display(),
        }

    @property
    def is_held(self) -> bool:
        return self.status == ReservationStatus.HELD


class Permit(models.Model):
    """A permit an enterprise holds to buy controlled chemicals (管制类危险化学品): a licence,
    a purchase permit, lawful-use documents or a filing certificate. Which kind satisfies
    which control, and when a permit is valid, is decided by inventory.controls."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="permits", verbose_name=_("enterprise")
    )
    kind = models.CharField(_("kind"), max_length=40, choices=PermitKind.choices)
    number = models.CharField(_("number"), max_length=64)
    materials = models.ManyToManyField(
        Material,
        blank=True,
        related_name="permits",
        verbose_name=_("materials"),
        help_text=_("Empty: every material the kind of permit may cover."),
    )
    valid_from = models.DateField(_("valid from"))
    expires_on = models.DateField(_("expires on"))
    note = models.CharField(_("note"), max_length=255, blank=True)
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
        verbose_name = _("permit")
        verbose_name_plural = _("permits")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["enterprise", "expires_on"], name="permit_enterprise_expiry")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__lte=F("expires_on")), name="permit_valid_before_expiry"
            ),
            models.UniqueConstraint(
                fields=["enterprise", "kind", "number"], name="permit_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"
