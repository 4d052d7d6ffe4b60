"""Admin of the engine's proposals (撮合方案) and runs.

Proposals are written by the engine only: nothing is added, changed or deleted here. The
seller's and the buyer's enterprise admins and traders accept and decline the selected
matches with admin actions, which call ``match_accept`` / ``match_decline``; a refusal is
reported per row. Runs are read by superusers and park operators.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.admin import READ_SCOPE, TenantScopedAdmin, is_staff_user
from common.tenancy import Scope, request_scope
from matching.models import RUN_FIELDS, Match, MatchRun
from matching.selectors import match_list, run_list
from matching.services.decisions import DECIDING_ROLES, match_accept, match_decline


@admin.register(Match)
class MatchAdmin(TenantScopedAdmin):
    """Matches the user's enterprise sells or buys in (operators and regulators: their
    parks')."""

    readable_by = READ_SCOPE
    write_roles = DECIDING_ROLES
    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = (
        "id",
        "status",
        "seller",
        "buyer",
        "material",
        "quantity_kg",
        "total_yuan",
        "created_at",
    )
    list_filter = ("status", ("material", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("seller", "buyer", "material")
    actions = ("accept", "decline")
    fields = (
        "status",
        ("listing", "need"),
        ("seller", "buyer"),
        "material",
        "quantity_kg",
        ("price_per_t", "transport_per_t", "distance_km"),
        "total_yuan",
        "explanation",
        "explanation_zh",
        ("seller_accepted_at", "buyer_accepted_at"),
        ("decided_at", "decided_by"),
        "decline_reason",
        ("created_at", "superseded_at"),
        ("run", "previous"),
    )

    def scoped_queryset(self, scope: Scope) -> QuerySet[Match]:
        return match_list(scope=scope)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for row in self.fields for name in (row if isinstance(row, tuple) else (row,))]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Deciding binds an enterprise: its admins and traders decide, nobody else."""
        scope = request_scope(request)
        return (
            is_staff_user(request)
            and scope.enterprise is not None
            and scope.has_role(*self.write_roles)
        )

    @admin.action(description=_("Accept selected matches"), permissions=["decide"])
    def accept(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self.run_for_each(
            request,
            queryset,
            lambda match: match_accept(actor=request.user, match=match),
            done_message=gettext("%(count)d match(es) accepted."),
        )

    @admin.action(description=_("Decline selected matches"), permissions=["decide"])
    def decline(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self.run_for_each(
            request,
            queryset,
            lambda match: match_decline(actor=request.user, match=match),
            done_message=gettext("%(count)d match(es) declined."),
        )


@admin.register(MatchRun)
class MatchRunAdmin(TenantScopedAdmin):
    """Engine runs with their figures, for superusers and park operators."""

    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = (
        "id",
        "kind",
        "trigger",
        "status",
        "started_at",
        "finished_at",
        "components",
        "matched_kg",
        "cost_yuan",
        "created",
        "kept",
        "superseded",
    )
    list_filter = ("status", "kind", "trigger")
    list_select_related = ()
    readonly_fields = RUN_FIELDS
    fields = readonly_fields

    def scoped_queryset(self, scope: Scope) -> QuerySet[MatchRun]:
        return run_list(scope=scope).select_related("requested_by")

    def may_read(self, scope: Scope) -> bool:
        return scope.is_superuser or scope.is_park_operator

    @admin.display(description=_("quantity lost to minimum orders"))
    def quantity_gap(self, obj: MatchRun) -> str:
        return f"{obj.quantity_gap:.2%}"
