"""Admission to a zone: the one rule that decides whether stock of a material may enter it.

Receipts, moves, deliveries and transfers (``inventory.services.stock.zone_check_admission``)
and the matching engine (``matching.feasibility.admitted_at_delivery`` and its numpy twin)
ask this module the same question, so the engine never proposes what the zone would refuse
when the goods arrive (domain notes, "Admission to a zone"). Pure: no database access; the
callers read a ``ZonePicture`` (under the warehouse lock for a receipt, once per run for
the engine).

Stock may enter a zone only if all hold:

1. **licence**: the zone is licensed for every class of the material, primary and
   subsidiary (a material that is not dangerous goods needs no licence);
2. **capacity**: the zone's free capacity covers the quantity;
3. **segregation**: against everything already in the zone, in the rest of its building
   and in the rest of its warehouse, the strictest separation over every pair of classes
   (``inventory.hazards.required_separation``) is one the place allows: the same zone
   allows "away from" (code 1, kept apart by a distance), another zone of the building
   allows "separated from" (code 2), another building allows separate compartments
   (codes 3 and 4); the pair rules (acids and cyanides, ...) allow nothing in one
   warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from inventory.hazards import HazardProfile, Separation, required_separation

Check = Literal["licence", "capacity", "segregation"]
StrOrPromise = str | Promise

# Where another material is stored, and the strictest separation that still allows it there.
ALLOWED_IN_ZONE = Separation.DISTANCE
ALLOWED_IN_BUILDING = Separation.ZONE
ALLOWED_IN_WAREHOUSE = Separation.BUILDING


def allowed_separation(*, same_zone: bool, same_building: bool) -> Separation:
    """The strictest separation two materials may need and still be stored as placed."""
    if same_zone:
        return ALLOWED_IN_ZONE
    return ALLOWED_IN_BUILDING if same_building else ALLOWED_IN_WAREHOUSE


@lru_cache(maxsize=65536)  # pure; the engine compares the same places many times
def may_store_together(
    a: HazardProfile, b: HazardProfile, *, same_zone: bool, same_building: bool
) -> bool:
    """Whether two materials may be stored as placed: in one zone, in two zones of one
    building, or in two buildings of one warehouse."""
    allowed = allowed_separation(same_zone=same_zone, same_building=same_building)
    return required_separation(a, b).separation <= allowed


@dataclass(frozen=True)
class ZonePicture:
    """What admission reads of a zone: its licence, its free capacity and the hazard
    profiles stored in it, in the rest of its building and in the rest of its warehouse."""

    label: str
    licensed: frozenset[str]
    free_kg: Decimal
    in_zone: tuple[HazardProfile, ...] = ()
    in_building: tuple[HazardProfile, ...] = ()
    in_warehouse: tuple[HazardProfile, ...] = ()


_NEEDS = {
    Separation.ZONE: gettext_lazy("a different zone"),
    Separation.BUILDING: gettext_lazy("a different building"),
    Separation.FORBIDDEN: gettext_lazy("a different warehouse"),
}


@dataclass(frozen=True)
class AdmissionRefusal:
    """Why stock may not enter a zone: which check refused, and a sentence saying why
    (rendered in the active language when asked for: the engine's masks only count
    refusals, and translating a sentence per pair was most of their time)."""

    check: Check
    template: StrOrPromise  # a gettext_lazy message
    params: dict[str, object]

    @property
    def message(self) -> str:
        return str(self.template) % {k: str(v) for k, v in self.params.items()}

    def __str__(self) -> str:
        return self.message


def licence_refusal(picture: ZonePicture, incoming: HazardProfile) -> AdmissionRefusal | None:
    unlicensed = [c for c in incoming.classes if c not in picture.licensed]
    if not unlicensed:
        return None
    return AdmissionRefusal(
        "licence",
        gettext_lazy("Zone %(zone)s is not licensed for class %(classes)s."),
        {"zone": picture.label, "classes": ", ".join(unlicensed)},
    )


def capacity_refusal(picture: ZonePicture, quantity_kg: Decimal) -> AdmissionRefusal | None:
    if quantity_kg <= picture.free_kg:
        return None
    return AdmissionRefusal(
        "capacity",
        gettext_lazy("Zone %(zone)s has %(free)s kg free; %(asked)s kg asked."),
        {"zone": picture.label, "free": max(picture.free_kg, Decimal(0)), "asked": quantity_kg},
    )


# Where another material is, as (words, picture attribute, same zone, same building).
_PLACES = (
    (gettext_lazy("in the zone"), "in_zone", True, True),
    (gettext_lazy("in another zone of its building"), "in_building", False, True),
    (gettext_lazy("in another building of its warehouse"), "in_warehouse", False, False),
)


def segregation_refusal(picture: ZonePicture, incoming: HazardProfile) -> AdmissionRefusal | None:
    if not incoming.classes and not incoming.family:
        return None
    for where, attribute, same_zone, same_building in _PLACES:
        stored: tuple[HazardProfile, ...] = getattr(picture, attribute)
        for present in stored:
            if may_store_together(
                incoming, present, same_zone=same_zone, same_building=same_building
            ):
                continue
            verdict = required_separation(incoming, present)
            return AdmissionRefusal(
                "segregation",
                gettext_lazy(
                    "%(material)s may not be stored in zone %(zone)s: %(present)s is stored "
                    "%(where)s, and the pair needs %(needs)s (%(rule)s)."
                ),
                {
                    "material": incoming.label or gettext_lazy("the material"),
                    "zone": picture.label,
                    "present": present.label or gettext_lazy("a stored material"),
                    "where": where,
                    "needs": _NEEDS[verdict.separation],
                    "rule": verdict.rule,
                },
            )
    return None


def admission_refusal(
    *, picture: ZonePicture, incoming: HazardProfile, quantity_kg: Decimal
) -> AdmissionRefusal | None:
    """None when ``quantity_kg`` of a material with the ``incoming`` hazards may enter the
    zone; else the first refusal, in the order licence, capacity, segregation."""
    return (
        licence_refusal(picture, incoming)
        or capacity_refusal(picture, quantity_kg)
        or segregation_refusal(picture, incoming)
    )
