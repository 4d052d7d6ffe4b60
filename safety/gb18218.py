"""Major hazard installations (GB 18218-2018, 4.2 and 4.3): the pure computation.

For one unit (a warehouse: its zones together), from the hazardous chemicals it holds:

* S = Σ q_i / Q_i (q_i the quantity in tonnes, Q_i its critical quantity); S ≥ 1 makes it a
  major hazard installation;
* R = α · Σ β_i · q_i / Q_i grades it: level 1 (R ≥ 100) … level 4 (R < 10).

No database: :mod:`safety.services.major_hazards` reads the stock and calls
:func:`assess`. The tables are ``inventory.data.gb18218``'s.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from inventory.data.gb18218 import (
    CATEGORY_THRESHOLDS_T,
    alpha_for,
    beta_for,
    grade_for,
)
from safety.data.gb18218 import ALPHA_NOT_SURVEYED, S_MAJOR


@dataclass(frozen=True)
class Holding:
    """One hazardous chemical of a unit: q (t), its Q (t) and its β."""

    quantity_t: Decimal
    threshold_t: Decimal
    beta: Decimal


@dataclass(frozen=True)
class Assessment:
    s: Decimal
    r: Decimal
    level: int | None  # 1 (gravest) … 4; None: S < 1, not a major hazard installation

    @property
    def is_major(self) -> bool:
        return self.level is not None


def assess(holdings: Iterable[Holding], alpha: Decimal) -> Assessment:
    """S, R and the level of a unit holding ``holdings``, with correction factor ``alpha``."""
    s = Decimal(0)
    weighted = Decimal(0)
    for h in holdings:
        if h.threshold_t <= 0:
            raise ValueError("A critical quantity is more than 0 t.")
        if h.quantity_t < 0:
            raise ValueError("A quantity cannot be negative.")
        ratio = h.quantity_t / h.threshold_t
        s += ratio
        weighted += h.beta * ratio
    r = alpha * weighted
    return Assessment(s=s, r=r, level=grade_for(r) if s >= S_MAJOR else None)


def threshold_of(*, named_t: Decimal | None, category: str) -> Decimal | None:
    """Q of a material: the catalogue's threshold (its Table 1 entry, or its category's as
    copied there), else its category's from Table 2; None: not a hazardous chemical of the
    standard (left out of S)."""
    if named_t is not None:
        return named_t
    return CATEGORY_THRESHOLDS_T.get(category)


def beta_of(*, cas: str | None, category: str) -> Decimal:
    return beta_for(cas=cas, category=category)


def alpha_of(people_within_500m: int | None) -> Decimal:
    """α by the people within 500 m; not surveyed (None): the most populated band's."""
    if people_within_500m is None:
        return ALPHA_NOT_SURVEYED
    return alpha_for(people_within_500m)
