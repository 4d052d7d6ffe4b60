"""Reads of matching: the lists, scoped to the caller (see access.scope), and what committed
matches hold (the one definition the decisions, the orders and the engine count by)."""

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from access.roles import TRADING_ROLES
from access.rules import parties_filter
from access.scope import Scope
from matching.models import COMMITTED, UNDECIDED, Match, MatchRun


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


# --- What committed matches hold -----------------------------------------------------------
#
# A match holds its quantity of its listing, of the listing's lot and of its need while it
# is accepted or agreed (``COMMITTED``): a second acceptance must fit beside it, a direct
# order may take only the rest, and the engine offers only the rest. Once it becomes an
# order it holds nothing here: the order's reservation and the counters ``ordered_kg`` hold
# it instead. These functions are that rule, once; each answers in one query.

GRAM = Decimal("0.001")
# The rows that hold and what each holds.
_HOLDS = Q(status__in=COMMITTED)
_HELD = "quantity_kg"


def _kg(value: Any) -> Decimal:
    # To the gram, as stored (SQLite sums decimals as floats).
    return Decimal(value or 0).quantize(GRAM)


def committed_kg_split(matches: QuerySet[Match], **parts: Q) -> dict[str, Decimal]:
    """Kilograms the committed matches among ``matches`` hold, one sum per part (a condition
    on the matches: ``lot=Q(), listing=Q(listing_id=7)``), in one query."""
    totals = matches.aggregate(
        **{name: Sum(_HELD, filter=_HOLDS & condition) for name, condition in parts.items()}
    )
    return {name: _kg(totals[name]) for name in parts}


def committed_kg(matches: QuerySet[Match]) -> Decimal:
    """Kilograms the committed matches among ``matches`` hold (e.g. the matches of a
    listing, or of every listing of a lot)."""
    return committed_kg_split(matches, total=Q())["total"]


def committed_by(matches: QuerySet[Match], *keys: str) -> dict[Any, Decimal]:
    """What the committed matches among ``matches`` hold per value of ``keys``
    (``"listing_id"``, ``"need_id"``, ``"listing__lot_id"``; with several keys, per tuple of
    their values), in one grouped query: the bulk twin of ``committed_kg``. A value with no
    committed match is absent: it holds nothing."""
    rows = matches.filter(_HOLDS).values_list(*keys).annotate(held=Sum(_HELD)).order_by()
    if len(keys) == 1:
        return {value: _kg(held) for value, held in rows}
    return {tuple(values): _kg(held) for *values, held in rows}
