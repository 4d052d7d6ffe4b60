"""The parties' decisions on a proposal: each side accepts, either side declines.

A match is agreed when both sides have accepted. Accepting commits the match's quantity:
the listing, the lot behind it and the need may not be promised beyond what they hold
(``matching.models.COMMITTED`` matches count, the engine offers only the rest). Status
changes are conditional UPDATEs on the current status, so a decision raced by another
decision or by the engine superseding the proposal is refused, never lost. Each decision
writes an outbox event (``match.accepted`` with the side that accepted, ``match.agreed``,
``match.declined`` with the side and reason; each with the match's parties and terms) in
its transaction; the rematch trigger subscribes to them.

The orders app changes a match only through ``match_mark_ordered`` (an agreed match
becomes an order) and ``match_release`` (that order ended without delivery).

Each of these writes leaves one audit row in its transaction (audit.services):
``match.accept``, ``match.decline``, ``match.order``, ``match.release``, with the status
(and the side's acceptance, the reason) before and after. ``match_side`` only reads. The
proposals a matching run writes are derived data, recorded once per run (``runs``).
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from access.roles import TRADING_ROLES
from access.rules import party_side
from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import decimal_text, event_emit
from common.exceptions import Conflict, DomainError, NotPermitted
from inventory.models import StockLot
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from matching.exceptions import InvalidTransition, QuantityExceeded
from matching.models import UNDECIDED, Match, MatchStatus
from matching.selectors import committed_kg_split
from parks.models import Enterprise

# Enterprise roles that decide on matches for their enterprise (as in the marketplace).
REASON_MAX_LENGTH = 500

SELLER, BUYER = "seller", "buyer"


DECISIONS = ("accept", "decline")


# --- The rule: may this user take this decision on this match now? -----------------------
#
# Pure functions of the scope and the match's row: the services raise on their refusals
# (the state read again under the locks), the admin offers only the decisions left open.


def match_party_refusal(*, scope: Scope, match: Match) -> str | None:
    """Why ``scope`` may not decide on ``match`` for who it is (a party to it, with a role
    that decides; a superuser neither: a decision binds an enterprise), or None."""
    if party_side(scope, seller_id=match.seller_id, buyer_id=match.buyer_id) is None:
        return _("Only the seller or the buyer decides on a match.")
    if not scope.has_role(*TRADING_ROLES):
        return _("Your role may not decide on matches.")
    return None


def match_state_refusal(*, match: Match, decision: str, side: str) -> str | None:
    """Why ``match``, as it stands, may not take ``decision`` from ``side``, or None."""
    if match.status not in UNDECIDED:
        message = (
            _("The match is %(status)s and can no longer be accepted.")
            if decision == "accept"
            else _("The match is %(status)s and can no longer be declined.")
        )
        return message % {"status": match.get_status_display()}
    if decision == "accept" and getattr(match, f"{side}_accepted_at") is not None:
        return _("Your side has already accepted this match.")
    return None


def match_decision_refusal(*, scope: Scope, match: Match, decision: str) -> str | None:
    """Why ``scope`` may not take ``decision`` (``"accept"`` or ``"decline"``) on ``match``
    now, or None when it may. What accepting also needs of the listing, the lot and the
    need (published, open, enough left) is checked by ``match_accept`` under their locks."""
    if decision not in DECISIONS:
        raise ValueError(decision)
    refusal = match_party_refusal(scope=scope, match=match)
    if refusal is not None:
        return refusal
    side = SELLER if scope.enterprise_id == match.seller_id else BUYER
    return match_state_refusal(match=match, decision=decision, side=side)


def match_decisions_open(*, scope: Scope, match: Match) -> list[str]:
    """The decisions ``scope`` may take on ``match`` now."""
    return [
        d for d in DECISIONS if match_decision_refusal(scope=scope, match=match, decision=d) is None
    ]


def match_side(*, actor: Scope, match: Match) -> str:
    """``"seller"`` or ``"buyer"``: the side ``actor``'s enterprise takes in ``match``.

    Anyone who does not act for one of the two enterprises, with a role that decides, is
    refused (``match_party_refusal``). Only reads.
    """
    return _side_of(scope=actor, match=match)


def _side_of(*, scope: Scope, match: Match) -> str:
    refusal = match_party_refusal(scope=scope, match=match)
    if refusal is not None:
        raise NotPermitted(refusal)
    return SELLER if scope.enterprise_id == match.seller_id else BUYER


# What the audit rows of a decision show before and after.
DECISION_AUDIT_FIELDS = (
    "status",
    "seller_accepted_at",
    "buyer_accepted_at",
    "decided_at",
    "decided_by",
    "decline_reason",
)


def _seller_of(match: Match) -> Any:
    """The seller's enterprise (with its park) of ``match``: the trail of a system write."""
    return Enterprise.objects.only("pk", "park_id").get(pk=match.seller_id)


