"""``python manage.py match [--material CAS ...] [--full] [--workers]``: run the engine."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from inventory.models import Material
from matching.models import MatchRun, PendingRematch, RunTrigger
from matching.services.runs import run_full, run_materials
from matching.services.triggers import pending_rematch


class Command(BaseCommand):
    help = (
        "Rematch listings and needs. --material CAS rematches that material's component, "
        "--full every component; with neither, the materials whose changes are pending."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--material",
            action="append",
            default=[],
            metavar="CAS",
            help="CAS number (repeatable).",
        )
        parser.add_argument("--full", action="store_true", help="Rematch every component.")
        parser.add_argument(
            "--workers",
            action="store_true",
            help="With --full: send the chunks to the Celery workers instead of running here.",
        )

    def handle(
        self, *args: Any, material: list[str], full: bool, workers: bool, **options: Any
    ) -> None:
        if material and full:
            raise CommandError("Give --material or --full, not both.")
        if material:
            found = dict(Material.objects.filter(cas__in=material).values_list("cas", "id"))
            unknown = sorted(set(material) - set(found))
            if unknown:
                raise CommandError(f"Unknown CAS number(s): {', '.join(unknown)}.")
            self._report(
                run_materials(material_ids=list(found.values()), trigger=RunTrigger.COMMAND)
            )
        elif full:
            quiet = options["verbosity"] == 0
            with tqdm(total=0, unit="material", disable=quiet or workers, file=self.stderr) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                run = run_full(trigger=RunTrigger.COMMAND, fan_out=workers, progress=progress)
            if workers:
                self.stdout.write(
                    f"Run #{run.pk} sent to the workers as {run.pending_chunks} chunks."
                )
            else:
                self._report(run)
        else:
            ids = list(
                PendingRematch.objects.order_by("material_id").values_list("material_id", flat=True)
            )
            for material_id in tqdm(
                ids, unit="material", disable=options["verbosity"] == 0, file=self.stderr
            ):
                pending_rematch(material_id=material_id)
            self.stdout.write(f"Rematched {len(ids)} pending material(s).")

    def _report(self, run: MatchRun) -> None:
        self.stdout.write(
            f"Run #{run.pk} {run.status}: {run.components} components, {run.listings} listings, "
            f"{run.needs} needs, {run.arcs} feasible pairs; matched {run.matched_kg} kg at "
            f"{run.cost_yuan} CNY (relaxed optimum {run.relaxed_matched_kg} kg at "
            f"{run.relaxed_cost_yuan} CNY); proposals: {run.created} new, {run.kept} kept, "
            f"{run.superseded} superseded; read {run.read_seconds:.2f} s, solve "
            f"{run.solve_seconds:.2f} s, write {run.write_seconds:.2f} s."
        )
        if run.error:
            raise CommandError(f"Run #{run.pk} failed: {run.error}")
