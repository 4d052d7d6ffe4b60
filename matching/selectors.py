"""Reads of matching, every one scoped to the caller (see access.scope)."""

from django.db.models import Q, QuerySet

from access.roles import TRADING_ROLES
from access.rules import parties_filter
from access.scope import Scope
from matching.models import Match, MatchRun
from matching.services.decisions import UNDECIDED


def match_list(*, scope: Scope) -> QuerySet[Match]:
    """An enterprise sees the matches it sells or buys in; a park operator or regulator
    those whose seller or buyer is in their parks (read-only); a superuser all.

    The rule is ``access.rules.parties_filter``, shared with orders. Seller and buyer are
    columns of the match (copied from the listing and need), each with an index led by it
    (with status): the two conditions are two index scans of the match table, OR-ed as
    bitmaps, never a join per row (measurements in ``parties_filter``).
    """
    qs = Match.objects.select_related("seller", "buyer", "material")
    return qs.filter(parties_filter(scope))


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
    if enterprise_id is None or not scope.has_role(*TRADING_ROLES):
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