def match_terms(match: Match) -> dict[str, Any]:
    """The payload of a public match event (matching.topics.MatchTerms): the proposal, its
    parties and its terms."""
    return {
        "match_id": match.pk,
        "material_ids": [match.material_id],
        "seller_id": match.seller_id,
        "buyer_id": match.buyer_id,
        "listing_id": match.listing_id,
        "need_id": match.need_id,
        "material_id": match.material_id,
        "quantity_kg": decimal_text(match.quantity_kg, 3),
        "price_per_t": decimal_text(match.price_per_t, 2),
    }


def _emit(topic: str, match: Match, **extra: Any) -> None:
    event_emit(topic=topic, payload={**match_terms(match), **extra})


def _committed(matches: Any, **sums: Q) -> dict[str, Decimal]:
    """Kilograms of committed matches, one sum per condition (to the gram, as stored)."""
    return committed_kg_split(matches, **sums)


def _check_quantity(*, match: Match, listing: Listing, lot: StockLot, need: Need) -> None:
    """The match's quantity fits beside the other committed matches of its listing, its
    lot (over all of the lot's listings) and its need. Call with the three rows locked."""
    others = Match.objects.exclude(pk=match.pk)
    supply = _committed(
        others.filter(listing__lot_id=lot.pk), lot=Q(), listing=Q(listing_id=listing.pk)
    )
    demand = _committed(others.filter(need_id=need.pk), need=Q())
    quantity = match.quantity_kg
    # What orders hold is no longer offered (and the lot has it reserved already).
    offered = listing.quantity_kg - listing.ordered_kg
    if supply["listing"] + quantity > offered:
        raise QuantityExceeded(
            _(
                "The listing offers %(offered)s kg and %(committed)s kg of it are already "
                "committed; %(quantity)s kg more do not fit."
            )
            % {"offered": offered, "committed": supply["listing"], "quantity": quantity}
        )
    available = lot.on_hand_kg - lot.reserved_kg
    if supply["lot"] + quantity > available:
        raise QuantityExceeded(
            _(
                "The lot holds %(available)s kg unreserved and %(committed)s kg of it are "
                "already committed; %(quantity)s kg more do not fit."
            )
            % {"available": available, "committed": supply["lot"], "quantity": quantity}
        )
    if demand["need"] + quantity > need.quantity_kg - need.ordered_kg:
        raise QuantityExceeded(
            _(
                "The need asks for %(needed)s kg and %(committed)s kg of it are already "
                "committed; %(quantity)s kg more would exceed it."
            )
            % {
                "needed": need.quantity_kg - need.ordered_kg,
                "committed": demand["need"],
                "quantity": quantity,
            }
        )


@transaction.atomic
def match_accept(*, actor: Scope, match: Match) -> Match:
    """Accept ``match`` for the actor's side; agreed once both sides have accepted.

    Locks the listing, its lot and the need, in that order, so that two acceptances that
    draw on one of them are serialised and the second sees what the first committed. The
    listing must be published, the need open, and the quantity must fit (see
    ``_check_quantity``). The status changes in one conditional UPDATE whose new status is
    decided by the database from the other side's acceptance. Emits ``match.accepted`` or
    ``match.agreed``, delivered after commit. One audit row, ``match.accept``, in the
    actor's trail (the side that accepted).
    """
    side = _side_of(scope=actor, match=match)
    other = BUYER if side == SELLER else SELLER
    # FOR NO KEY UPDATE: serialises with other acceptances and with every write of these
    # rows, but not with the FOR KEY SHARE that inserting a row referencing them takes (the
    # engine inserting proposals while it holds the match rows it supersedes).
    listing = Listing.objects.select_for_update(of=("self",), no_key=True).get(pk=match.listing_id)
    lot = StockLot.objects.select_for_update(of=("self",), no_key=True).get(pk=listing.lot_id)
    need = Need.objects.select_for_update(of=("self",), no_key=True).get(pk=match.need_id)
    current = Match.objects.get(pk=match.pk)
    before = snapshot(current, DECISION_AUDIT_FIELDS)
    refusal = match_state_refusal(match=current, decision="accept", side=side)
    if refusal is not None:
        raise InvalidTransition(refusal)
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("The listing is no longer published."), field="listing")
    if need.status != NeedStatus.OPEN:
        raise Conflict(_("The need is no longer open."), field="need")
    _check_quantity(match=current, listing=listing, lot=lot, need=need)

    now = timezone.now()
    other_accepted = Q(**{f"{other}_accepted_at__isnull": False})
    changed = Match.objects.filter(
        pk=match.pk, status__in=UNDECIDED, **{f"{side}_accepted_at__isnull": True}
    ).update(
        **{f"{side}_accepted_at": now},
        status=Case(
            When(other_accepted, then=Value(MatchStatus.AGREED)),
            default=Value(MatchStatus.ACCEPTED),
        ),
        decided_at=Case(When(other_accepted, then=Value(now)), default=F("decided_at")),
    )
    if not changed:  # decided meanwhile (the engine superseded it, the other side declined)
        raise InvalidTransition(_("The match was decided meanwhile."))
    current.refresh_from_db()
    if current.status == MatchStatus.AGREED:
        _emit("match.agreed", current)
    else:
        _emit("match.accepted", current, side=side)
    audit_record(
        actor=actor,
        action="match.accept",
        target=current,
        changes=changes_between(before, snapshot(current, DECISION_AUDIT_FIELDS)),
    )
    return current


