"""Major hazard units kept current: each warehouse's S, R and level (GB 18218, computed by
``safety.gb18218.assess``) recomputed from the ledger's lots when their stock moves.

``major_hazards_recompute`` takes the warehouses whose stock changed (the ``stock.changed``
subscriber, ``safety.handlers``, passes those of the event's lots) and, in one transaction
and a constant number of queries whatever their number:

1. creates the unit rows still missing and locks the units in warehouse order (two
   recomputes of one warehouse are decided one after the other, each on the stock it
   reads);
2. reads the stock on hand per warehouse, zone and material in one aggregate;
3. computes S, R and level now and at capacity (each zone's capacity filled with its
   current mix: every material of the zone scaled by capacity / on hand, never below what
   is there), writes the units that changed;
4. emits ``major_hazard.changed`` for each unit whose level changed, which covers S
   crossing 1 in either direction (below 1 a unit has no level).

A system write: no actor, no audit row (the figures are derived from the ledger, whose
every movement has its own). Idempotent: a second run on the same stock changes nothing and
emits nothing. The profile (people within 500 m) is the park operators' write,
``hazard_unit_update``, audited, which recomputes the unit with its new α.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit_many
from common.exceptions import NotPermitted
from common.validation import validate_row
from inventory.data.gb18218 import grade_for
from inventory.models import StockLot, Warehouse
from safety.data.gb18218 import S_PLACES
from safety.gb18218 import Assessment, Holding, alpha_of, assess, beta_of, threshold_of
from safety.models import HazardUnit
from safety.rules import may_set_unit_profile
from safety.topics import MAJOR_HAZARD_CHANGED

KG_PER_T = Decimal(1000)
#: What a unit's figures read of a material (``unit_figures``): a catalogue correction of
#: any of these recomputes the warehouses holding it (``safety.handlers``).
MATERIAL_FIELDS_READ = ("cas", "gb18218_threshold_t", "gb18218_category")
STATUS_FIELDS = (
    "hazardous_t",
    "s",
    "r",
    "level",
    "s_at_capacity",
    "r_at_capacity",
    "level_at_capacity",
    "computed_at",
)


@dataclass
class _Material:
    threshold_t: Decimal
    beta: Decimal
    kg: Decimal = Decimal(0)
    kg_at_capacity: Decimal = Decimal(0)


@dataclass
class _Zone:
    capacity_kg: Decimal
    kg: Decimal = Decimal(0)  # every material on hand, hazardous or not
    hazardous: dict[int, Decimal] = field(default_factory=dict)  # material -> kg


@dataclass(frozen=True)
class UnitFigures:
    hazardous_t: Decimal
    now: Assessment
    at_capacity: Assessment
    material_ids: tuple[int, ...]


def unit_figures(warehouse_ids: Iterable[int]) -> dict[int, UnitFigures]:
    """S, R and level of each warehouse now and at capacity, from one aggregate of the
    lots on hand (a warehouse without hazardous stock has S = 0). α is 1 here: the caller
    applies the unit's own (R is linear in α)."""
    ids = sorted(set(warehouse_ids))
    rows = (
        StockLot.objects.filter(zone__warehouse_id__in=ids, on_hand_kg__gt=0)
        .values(
            "zone__warehouse_id",
            "zone_id",
            "zone__capacity_kg",
            "material_id",
            *(f"material__{name}" for name in MATERIAL_FIELDS_READ),
        )
        .annotate(kg=Sum("on_hand_kg"))
        .order_by()
    )
    zones: dict[int, dict[int, _Zone]] = defaultdict(dict)
    materials: dict[int, dict[int, _Material]] = defaultdict(dict)
    for row in rows:
        warehouse_id, kg = row["zone__warehouse_id"], Decimal(row["kg"])
        zone = zones[warehouse_id].setdefault(row["zone_id"], _Zone(row["zone__capacity_kg"]))
        zone.kg += kg
        threshold = threshold_of(
            named_t=row["material__gb18218_threshold_t"], category=row["material__gb18218_category"]
        )
        if threshold is None:
            continue  # not a hazardous chemical of the standard
        material_id = row["material_id"]
        zone.hazardous[material_id] = zone.hazardous.get(material_id, Decimal(0)) + kg
        held = materials[warehouse_id].setdefault(
            material_id,
            _Material(
                threshold,
                beta_of(cas=row["material__cas"], category=row["material__gb18218_category"]),
            ),
        )
        held.kg += kg
    out: dict[int, UnitFigures] = {}
    for warehouse_id in ids:
        held_by_material = materials.get(warehouse_id, {})
        for zone in zones.get(warehouse_id, {}).values():
            # The zone filled to its capacity with its current mix, never below its stock.
            factor = max(Decimal(1), zone.capacity_kg / zone.kg) if zone.kg else Decimal(1)
            for material_id, kg in zone.hazardous.items():
                held_by_material[material_id].kg_at_capacity += kg * factor
        now = [Holding(m.kg / KG_PER_T, m.threshold_t, m.beta) for m in held_by_material.values()]
        full = [
            Holding(m.kg_at_capacity / KG_PER_T, m.threshold_t, m.beta)
            for m in held_by_material.values()
        ]
        out[warehouse_id] = UnitFigures(
            hazardous_t=sum((m.kg for m in held_by_material.values()), Decimal(0)) / KG_PER_T,
            now=assess(now, Decimal(1)),
            at_capacity=assess(full, Decimal(1)),
            material_ids=tuple(sorted(held_by_material)),
        )
    return out


