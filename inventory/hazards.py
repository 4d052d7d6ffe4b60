"""Dangerous-goods classes and storage segregation, as data (IMDG 7.2.4 table, symmetric).

ParkShare reads a segregation code as a storage rule:
  X  may share a zone;
  1  "away from": same zone only at a minimum distance (settings.SEGREGATION_AWAY_FROM_M);
  2  "separated from": different zones;
  3, 4  separate compartments: different buildings;
  *  explosives: compatibility groups apply between two explosives; otherwise as 4.
Rows for 1.1 and 1.3 also stand for 1.2, 1.5 and 1.6.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from django.db import models
from django.utils.translation import gettext_lazy as _


class HazardClass(models.TextChoices):
    C1_1 = "1.1", _("1.1 explosive, mass explosion")
    C1_2 = "1.2", _("1.2 explosive, projection")
    C1_3 = "1.3", _("1.3 explosive, fire")
    C1_4 = "1.4", _("1.4 explosive, minor")
    C1_5 = "1.5", _("1.5 very insensitive explosive")
    C1_6 = "1.6", _("1.6 extremely insensitive explosive")
    C2_1 = "2.1", _("2.1 flammable gas")
    C2_2 = "2.2", _("2.2 non-flammable gas")
    C2_3 = "2.3", _("2.3 toxic gas")
    C3 = "3", _("3 flammable liquid")
    C4_1 = "4.1", _("4.1 flammable solid")
    C4_2 = "4.2", _("4.2 spontaneously combustible")
    C4_3 = "4.3", _("4.3 dangerous when wet")
    C5_1 = "5.1", _("5.1 oxidizer")
    C5_2 = "5.2", _("5.2 organic peroxide")
    C6_1 = "6.1", _("6.1 toxic")
    C6_2 = "6.2", _("6.2 infectious")
    C7 = "7", _("7 radioactive")
    C8 = "8", _("8 corrosive")
    C9 = "9", _("9 miscellaneous")


HAZARD_CLASS_CODES: frozenset[str] = frozenset(HazardClass.values)

_TABLE_HEADER = "1.1 1.3 1.4 2.1 2.2 2.3 3 4.1 4.2 4.3 5.1 5.2 6.1 6.2 7 8 9".split()
_TABLE = """
1.1  * * * 4 2 2 4 4 4 4 4 4 2 4 2 4 X
1.3  * * * 4 2 2 4 3 3 4 4 4 2 4 2 2 X
1.4  * * * 2 1 1 2 2 2 2 2 2 X 4 2 2 X
2.1  4 4 2 X X X 2 1 2 X 2 2 X 4 2 1 X
2.2  2 2 1 X X X 1 X 1 X X 1 X 2 1 X X
2.3  2 2 1 X X X 2 X 2 X X 2 X 2 1 X X
3    4 4 2 2 1 2 X X 2 1 2 2 X 3 2 X X
4.1  4 3 2 1 X X X X 1 X 1 2 X 3 2 1 X
4.2  4 3 2 2 1 2 2 1 X 1 2 2 1 3 2 1 X
4.3  4 4 2 X X X 1 X 1 X 2 2 X 2 2 1 X
5.1  4 4 2 2 X X 2 1 2 2 X 2 1 3 1 2 X
5.2  4 4 2 2 1 2 2 2 2 2 2 X 1 3 2 2 X
6.1  2 2 X X X X X X 1 X 1 1 X 1 X X X
6.2  4 4 4 4 2 2 3 3 3 2 3 3 1 X 3 3 X
7    2 2 2 2 1 1 2 2 2 2 1 2 X 3 X 2 X
8    4 2 2 1 X X X 1 1 1 2 2 X 3 2 X X
9    X X X X X X X X X X X X X X X X X
"""
# Classes that the table folds into a row it prints.
_ROW_OF = {"1.2": "1.1", "1.5": "1.1", "1.6": "1.1"}


def _parse_table() -> dict[tuple[str, str], str]:
    table: dict[tuple[str, str], str] = {}
    for line in _TABLE.strip().splitlines():
        row, *cells = line.split()
        for col, cell in zip(_TABLE_HEADER, cells, strict=True):
            table[(row, col)] = cell
    return table


SEGREGATION_TABLE: dict[tuple[str, str], str] = _parse_table()


class Separation(IntEnum):
    """What storing two materials together requires, weakest first."""

    NONE = 0  # same zone
    DISTANCE = 1  # same zone, kept apart by the minimum distance
    ZONE = 2  # different zones
    BUILDING = 3  # different buildings
    FORBIDDEN = 4  # never together in one warehouse (pair rules)


def segregation_code(a: str, b: str) -> str:
    """The table's code for two class codes ("X", "1".."4", "*")."""
    return SEGREGATION_TABLE[(_ROW_OF.get(a, a), _ROW_OF.get(b, b))]


