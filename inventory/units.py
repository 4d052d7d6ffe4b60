"""Quantity units. ParkShare stores every quantity as Decimal kilograms (3 places = 1 g)."""

from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

KG_PLACES = Decimal("0.001")
# The largest quantity one record may hold: 10 million tonnes. Anything above is a typo.
MAX_QUANTITY_KG = Decimal("10000000000")


class Unit(models.TextChoices):
    G = "g", _("gram")
    KG = "kg", _("kilogram")
    T = "t", _("tonne")
    L = "L", _("litre")
    M3 = "m3", _("cubic metre")


MASS_FACTORS_KG = {Unit.G: Decimal("0.001"), Unit.KG: Decimal(1), Unit.T: Decimal(1000)}
VOLUME_FACTORS_L = {Unit.L: Decimal(1), Unit.M3: Decimal(1000)}


class UnitNotAccepted(ValueError):
    def __init__(self, unit: str, accepted: list[str]) -> None:
        self.unit = unit
        self.accepted = accepted
        super().__init__(f"Unit '{unit}' is not accepted here; use one of: {', '.join(accepted)}.")


def accepted_units(density_kg_per_l: Decimal | None) -> list[str]:
    units = [str(u) for u in MASS_FACTORS_KG]
    if density_kg_per_l:
        units += [str(u) for u in VOLUME_FACTORS_L]
    return units


def to_kg(quantity: Decimal, unit: str, *, density_kg_per_l: Decimal | None = None) -> Decimal:
    """``quantity`` in ``unit`` as kilograms, rounded to the gram.

    Volumes need the material's density; without one only mass units are accepted.
    """
    accepted = accepted_units(density_kg_per_l)
    if unit not in accepted:
        raise UnitNotAccepted(unit, accepted)
    if unit in VOLUME_FACTORS_L:
        assert density_kg_per_l is not None
        kg = quantity * VOLUME_FACTORS_L[Unit(unit)] * density_kg_per_l
    else:
        kg = quantity * MASS_FACTORS_KG[Unit(unit)]
    return kg.quantize(KG_PLACES, rounding=ROUND_HALF_EVEN)
