"""The pools in the admin, scoped like the API (``pools.selectors``: one rule for both).

Rows change only through ``pools.services`` (which audit): a park operator opens a pool
(``pool_create``); membership requests are approved or rejected and draws granted or
rejected by actions calling ``membership_decide`` / ``draw_decide``, and the engine's
proposals for pools accepted, declined and ordered, and the pools' orders received, by
actions calling ``pools.services.acting``; all refuse anyone but the pool's operator
(reported as a message, never a 500). Members, obligations and
contributions are read-only here: they change through requests, draws and contributions.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import TenantScopedAdmin
from access.roles import WRITE_ROLES
from access.rules import may_write
from access.scope import Scope, request_scope
from common.admin import is_staff_user
from parks.models import Enterprise, Park
from pools.models import (
    Contribution,
    Draw,
    MembershipRequest,
    Obligation,
    Pool,
    PoolMember,
    PoolOrder,
    PoolProposal,
)
from pools.rules import may_operate
from pools.selectors import (
    contribution_list,
    draw_list,
    obligation_list,
    obligations_overdue_q,
    pool_deals,
    pool_list,
    pool_member_list,
    pool_orders,
    request_list,
)
from pools.services import (
    POOL_FIELDS,
    POOL_TERMS,
    draw_decide,
    membership_decide,
    pool_create,
    pool_update,
)
from pools.services.acting import (
    pool_order_receive,
    pool_proposal_accept,
    pool_proposal_decline,
    pool_proposal_order,
)


class _DecidingAdmin(TenantScopedAdmin):
    """Rows never edited in a form; decided by actions (the operator's)."""

    allow_add = False
    allow_change = False
    allow_delete = False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Who may try a decision at all: enterprise staff who write and park operators;
        the service then refuses anyone but the pool's operator."""
        return is_staff_user(request) and may_write(
            request_scope(request), roles=WRITE_ROLES, park_operator=True
        )


@admin.register(Pool)
class PoolAdmin(TenantScopedAdmin):
    """Pools with their coverage. A park operator opens one in its park (``pool_create``);
    its operator changes its terms (``pool_update``: identity fields read-only); a pool is
    never deleted, it is made inactive."""

    write_roles = WRITE_ROLES  # a lead's staff change its terms (pool_update decides)
    operator_writes = True
    allow_delete = False
    list_display = (
        "code",
        "name",
        "park",
        "material",
        "target_kg",
        "held",
        "coverage",
        "members",
        "overdue",
        "is_active",
    )
    list_filter = ("is_active", ("park", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name")
    fields = (
        "park",
        "code",
        "name",
        "material",
        "substitutes",
        "target_kg",
        "zones",
        "lead",
        "max_price_per_t",
        "holding_rate_per_t_month",
        "storage_fee_per_month",
        "replenish_rule",
        "replenish_days",
        "rotation_lead_days",
        "is_active",
    )
    # A pool's identity, fixed once it is open; its terms change through pool_update.
    identity = ("park", "code", "material", "substitutes", "zones", "lead")
    scoped_choices = {
        "park": lambda scope: (
            Park.objects.all()
            if scope.is_superuser
            else Park.objects.filter(pk__in=scope.operated_park_ids)
        ),
        "lead": lambda scope: (
            Enterprise.objects.all()
            if scope.is_superuser
            else Enterprise.objects.filter(park_id__in=scope.operated_park_ids)
        ),
    }

    def scoped_queryset(self, scope: Scope) -> QuerySet[Pool]:
        return pool_list(scope=scope)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Only park operators (and superusers) open pools; a lead's staff change its terms.
        scope = request_scope(request)
        return super().has_add_permission(request) and (
            scope.is_superuser or bool(scope.operated_park_ids)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.identity if obj is not None else ()

    def may_write_object(self, scope: Scope, obj: Any) -> bool:
        return may_operate(scope, obj)

    def save_model(self, request: HttpRequest, obj: Pool, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changed = {
                name: data[name]
                for name in POOL_TERMS
                if name in form.changed_data and name in data
            }
            self.call_service(
                pool_update,
                actor=request_scope(request),
                pool=Pool.objects.get(pk=obj.pk),
                **changed,
            )
            obj.refresh_from_db()
            return
        terms = {
            name: data[name]
            for name in POOL_FIELDS
            if name not in ("code", "name", "material", "target_kg", "lead") and name in data
        }
        pool = self.call_service(
            pool_create,
            actor=request_scope(request),
            park=data["park"],
            code=data["code"],
            name=data["name"],
            material=data["material"],
            target_kg=data["target_kg"],
            zones=list(data["zones"]),
            lead=data.get("lead"),
            substitutes=list(data.get("substitutes") or []),
            **terms,
        )
        obj.pk = pool.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """pool_create already set the zones and substitutes."""

    @admin.display(description=_("held (kg)"), ordering="held_kg")
    def held(self, obj: Pool) -> Any:
        return getattr(obj, "held_kg", None)

    @admin.display(description=_("coverage"))
    def coverage(self, obj: Pool) -> str:
        held = getattr(obj, "held_kg", 0) or 0
        return f"{held / obj.target_kg:.0%}"

    @admin.display(description=_("members"), ordering="member_count")
    def members(self, obj: Pool) -> int:
        return int(getattr(obj, "member_count", 0))

    @admin.display(description=_("overdue obligations"), ordering="overdue_obligations")
    def overdue(self, obj: Pool) -> int:
        return int(getattr(obj, "overdue_obligations", 0))


@admin.register(PoolMember)
class PoolMemberAdmin(TenantScopedAdmin):
    """Members and their commitments (read-only: they change by requests)."""

    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("pool", "enterprise", "commitment_kg", "status", "joined_at", "left_at")
    list_filter = ("status", ("pool", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("pool", "enterprise")

    def scoped_queryset(self, scope: Scope) -> QuerySet[PoolMember]:
        return pool_member_list(scope=scope)


@admin.register(MembershipRequest)
class MembershipRequestAdmin(_DecidingAdmin):
    list_display = (
        "id",
        "pool",
        "enterprise",
        "kind",
        "commitment_kg",
        "status",
        "requested_at",
        "decided_at",
    )
    list_filter = ("status", "kind", ("pool", admin.RelatedOnlyFieldListFilter))
    actions = ("approve", "reject")

    def scoped_queryset(self, scope: Scope) -> QuerySet[MembershipRequest]:
        return request_list(scope=scope)

    def _decide(self, request: HttpRequest, queryset: Any, *, approve: bool) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda asked: membership_decide(actor=scope, request=asked, approve=approve),
            done_message=gettext("%(count)d request(s) approved.")
            if approve
            else gettext("%(count)d request(s) rejected."),
        )

    @admin.action(description=_("Approve the selected requests"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[MembershipRequest]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected requests"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[MembershipRequest]) -> None:
        self._decide(request, queryset, approve=False)


@admin.register(Draw)
class DrawAdmin(_DecidingAdmin):
    list_display = (
        "id",
        "pool",
        "member",
        "severity",
        "requested_kg",
        "granted_kg",
        "status",
        "requested_at",
    )
    list_filter = ("status", "severity", ("pool", admin.RelatedOnlyFieldListFilter))
    actions = ("grant", "reject")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Draw]:
        return draw_list(scope=scope)

    def _decide(self, request: HttpRequest, queryset: Any, *, approve: bool) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda drawn: draw_decide(actor=scope, draw=drawn, approve=approve),
            done_message=gettext("%(count)d draw(s) granted.")
            if approve
            else gettext("%(count)d draw(s) rejected."),
        )

    @admin.action(description=_("Grant the selected draws in full"), permissions=["decide"])
    def grant(self, request: HttpRequest, queryset: QuerySet[Draw]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected draws"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Draw]) -> None:
        self._decide(request, queryset, approve=False)


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("yes", _("overdue")), ("no", _("not overdue")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(obligations_overdue_q())
        if self.value() == "no":
            return queryset.exclude(obligations_overdue_q())
        return queryset


@admin.register(Obligation)
class ObligationAdmin(TenantScopedAdmin):
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("id", "pool", "member", "quantity_kg", "met_kg", "due_on", "met_at")
    list_filter = (OverdueFilter, ("pool", admin.RelatedOnlyFieldListFilter), "due_on")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Obligation]:
        return obligation_list(scope=scope)


@admin.register(Contribution)
class ContributionAdmin(TenantScopedAdmin):
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("id", "pool", "member", "quantity_kg", "lot", "source", "created_at")
    list_filter = ("source", ("pool", admin.RelatedOnlyFieldListFilter))

    def scoped_queryset(self, scope: Scope) -> QuerySet[Contribution]:
        return contribution_list(scope=scope)


def _pool_of(deal: Any) -> Pool:
    """The pool whose holder is a side of ``deal`` (a proposal or an order)."""
    return Pool.objects.get(holder_id__in=[deal.buyer_id, deal.seller_id])


@admin.register(PoolProposal)
class PoolProposalAdmin(_DecidingAdmin):
    """The engine's proposals for the pools the caller sees; their operator accepts,
    declines or orders them in the pool's name (``pools.services.acting``, which refuses
    anyone else: a message, not a 500)."""

    list_display = ("id", "status", "material", "quantity_kg", "price_per_t", "seller", "buyer")
    list_filter = ("status",)
    actions = ("accept", "decline", "order")

    def scoped_queryset(self, scope: Scope) -> QuerySet[PoolProposal]:
        return pool_deals(scope=scope)

    def _step(self, request: HttpRequest, queryset: Any, service: Any, done: str) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda deal: service(actor=scope, pool=_pool_of(deal), match=deal),
            done_message=done,
        )

    @admin.action(description=_("Accept for the pool"), permissions=["decide"])
    def accept(self, request: HttpRequest, queryset: QuerySet[PoolProposal]) -> None:
        self._step(
            request, queryset, pool_proposal_accept, gettext("%(count)d proposal(s) accepted.")
        )

    @admin.action(description=_("Decline for the pool"), permissions=["decide"])
    def decline(self, request: HttpRequest, queryset: QuerySet[PoolProposal]) -> None:
        self._step(
            request, queryset, pool_proposal_decline, gettext("%(count)d proposal(s) declined.")
        )

    @admin.action(description=_("Order for the pool (agreed proposals)"), permissions=["decide"])
    def order(self, request: HttpRequest, queryset: QuerySet[PoolProposal]) -> None:
        self._step(request, queryset, pool_proposal_order, gettext("%(count)d order(s) placed."))


@admin.register(PoolOrder)
class PoolOrderAdmin(_DecidingAdmin):
    """Orders the pools placed; their operator receives a dispatched one into the pool's
    zone (``pool_order_receive``: the pool's own contribution)."""

    list_display = ("id", "status", "material", "quantity_kg", "seller", "buyer")
    list_filter = ("status",)
    actions = ("receive",)

    def scoped_queryset(self, scope: Scope) -> QuerySet[PoolOrder]:
        return pool_orders(scope=scope)

    @admin.action(description=_("Receive into the pool"), permissions=["decide"])
    def receive(self, request: HttpRequest, queryset: QuerySet[PoolOrder]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda order: pool_order_receive(actor=scope, pool=_pool_of(order), order=order),
            done_message=gettext("%(count)d order(s) received."),
        )
