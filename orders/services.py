"""Every write of orders: creation (from an agreed match, or directly on a listing) and each
step of the state machine, one transaction each.

Creating an order holds its quantity three ways in the same transaction: the listing's
``ordered_kg`` (``marketplace.services.listing_order``), a reservation on the seller's lot
(``inventory.services.stock_reserve``, expiring after ``ORDER_HOLD_MINUTES``) and, for a
match, the need's ``ordered_kg``. Locks are taken in one order everywhere, the order the
matching decisions take too: (the match,) the listing, the lot, the need. A step locks the
order row first (``SELECT ... FOR NO KEY UPDATE``), checks the status, calls the inventory
service that moves the stock, and changes the status with a conditional UPDATE; two
concurrent steps of one order are serialised and the second sees the first's status.

Every step writes an OrderTransition (who, when, from, to, why) and an outbox event
``order.<new status>`` with ``{"order_id", "material_ids"}``, delivered after commit.
Quantities are never touched here: the inventory services write the ledger.

Who may take each step is the table ``STEPS``: the side of the deal (seller or buyer) and
the enterprise roles of that side. Anyone who does not act for one of the two parties is
refused (a superuser too: an order binds an enterprise). Whether a user may take a step
now is one rule, ``order_step_refusal`` (who the user is, then the order's state), that the
services raise from and the admin chooses its buttons by.

Every write leaves one audit row for the order in its transaction (audit.services):
``order.place`` or ``order.from_match`` with the order's terms, ``order.<step>`` with the
fields the step changed (the status, the hold, the delivery zone and the buyer's lot) and
the reason as the row's note; ``order.expire`` by the system. The services they call record
their own rows too (``match.order``, ``match.release``, and the inventory's for the lot), with
the same actor and request id. The caller's Scope, which says who may act, is what the rows
are written with: the services take it (``actor``) and never resolve it again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.roles import STOCK_ROLES, TRADING_ROLES
from access.rules import BUYER, SELLER, party_side
from access.scope import SYSTEM, Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import decimal_text, event_emit
from common.exceptions import Conflict, DomainError, NotPermitted
from inventory.controls import Controls, permit_refusal
from inventory.exceptions import InsufficientStock, PermitRequired, ReservationNotHeld
from inventory.models import Material, ReservationStatus, StockLot, StorageZone
from inventory.selectors import permits_of
from inventory.services import (
    reservation_hold,
    reservation_release,
    stock_deliver,
    stock_dispatch,
    stock_reserve,
    stock_transfer,
)
from inventory.units import MAX_QUANTITY_KG
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from marketplace.selectors import listing_visibility_q
from marketplace.services import listing_order, listing_unorder, need_order, need_unorder
from matching.models import Match
from matching.selectors import committed_kg
from matching.services.decisions import match_mark_ordered, match_release
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus, OrderTransition
from parks.models import Enterprise

REASON_MAX_LENGTH = 500
CENT = Decimal("0.01")
# What the audit row of a step shows before and after (the fields steps change).
STEP_AUDIT_FIELDS = ("status", "hold_until", "delivery_zone", "buyer_lot", "shared_transfer")
# What the audit row of a new order shows: its terms and what it holds.
ORDER_AUDIT_FIELDS = (
    "status",
    "seller",
    "buyer",
    "listing",
    "need",
    "match",
    "material",
    "lot",
    "quantity_kg",
    "price_per_t",
    "transport_per_t",
    "total_yuan",
    "hold_until",
    "reservation",
)


@dataclass(frozen=True)
class Step:
    """A step of the state machine: from which statuses to which, taken by which side."""

    sources: tuple[str, ...]
    target: str
    side: str
    roles: frozenset[str]
    refused_side: Promise | str  # the message for the other side of the deal


STEPS: dict[str, Step] = {
    "confirm": Step(
        (OrderStatus.RESERVED,),
        OrderStatus.CONFIRMED,
        SELLER,
        TRADING_ROLES,
        gettext_lazy("Only the seller confirms an order."),
    ),
    "reject": Step(
        (OrderStatus.RESERVED,),
        OrderStatus.REJECTED,
        SELLER,
        TRADING_ROLES,
        gettext_lazy("Only the seller rejects an order."),
    ),
    "cancel": Step(
        (OrderStatus.RESERVED, OrderStatus.CONFIRMED),
        OrderStatus.CANCELLED,
        BUYER,
        TRADING_ROLES,
        gettext_lazy("Only the buyer cancels an order."),
    ),
    "dispatch": Step(
        (OrderStatus.CONFIRMED,),
        OrderStatus.DISPATCHED,
        SELLER,
        STOCK_ROLES,
        gettext_lazy("Only the seller dispatches an order."),
    ),
    "receive": Step(
        (OrderStatus.DISPATCHED,),
        OrderStatus.RECEIVED,
        BUYER,
        STOCK_ROLES,
        gettext_lazy("Only the buyer receives an order."),
    ),
    "transfer": Step(
        (OrderStatus.CONFIRMED,),
        OrderStatus.RECEIVED,
        BUYER,
        STOCK_ROLES,
        gettext_lazy("Only the buyer takes over the goods of an order."),
    ),
    "complete": Step(
        (OrderStatus.RECEIVED,),
        OrderStatus.COMPLETED,
        BUYER,
        TRADING_ROLES,
        gettext_lazy("Only the buyer completes an order."),
    ),
}
# The system's step when the reservation runs out (orders.handlers); nobody takes it.
EXPIRE = Step((OrderStatus.RESERVED,), OrderStatus.EXPIRED, "system", frozenset(), "")


# --- Who may act: may this user take this step of this order now? ------------------------
#
# Pure functions of the scope and the order's row (no query beyond the order's loaded
# relations): the services raise on their refusals, the admin offers only the steps they
# leave open, so both answer from the same rule.


def order_party_refusal(*, scope: Scope, order: Order, step: str) -> str | None:
    """Why ``scope`` may not take ``step`` on ``order`` for who it is (the side of the deal
    and the role that take the step), or None."""
    rule = STEPS[step]
    side = party_side(scope, seller_id=order.seller_id, buyer_id=order.buyer_id)
    if side is None:
        return _("Only the seller or the buyer acts on an order.")
    if side != rule.side:
        return str(rule.refused_side)
    if not scope.has_role(*rule.roles):
        return _("Your role may not take this step of an order.")
    return None


def order_state_refusal(*, order: Order, step: str, now: datetime | None = None) -> str | None:
    """Why ``order``, as it stands, may not take ``step`` (its status; a confirmation after
    the hold ran out; a take-over outside the buyer's park's shared warehouse), or None.
    The take-over reads ``order.lot.zone.warehouse`` and ``order.buyer``."""
    rule = STEPS[step]
    if order.status not in rule.sources:
        return _("The order is %(status)s; it cannot become %(target)s.") % {
            "status": order.get_status_display(),
            "target": OrderStatus(rule.target).label,
        }
    if step == "confirm":
        now = now or timezone.now()
        if order.hold_until is not None and order.hold_until <= now:
            return _("The reservation has run out; the order expires.")
    if step == "transfer":
        warehouse = order.lot.zone.warehouse
        if not warehouse.is_shared or warehouse.park_id != order.buyer.park_id:
            return _(
                "The seller's lot is not in a shared warehouse of the buyer's park; "
                "dispatch and receive the order instead."
            )
    return None


def order_step_refusal(
    *, scope: Scope, order: Order, step: str, now: datetime | None = None
) -> str | None:
    """Why ``scope`` may not take ``step`` on ``order`` now, or None when it may: who the
    user is first, then the order's state (the services check the same two, the state
    under the order's row lock)."""
    return order_party_refusal(scope=scope, order=order, step=step) or order_state_refusal(
        order=order, step=step, now=now
    )


