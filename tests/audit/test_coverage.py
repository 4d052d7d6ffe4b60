"""Every write service that takes an ``actor`` is either audited or named below as not yet
audited: a new service added without an audit row fails here until it is wired (and given
a test with ``tests.audited.one_audit_row``) or, deliberately, listed as pending.

The pending list is the wiring still to do; it only shrinks. Two more lists, each entry
with its reason: DELEGATED, services whose row is written by the audited service they hand
the write to; READS_ONLY, services that take an actor only to read (a test proves they
write nothing). System writes that take no actor (expiries, the counters orders keep on
listings and needs) are out of this check and are wired with the rest."""

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from access.scope import Scope

APPS = (
    "common",
    "parks",
    "inventory",
    "marketplace",
    "matching",
    "orders",
    "pools",
    "energy",
    "safety",
    "reports",
    "notifications",
)

# Each with a test of its one audit row (tests/marketplace/test_audit.py).
AUDITED = frozenset(
    {
        "marketplace.services.listing_create",
        "marketplace.services.listing_update",
        "marketplace.services.listing_publish",
        "marketplace.services.listing_withdraw",
        "marketplace.services.need_create",
        "marketplace.services.need_update",
        "marketplace.services.need_close",
        "marketplace.services.need_reopen",
        # tests/orders/test_audit.py
        "orders.services.order_confirm",
        "orders.services.order_reject",
        "orders.services.order_cancel",
        "orders.services.order_dispatch",
        "orders.services.order_receive",
        "orders.services.order_transfer",
        "orders.services.order_complete",
        "orders.services.order_from_match",
        "orders.services.order_place",
        # tests/matching/test_audit.py
        "matching.services.decisions.match_accept",
        "matching.services.decisions.match_decline",
        "matching.services.decisions.match_mark_ordered",
        "matching.services.decisions.match_release",
        "matching.services.runs.run_materials",
        "matching.services.runs.run_full",
        # tests/inventory/test_audit.py and tests/parks/test_audit.py
        "parks.services.enterprise_create",
        "parks.services.enterprise_update",
        # tests/parks/test_access_audit.py (also through the admin)
        "parks.services.park_create",
        "parks.services.park_update",
        "parks.services.membership_grant",
        "parks.services.membership_update",
        "parks.services.membership_revoke",
        "parks.services.park_role_grant",
        "parks.services.park_role_update",
        "parks.services.park_role_revoke",
        "inventory.services.catalogue.warehouse_delete",
        "inventory.services.catalogue.zone_delete",
        "inventory.services.reservations.stock_reserve",
        "inventory.services.reservations.reservation_release",
        "inventory.services.reservations.reservation_hold",
        "inventory.services.catalogue.material_create",
        "inventory.services.catalogue.material_update",
        "inventory.services.catalogue.warehouse_create",
        "inventory.services.catalogue.warehouse_update",
        "inventory.services.catalogue.zone_create",
        "inventory.services.catalogue.zone_update",
        "inventory.services.catalogue.lot_update_details",
        "inventory.services.stock.stock_receive",
        "inventory.services.stock.stock_adjust",
        "inventory.services.stock.stock_move",
        "inventory.services.stock.stock_dispatch",
        "inventory.services.stock.stock_deliver",
        "inventory.services.stock.stock_transfer",
        "inventory.services.stock.stock_hand_over_many",
        "inventory.services.permits.permit_create",
        "inventory.services.permits.permit_update",
        "inventory.services.permits.permit_delete",
        # tests/pools/test_services.py
        "pools.services.pool_update",
        "pools.services.pool_create",
        "pools.services.membership_request",
        "pools.services.membership_decide",
        "pools.services.pool_contribute",
        "pools.services.pool_draw",
        "pools.services.draw_decide",
        "pools.services.rotation.pool_lot_list",
        "pools.services.acting.pool_order_receive",
        # tests/safety/test_services.py
        "safety.services.inspections.inspection_create",
        "safety.services.inspections.hazard_record",
        "safety.services.inspections.hazard_rectify",
        "safety.services.inspections.hazard_confirm",
        "safety.services.inspections.hazard_reopen",
        "safety.services.incidents.incident_report",
        "safety.services.incidents.incident_update",
        "safety.services.major_hazards.hazard_unit_update",
        # tests/energy/test_services.py
        "energy.services.meters.meter_create",
        "energy.services.meters.meter_update",
        "energy.services.meters.output_value_create",
        "energy.services.meters.output_value_update",
        "energy.services.meters.output_value_delete",
        "energy.services.ingest.readings_ingest",
        "energy.services.factors.conversion_factor_create",
        "energy.services.factors.conversion_factor_update",
        # tests/notifications/test_webhooks_api.py and test_webhook_delivery.py
        "notifications.services.webhooks.webhook_endpoint_create",
        "notifications.services.webhooks.webhook_endpoint_update",
        "notifications.services.webhooks.webhook_endpoint_delete",
        "notifications.services.webhooks.webhook_secret_rotate",
        "notifications.services.webhooks.webhook_test_send",
        "notifications.services.webhooks.webhook_redeliver",
    }
)
# Audited through the service they hand the write to, which records the row: name -> the
# services whose call the source must contain (tested like the rest).
DELEGATED: dict[str, tuple[str, ...]] = {
    # One lot handed over is a hand-over of many: its rows are stock_hand_over_many's.
    "inventory.services.stock.stock_hand_over": ("stock_hand_over_many(",),
    # A run asked through the API is a run_materials or run_full run: one row, the run's.
    "matching.services.runs.run_request": ("run_materials(", "run_full("),
    # The operator's decisions for a pool are the matching's and the orders' own, taken
    # in the pool holder's name (tests/pools/test_acting.py).
    "pools.services.acting.pool_proposal_accept": ("match_accept(",),
    "pools.services.acting.pool_proposal_decline": ("match_decline(",),
    "pools.services.acting.pool_proposal_order": ("order_from_match(",),
}
# Take an actor but only read (checked by a test of theirs: no row, no write).
READS_ONLY = frozenset(
    {
        # Which side of a match the actor is on (matching/test_audit.py).
        "matching.services.decisions.match_side",
    }
)
# Change only the actor's own rows (what they have read, what they want to hear, in which
# language): the trail is of what one person does to data others rely on, and these are
# nobody else's (tests/notifications/test_inbox_services.py: no row, nobody else's changed).
OWN_ROWS = frozenset(
    {
        "notifications.services.inbox.notification_mark_read",
        "notifications.services.inbox.notifications_mark_all_read",
        "notifications.services.inbox.preferences_set",
        "notifications.services.inbox.mail_settings_set",
    }
)
PENDING: frozenset[str] = frozenset()


