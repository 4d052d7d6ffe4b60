"""``manage.py ledger_check [--lot ID ...]``: prove that stock quantities agree with the
ledger (inventory.selectors.ledger_discrepancies).

Prints ``ledger balanced: N lots, M movements, R reservations checked in T s`` and exits 0,
or prints each discrepancy with its lot and exits 1.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.selectors import ledger_discrepancies, ledger_size


class Command(BaseCommand):
    help = (
        "Check every lot: on hand equals the sum of its movements, nothing is negative, "
        "reserved stays within on hand and equals the sum of its held reservations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lot",
            type=int,
            action="append",
            dest="lot_ids",
            metavar="ID",
            help="check only this lot (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lot_ids: list[int] | None = options["lot_ids"]
        started = time.perf_counter()
        found = ledger_discrepancies(lot_ids=lot_ids)
        size = ledger_size(lot_ids=lot_ids)
        elapsed = time.perf_counter() - started
        if not found:
            self.stdout.write(
                f"ledger balanced: {size.lots} lots, {size.movements} movements, "
                f"{size.reservations} reservations checked in {elapsed:.2f} s"
            )
            return
        for d in found:
            self.stdout.write(f"lot {d.lot_id}: {d.kind}: expected {d.expected}, actual {d.actual}")
        lots = len({d.lot_id for d in found})
        raise CommandError(
            f"ledger unbalanced: {len(found)} discrepancies in {lots} of {size.lots} lots "
            f"({elapsed:.2f} s)"
        )