def order_steps_open(*, scope: Scope, order: Order, now: datetime | None = None) -> list[str]:
    """The steps ``scope`` may take on ``order`` now, in the order of ``STEPS``."""
    now = now or timezone.now()
    return [
        step
        for step in STEPS
        if order_step_refusal(scope=scope, order=order, step=step, now=now) is None
    ]


def order_steps_of_role(*, scope: Scope) -> list[str]:
    """The steps some order could offer ``scope`` (its enterprise role on either side):
    the admin's list actions."""
    if scope.enterprise_id is None:
        return []
    return [step for step, rule in STEPS.items() if scope.has_role(*rule.roles)]


def _check_actor(*, actor: Scope, order: Order, action: str) -> None:
    """Raise NotPermitted unless ``actor`` acts for the side that takes ``action``, with
    one of the roles that take it."""
    refusal = order_party_refusal(scope=actor, order=order, step=action)
    if refusal is not None:
        raise NotPermitted(refusal)


def _check_buyer(actor: Scope) -> Enterprise:
    """The enterprise whose admin or trader ``actor`` places an order for."""
    if actor.enterprise is None:
        raise NotPermitted(_("Orders are placed by an enterprise's staff."))
    if not actor.has_role(*TRADING_ROLES):
        raise NotPermitted(_("Your role may not place orders."))
    return actor.enterprise


