"""Work the demo world leaves waiting for the README's example login, ``zh01.trader``.

Without it the login has nothing to decide: no proposal of the matching engine concerns
its enterprise and no order waits for it. ``leave_work_waiting`` (run by ``seed_demo`` after
``build_world``, before the full rematch) gives it, through the services as a user would:

- a need of methanol, delivered to the refinery's gate: the full rematch that follows
  proposes a match from a neighbour's listing, which ``zh01.trader`` accepts or declines;
- a direct order of ``zh02.trader`` on zh01's diesel listing, left reserved: zh01's trader
  confirms (or rejects) it within ``ORDER_HOLD_MINUTES`` of the seeding;
- a direct order of ``zh01.trader`` on a neighbour's listing in the park's shared
  warehouse, confirmed by the seller and taken over in place by ``zh01.keeper``: received,
  it waits for ``zh01.trader`` to complete it (it never expires).

Deterministic (the listings are chosen by query in a fixed order from the deterministic
world) and idempotent: each piece is made once, found again by its tag (the need) or by
its parties (the orders), whatever became of it since; the one exception is the order to
confirm: once its hold has run out, the next run expires it (no beat runs under ``make
run``) and places a fresh one, so that a later ``make run`` has it waiting again.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from access.models import Membership
from access.roles import ADMIN_ROLES
from access.rules import people_of
from access.scope import Scope, resolve_scope
from inventory.controls import Controls
from inventory.models import Material
from inventory.services import reservations_expire_due
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from marketplace.selectors import listing_visibility_q
from marketplace.services import need_create
from orders.models import Order, OrderStatus
from orders.services import order_confirm, order_expire, order_place, order_transfer

TRADER = "zh01.trader"
KEEPER = "zh01.keeper"
NEIGHBOUR = "zh02.trader"  # another refinery of the same park (nbpedz), with full staff
NEED_TAG = "[demo-work-need]"
NEED_CAS = "67-56-1"  # methanol: four neighbours list it and no demo need asks for it
NEED_KG = Decimal(20_000)
ORDER_KG = Decimal(10_000)  # what each order asks, at least the listing's minimum order


@dataclass
class WorkReport:
    """What ``leave_work_waiting`` made, and what it found already there."""

    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, *, created: bool) -> None:
        bucket = self.created if created else self.existing
        bucket[what] = bucket.get(what, 0) + 1


def _scope(username: str) -> Scope:
    """The Scope of the demo user ``username``, resolved once for the work it does."""
    return resolve_scope(get_user_model().objects.get(username=username))


def _enterprise(user: Any) -> Any:
    return Membership.objects.select_related("enterprise__park").get(user=user).enterprise


def _uncontrolled(listings: Any) -> list[Listing]:
    return [
        listing
        for listing in listings.select_related("material", "lot__zone__warehouse")
        if not Controls.of(listing.material).any
    ]


def _quantity(listing: Listing) -> Decimal:
    return max(listing.min_order_kg, min(ORDER_KG, listing.quantity_kg - listing.ordered_kg))


def waiting_order_for_confirmation() -> Order | None:
    """The demo's latest order that waits for ``zh01.trader`` to confirm (whatever its
    status now, but expired: an expired one is placed afresh by the next seed_demo)."""
    return (
        Order.objects.filter(
            seller__members__user__username=TRADER,
            buyer__members__user__username=NEIGHBOUR,
            created_by__username=NEIGHBOUR,
        )
        .exclude(status=OrderStatus.EXPIRED)
        .order_by("-pk")
        .first()
    )


def _expire_ran_out(order: Order | None) -> None:
    """Do what the beat's sweep would have done for an order whose hold ran out (``make
    run`` starts no beat): release its reservation, then expire the order itself rather
    than wait for the event's handler after the commit (which then finds nothing to do)."""
    if order is None or order.status != OrderStatus.RESERVED:
        return
    if order.hold_until is None or order.hold_until > timezone.now():
        return
    reservations_expire_due()
    assert order.reservation_id is not None
    order_expire(reservation_id=order.reservation_id)


def waiting_order_for_completion() -> Order | None:
    """The demo's order that ``zh01.trader`` placed and waits for them to complete."""
    return (
        Order.objects.filter(
            buyer__members__user__username=TRADER,
            created_by__username=TRADER,
            shared_transfer=True,
        )
        .order_by("pk")
        .first()
    )


def waiting_need() -> Need | None:
    return Need.objects.filter(note__startswith=NEED_TAG).order_by("pk").first()


@transaction.atomic
def leave_work_waiting(*, today: date) -> WorkReport:
    """Make what is missing of the module docstring's three pieces; see there."""
    report = WorkReport()
    trader, keeper, neighbour = _scope(TRADER), _scope(KEEPER), _scope(NEIGHBOUR)
    zh01 = _enterprise(trader.user)

    found = waiting_need() is not None
    report.count("needs", created=not found)
    if not found:
        need_create(
            actor=trader,
            enterprise=zh01,
            material=Material.objects.get(cas=NEED_CAS),
            quantity_kg=NEED_KG,
            needed_by=today + timedelta(days=30),
            delivery_latitude=zh01.latitude,
            delivery_longitude=zh01.longitude,
            note=f"{NEED_TAG} 装置检修后开车用甲醇 / methanol for the restart after turnaround",
        )

    _expire_ran_out(waiting_order_for_confirmation())
    found = waiting_order_for_confirmation() is not None
    report.count("orders", created=not found)
    if not found:
        # zh01's biggest published listing of a material anyone may buy without a permit.
        offered = Listing.objects.filter(
            listing_visibility_q(scope=neighbour),
            seller=zh01,
            status=ListingStatus.PUBLISHED,
        ).order_by("-quantity_kg", "pk")
        listing = _uncontrolled(offered)[0]
        order_place(actor=neighbour, listing=listing, quantity_kg=_quantity(listing))

    found = waiting_order_for_completion() is not None
    report.count("orders", created=not found)
    if not found:
        # A neighbour's listing in the park's shared warehouse, so that zh01's keeper can
        # take the goods over in place (no zone of zh01's to admit them).
        in_shared = Listing.objects.filter(
            listing_visibility_q(scope=trader),
            lot__zone__warehouse__owner__isnull=True,
            lot__zone__warehouse__park=zh01.park,
            status=ListingStatus.PUBLISHED,
            quantity_kg__gte=F("min_order_kg") + ORDER_KG,
        ).exclude(
            Q(seller=zh01) | Q(material__needs__status=NeedStatus.OPEN) | Q(material__cas=NEED_CAS)
        )
        listing = _uncontrolled(in_shared.distinct().order_by("lot__batch_no", "pk"))[0]
        order = order_place(actor=trader, listing=listing, quantity_kg=_quantity(listing))
        seller_admin = _scope(
            people_of(enterprise_id=listing.seller_id, roles=ADMIN_ROLES)
            .values_list("user__username", flat=True)
            .order_by("user__username")[0]
        )
        order = order_confirm(actor=seller_admin, order=order, reason="桶已备好 / drums ready")
        order_transfer(actor=keeper, order=order)
    return report
