"""Energy carriers, their units and their conversion coefficients to kilograms of standard
coal equivalent (kgce), per GB/T 2589 (1 kgce = 29,307 kJ). Seeded into
``energy.ConversionFactor`` by a data migration; from then on the table is the source, kept
by superusers in the admin (``energy.services.factors``).

Electricity has two conventions: the equivalent value (当量值, its heat content,
0.1229 kgce/kWh) and the equal value (等价值, the coal burnt to generate it, a national
figure published per year). Every other carrier has one factor, which serves both
conventions: it is stored once, under ``equivalent``.
"""

from datetime import date
from decimal import Decimal

KWH, M3, KG, MJ = "kWh", "m3", "kg", "MJ"

#: carrier code -> (unit, English name, Chinese name)
CARRIERS: dict[str, tuple[str, str, str]] = {
    "electricity": (KWH, "electricity", "电力"),
    "natural_gas": (M3, "natural gas", "天然气"),
    "steam": (KG, "low-pressure steam", "低压蒸汽"),
    "heat": (MJ, "heat (steam by enthalpy)", "热力"),
    "raw_coal": (KG, "raw coal", "原煤"),
    "washed_coal": (KG, "washed coal", "洗精煤"),
    "coke": (KG, "coke", "焦炭"),
    "crude_oil": (KG, "crude oil", "原油"),
    "fuel_oil": (KG, "fuel oil", "燃料油"),
    "gasoline": (KG, "gasoline", "汽油"),
    "kerosene": (KG, "kerosene", "煤油"),
    "diesel": (KG, "diesel", "柴油"),
    "lpg": (KG, "liquefied petroleum gas", "液化石油气"),
}

EQUIVALENT, EQUAL_VALUE = "equivalent", "equal_value"
#: The carriers whose factor depends on the convention; the others have one factor.
CONVENTION_SPECIFIC = frozenset({"electricity"})

SINCE = date(2000, 1, 1)
GB_T_2589 = "GB/T 2589-2020, reference coefficient"

#: (carrier, convention, kgce per unit, valid from, valid until or None, source)
FACTORS: tuple[tuple[str, str, Decimal, date, date | None, str], ...] = (
    ("electricity", EQUIVALENT, Decimal("0.1229"), SINCE, None, GB_T_2589 + " (当量值)"),
    (
        "electricity",
        EQUAL_VALUE,
        Decimal("0.3050"),
        SINCE,
        date(2024, 12, 31),
        "等价值 up to 2024: illustrative, editable; replace with the year's national figure",
    ),
    (
        "electricity",
        EQUAL_VALUE,
        Decimal("0.3030"),
        date(2025, 1, 1),
        date(2025, 12, 31),
        "等价值 2025: illustrative, editable; replace with the year's national figure",
    ),
    (
        "electricity",
        EQUAL_VALUE,
        Decimal("0.3010"),
        date(2026, 1, 1),
        None,
        "等价值 from 2026: illustrative, editable; replace with the year's national figure",
    ),
    (
        "natural_gas",
        EQUIVALENT,
        Decimal("1.2143"),
        SINCE,
        None,
        GB_T_2589 + " (range 1.1000-1.3300)",
    ),
    (
        "steam",
        EQUIVALENT,
        Decimal("0.1286"),
        SINCE,
        None,
        GB_T_2589 + " (low-pressure; to confirm)",
    ),
    ("heat", EQUIVALENT, Decimal("0.03412"), SINCE, None, GB_T_2589),
    ("raw_coal", EQUIVALENT, Decimal("0.7143"), SINCE, None, GB_T_2589),
    ("washed_coal", EQUIVALENT, Decimal("0.9000"), SINCE, None, GB_T_2589),
    ("coke", EQUIVALENT, Decimal("0.9714"), SINCE, None, GB_T_2589),
    ("crude_oil", EQUIVALENT, Decimal("1.4286"), SINCE, None, GB_T_2589),
    ("fuel_oil", EQUIVALENT, Decimal("1.4286"), SINCE, None, GB_T_2589),
    ("gasoline", EQUIVALENT, Decimal("1.4714"), SINCE, None, GB_T_2589),
    ("kerosene", EQUIVALENT, Decimal("1.4714"), SINCE, None, GB_T_2589),
    ("diesel", EQUIVALENT, Decimal("1.4571"), SINCE, None, GB_T_2589),
    ("lpg", EQUIVALENT, Decimal("1.7143"), SINCE, None, GB_T_2589),
)