def _check_permits(*, buyer_id: int, material_id: int, field: str) -> None:
    """Refuse (409 on ``field``) a controlled material to a buyer whose permits on today's
    date do not cover it (inventory.controls: the rule the matching engine applies too)."""
    material = Material.objects.get(pk=material_id)
    controls = Controls.of(material)
    if not controls.any:
        return
    today = timezone.localdate()
    refusal = permit_refusal(
        material_id=material_id,
        controls=controls,
        permits=permits_of([buyer_id], valid_on=today)[buyer_id],
        today=today,
        name=material.name_en,
        translate=True,
    )
    if refusal is not None:
        raise PermitRequired(refusal, field=field)


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)d characters.") % {"max": REASON_MAX_LENGTH}, field="reason"
        )
    return reason


# --- Transitions ------------------------------------------------------------------------


def _emit(order: Order) -> None:
    """``order.<status>`` with the order's parties and terms (orders.topics.OrderStep),
    from the values the step holds (no read)."""
    event_emit(
        topic=f"order.{order.status}",
        payload={
            "order_id": order.pk,
            "material_ids": [order.material_id],
            "seller_id": order.seller_id,
            "buyer_id": order.buyer_id,
            "material_id": order.material_id,
            "quantity_kg": decimal_text(order.quantity_kg, 3),
            "price_per_t": decimal_text(order.price_per_t, 2),
            "total_yuan": decimal_text(order.total_yuan, 2),
            "status": str(order.status),
            "match_id": order.match_id,
        },
    )


def _record(*, order: Order, from_status: str, actor: Scope, reason: str = "") -> None:
    OrderTransition.objects.create(
        order=order,
        from_status=from_status,
        to_status=order.status,
        actor=actor.user,
        reason=reason,
    )
    _emit(order)


def _lock_for(order: Order, action: str) -> Order:
    """The order's row, locked, refused (409) unless its state lets ``action`` be taken
    (``order_state_refusal``, read under the lock: on status, or on ``lot`` for a
    take-over outside a shared warehouse)."""
    current = (
        Order.objects.select_for_update(of=("self",), no_key=True)
        .select_related("reservation", "lot__zone__warehouse", "listing", "need", "buyer")
        .get(pk=order.pk)
    )
    refusal = order_state_refusal(order=current, step=action)
    if refusal is None:
        return current
    if action == "transfer" and current.status in STEPS[action].sources:
        raise Conflict(refusal, field="lot")
    raise InvalidTransition(refusal)


