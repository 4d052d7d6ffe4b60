"""Whether a listing may serve a need: one pure function per rule, no database access.

The engine loads a SupplySide per listing and a DemandSide per need, then keeps the arc
(i, j) only when ``check_pair`` finds no refusal (docs/matching.md; domain.md, "Matching").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from inventory.admission import ZonePicture, admission_refusal
from inventory.controls import Controls, PermitFacts, permit_refusal
from inventory.hazards import HazardProfile
from matching.cost import great_circle_km

# marketplace.models.Visibility values, repeated so that this module needs no app registry
# (a test keeps them equal).
VISIBLE_IN_PARK = "park"
VISIBLE_IN_REGION = "region"
VISIBLE_TO_ALL = "all"

NOT_DANGEROUS = HazardProfile(classes=())
NOT_CONTROLLED = Controls()


@dataclass(kw_only=True, slots=True)  # not frozen: 5× cheaper to build, 200k per full run
class SupplySide:
    """What feasibility and cost read of one published listing, its lot and warehouse."""

    listing_id: int
    seller_id: int
    seller_park_id: int
    seller_region_code: str
    material_id: int
    price_per_t: Decimal
    quantity_kg: Decimal
    min_order_kg: Decimal = Decimal(0)
    available_from: date
    available_until: date | None = None
    visibility: str
    purity_pct: Decimal | None = None
    grade: str = ""
    expires_on: date | None = None
    warehouse_latitude: Decimal
    warehouse_longitude: Decimal
    hazard: HazardProfile = NOT_DANGEROUS
    controls: Controls = NOT_CONTROLLED  # who may buy the material (inventory.controls)


@dataclass(kw_only=True, slots=True)  # not frozen: 5× cheaper to build, 200k per full run
class DemandSide:
    """What feasibility and cost read of one open need and its delivery place.

    For a delivery zone, the coordinates are its warehouse's and ``delivery`` is what the
    admission rule reads of the zone (``inventory.admission.ZonePicture``: licence, the
    free capacity left for this component, what is stored around it); for a delivery point
    ``delivery`` is None and admission is left to the receipt.
    """

    need_id: int
    enterprise_id: int
    park_id: int
    region_code: str
    material_id: int
    substitute_ids: frozenset[int] = frozenset()
    quantity_kg: Decimal
    max_price_per_t: Decimal | None = None
    needed_by: date
    min_purity_pct: Decimal | None = None
    delivery_latitude: Decimal
    delivery_longitude: Decimal
    max_distance_km: Decimal | None = None
    delivery_zone_id: int | None = None
    delivery: ZonePicture | None = None
    # The buyer's permits, read only where the component has a controlled material.
    permits: tuple[PermitFacts, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """Why a pair is infeasible: the rule's name and a sentence a trader can read."""

    rule: str
    reason: str


class Rule(Protocol):
    """A feasibility rule: None when the pair passes, else the Refusal."""

    __name__: str

    def __call__(
        self, supply: SupplySide, demand: DemandSide, *, today: date
    ) -> Refusal | None: ...


def _refuse(rule: Rule, reason: str) -> Refusal:
    return Refusal(rule=rule.__name__, reason=reason)


def same_material_or_substitute(
    supply: SupplySide, demand: DemandSide, *, today: date
) -> Refusal | None:
    """The listing offers the needed material or a substitute the need accepts."""
    if supply.material_id == demand.material_id or supply.material_id in demand.substitute_ids:
        return None
    return _refuse(
        same_material_or_substitute,
        "The listing offers a different material, not one the need accepts as a substitute.",
    )