def _with_alpha(assessment: Assessment, alpha: Decimal) -> Assessment:
    """The same holdings graded with ``alpha`` (R is linear in α; S does not depend on it)."""
    r = assessment.r * alpha
    return Assessment(s=assessment.s, r=r, level=grade_for(r) if assessment.is_major else None)


def _rounded(value: Decimal) -> Decimal:
    return value.quantize(S_PLACES)


def _lock_units(warehouse_ids: list[int]) -> dict[int, HazardUnit]:
    """The units of ``warehouse_ids``, created if missing, locked in warehouse order."""
    warehouses = Warehouse.objects.filter(pk__in=warehouse_ids).values_list("pk", "park_id")
    HazardUnit.objects.bulk_create(
        [HazardUnit(warehouse_id=pk, park_id=park_id) for pk, park_id in warehouses],
        ignore_conflicts=True,
    )
    units = (
        HazardUnit.objects.select_for_update(of=("self",))
        .filter(warehouse_id__in=warehouse_ids)
        .select_related("warehouse")
        .order_by("warehouse_id")
    )
    return {unit.warehouse_id: unit for unit in units}


def _recompute(units: dict[int, HazardUnit]) -> list[HazardUnit]:
    """Write the new figures of ``units`` (locked); emit the events of those whose level
    changed. Returns the units whose figures changed."""
    figures = unit_figures(units)
    now = timezone.now()
    changed: list[HazardUnit] = []
    events: list[dict[str, object]] = []
    for warehouse_id, unit in units.items():
        fig = figures[warehouse_id]
        alpha = alpha_of(unit.people_within_500m)
        current, full = _with_alpha(fig.now, alpha), _with_alpha(fig.at_capacity, alpha)
        old_s, old_level = unit.s, unit.level
        values = {
            "hazardous_t": fig.hazardous_t.quantize(Decimal("0.001")),
            "s": _rounded(current.s),
            "r": _rounded(current.r),
            "level": current.level,
            "s_at_capacity": _rounded(full.s),
            "r_at_capacity": _rounded(full.r),
            "level_at_capacity": full.level,
        }
        if unit.computed_at is not None and all(
            getattr(unit, name) == value for name, value in values.items()
        ):
            continue
        for name, value in values.items():
            setattr(unit, name, value)
        unit.computed_at = now
        changed.append(unit)
        if old_level != current.level:
            events.append(
                {
                    "unit_id": unit.pk,
                    "warehouse_id": warehouse_id,
                    "warehouse_code": unit.warehouse.code,
                    "park_id": unit.park_id,
                    "park_ids": [unit.park_id],
                    "owner_id": unit.warehouse.owner_id,
                    "old_s": f"{old_s:.4f}",
                    "new_s": f"{unit.s:.4f}",
                    "r": f"{unit.r:.4f}",
                    "old_level": old_level,
                    "new_level": current.level,
                    "material_ids": list(fig.material_ids),
                }
            )
    if changed:
        HazardUnit.objects.bulk_update(changed, list(STATUS_FIELDS))
    event_emit_many(topic=MAJOR_HAZARD_CHANGED, payloads=events)
    return changed


@transaction.atomic
def major_hazards_recompute(*, warehouse_ids: Iterable[int]) -> list[HazardUnit]:
    """Recompute the units of ``warehouse_ids`` (see the module); returns those whose
    figures changed. A system write: no actor, no audit row."""
    ids = sorted(set(warehouse_ids))
    if not ids:
        return []
    return _recompute(_lock_units(ids))


def major_hazards_recompute_all(*, batch: int = 500) -> tuple[int, int]:
    """Recompute every warehouse, ``batch`` at a time (one transaction each); returns
    (units computed, units changed). Idempotent."""
    ids = list(Warehouse.objects.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), batch):
        changed += len(major_hazards_recompute(warehouse_ids=ids[start : start + batch]))
    return len(ids), changed


@transaction.atomic
def hazard_unit_update(
    *, actor: Scope, unit: HazardUnit, people_within_500m: int | None
) -> HazardUnit:
    """Set the people within 500 m of a unit (None: not surveyed), which sets its α, and
    recompute it. The park's operators. Locks the unit. One audit row,
    ``hazard_unit.update``; ``major_hazard.changed`` if its level changes."""
    units = _lock_units([unit.warehouse_id])
    locked = units[unit.warehouse_id]
    if not may_set_unit_profile(actor, park_id=locked.park_id):
        raise NotPermitted(_("Only the park's operators set a unit's safety profile."))
    before = snapshot(locked, ("people_within_500m", "r", "level"))
    locked.people_within_500m = people_within_500m
    validate_row(locked, ["people_within_500m"])
    locked.save(update_fields=["people_within_500m"])
    locked.computed_at = None  # recompute whatever the figures
    _recompute(units)
    audit_record(
        actor=actor,
        action="hazard_unit.update",
        target=locked,
        changes=changes_between(before, snapshot(locked, ("people_within_500m", "r", "level"))),
        enterprise=locked.warehouse.owner_id,
        park=locked.park_id,
    )
    unit.refresh_from_db()
    return unit