def _separation_of_code(code: str, a: str, b: str) -> Separation:
    if code == "X":
        return Separation.NONE
    if code == "*":
        # Between two explosives the compatibility groups decide; ParkShare does not model
        # them and keeps explosives of different divisions in separate zones.
        both_explosive = a.startswith("1") and b.startswith("1")
        if both_explosive:
            return Separation.NONE if a == b else Separation.ZONE
        return Separation.BUILDING
    if code == "1":
        return Separation.DISTANCE
    if code == "2":
        return Separation.ZONE
    return Separation.BUILDING


@dataclass(frozen=True)
class HazardProfile:
    """What segregation needs to know about one material."""

    classes: tuple[str, ...]  # primary first, then subsidiaries; empty if not dangerous
    family: str = ""  # acid, cyanide, ammonia, chlorine or ""
    liquid: bool = False
    label: str = ""


@dataclass(frozen=True)
class SegregationVerdict:
    separation: Separation
    rule: str  # human-readable reason, names the rule that decided


PAIR_RULES = (
    ("acid", "cyanide", "acids are never stored with cyanides"),
    ("ammonia", "chlorine", "liquid ammonia is never stored with liquid chlorine"),
)


@lru_cache(maxsize=65536)  # pure; the matching engine asks for the same pairs many times
def required_separation(a: HazardProfile, b: HazardProfile) -> SegregationVerdict:
    """None between materials of the same hazards; else the pair rules first, then the
    strictest separation over every pair of the two materials' classes, primary and
    subsidiary."""
    if (a.classes, a.family, a.liquid) == (b.classes, b.family, b.liquid):
        # The same hazards: whatever pairs of classes they combine already sit together in
        # one substance, so more of it (or of a material just like it) may share its zone.
        return SegregationVerdict(Separation.NONE, "the same hazards")
    families = {a.family, b.family}
    for fam1, fam2, text in PAIR_RULES:
        if families == {fam1, fam2}:
            return SegregationVerdict(Separation.FORBIDDEN, text)
    if ("4.2" in a.classes and b.liquid and "8" in b.classes) or (
        "4.2" in b.classes and a.liquid and "8" in a.classes
    ):
        return SegregationVerdict(
            Separation.FORBIDDEN, "class 4.2 is never stored with liquid class 8"
        )
    # No allowance for materials of one primary class: IMDG 7.2.6.1 lets them share a hold
    # only "provided they do not react dangerously", which classes cannot tell (nitric acid,
    # 8 + 5.1, reacts with acetic acid, 8 + 3), so a chemical park takes the strict reading.
    worst = SegregationVerdict(Separation.NONE, "no segregation rule applies")
    for ca in a.classes:
        for cb in b.classes:
            code = segregation_code(ca, cb)
            sep = _separation_of_code(code, ca, cb)
            if sep > worst.separation:
                worst = SegregationVerdict(
                    sep, f"class {ca} vs class {cb}: segregation code {code}"
                )
    return worst


def validate_classes(codes: Iterable[str]) -> list[str]:
    """The unknown class codes among ``codes``."""
    return [c for c in codes if c not in HAZARD_CLASS_CODES]
