"""``manage.py seed_demo``: build the demo world and print its logins (see parks.demo.world).

Deterministic and idempotent: a second run changes no row count (but for an order left
waiting whose hold has run out, which it expires and places afresh). Every demo login has the
password ``parkshare-demo`` and is staff, so it can sign in to the admin. ``zh01.trader``,
the README's example, finds work waiting (parks.demo.work), which ``manage.py
demo_walkthrough`` lists with its ids.
"""

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from common.services import outbox_drain
from matching.models import MatchRun, RunTrigger
from matching.services.runs import run_full
from matching.services.triggers import rematches_deferred
from parks.demo.energy import build_energy
from parks.demo.pools import build_pools
from parks.demo.safety import build_safety
from parks.demo.work import leave_work_waiting
from parks.demo.world import Account, WorldReport, build_world

COUNTED = (
    "parks",
    "enterprises",
    "materials",
    "warehouses",
    "zones",
    "lots",
    "listings",
    "needs",
    "orders",
    "permits",
    "users",
    "memberships",
    "park_roles",
    "inspections",
    "incidents",
)


@contextmanager
def _quiet_task_log(verbosity: int) -> Iterator[None]:
    """Without a broker every outbox dispatch runs in-process after the commit and logs a
    line; a few hundred of them would bury the list of logins."""
    if verbosity >= 2:
        yield
        return
    loggers = [logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Build (or refresh) the deterministic demo world: parks, enterprises, the material "
        "catalogue, warehouses, stock, listings, needs and one login per role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--accounts-json",
            metavar="FILE",
            help="Also write the demo logins to FILE as a JSON list of "
            "{username, password, role, enterprise, parks} (the superuser 'admin' is only "
            "printed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        if not settings.DEBUG and verbosity >= 1:
            self.stderr.write(
                "Note: DEBUG is off. The demo logins have a published password; "
                "do not seed a production database."
            )
        started = time.perf_counter()
        with _quiet_task_log(verbosity), rematches_deferred():
            report = build_world()
            # What zh01.trader (the README's example) finds waiting: parks.demo.work.
            work = leave_work_waiting(today=report.today)
            # Joint stockpiles: parks.demo.pools.
            pools_built = build_pools(today=report.today)
            # Inspections, hazards, incidents and the major hazard units: parks.demo.safety.
            safety_built = build_safety(today=report.today)
            # Energy use: parks.demo.energy.
            energy_added = build_energy(today=report.today)
        for what, created in work.created.items():
            report.created[what] = report.created.get(what, 0) + created
        for what, existing in work.existing.items():
            report.existing[what] = report.existing.get(what, 0) + existing
        report.created["pools"] = report.created.get("pools", 0) + pools_built
        for what in ("inspections", "incidents"):
            report.created[what] = report.created.get(what, 0) + safety_built[what]
        self._energy_added = energy_added
        # One full rematch of the world instead of one per listing and need; a re-run
        # that created nothing leaves the proposals (and the run history) as they are.
        run = None
        if any(report.created.values()) or not MatchRun.objects.exists():
            run = run_full(trigger=RunTrigger.COMMAND)
        # The world's events (its proposals, orders, runs) notified now, so that a trader
        # who logs in finds them among their notifications, with or without workers.
        with _quiet_task_log(verbosity):
            outbox_drain(subscribers=("notifications",))
        elapsed = time.perf_counter() - started
        if options["accounts_json"]:
            path = Path(options["accounts_json"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps([asdict(a) for a in report.accounts], ensure_ascii=False, indent=2)
                + "\n",
                encoding="utf-8",
            )
        if verbosity >= 1:
            self._print_summary(report, elapsed)
            self.stdout.write(
                f"  major hazard units (GB 18218, S >= 1): {safety_built['major_hazard_units']}"
            )
            self._print_matching(run)
            self._print_accounts(report)
            if options["accounts_json"]:
                self.stdout.write(f"Accounts written to {options['accounts_json']}.")

    def _print_matching(self, run: MatchRun | None) -> None:
        if run is None:
            self.stdout.write("  matching    nothing new: proposals left as they are")
            return
        self.stdout.write(
            f"  matching    run #{run.pk}: {run.created} proposals created, {run.kept} kept "
            f"({run.matched_kg} kg matched over {run.needs} open needs)"
        )

    def _print_summary(self, report: WorldReport, elapsed: float) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo world ready in {elapsed:.1f} s (dates relative to "
                f"{report.today.isoformat()})."
            )
        )
        for what in COUNTED:
            created = report.created.get(what, 0)
            existing = report.existing.get(what, 0)
            self.stdout.write(f"  {what:<12} {created:>5} created  {existing:>5} already there")
        energy = getattr(self, "_energy_added", None)
        if energy:
            self.stdout.write(
                "  energy: {meters} meters, {readings} readings, {output_values} output values, "
                "{anomalies} anomalies added".format(**energy)
            )
        if report.receipts_refused:
            self.stdout.write(
                f"  {report.receipts_refused} receipts were refused by a zone (licence, "
                "capacity or segregation); each then tried the next candidate zone."
            )
        if report.lots_left_out:
            self.stdout.write(
                f"  {len(report.lots_left_out)} lots found no zone that admits them: "
                + ", ".join(report.lots_left_out)
            )

    def _print_accounts(self, report: WorldReport) -> None:
        rows: list[Account] = list(report.accounts)
        if report.superuser is not None:
            rows.insert(0, report.superuser)
        header = ("username", "password", "role", "enterprise USCC / park codes")
        table = [header] + [
            (a.username, a.password, a.role, a.enterprise or ",".join(a.parks) or "-") for a in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        self.stdout.write("")
        self.stdout.write(
            f"Demo logins ({len(rows)}, all staff: they sign in to the admin at /admin/):"
        )
        for number, row in enumerate(table):
            self.stdout.write(
                "  "
                + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if number == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