def purity_meets_need(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The lot's purity is known and at least the need's minimum, if it sets one."""
    if demand.min_purity_pct is None:
        return None
    if supply.purity_pct is None:
        return _refuse(
            purity_meets_need,
            f"The need asks for at least {demand.min_purity_pct}% purity; "
            "the lot's purity is not stated.",
        )
    if supply.purity_pct < demand.min_purity_pct:
        return _refuse(
            purity_meets_need,
            f"The lot is {supply.purity_pct}% pure; the need asks for at least "
            f"{demand.min_purity_pct}%.",
        )
    return None


def not_expired_before_need(
    supply: SupplySide, demand: DemandSide, *, today: date
) -> Refusal | None:
    """The lot does not expire before the need date (expiring on it is fine)."""
    if supply.expires_on is None or supply.expires_on >= demand.needed_by:
        return None
    return _refuse(
        not_expired_before_need,
        f"The lot expires on {supply.expires_on:%Y-%m-%d}, before the need date "
        f"{demand.needed_by:%Y-%m-%d}.",
    )


def available_by_need_date(
    supply: SupplySide, demand: DemandSide, *, today: date
) -> Refusal | None:
    """The listing is available by the need date and its window has not closed by today."""
    if supply.available_from > demand.needed_by:
        return _refuse(
            available_by_need_date,
            f"The listing is available only from {supply.available_from:%Y-%m-%d}, after the "
            f"need date {demand.needed_by:%Y-%m-%d}.",
        )
    if supply.available_until is not None and supply.available_until < today:
        return _refuse(
            available_by_need_date,
            f"The listing was available only until {supply.available_until:%Y-%m-%d}.",
        )
    return None


def price_within_limit(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The listing's unit price is at most the need's maximum, if it sets one."""
    if demand.max_price_per_t is None or supply.price_per_t <= demand.max_price_per_t:
        return None
    return _refuse(
        price_within_limit,
        f"The price {supply.price_per_t:,.2f} yuan/t is above the need's limit of "
        f"{demand.max_price_per_t:,.2f} yuan/t.",
    )


def distance_within_limit(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The warehouse lies within the need's maximum great-circle distance, if it sets one."""
    if demand.max_distance_km is None:
        return None
    km = great_circle_km(
        supply.warehouse_latitude,
        supply.warehouse_longitude,
        demand.delivery_latitude,
        demand.delivery_longitude,
    )
    if km <= demand.max_distance_km:
        return None
    return _refuse(
        distance_within_limit,
        f"The warehouse is {km:,.1f} km from the delivery place; the need accepts at most "
        f"{demand.max_distance_km:,} km.",
    )


def visible_to_buyer(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The listing's visibility (own park, same region, all parks) reaches the buyer."""
    if supply.visibility == VISIBLE_TO_ALL:
        return None
    if supply.visibility == VISIBLE_IN_REGION:
        if supply.seller_region_code == demand.region_code:
            return None
        return _refuse(visible_to_buyer, "The listing is offered only within the seller's region.")
    if supply.visibility == VISIBLE_IN_PARK:
        if supply.seller_park_id == demand.park_id:
            return None
        return _refuse(visible_to_buyer, "The listing is offered only within the seller's park.")
    return _refuse(visible_to_buyer, f"The listing's visibility {supply.visibility!r} is unknown.")


def different_enterprises(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The seller is not the enterprise that needs the material."""
    if supply.seller_id != demand.enterprise_id:
        return None
    return _refuse(different_enterprises, "The listing is the buyer's own.")


def buyer_permitted(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """A controlled chemical goes only to a buyer with a valid permit that covers it."""
    # inventory.controls decides, as it does for orders (orders.services).
    if not supply.controls.any:
        return None
    reason = permit_refusal(
        material_id=supply.material_id,
        controls=supply.controls,
        permits=demand.permits,
        today=today,
        name=supply.hazard.label or None,
    )
    return None if reason is None else _refuse(buyer_permitted, reason)


#: The least a proposal can carry (one gram): a zone with less room admits no proposal.
ONE_GRAM = Decimal("0.001")


def admitted_at_delivery(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The delivery zone admits the material: licence, room and segregation, as at receipt."""
    # inventory.admission decides, as it does for receipts. The room checked here is one
    # gram: the proposals into a zone share what it has left, and the engine's flow network
    # caps their sum (a zone node in matching.solver).
    if demand.delivery is None:
        return None
    refusal = admission_refusal(
        picture=demand.delivery, incoming=supply.hazard, quantity_kg=ONE_GRAM
    )
    if refusal is None:
        return None
    return _refuse(admitted_at_delivery, refusal.message)


def lot_not_expired(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The lot has not expired: a lot expiring today or earlier takes no part."""
    if supply.expires_on is None or supply.expires_on > today:
        return None
    return _refuse(lot_not_expired, f"The lot expired on {supply.expires_on:%Y-%m-%d}.")


def need_date_not_passed(supply: SupplySide, demand: DemandSide, *, today: date) -> Refusal | None:
    """The need's date has not passed (today is still in time)."""
    if demand.needed_by >= today:
        return None
    return _refuse(need_date_not_passed, f"The need date {demand.needed_by:%Y-%m-%d} has passed.")


RULES: tuple[Rule, ...] = (
    same_material_or_substitute,
    purity_meets_need,
    lot_not_expired,
    need_date_not_passed,
    not_expired_before_need,
    available_by_need_date,
    price_within_limit,
    distance_within_limit,
    visible_to_buyer,
    different_enterprises,
    buyer_permitted,
    admitted_at_delivery,
)


def check_pair(supply: SupplySide, demand: DemandSide, *, today: date) -> list[Refusal]:
    """Every rule's refusal for the pair, in RULES order; empty when feasible."""
    return [r for rule in RULES if (r := rule(supply, demand, today=today)) is not None]


def is_feasible(supply: SupplySide, demand: DemandSide, *, today: date) -> bool:
    """True when no rule refuses the pair."""
    return not check_pair(supply, demand, today=today)