def _advance(
    *,
    order: Order,
    step: Step,
    action: str,
    actor: Scope,
    reason: str = "",
    enterprise: Any = None,
    **changes: Any,
) -> Order:
    """Move the locked ``order`` to ``step.target`` with ``changes``; record the
    transition, emit, and write the step's audit row ``order.<action>`` (by ``actor``;
    ``enterprise``: whose trail, by default the actor's) with the fields it changed."""
    source = order.status
    before = snapshot(order, STEP_AUDIT_FIELDS)
    values = {"status": step.target, "updated_at": timezone.now(), **changes}
    changed = Order.objects.filter(pk=order.pk, status__in=step.sources).update(**values)
    if not changed:  # cannot happen under the row lock; the conditional UPDATE says so anyway
        raise InvalidTransition(_("The order changed meanwhile."))
    # The row is locked and these are plain values: the order is what was written, with
    # no read back (its loaded relations kept).
    for name, value in values.items():
        setattr(order, name, value)
    _record(order=order, from_status=source, actor=actor, reason=reason)
    audit_record(
        actor=actor,
        action=f"order.{action}",
        target=order,
        changes=changes_between(before, snapshot(order, STEP_AUDIT_FIELDS)),
        enterprise=enterprise,
        note=reason,
    )
    return order


def _give_back(*, actor: Scope, order: Order, release: bool, ended: str) -> None:
    """What a cancelled, rejected or expired (``ended``) order held: its match (released:
    the engine may propose the pair again), the listing's and the need's ``ordered_kg``
    and (unless it already ran out) the reservation. Match, listing, lot, need: the lock
    order of creation."""
    if order.match_id is not None:
        match_release(actor=actor, match_id=order.match_id, reason=ended)
    listing_unorder(listing=order.listing, quantity_kg=order.quantity_kg)
    reservation = order.reservation
    if release and reservation is not None:
        try:
            reservation_release(actor=actor, reservation=reservation, reason=order.reference)
        except ReservationNotHeld:
            # The hold ran out and the sweep released the stock before this step: nothing
            # is reserved any more (the expiry event will find the order closed).
            reservation.refresh_from_db(fields=["status"])
            if reservation.status != ReservationStatus.EXPIRED:
                raise
    if order.need is not None:
        need_unorder(need=order.need, quantity_kg=order.quantity_kg)


@transaction.atomic
def order_confirm(*, actor: Scope, order: Order, reason: str = "") -> Order:
    """The seller confirms a reserved order: the reservation is held until dispatch.

    Refused once the hold time has passed (the order is about to expire)."""
    _check_actor(actor=actor, order=order, action="confirm")
    reason = _clean_reason(reason)
    step = STEPS["confirm"]
    current = _lock_for(order, "confirm")
    assert current.reservation is not None
    reservation_hold(actor=actor, reservation=current.reservation, expires_at=None)
    order = _advance(
        order=current,
        step=step,
        action="confirm",
        actor=actor,
        reason=reason,
        hold_until=None,
    )
    return order


@transaction.atomic
def order_reject(*, actor: Scope, order: Order, reason: str = "") -> Order:
    """The seller rejects a reserved order; what it held is given back."""
    _check_actor(actor=actor, order=order, action="reject")
    reason = _clean_reason(reason)
    step = STEPS["reject"]
    current = _lock_for(order, "reject")
    _give_back(actor=actor, order=current, release=True, ended=step.target)
    order = _advance(
        order=current,
        step=step,
        action="reject",
        actor=actor,
        reason=reason,
        hold_until=None,
    )
    return order


@transaction.atomic
def order_cancel(*, actor: Scope, order: Order, reason: str = "") -> Order:
    """The buyer cancels a reserved or confirmed order; what it held is given back."""
    _check_actor(actor=actor, order=order, action="cancel")
    reason = _clean_reason(reason)
    step = STEPS["cancel"]
    current = _lock_for(order, "cancel")
    _give_back(actor=actor, order=current, release=True, ended=step.target)
    order = _advance(
        order=current,
        step=step,
        action="cancel",
        actor=actor,
        reason=reason,
        hold_until=None,
    )
    return order


