"""Who sees what of the joint stockpiles: the one rule, used by the API and the admin.

* a member (an enterprise with an active or past PoolMember row) sees its pools, their
  members and pool-level figures, and its own requests, contributions, draws and
  obligations;
* the operator (``pools.rules.may_operate``: the lead enterprise's writing staff, or the
  park's operators when there is no lead) sees everything of its pools;
* park operators and regulators see every pool of their parks and everything in it
  (regulators read only: they never write, ``access.rules.may_write``);
* any other enterprise sees nothing (404); a superuser everything.

:func:`pools_operated` is ``may_operate`` as a queryset: ``tests/pools/test_selectors.py``
holds them equal for every kind of caller.
"""

from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.roles import WRITE_ROLES
from access.scope import Scope
from inventory.models import StockLot
from matching.models import Match
from matching.selectors import match_list
from orders.selectors import order_list
from parks.models import EnterpriseKind
from pools.models import (
    Contribution,
    Draw,
    MembershipRequest,
    MemberStatus,
    Obligation,
    Pool,
    PoolMember,
    PoolOrder,
    PoolProposal,
)

KG: "DecimalField[Any, Any]" = DecimalField(max_digits=20, decimal_places=3)


def _operated(scope: Scope) -> Q:
    """``may_operate`` as a condition on Pool rows."""
    if scope.is_superuser:
        return Q()
    led = Q(pk__in=[])
    if scope.enterprise is not None and scope.has_role(*WRITE_ROLES):
        led = Q(lead_id=scope.enterprise.pk)
    run = Q(lead__isnull=True, park_id__in=scope.operated_park_ids)
    return led | run if scope.operated_park_ids else led


def _visible(scope: Scope, prefix: str = "") -> Q:
    """The pools ``scope`` reads, as a condition on the pool reached through ``prefix``
    (``""`` for Pool itself, ``"pool__"`` for its rows)."""
    if scope.is_superuser:
        return Q()
    if scope.enterprise is not None:
        enterprise_id = scope.enterprise.pk
        member_of = PoolMember.objects.filter(enterprise_id=enterprise_id).values("pool_id")
        return Q(**{f"{prefix}pk__in": member_of}) | Q(**{f"{prefix}lead_id": enterprise_id})
    if scope.park_ids:
        return Q(**{f"{prefix}park_id__in": scope.park_ids})
    return Q(pk__in=[])


def _sees_all_rows(scope: Scope, prefix: str) -> Q:
    """The pools whose every row (each member's draws, obligations...) ``scope`` reads:
    a superuser's all, park staff's their parks', an enterprise's those it operates."""
    if scope.is_superuser:
        return Q()
    if scope.enterprise is not None:
        # The lead enterprise's staff, a viewer too, read what their colleagues run.
        return Q(**{f"{prefix}lead_id": scope.enterprise.pk})
    if scope.park_ids:
        return Q(**{f"{prefix}park_id__in": scope.park_ids})
    return Q(pk__in=[])