@transaction.atomic
def match_decline(*, actor: Scope, match: Match, reason: str = "") -> Match:
    """Decline ``match`` for either side, from proposed or accepted; releases what an
    acceptance had committed. One conditional UPDATE; emits ``match.declined`` (with the
    reason), delivered after commit. Takes the match's row lock first, to read the status
    the audit row shows; one audit row, ``match.decline``, in the actor's trail."""
    side = _side_of(scope=actor, match=match)
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)d characters.") % {"max": REASON_MAX_LENGTH}, field="reason"
        )
    locked = Match.objects.select_for_update(of=("self",), no_key=True).get(pk=match.pk)
    before = snapshot(locked, DECISION_AUDIT_FIELDS)
    changed = Match.objects.filter(pk=match.pk, status__in=UNDECIDED).update(
        status=MatchStatus.DECLINED,
        decided_at=timezone.now(),
        decided_by=actor.user,
        decline_reason=reason,
    )
    current = Match.objects.get(pk=match.pk)
    if not changed:
        refusal = match_state_refusal(match=current, decision="decline", side=side)
        raise InvalidTransition(refusal or _("The match was decided meanwhile."))
    _emit("match.declined", current, reason=reason, side=side)
    audit_record(
        actor=actor,
        action="match.decline",
        target=current,
        changes=changes_between(before, snapshot(current, DECISION_AUDIT_FIELDS)),
    )
    return current


# --- Orders made from a match ------------------------------------------------------------


@transaction.atomic
def match_mark_ordered(*, actor: Scope, match_id: int) -> Match:
    """The agreed match ``match_id`` becomes ``ordered``, by one conditional UPDATE taken
    first in the order's transaction: a second order of the same match waits for the row
    lock and is refused with a Conflict on ``match``, as is a match that is not agreed.
    Returns the match with its listing and need. Emits nothing: the orders app emits
    ``match.ordered`` once the order exists (its id is in the event). One audit row,
    ``match.order``, by ``actor`` (who orders)."""
    changed = Match.objects.filter(pk=match_id, status=MatchStatus.AGREED).update(
        status=MatchStatus.ORDERED
    )
    current = Match.objects.select_related("listing", "need").get(pk=match_id)
    if not changed:
        if current.status == MatchStatus.ORDERED:
            raise Conflict(_("This match has already become an order."), field="match")
        raise Conflict(
            _("The match is %(status)s; only an agreed match becomes an order.")
            % {"status": current.get_status_display()},
            field="match",
        )
    audit_record(
        actor=actor,
        action="match.order",
        target=current,
        changes={"status": [MatchStatus.AGREED, MatchStatus.ORDERED]},
    )
    return current


@transaction.atomic
def match_release(*, actor: Scope, match_id: int, reason: str) -> None:
    """The order made from match ``match_id`` ended without delivery (``reason``: how,
    e.g. ``"cancelled"``): the match goes from ``ordered`` to ``released`` by one
    conditional UPDATE (the match's row lock, taken before the listing, lot and need, as
    when the order was made). Emits ``match.released`` (``match_id``, ``material_ids``,
    ``reason``), delivered after commit: the engine rematches the material and may propose
    the pair again. A match not ordered (already released) is left alone, with no event,
    so a repeated release is harmless. One audit row, ``match.release``, by ``actor`` (who
    ended the order; the system when it expired, in the seller's trail), with ``reason`` as
    its note."""
    changed = Match.objects.filter(pk=match_id, status=MatchStatus.ORDERED).update(
        status=MatchStatus.RELEASED
    )
    if not changed:
        return
    match = Match.objects.only("pk", "material_id", "seller_id").get(pk=match_id)
    material_id = match.material_id
    audit_record(
        actor=actor,
        action="match.release",
        target=match,
        changes={"status": [MatchStatus.ORDERED, MatchStatus.RELEASED]},
        enterprise=_seller_of(match) if actor.is_system else None,
        note=reason,
    )
    event_emit(
        topic="match.released",
        payload={"match_id": match_id, "material_ids": [material_id], "reason": reason},
    )
