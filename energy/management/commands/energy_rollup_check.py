"""``manage.py energy_rollup_check``: recompute every energy rollup from the raw readings
and compare with the stored rollups; a non-zero exit and the differences on a mismatch."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from energy.rollups import rollups_check


class Command(BaseCommand):
    help = "Prove that the energy rollups equal the sums of the raw readings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=20, help="Describe at most this many mismatches."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = rollups_check(limit=max(1, int(options["limit"])))
        elapsed = time.perf_counter() - started
        summary = (
            f"{result.meter_days} meter days, {result.enterprise_days} enterprise days, "
            f"{result.enterprise_months} enterprise months checked in {elapsed:.1f} s"
        )
        if result.ok:
            self.stdout.write(f"Energy rollups equal the raw readings: {summary}.")
            return
        for line in result.mismatches:
            self.stderr.write(line)
        raise CommandError(f"Energy rollups differ from the raw readings ({summary}).")