def with_figures(qs: QuerySet[Pool]) -> QuerySet[Pool]:
    """Each pool's held kg (on hand in its zones), active members and open and overdue
    obligations, in the same query as the pools."""
    held = (
        StockLot.objects.filter(owner_id=OuterRef("holder_id"), zone__pools=OuterRef("pk"))
        .order_by()
        .values("owner_id")
        .annotate(kg=Sum("on_hand_kg"))
        .values("kg")
    )
    members = (
        PoolMember.objects.filter(pool=OuterRef("pk"), status=MemberStatus.ACTIVE)
        .order_by()
        .values("pool_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    open_obligations = (
        Obligation.objects.filter(pool=OuterRef("pk"), met_at__isnull=True)
        .order_by()
        .values("pool_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    overdue = (
        Obligation.objects.filter(
            pool=OuterRef("pk"), met_at__isnull=True, due_on__lt=timezone.localdate()
        )
        .order_by()
        .values("pool_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        held_kg=Coalesce(Subquery(held, output_field=KG), Value(Decimal(0)), output_field=KG),
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), Value(0)),
        open_obligations=Coalesce(Subquery(open_obligations, output_field=IntegerField()), 0),
        overdue_obligations=Coalesce(Subquery(overdue, output_field=IntegerField()), 0),
    )


def pools_visible(*, scope: Scope) -> QuerySet[Pool]:
    """The pools ``scope`` reads (the rule of :func:`pool_list`), without their figures: the
    lookup of a pool that a write (a draw, a contribution) acts on, where the figures would
    cost an aggregate of its lots that nothing reads."""
    return Pool.objects.filter(_visible(scope))


def pool_list(*, scope: Scope) -> QuerySet[Pool]:
    """The pools ``scope`` reads, with their figures (:func:`with_figures`)."""
    qs = Pool.objects.select_related("park", "material", "lead", "holder")
    return with_figures(qs.filter(_visible(scope))).order_by("park_id", "code")


def pool_proposals(*, scope: Scope, pool: Pool) -> QuerySet[Match]:
    """The matching engine's proposals for ``pool`` (its holder buying for its need, or
    selling lots listed for rotation) that ``scope`` sees: the deals rule
    (``access.rules.parties_filter``) gives them to the pool's lead and the park's staff,
    not to its other members. Newest first."""
    holder = pool.holder_id
    return match_list(scope=scope).filter(Q(buyer_id=holder) | Q(seller_id=holder)).order_by("-id")


def pool_deals(*, scope: Scope) -> QuerySet[PoolProposal]:
    """Every proposal for a pool that ``scope`` sees (the deals rule, as
    :func:`pool_proposals`), newest first."""
    pools = Q(buyer__kind=EnterpriseKind.POOL) | Q(seller__kind=EnterpriseKind.POOL)
    seen = match_list(scope=scope).filter(pools).values("pk")
    return (
        PoolProposal.objects.filter(pk__in=seen)
        .select_related("seller", "buyer", "material")
        .order_by("-id")
    )


def pool_orders(*, scope: Scope) -> QuerySet[PoolOrder]:
    """Every order a pool placed that ``scope`` sees (the deals rule), newest first."""
    seen = order_list(scope=scope).filter(buyer__kind=EnterpriseKind.POOL).values("pk")
    return (
        PoolOrder.objects.filter(pk__in=seen)
        .select_related("seller", "buyer", "material")
        .order_by("-id")
    )


def pools_operated(*, scope: Scope) -> QuerySet[Pool]:
    """The pools ``scope`` runs (``may_operate``)."""
    return Pool.objects.filter(_operated(scope))


def pools_joinable(*, scope: Scope) -> QuerySet[Pool]:
    """The pools ``scope`` may ask to join, change its commitment in or leave: those it
    reads and, for an enterprise, the active pools of its park (a pool's id is given to a
    candidate by its operator; other enterprises of the park cannot read the pool)."""
    qs = Pool.objects.select_related("park")
    if scope.enterprise is not None and not scope.is_superuser:
        return qs.filter(_visible(scope) | Q(park_id=scope.enterprise.park_id, is_active=True))
    return qs.filter(_visible(scope))


def pool_member_list(*, scope: Scope) -> QuerySet[PoolMember]:
    """The members (active and past, names and commitments) of the pools ``scope`` reads."""
    return PoolMember.objects.filter(_visible(scope, "pool__")).select_related("pool", "enterprise")


def member_list(*, scope: Scope, pool: Pool) -> QuerySet[PoolMember]:
    """The members of one pool ``scope`` reads, in joining order."""
    return pool_member_list(scope=scope).filter(pool=pool).order_by("id")


def _own_or_all(scope: Scope, *, enterprise_field: str) -> Q:
    """Rows of the pools ``scope`` reads in full, or its own enterprise's rows of the
    pools it is a member of."""
    everything = _sees_all_rows(scope, "pool__")
    if scope.enterprise is not None and not scope.is_superuser:
        own = Q(**{enterprise_field: scope.enterprise.pk})
        return everything | own
    return everything


def request_list(*, scope: Scope) -> QuerySet[MembershipRequest]:
    """Membership requests: an enterprise's own (a candidate too), all of the pools it
    operates; all of their parks' pools for park staff."""
    return (
        MembershipRequest.objects.filter(_own_or_all(scope, enterprise_field="enterprise_id"))
        .select_related("pool", "enterprise")
        .order_by("-id")
    )


def requests_decidable(*, scope: Scope) -> QuerySet[MembershipRequest]:
    """The requests ``scope`` decides: those of the pools it operates."""
    return MembershipRequest.objects.filter(pool__in=pools_operated(scope=scope)).select_related(
        "pool", "enterprise"
    )


def draw_list(*, scope: Scope) -> QuerySet[Draw]:
    """Draws: a member's own; every draw of the pools it operates or, for park staff, of
    their parks' pools."""
    return (
        Draw.objects.filter(
            _own_or_all(scope, enterprise_field="member__enterprise_id") & _visible(scope, "pool__")
        )
        .select_related("pool", "member__enterprise")
        .order_by("-id")
    )


def draws_decidable(*, scope: Scope) -> QuerySet[Draw]:
    return Draw.objects.filter(pool__in=pools_operated(scope=scope)).select_related(
        "pool", "member__enterprise"
    )


def obligation_list(*, scope: Scope) -> QuerySet[Obligation]:
    """Replenishment obligations: a member's own; all of the pools it operates or, for
    park staff, of their parks' pools."""
    return (
        Obligation.objects.filter(
            _own_or_all(scope, enterprise_field="member__enterprise_id") & _visible(scope, "pool__")
        )
        .select_related("pool", "member__enterprise")
        .order_by("due_on", "id")
    )


def contribution_list(*, scope: Scope) -> QuerySet[Contribution]:
    """Contributions: a member's own; all of the pools it operates or, for park staff, of
    their parks' pools."""
    return (
        Contribution.objects.filter(
            _own_or_all(scope, enterprise_field="member__enterprise_id") & _visible(scope, "pool__")
        )
        .select_related("pool", "member__enterprise")
        .order_by("-id")
    )


def obligations_overdue_q(today: Any = None) -> Q:
    return Q(met_at__isnull=True, due_on__lt=today or timezone.localdate())
