"""The cost of the audit trail on PostgreSQL: ``audit_record`` per call, and a listing
update with and without its audit row.

Run from the top of the repository (see bench/README.md)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parkshare_audit \\
        .venv/bin/python bench/audit.py --calls 2000

The database is migrated (not dropped): the bench adds one park, one enterprise with its
admin, a lot and a listing, with fresh codes on each run, and leaves them with their
audit rows (which are append-only). Measured in one process, in rounds that take turns
(a change of the machine's load falls on every case alike), each a median of ``--calls``:

- ``audit_record`` alone, inside an open transaction (the INSERT and building the row);
- a committed transaction holding one small UPDATE of the listing, without and with
  ``audit_record`` (what a write service pays: the row in its transaction);
- ``listing_update`` (lock, checks, save, outbox event), without and with its audit row.

Writes ``var/bench-audit.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

RESULTS_PATH = BASE_DIR / "var" / "bench-audit.json"


def configure() -> None:
    import secrets

    import environ

    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        sys.exit("bench/audit.py measures PostgreSQL only: set DATABASE_URL=postgres://...")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(32))
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")


def build() -> dict[str, Any]:
    from datetime import date

    from django.contrib.auth import get_user_model

    from access.models import Membership
    from access.roles import EnterpriseRole
    from access.scope import SYSTEM, resolve_scope
    from inventory.models import Material, StorageZone, Warehouse
    from inventory.services import stock_receive
    from marketplace.services import listing_create
    from parks.models import Enterprise, Park
    from tests.factories import make_uscc

    tag = uuid.uuid4().hex[:8]
    park = Park.objects.create(
        code=f"bench-audit-{tag}",
        name_zh="审计基准园区",
        name_en="Audit bench park",
        division_code="330211",
        latitude=Decimal("29.96"),
        longitude=Decimal("121.71"),
        area_mu=Decimal(10000),
    )
    enterprise = Enterprise.objects.create(
        uscc=make_uscc(int(tag, 16) % 10_000_000),
        park=park,
        name_zh=f"审计基准企业 {tag}",
        name_en=f"Audit bench enterprise {tag}",
        latitude=Decimal("29.96"),
        longitude=Decimal("121.71"),
    )
    user = get_user_model().objects.create(username=f"bench-audit-{tag}")
    Membership.objects.create(
        user=user, enterprise=enterprise, role=EnterpriseRole.ENTERPRISE_ADMIN
    )
    warehouse = Warehouse.objects.create(
        code=f"bench-audit-{tag}",
        name="W",
        park=park,
        owner=enterprise,
        latitude=Decimal("29.96"),
        longitude=Decimal("121.71"),
    )
    zone = StorageZone.objects.create(
        warehouse=warehouse,
        code="Z1",
        building="B1",
        capacity_kg=Decimal("1e9"),
        allowed_classes=["3"],
    )
    material = Material.objects.filter(cas="64-17-5").first() or Material.objects.create(
        name_zh="乙醇",
        name_en="Ethanol",
        cas="64-17-5",
        primary_class="3",
        physical_state="liquid",
    )
    lot = stock_receive(
        actor=SYSTEM, owner=enterprise, material=material, zone=zone, quantity_kg=Decimal(1000)
    )
    listing = listing_create(
        actor=resolve_scope(user),
        seller=enterprise,
        lot=lot,
        quantity_kg=Decimal(100),
        price_per_t=Decimal("3000.00"),
        available_from=date(2026, 1, 1),
    )
    # As a request has it: the membership loaded with the user by authentication, the
    # Scope resolved from it once.
    user = get_user_model().objects.select_related("membership__enterprise__park").get(pk=user.pk)
    return {"scope": resolve_scope(user), "enterprise": enterprise, "listing": listing}


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per case (median of)")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    configure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    import marketplace.services as market
    from audit.services import audit_record
    from marketplace.models import Listing

    call_command("migrate", verbosity=0)
    world = build()
    scope, enterprise, listing = world["scope"], world["enterprise"], world["listing"]
    counter = iter(range(10**9))

    def record() -> None:
        audit_record(
            actor=scope,
            action="listing.update",
            target=listing,
            enterprise=enterprise,
            changes={"price_per_t": ["3000.00", "3100.00"], "quantity_kg": ["100", "90"]},
        )

    def small_write(with_audit: bool) -> Callable[[], None]:
        def run() -> None:
            with transaction.atomic():
                Listing.objects.filter(pk=listing.pk).update(note=f"n{next(counter)}")
                if with_audit:
                    record()

        return run

    def service(with_audit: bool) -> Callable[[], None]:
        def run() -> None:
            original = market.audit_record
            if not with_audit:
                market.audit_record = lambda **kwargs: None  # type: ignore[assignment]
            try:
                market.listing_update(
                    actor=scope,
                    listing=listing,
                    note=f"s{next(counter)}",
                    price_per_t=Decimal(3000 + next(counter) % 100),
                )
            finally:
                market.audit_record = original

        return run

    cases: dict[str, Callable[[], None]] = {
        "write_without_audit": small_write(False),
        "write_with_audit": small_write(True),
        "listing_update_without_audit": service(False),
        "listing_update_with_audit": service(True),
    }
    samples: dict[str, list[float]] = {name: [] for name in [*cases, "audit_record_alone"]}
    per_round = max(1, args.calls // args.rounds)
    for _ in range(20):  # warm-up: prepared statements, caches
        for fn in cases.values():
            fn()
    for _ in range(args.rounds):
        with transaction.atomic():
            samples["audit_record_alone"] += [timed(record) for _ in range(per_round)]
        for name, fn in cases.items():
            samples[name] += [timed(fn) for _ in range(per_round)]

    def ms(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_ms": round(statistics.median(ordered) * 1000, 4),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 4),
        }

    results = {name: ms(values) for name, values in samples.items()}
    extra = {
        "small_write": results["write_with_audit"]["median_ms"]
        - results["write_without_audit"]["median_ms"],
        "listing_update": results["listing_update_with_audit"]["median_ms"]
        - results["listing_update_without_audit"]["median_ms"],
    }
    report = {
        "calls_per_case": per_round * args.rounds,
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cases": results,
        "audit_extra_ms": {k: round(v, 4) for k, v in extra.items()},
    }
    for name, figures in results.items():
        print(f"{name:32s} median {figures['median_ms']:.3f} ms  p95 {figures['p95_ms']:.3f} ms")
    for name, value in report["audit_extra_ms"].items():
        print(f"audit row's extra cost in {name}: {value:.3f} ms (median difference)")
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