@transaction.atomic
def order_dispatch(*, actor: Scope, order: Order) -> Order:
    """The seller's warehouse dispatches a confirmed order: the stock leaves the seller's
    lot (``stock_dispatch`` consumes the reservation and writes the DISPATCH movement)."""
    _check_actor(actor=actor, order=order, action="dispatch")
    step = STEPS["dispatch"]
    current = _lock_for(order, "dispatch")
    assert current.reservation is not None
    stock_dispatch(actor=actor, reservation=current.reservation)
    order = _advance(order=current, step=step, action="dispatch", actor=actor)
    return order


@transaction.atomic
def order_receive(*, actor: Scope, order: Order, zone: StorageZone) -> Order:
    """The buyer's warehouse receives a dispatched order into ``zone``: a new lot of the
    buyer's (``stock_deliver``: the zone must be one the buyer stores in, its licence,
    free capacity and segregation are checked under the warehouse lock). A refusal names
    ``zone`` and changes nothing."""
    _check_actor(actor=actor, order=order, action="receive")
    step = STEPS["receive"]
    current = _lock_for(order, "receive")
    buyer_lot = stock_deliver(
        actor=actor,
        owner=current.buyer,
        material=current.material,
        zone=zone,
        quantity_kg=current.quantity_kg,
        source_lot=current.lot,
        reference=current.reference,
    )
    order = _advance(
        order=current,
        step=step,
        action="receive",
        actor=actor,
        delivery_zone=zone,
        buyer_lot=buyer_lot,
    )
    return order


@transaction.atomic
def order_transfer(*, actor: Scope, order: Order, zone: StorageZone | None = None) -> Order:
    """The buyer's warehouse takes over a confirmed order in the park's shared warehouse
    (共享仓) where the seller's lot lies: the owner changes without the goods leaving
    (``stock_transfer``), in the same zone or in ``zone``, another zone of that warehouse
    (its licence, capacity and segregation checked). Confirmed → received in one step."""
    _check_actor(actor=actor, order=order, action="transfer")
    step = STEPS["transfer"]
    current = _lock_for(order, "transfer")
    warehouse = current.lot.zone.warehouse
    if zone is not None and zone.warehouse_id != warehouse.pk:
        raise DomainError(
            _("Choose a zone of warehouse %(warehouse)s, where the goods are.")
            % {"warehouse": warehouse.code},
            field="zone",
        )
    assert current.reservation is not None
    buyer_lot = stock_transfer(
        actor=actor, reservation=current.reservation, new_owner=current.buyer, zone=zone
    )
    order = _advance(
        order=current,
        step=step,
        action="transfer",
        actor=actor,
        delivery_zone_id=buyer_lot.zone_id,
        buyer_lot=buyer_lot,
        shared_transfer=True,
    )
    return order


@transaction.atomic
def order_complete(*, actor: Scope, order: Order) -> Order:
    """The buyer completes a received order."""
    _check_actor(actor=actor, order=order, action="complete")
    step = STEPS["complete"]
    current = _lock_for(order, "complete")
    order = _advance(order=current, step=step, action="complete", actor=actor)
    return order


@transaction.atomic
def order_expire(*, reservation_id: int) -> Order | None:
    """The system expires the reserved order whose reservation ran out (the inventory's
    sweep has already released the stock): the listing and the need get their quantity
    back. Idempotent: an order no longer reserved, or no order at all, is left alone
    (None), so a redelivered ``reservation.expired`` event changes nothing. One audit row,
    ``order.expire``, by the system (no user), in the seller's trail (the side whose
    confirmation it waited for), and ``match.release`` for an order from a match."""
    order = (
        Order.objects.select_for_update(of=("self",), no_key=True)
        .select_related("listing", "need", "seller")
        .filter(reservation_id=reservation_id)
        .first()
    )
    if order is None or order.status not in EXPIRE.sources:
        return None
    _give_back(actor=SYSTEM, order=order, release=False, ended=EXPIRE.target)
    reason = _("The reservation ran out before the seller confirmed.")
    order = _advance(
        order=order,
        step=EXPIRE,
        action="expire",
        actor=SYSTEM,
        enterprise=order.seller,
        reason=reason,
        hold_until=None,
    )
    return order


