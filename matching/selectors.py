"""Reads of matching, every one scoped to the caller (see common.tenancy)."""

from django.db.models import Q, QuerySet

from common.tenancy import Scope
from matching.models import Match, MatchRun
from matching.services.decisions import DECIDING_ROLES, UNDECIDED
from parks.models import Enterprise


def match_list(*, scope: Scope) -> QuerySet[Match]:
    """An enterprise sees the matches it sells or buys in; a park operator or regulator
    those whose seller or buyer is in their parks (read-only); a superuser all.

    Seller and buyer are columns of the match (copied from the listing and need), each with
    an index led by it (with status): the two conditions are two index scans of the match
    table, OR-ed as bitmaps, never a join per row. A park's enterprises are read first, as
    a list of ids: measured on 150k matches, ``seller_id IN (subquery) OR buyer_id IN
    (subquery)`` is planned as a scan of every match with a hashed filter (12 ms to count a
    regulator's open matches), the literal ids as the same two index scans (2.5 ms); a
    UNION of the two sides is slower still (the page then sorts every id of the park).
    """
    qs = Match.objects.select_related("seller", "buyer", "material")
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


def run_list(*, scope: Scope) -> QuerySet[MatchRun]:
    """Engine runs span every park: superusers, park operators and regulators read them;
    enterprise staff see none (a run's figures are about everyone's listings and needs)."""
    if scope.is_superuser or scope.park_ids:
        return MatchRun.objects.all()
    return MatchRun.objects.none()


def matches_waiting_for(*, scope: Scope) -> QuerySet[Match]:
    """Proposals waiting for the decision of ``scope``'s side: undecided, its side has not
    accepted yet, and its role decides (the queryset twin of ``match_decisions_open``
    offering ``accept``; a test holds the two equal). Newest first."""
    enterprise_id = scope.enterprise_id
    if enterprise_id is None or not scope.has_role(*DECIDING_ROLES):
        return Match.objects.none()
    undecided = Q(status__in=UNDECIDED)
    mine = Q(seller_id=enterprise_id, seller_accepted_at__isnull=True) | Q(
        buyer_id=enterprise_id, buyer_accepted_at__isnull=True
    )
    return (
        Match.objects.select_related("seller", "buyer", "material")
        .filter(undecided & mine)
        .order_by("-id")
    )
