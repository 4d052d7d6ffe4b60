"""Cost per tonne of a supply–demand pair, and the integer scaling the solver works in.

c_ij = unit price_i + transport rate(class) × great-circle km (docs/matching.md). Money is
Decimal yuan rounded to the fen; the solver takes quantities in grams and costs in fen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, Inexact, localcontext
from typing import TYPE_CHECKING

from inventory.hazards import HazardProfile

if TYPE_CHECKING:
    from matching.feasibility import DemandSide, SupplySide

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
KM = Decimal("0.001")
FEN = Decimal("0.01")
NOT_DANGEROUS = ""  # the key for goods without a dangerous-goods class

_Y = Decimal
# Transport rates, yuan per tonne-kilometre, by dangerous-goods class. DEFAULTS ONLY, set
# from the spread the solver benchmark assumed (0.5–1.5 yuan/t·km): they are to be replaced
# by the contracted rates of the park's licensed hazmat carriers.
TRANSPORT_RATE_YUAN_PER_T_KM: dict[str, Decimal] = {
    NOT_DANGEROUS: _Y("0.50"),
    # miscellaneous and corrosive: moderate
    "9": _Y("0.70"),
    "8": _Y("0.80"),
    # flammable liquids and solids, oxidizers, organic peroxides: higher
    "3": _Y("1.00"),
    "4.1": _Y("1.00"),
    "4.2": _Y("1.00"),
    "4.3": _Y("1.00"),
    "5.1": _Y("1.00"),
    "5.2": _Y("1.00"),
    # gases (pressure vessels) and toxics: higher still
    "2.1": _Y("1.20"),
    "2.2": _Y("1.20"),
    "2.3": _Y("1.20"),
    "6.1": _Y("1.20"),
    # explosives, infectious and radioactive: highest
    "1.1": _Y("1.50"),
    "1.2": _Y("1.50"),
    "1.3": _Y("1.50"),
    "1.4": _Y("1.50"),
    "1.5": _Y("1.50"),
    "1.6": _Y("1.50"),
    "6.2": _Y("1.50"),
    "7": _Y("1.50"),
}


@dataclass(frozen=True)
class CostBreakdown:
    """Cost per tonne delivered, in yuan rounded to the fen; distance in km."""

    price_per_t: Decimal
    transport_per_t: Decimal
    distance_km: Decimal
    total_per_t: Decimal


def great_circle_km(
    lat1: Decimal | float, lon1: Decimal | float, lat2: Decimal | float, lon2: Decimal | float
) -> Decimal:
    """Haversine distance in km on a sphere of the mean Earth radius, to the metre."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    d_phi = phi2 - phi1
    d_lambda = math.radians(float(lon2) - float(lon1))
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    return Decimal(km).quantize(KM, rounding=ROUND_HALF_UP)


def transport_rate(profile: HazardProfile) -> Decimal:
    """Yuan per t·km for a material: the highest rate over its classes."""
    if not profile.classes:
        return TRANSPORT_RATE_YUAN_PER_T_KM[NOT_DANGEROUS]
    unknown = [c for c in profile.classes if c not in TRANSPORT_RATE_YUAN_PER_T_KM]
    if unknown:
        raise ValueError(f"No transport rate for class {', '.join(unknown)}.")
    return max(TRANSPORT_RATE_YUAN_PER_T_KM[c] for c in profile.classes)


def unit_cost_per_t(supply: SupplySide, demand: DemandSide) -> CostBreakdown:
    """Unit price plus transport from the listing's warehouse to the delivery place."""
    distance = great_circle_km(
        supply.warehouse_latitude,
        supply.warehouse_longitude,
        demand.delivery_latitude,
        demand.delivery_longitude,
    )
    price = supply.price_per_t.quantize(FEN, rounding=ROUND_HALF_UP)
    transport = (transport_rate(supply.hazard) * distance).quantize(FEN, rounding=ROUND_HALF_UP)
    return CostBreakdown(
        price_per_t=price,
        transport_per_t=transport,
        distance_km=distance,
        total_per_t=price + transport,
    )


def _scaled_exactly(value: Decimal | int, factor: int, unit: str) -> int:
    """``value × factor`` as an int, refusing anything the scaling would round."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"Expected a Decimal or an int, got {type(value).__name__}.")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{value} is not a finite amount.")
    with localcontext() as ctx:
        ctx.traps[Inexact] = True  # a value too long for the context would round silently
        ctx.prec = 60
        try:
            scaled = Decimal(value) * factor
        except Inexact:
            raise ValueError(f"{value} has too many digits to scale exactly.") from None
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is not a whole number of {unit}; scaling would lose it.")
    return int(scaled)


def to_grams(kg: Decimal | int) -> int:
    """Kilograms to integer grams; ValueError below the gram (e.g. 1.0005 kg)."""
    if type(kg) is Decimal and kg.is_finite():
        _sign, digits, exponent = kg.as_tuple()
        if isinstance(exponent, int) and exponent >= -3 and len(digits) <= 20:
            # A database column's value (≤ 16 digits, 3 decimals): exact within the
            # default 28-digit context, and 10× faster than the checked path.
            return int(kg.scaleb(3))
    return _scaled_exactly(kg, 1000, "grams")


def from_grams(grams: int) -> Decimal:
    """Integer grams to kilograms with three decimals."""
    return Decimal(grams).scaleb(-3)


def to_fen(yuan: Decimal | int) -> int:
    """Yuan to integer fen; ValueError below the fen (e.g. 0.005 yuan)."""
    return _scaled_exactly(yuan, 100, "fen")


def from_fen(fen: int) -> Decimal:
    """Integer fen to yuan with two decimals."""
    return Decimal(fen).scaleb(-2)
