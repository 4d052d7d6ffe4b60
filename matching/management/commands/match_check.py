"""``python manage.py match_check``: prove every live match will be admitted where it goes.

Counts the live matches (proposed, accepted, agreed) that their delivery zone would refuse
as it stands now (``matching.audit.admission_violations``): a licence that does not cover
the material's classes, segregation against the stock and the other matches coming into
the warehouse, and zones whose matches add up to more than their room. Exits 1 when any.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from matching.audit import admission_violations


class Command(BaseCommand):
    help = "Check every live match against the admission rule of its delivery zone."

    def handle(self, *args: Any, **options: Any) -> None:
        found = admission_violations()
        self.stdout.write(
            f"{found.checked} live matches into {found.zones} zones checked: "
            f"{len(found.licence)} refused by licence, {len(found.segregation)} by "
            f"segregation, {len(found.capacity)} zones over their room."
        )
        if found.total:
            for name in ("licence", "segregation", "capacity"):
                ids = getattr(found, name)
                if ids:
                    what = "zones" if name == "capacity" else "matches"
                    self.stdout.write(f"  {name}: {what} {', '.join(map(str, ids[:50]))}")
            raise CommandError(f"{found.total} admission violations.")
        self.stdout.write(self.style.SUCCESS("Every live match will be admitted."))
