"""Admin of listings (闲置物资) and needs (需求).

Every write is a marketplace service: the add and change forms call ``listing_create`` /
``listing_update`` and ``need_create`` / ``need_update``; publishing, withdrawing, closing
and reopening are admin actions. Nothing is deleted here: a listing is withdrawn, a need
closed.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import TenantScopedAdmin
from access.roles import TRADING_ROLES
from access.rules import may_change
from access.scope import Scope, request_scope
from common.admin import FigureColumns, kg_text
from inventory.models import Material
from inventory.selectors import lot_list, zone_list
from marketplace.models import Listing, ListingStatus, Need
from marketplace.selectors import listing_list, need_list
from marketplace.services import (
    CHANGEABLE_NEEDS,
    LISTING_FIELDS,
    NEED_FIELDS,
    listing_create,
    listing_publish,
    listing_update,
    listing_withdraw,
    need_close,
    need_create,
    need_reopen,
    need_update,
)


class MarketplaceAdmin(TenantScopedAdmin):
    write_roles = TRADING_ROLES
    allow_delete = False

    def may_add(self, scope: Scope) -> bool:
        # Listings and needs belong to an enterprise: the user's (a superuser names one).
        return scope.is_superuser or (scope.enterprise is not None and self.may_write(scope))

    def _transition(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        owner_field: str,
        service: Callable[..., Any],
        argument: str,
        done_message: str,
    ) -> None:
        """Run a status service on the selected rows the user owns, one by one."""
        scope = request_scope(request)
        # The changelist may show other enterprises' published listings; act on own rows.
        selected = list(queryset)
        own = [
            obj for obj in selected if may_change(scope, owner_id=getattr(obj, f"{owner_field}_id"))
        ]
        if len(own) < len(selected):
            self.message_user(
                request,
                gettext("%(count)d selected row(s) of other enterprises were left as they are.")
                % {"count": len(selected) - len(own)},
                messages.WARNING,
            )
        self.run_for_each(
            request,
            own,
            lambda obj: service(actor=scope, **{argument: obj}),
            done_message=done_message,
        )


@admin.register(Listing)
class ListingAdmin(FigureColumns, MarketplaceAdmin):
    """Own listings in every status and the published ones of others the user may see
    (operators and regulators: their parks' listings)."""

    @admin.display(description=_("left to order"))
    def left(self, obj: Listing) -> str:
        return kg_text(obj.quantity_kg - obj.ordered_kg)

    @admin.display(description=_("minimum order"), ordering="min_order_kg")
    def min_order(self, obj: Listing) -> str:
        return kg_text(obj.min_order_kg)

    # Fits 1400 px with the figures always visible (common.admin.FigureColumns).
    list_display = (
        "id",
        "status",
        "material_name",
        "quantity",
        "left",
        "price",
        "min_order",
        "seller_name",
        "visibility",
        "available_until",
    )
    list_filter = (
        "status",
        "visibility",
        ("seller", admin.RelatedOnlyFieldListFilter),
        ("material", admin.RelatedOnlyFieldListFilter),
        "available_from",
    )
    list_select_related = ("seller__park", "material", "lot__zone__warehouse")
    search_fields = (
        "material__name_zh",
        "material__name_en",
        "material__cas",
        "lot__batch_no",
        "seller__name_zh",
        "seller__name_en",
        "note",
    )
    autocomplete_fields = ("lot",)
    actions = ("publish", "withdraw")
    service_error_fields = {"quantity": "quantity_kg", "min_order": "min_order_kg"}
    # Only own lots can be offered (a superuser may offer any enterprise's).
    scoped_choices = {"lot": lambda scope: lot_list(scope=scope)}
    read_only_after_create = ("seller", "lot", "status", "published_at", "created_at", "updated_at")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Listing]:
        return listing_list(scope=scope)

    def may_write_object(self, scope: Scope, obj: Listing) -> bool:
        return may_change(scope, owner_id=obj.seller_id) and obj.status != ListingStatus.WITHDRAWN

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        terms = list(LISTING_FIELDS)
        if obj is None:
            return ("lot", *terms)
        return ("seller", "lot", *terms, "status", "published_at", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.read_only_after_create

    def save_model(self, request: HttpRequest, obj: Listing, form: Any, change: bool) -> None:
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in LISTING_FIELDS}
            if changes:
                self.call_service(
                    listing_update, actor=request_scope(request), listing=obj, **changes
                )
            return
        scope = request_scope(request)
        listing = self.call_service(
            listing_create,
            actor=scope,
            seller=scope.enterprise if scope.enterprise is not None else obj.lot.owner,
            lot=obj.lot,
            **{name: getattr(obj, name) for name in LISTING_FIELDS},
        )
        obj.pk = listing.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.display(description=_("material"), ordering="material__name_en")
    def material(self, obj: Listing) -> str:
        return str(obj.material)

    @admin.action(description=_("Publish selected listings"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        self._transition(
            request,
            queryset,
            owner_field="seller",
            service=listing_publish,
            argument="listing",
            done_message=gettext("%(count)d listing(s) published."),
        )

    @admin.action(description=_("Withdraw selected listings"), permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        self._transition(
            request,
            queryset,
            owner_field="seller",
            service=listing_withdraw,
            argument="listing",
            done_message=gettext("%(count)d listing(s) withdrawn."),
        )


@admin.register(Need)
class NeedAdmin(MarketplaceAdmin):
    """Needs are private: own ones (operators and regulators: their parks')."""

    list_display = (
        "id",
        "material",
        "enterprise",
        "quantity_kg",
        "needed_by",
        "max_price_per_t",
        "delivery_zone",
        "status",
    )
    list_filter = (
        "status",
        ("material", admin.RelatedOnlyFieldListFilter),
        ("enterprise", admin.RelatedOnlyFieldListFilter),
        "needed_by",
    )
    list_select_related = ("enterprise__park", "material", "delivery_zone__warehouse")
    search_fields = (
        "material__name_zh",
        "material__name_en",
        "material__cas",
        "enterprise__name_zh",
        "enterprise__name_en",
        "note",
    )
    autocomplete_fields = ("material", "substitutes", "delivery_zone")
    actions = ("close", "reopen")
    service_error_fields = {"quantity": "quantity_kg"}
    scoped_choices = {
        "material": lambda scope: Material.objects.filter(is_active=True),
        "substitutes": lambda scope: Material.objects.filter(is_active=True),
        # Deliveries go to a zone the enterprise stores in.
        "delivery_zone": lambda scope: zone_list(scope=scope),
    }

    def scoped_queryset(self, scope: Scope) -> QuerySet[Need]:
        return need_list(scope=scope)

    def may_write_object(self, scope: Scope, obj: Need) -> bool:
        # An expired need stays changeable: its owner gives it a later date to reopen it.
        return may_change(scope, owner_id=obj.enterprise_id) and obj.status in CHANGEABLE_NEEDS

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        terms = ("substitutes", *NEED_FIELDS)
        if obj is None:
            owner = ("enterprise",) if request_scope(request).is_superuser else ()
            return (*owner, "material", *terms)
        return ("enterprise", "material", *terms, "status", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return ("enterprise", "material", "status", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Need, form: Any, change: bool) -> None:
        substitutes = list(form.cleaned_data.get("substitutes") or [])
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in NEED_FIELDS}
            subs = substitutes if "substitutes" in form.changed_data else None
            if changes or subs is not None:
                self.call_service(
                    need_update, actor=request_scope(request), need=obj, substitutes=subs, **changes
                )
            return
        scope = request_scope(request)
        need = self.call_service(
            need_create,
            actor=scope,
            enterprise=scope.enterprise if scope.enterprise is not None else obj.enterprise,
            material=obj.material,
            substitutes=substitutes,
            **{name: getattr(obj, name) for name in NEED_FIELDS},
        )
        obj.pk = need.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # need_create / need_update already set the substitutes.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description=_("Close selected needs"), permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Need]) -> None:
        self._transition(
            request,
            queryset,
            owner_field="enterprise",
            service=need_close,
            argument="need",
            done_message=gettext("%(count)d need(s) closed."),
        )

    @admin.action(description=_("Reopen selected needs"), permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[Need]) -> None:
        self._transition(
            request,
            queryset,
            owner_field="enterprise",
            service=need_reopen,
            argument="need",
            done_message=gettext("%(count)d need(s) reopened."),
        )
