"""Reads of orders, every one scoped to the caller (see access.scope)."""

from datetime import datetime, timedelta

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from access.rules import parties_filter
from access.scope import Scope
from inventory.models import Reservation, ReservationStatus, StorageZone
from inventory.selectors import reservation_list, zone_list
from orders.models import Order, OrderStatus, OrderTransition
from orders.services import STEPS, order_steps_of_role


def order_list(*, scope: Scope) -> QuerySet[Order]:
    """An enterprise sees the orders it sells or buys in; a park operator or regulator those
    whose seller or buyer is in their parks (read-only); a superuser all.

    The rule is ``access.rules.parties_filter``, shared with matches: seller and buyer are
    columns with an index led by each, and a park's enterprises are read first as a list
    of ids, so the two conditions are two index scans OR-ed, never a join per row.
    """
    qs = Order.objects.select_related("seller", "buyer", "material", "reservation")
    return qs.filter(parties_filter(scope))


def order_detail_list(*, scope: Scope) -> QuerySet[Order]:
    """``order_list`` with each order's transitions (and who took them) prefetched: one
    query more for a page or a single order, whatever their number."""
    transitions = OrderTransition.objects.select_related("actor").order_by("id")
    return order_list(scope=scope).prefetch_related(Prefetch("transitions", queryset=transitions))


def receipt_zones(*, scope: Scope) -> QuerySet[StorageZone]:
    """Zones the caller's enterprise may receive goods into: its own warehouses' and its
    park's shared warehouses' zones (``inventory.selectors.zone_list``)."""
    return zone_list(scope=scope)


def order_steps_forward() -> list[str]:
    """The steps that take an order forward (not the ones that end it: reject, cancel):
    what "waiting for you" means."""
    ending = {OrderStatus.REJECTED, OrderStatus.CANCELLED}
    return [step for step, rule in STEPS.items() if rule.target not in ending]


def orders_waiting_for(*, scope: Scope, now: datetime | None = None) -> QuerySet[Order]:
    """Orders at a step of ``scope``'s own now (confirm, dispatch, receive or take over,
    complete, as its side and role take them): the queryset twin of ``order_steps_open``
    restricted to ``order_steps_forward``; a test holds the two equal. Oldest first (the
    longest waiting)."""
    enterprise_id = scope.enterprise_id
    if enterprise_id is None:
        return Order.objects.none()
    now = now or timezone.now()
    forward = set(order_steps_forward())
    condition = Q(pk__in=[])
    for step in order_steps_of_role(scope=scope):
        if step not in forward:
            continue
        rule = STEPS[step]
        q = Q(**{f"{rule.side}_id": enterprise_id}, status__in=rule.sources)
        if step == "confirm":
            q &= Q(hold_until__isnull=True) | Q(hold_until__gt=now)
        if step == "transfer":
            q &= Q(lot__zone__warehouse__owner__isnull=True) & Q(
                lot__zone__warehouse__park_id=F("buyer__park_id")
            )
        condition |= q
    return (
        Order.objects.select_related("seller", "buyer", "material")
        .filter(condition)
        .order_by("updated_at", "id")
    )


def reservations_expiring(
    *, scope: Scope, within: timedelta, now: datetime | None = None
) -> QuerySet[Reservation]:
    """Held reservations in ``scope`` (on its lots or held for it) that run out within
    ``within``, soonest first."""
    now = now or timezone.now()
    return (
        reservation_list(scope=scope)
        .filter(
            status=ReservationStatus.HELD,
            expires_at__isnull=False,
            expires_at__lte=now + within,
        )
        .order_by("expires_at", "id")
    )
