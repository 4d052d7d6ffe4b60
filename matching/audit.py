"""The proof that live proposals will be admitted where they are delivered.

``admission_violations`` reads every live match (proposed, accepted, agreed) whose need
names a delivery zone and asks the one admission rule (``inventory.admission``) about it as
the warehouse stands now: the zone's licence and segregation for each (zone, material), and
its room for the sum of everything proposed into it. ``manage.py match_check`` prints the
counts; ``bench/match.py`` reports them after every run. A count above zero is a bug of the
engine (or stock that moved after the proposal: the next rematch of the material fixes it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db.models import Sum

from inventory.admission import admission_refusal
from inventory.models import StorageZone
from matching.feasibility import ONE_GRAM
from matching.loading import Deliveries, StoredHazards, material_infos
from matching.models import LIVE, Match


@dataclass
class Violations:
    """Live matches that the delivery zone would refuse, by the check that refuses them."""

    checked: int = 0  # live matches delivered into a zone
    zones: int = 0
    licence: list[int] = field(default_factory=list)  # match ids
    segregation: list[int] = field(default_factory=list)
    capacity: list[int] = field(default_factory=list)  # zone ids over their room

    @property
    def total(self) -> int:
        return len(self.licence) + len(self.segregation) + len(self.capacity)


def admission_violations() -> Violations:
    """Every live match into a zone, checked against the zone as it stands (see module)."""
    out = Violations()
    rows = list(
        Match.objects.filter(status__in=LIVE, need__delivery_zone__isnull=False)
        .values_list("id", "material_id", "quantity_kg", "need__delivery_zone_id")
        .order_by()
    )
    out.checked = len(rows)
    if not rows:
        return out
    zone_ids = {r[3] for r in rows}
    stored = StoredHazards()
    stored.ensure(
        set(
            StorageZone.objects.filter(pk__in=zone_ids)
            .values_list("warehouse_id", flat=True)
            .distinct()
        )
    )
    # The pictures hold the stock and every live match's material coming in (none left out:
    # no batch is being replaced), so each match is checked against all the others.
    deliveries = Deliveries(stored, zone_ids, batch_materials=set())
    infos = material_infos({r[1] for r in rows})
    proposed: dict[int, Decimal] = defaultdict(Decimal)
    for _id, _material, quantity, zone_id in rows:
        proposed[zone_id] += quantity
    out.zones = len(proposed)
    out.capacity = sorted(z for z, kg in proposed.items() if kg > stored.zones[z].room_kg)
    verdicts: dict[tuple[int, int], str | None] = {}
    for match_id, material_id, _quantity, zone_id in rows:
        key = (zone_id, material_id)
        if key not in verdicts:
            # Room is the zone's sum, checked above; here licence and segregation.
            picture = replace(deliveries.picture(zone_id), free_kg=ONE_GRAM)
            refusal = admission_refusal(
                picture=picture, incoming=infos[material_id].hazard, quantity_kg=ONE_GRAM
            )
            verdicts[key] = None if refusal is None else refusal.check
        check = verdicts[key]
        if check == "licence":
            out.licence.append(match_id)
        elif check == "segregation":
            out.segregation.append(match_id)
    return out


def matched_kg() -> Decimal:
    """What live matches hold in all: the engine's proposals and the committed matches."""
    total = Match.objects.filter(status__in=LIVE).aggregate(total=Sum("quantity_kg"))["total"]
    return Decimal(total or 0)