# --- Creation ---------------------------------------------------------------------------


def _hold_until() -> datetime:
    return timezone.now() + timedelta(minutes=settings.ORDER_HOLD_MINUTES)


def _committed_kg(matches: Any) -> Decimal:
    """Kilograms that accepted and agreed matches (not yet orders) hold."""
    return committed_kg(matches)


def _create(
    *,
    actor: Scope,
    listing: Listing,
    need: Need | None,
    match: Match | None,
    buyer_id: int,
    quantity_kg: Decimal,
    price_per_t: Decimal,
    transport_per_t: Decimal,
    total_yuan: Decimal,
) -> Order:
    """Insert the order and hold its quantity: the listing's ordered_kg, a reservation on
    the lot (for the buyer, naming the order), the need's ordered_kg. Listing, lot, need:
    the lock order of the matching decisions."""
    hold_until = _hold_until()
    order = Order.objects.create(
        seller_id=listing.seller_id,
        buyer_id=buyer_id,
        listing=listing,
        need=need,
        match=match,
        material_id=listing.material_id,
        lot_id=listing.lot_id,
        quantity_kg=quantity_kg,
        price_per_t=price_per_t,
        transport_per_t=transport_per_t,
        total_yuan=total_yuan,
        hold_until=hold_until,
        created_by=actor.user,
    )
    listing_order(listing=listing, quantity_kg=quantity_kg)
    reservation = stock_reserve(
        actor=actor,
        lot=order.lot,
        holder=order.buyer,
        quantity_kg=quantity_kg,
        expires_at=hold_until,
        reference=order.reference,
    )
    if need is not None:
        need_order(need=need, quantity_kg=quantity_kg)
    Order.objects.filter(pk=order.pk).update(reservation=reservation)
    order.reservation = reservation
    _record(order=order, from_status="", actor=actor)
    return order


@transaction.atomic
def order_from_match(*, actor: Scope, match: Match) -> Order:
    """Turn an agreed match into a reserved order, at the match's quantity and prices
    (delivered cost: price and transport). The seller's or the buyer's admin or trader
    asks; the match becomes ``ordered`` by a conditional UPDATE taken first, so a second
    order of one match waits and is refused (409 on ``match``); the one-to-one key is the
    last guard. The listing must still be published and the need open. Emits
    ``match.ordered`` and ``order.reserved`` (and the listing's and need's ``*.updated``),
    delivered after commit. One audit row, ``order.from_match``, with the order's terms,
    after the match's own ``match.order``."""
    if actor.enterprise_id is None or actor.enterprise_id not in (match.seller_id, match.buyer_id):
        raise NotPermitted(_("Only the seller or the buyer orders an agreed match."))
    if not actor.has_role(*TRADING_ROLES):
        raise NotPermitted(_("Your role may not place orders."))
    current = match_mark_ordered(actor=actor, match_id=match.pk)
    listing, need = current.listing, current.need
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("The listing is no longer published."), field="listing")
    if need.status != NeedStatus.OPEN:
        raise Conflict(_("The need is no longer open."), field="need")
    # Controlled chemicals: the buyer's permits (kept apart from the match's status).
    _check_permits(buyer_id=current.buyer_id, material_id=listing.material_id, field="match")
    order = _create(
        actor=actor,
        listing=listing,
        need=need,
        match=current,
        buyer_id=current.buyer_id,
        quantity_kg=current.quantity_kg,
        price_per_t=current.price_per_t,
        transport_per_t=current.transport_per_t,
        total_yuan=current.total_yuan,
    )
    audit_record(
        actor=actor,
        action="order.from_match",
        target=order,
        changes=changes_between({}, snapshot(order, ORDER_AUDIT_FIELDS)),
    )
    event_emit(
        topic="match.ordered",
        payload={
            "match_id": current.pk,
            "material_ids": [current.material_id],
            "order_id": order.pk,
        },
    )
    return order


