"""Reads of orders, every one scoped to the caller (see common.tenancy)."""

from django.db.models import Prefetch, Q, QuerySet

from common.tenancy import Scope
from inventory.models import StorageZone
from inventory.selectors import zone_list
from orders.models import Order, OrderTransition
from parks.models import Enterprise


def order_list(*, scope: Scope) -> QuerySet[Order]:
    """An enterprise sees the orders it sells or buys in; a park operator or regulator those
    whose seller or buyer is in their parks (read-only); a superuser all.

    As for matches (matching.selectors.match_list), seller and buyer are columns with an
    index led by each, and a park's enterprises are read first as a list of ids, so the
    two conditions are two index scans OR-ed, never a join per row.
    """
    qs = Order.objects.select_related("seller", "buyer", "material", "reservation")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        enterprise_id = scope.enterprise.pk
        return qs.filter(Q(seller_id=enterprise_id) | Q(buyer_id=enterprise_id))
    if scope.park_ids:
        in_parks = list(
            Enterprise.objects.filter(park_id__in=scope.park_ids).values_list("pk", flat=True)
        )
        return qs.filter(Q(seller_id__in=in_parks) | Q(buyer_id__in=in_parks))
    return qs.none()


def order_detail_list(*, scope: Scope) -> QuerySet[Order]:
    """``order_list`` with each order's transitions (and who took them) prefetched: one
    query more for a page or a single order, whatever their number."""
    transitions = OrderTransition.objects.select_related("actor").order_by("id")
    return order_list(scope=scope).prefetch_related(Prefetch("transitions", queryset=transitions))


def receipt_zones(*, scope: Scope) -> QuerySet[StorageZone]:
    """Zones the caller's enterprise may receive goods into: its own warehouses' and its
    park's shared warehouses' zones (``inventory.selectors.zone_list``)."""
    return zone_list(scope=scope)
