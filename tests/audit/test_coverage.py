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

APPS = ("common", "parks", "inventory", "marketplace", "matching", "orders")

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
        "inventory.services.permits.permit_create",
        "inventory.services.permits.permit_update",
        "inventory.services.permits.permit_delete",
    }
)
# Audited through the service they hand the write to, which records the row: name -> the
# services whose call the source must contain (tested like the rest).
DELEGATED: dict[str, tuple[str, ...]] = {
    # A run asked through the API is a run_materials or run_full run: one row, the run's.
    "matching.services.runs.run_request": ("run_materials(", "run_full("),
}
# Take an actor but only read (checked by a test of theirs: no row, no write).
READS_ONLY = frozenset(
    {
        # Which side of a match the actor is on (matching/test_audit.py).
        "matching.services.decisions.match_side",
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
    lists = (AUDITED, frozenset(DELEGATED), READS_ONLY, PENDING)
    assert sum(len(names) for names in lists) == len(frozenset().union(*lists)), "listed twice"
    listed = frozenset().union(*lists)
    assert found - listed == set(), "a write service with no audit row"
    assert listed - found == set(), "listed but gone: drop it from the lists"


# Helpers that write the audit row for the services calling them (each checked to call
# audit_record itself): the order steps record through the one function that moves an order.
RECORDING_HELPERS = {"orders.services._advance": "_advance("}


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