@transaction.atomic
def order_place(*, actor: Scope, listing: Listing, quantity_kg: Decimal) -> Order:
    """A direct order (no match) by the buyer's admin or trader on a published listing
    visible to the buyer's park, not its own.

    Locks the listing and its lot (the matching decisions' order), so the listing's
    remaining offer — its quantity less what orders and accepted or agreed matches hold —
    and the lot's unreserved stock less what matches on its listings hold are read stable.
    The quantity must be at least the listing's minimum order (the whole remainder when
    less than that is left) and at most the remaining offer (409 on ``quantity``).

    Priced at the listing's price with no transport: a direct order has no delivery point
    until the buyer chooses the zone at receipt, so carriage is the parties' own
    arrangement (an order from a match carries the match's transport cost).

    One audit row, ``order.place``, with the order's terms.
    """
    buyer = _check_buyer(actor)
    if quantity_kg <= 0 or quantity_kg > MAX_QUANTITY_KG:
        raise DomainError(_("Must be between 0.001 and %s kg.") % MAX_QUANTITY_KG, field="quantity")
    listing = Listing.objects.select_for_update(of=("self",), no_key=True).get(pk=listing.pk)
    if listing.seller_id == buyer.pk:
        raise DomainError(_("An enterprise does not order from its own listing."), field="listing")
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("The listing is not published."), field="listing")
    if not Listing.objects.filter(listing_visibility_q(scope=actor), pk=listing.pk).exists():
        raise NotPermitted(_("The listing is not offered to your park."), field="listing")
    if listing.available_until is not None and listing.available_until < timezone.localdate():
        raise Conflict(_("The listing's availability window has ended."), field="listing")
    # Controlled chemicals: the buyer's permits.
    _check_permits(buyer_id=buyer.pk, material_id=listing.material_id, field="listing")
    lot = StockLot.objects.select_for_update(of=("self",), no_key=True).get(pk=listing.lot_id)

    committed = _committed_kg(Match.objects.filter(listing_id=listing.pk))
    remaining = listing.quantity_kg - listing.ordered_kg - committed
    if remaining <= 0:
        raise Conflict(_("Nothing of this listing is left to order."), field="quantity")
    if quantity_kg > remaining:
        raise Conflict(
            _("The listing has %(left)s kg left to order; %(asked)s kg asked.")
            % {"left": remaining, "asked": quantity_kg},
            field="quantity",
        )
    if quantity_kg < listing.min_order_kg and quantity_kg != remaining:
        message = (
            _("Order at least the minimum of %(min)s kg.")
            if remaining >= listing.min_order_kg
            else _("Less than the minimum order is left: order all %(left)s kg.")
        )
        raise DomainError(
            message % {"min": listing.min_order_kg, "left": remaining}, field="quantity"
        )
    lot_committed = _committed_kg(Match.objects.filter(listing__lot_id=lot.pk))
    lot_free = lot.on_hand_kg - lot.reserved_kg - lot_committed
    if quantity_kg > lot_free:
        raise InsufficientStock(
            _("The lot has %(free)s kg unreserved and not promised; %(asked)s kg asked.")
            % {"free": max(lot_free, Decimal(0)), "asked": quantity_kg}
        )
    price = listing.price_per_t
    order = _create(
        actor=actor,
        listing=listing,
        need=None,
        match=None,
        buyer_id=buyer.pk,
        quantity_kg=quantity_kg,
        price_per_t=price,
        transport_per_t=Decimal(0),
        total_yuan=(price * quantity_kg / 1000).quantize(CENT, rounding=ROUND_HALF_UP),
    )
    audit_record(
        actor=actor,
        action="order.place",
        target=order,
        changes=changes_between({}, snapshot(order, ORDER_AUDIT_FIELDS)),
    )
    return order
