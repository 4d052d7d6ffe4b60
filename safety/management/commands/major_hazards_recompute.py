"""``manage.py major_hazards_recompute``: recompute every warehouse's GB 18218 figures from
the ledger (creating the unit rows still missing). Idempotent: a second run changes
nothing and emits no event."""

from typing import Any

from django.core.management.base import BaseCommand

from safety.services import major_hazards_recompute_all


class Command(BaseCommand):
    help = "Recompute S, R and level of every warehouse (GB 18218) from the stock on hand."

    def handle(self, *args: Any, **options: Any) -> None:
        computed, changed = major_hazards_recompute_all()
        self.stdout.write(f"{computed} units computed, {changed} changed.")
