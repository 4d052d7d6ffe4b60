"""Admin of the engine's proposals (撮合方案) and runs.

Proposals are written by the engine only: nothing is added, changed or deleted here. A
match's page shows as buttons the decisions open to the user now
(``match_decisions_open``: the rule the services raise from), each with a confirmation
page; the seller's and the buyer's enterprise admins and traders may also accept and
decline the selected matches with admin actions, which call ``match_accept`` /
``match_decline``; a refusal is reported per row. Runs are read by superusers and park
operators.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import READ_SCOPE, TenantScopedAdmin
from access.roles import TRADING_ROLES
from access.scope import Scope, request_scope
from common.admin import FigureColumns, is_staff_user, time_text
from common.exceptions import DomainError
from matching.models import RUN_FIELDS, Match, MatchRun
from matching.selectors import match_list, run_list
from matching.services.decisions import (
    match_accept,
    match_decision_refusal,
    match_decisions_open,
    match_decline,
)

DECISION_PAGES = {
    "accept": {
        "label": _("Accept"),
        "effect": _(
            "Your side accepts: the quantity is committed (the listing, its lot and the need "
            "may not promise it again); once both sides have accepted, the match is agreed "
            "and can become an order."
        ),
        "done": _("The match is accepted."),
    },
    "decline": {
        "label": _("Decline"),
        "effect": _("The proposal ends for both sides; what an acceptance committed is released."),
        "done": _("The match is declined."),
    },
}


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.register(Match)
class MatchAdmin(FigureColumns, TenantScopedAdmin):
    """Matches the user's enterprise sells or buys in (operators and regulators: their
    parks')."""

    readable_by = READ_SCOPE
    write_roles = TRADING_ROLES
    allow_add = False
    allow_change = False
    allow_delete = False
    # Fits 1400 px with the figures always visible (common.admin.FigureColumns).
    list_display = (
        "id",
        "status",
        "material_name",
        "quantity",
        "price",
        "total",
        "seller_name",
        "buyer_name",
        "proposed_at",
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

    @admin.display(description=_("created at"), ordering="created_at")
    def proposed_at(self, obj: Match) -> str:
        return time_text(obj.created_at)

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

    # --- the decisions on one match, as buttons and confirmation pages ---------------------

    def get_urls(self) -> list[URLPattern]:
        decide = path(
            "<path:object_id>/decide/<str:decision>/",
            self.admin_site.admin_view(self.decide_view),
            name="matching_match_decide",
        )
        return [decide, *super().get_urls()]

    def _match(self, request: HttpRequest, object_id: str) -> Match | None:
        try:
            return self.get_queryset(request).get(pk=int(object_id))
        except (ValueError, Match.DoesNotExist):
            return None

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        match = self._match(request, object_id)
        decisions = (
            match_decisions_open(scope=request_scope(request), match=match)
            if match is not None
            else []
        )
        steps = [
            {
                "step": decision,
                "label": DECISION_PAGES[decision]["label"],
                "url": reverse("admin:matching_match_decide", args=[object_id, decision]),
            }
            for decision in decisions
        ]
        context = {**(extra_context or {}), "steps_open": steps}
        return super().change_view(request, object_id, form_url, context)

    def decide_view(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        """GET: what ``decision`` will do (or why the user may not take it now); POST: take
        it through the service, back to the match's page with a message."""
        if decision not in DECISION_PAGES:
            raise Http404
        match = self._match(request, object_id)
        if match is None or not self.has_view_permission(request, match):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        page = DECISION_PAGES[decision]
        match_url = reverse("admin:matching_match_change", args=[match.pk])
        scope = request_scope(request)
        refusal = match_decision_refusal(scope=scope, match=match, decision=decision)
        data = request.POST if request.method == "POST" else None
        form = DeclineForm(data) if decision == "decline" else None
        if request.method == "POST":
            if refusal is not None:
                self.message_user(request, f"{match}: {refusal}", messages.ERROR)
                return HttpResponseRedirect(match_url)
            if form is None or form.is_valid():
                try:
                    if decision == "accept":
                        match_accept(actor=scope, match=match)
                    else:
                        assert form is not None
                        match_decline(actor=scope, match=match, reason=form.cleaned_data["reason"])
                except DomainError as exc:
                    self.message_user(request, f"{match}: {exc.message}", messages.ERROR)
                else:
                    self.message_user(request, str(page["done"]), messages.SUCCESS)
                return HttpResponseRedirect(match_url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("%(step)s: %(match)s") % {"step": page["label"], "match": match},
            "opts": self.opts,
            "original": match,
            "match": match,
            "page": page,
            "step": decision,
            "refusal": refusal,
            "form": form,
            "object_url": match_url,
        }
        return TemplateResponse(request, "admin/matching/match/decide.html", context)

    @admin.action(description=_("Accept selected matches"), permissions=["decide"])
    def accept(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda match: match_accept(actor=scope, match=match),
            done_message=gettext("%(count)d match(es) accepted."),
        )

    @admin.action(description=_("Decline selected matches"), permissions=["decide"])
    def decline(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda match: match_decline(actor=scope, match=match),
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