def service_modules() -> list[Any]:
    modules = []
    for app in APPS:
        try:
            package = importlib.import_module(f"{app}.services")
        except ModuleNotFoundError:
            continue
        modules.append(package)
        if hasattr(package, "__path__"):
            for info in pkgutil.iter_modules(package.__path__):
                modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules


def services_taking_an_actor() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for module in service_modules():
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn):
                continue
            if fn.__module__ != module.__name__:
                continue  # imported from elsewhere
            parameter = inspect.signature(fn).parameters.get("actor")
            if parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                found[f"{module.__name__}.{name}"] = fn
    return found


def test_every_service_takes_the_callers_scope() -> None:
    """``actor`` is the caller's Scope (typed, so mypy checks every call site), resolved by
    the caller once: no service module resolves a scope of its own."""
    for name, fn in services_taking_an_actor().items():
        annotation = inspect.signature(fn, eval_str=True).parameters["actor"].annotation
        assert annotation is Scope, f"{name}: actor is {annotation!r}, not access.scope.Scope"
    for module in service_modules():
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert "resolve_scope(" not in source, module.__name__


def test_every_write_service_is_audited_or_named_pending() -> None:
    found = set(services_taking_an_actor())
    lists = (AUDITED, frozenset(DELEGATED), READS_ONLY, OWN_ROWS, PENDING)
    assert sum(len(names) for names in lists) == len(frozenset().union(*lists)), "listed twice"
    listed = frozenset().union(*lists)
    assert found - listed == set(), "a write service with no audit row"
    assert listed - found == set(), "listed but gone: drop it from the lists"


# Helpers that write the audit row for the services calling them (each checked to call
# audit_record itself): the order steps record through the one function that moves an order.
RECORDING_HELPERS = {
    "orders.services._advance": "_advance(",
    # A pool's draw, at once or waiting for its operator, records through one helper.
    "pools.services._audit_draw": "_audit_draw(",
}


def test_audited_services_call_audit_record() -> None:
    services = services_taking_an_actor()
    for helper in RECORDING_HELPERS:
        module, _, name = helper.rpartition(".")
        source = inspect.getsource(getattr(importlib.import_module(module), name))
        assert "audit_record(" in source, helper
    calls = ("audit_record(", *RECORDING_HELPERS.values())
    for name in AUDITED:
        source = inspect.getsource(services[name])
        assert any(call in source for call in calls), name
    for name, delegates in DELEGATED.items():
        source = inspect.getsource(services[name])
        assert "audit_record(" not in source, f"{name} records itself: list it as AUDITED"
        for call in delegates:
            assert call in source, (name, call)
            assert any(n.endswith("." + call.rstrip("(")) for n in AUDITED), (name, call)


# --- Admin writes -----------------------------------------------------------------------------
# The admin is a second door to the same rows: what it writes must go through the services
# above, or it writes with no audit row. Django's own ModelAdmin.save_model/delete_model
# save the row directly, so an admin of ours that lets anyone add, change or delete must
# override them (and save_formset, when it edits rows inline). Admins of other projects'
# models (logins, tokens, lockouts) are the platform's, for superusers; Django's LogEntry
# records them.
OUR_APPS = frozenset({*APPS, "access", "audit"})


def _overrides(admin_class: type, name: str) -> bool:
    from django.contrib.admin import ModelAdmin

    return getattr(admin_class, name) is not getattr(ModelAdmin, name)


def test_every_admin_write_goes_through_a_service() -> None:
    from django.contrib import admin

    from access.admin import TenantScopedAdmin, TenantScopedInline
    from common.admin import PlatformAdmin

    checked = 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        label = model._meta.label
        if isinstance(model_admin, PlatformAdmin):
            for name in ("has_add_permission", "has_change_permission", "has_delete_permission"):
                assert getattr(type(model_admin), name) is getattr(PlatformAdmin, name), label
            continue
        assert isinstance(model_admin, TenantScopedAdmin), label
        cls = type(model_admin)
        writes = cls.allow_add or cls.allow_change
        if writes:
            assert _overrides(cls, "save_model"), f"{label}: the admin saves without a service"
        if cls.allow_delete:
            assert _overrides(cls, "delete_model"), f"{label}: deletes without a service"
            assert _overrides(cls, "delete_queryset"), f"{label}: bulk-deletes without one"
        inline_writes = [i for i in cls.inlines if issubclass(i, TenantScopedInline)]
        if inline_writes and writes:
            assert _overrides(cls, "save_formset"), f"{label}: inline rows saved directly"
        checked += 1
    assert checked >= 15  # the registry was read, not skipped
