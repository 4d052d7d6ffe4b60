"""Reads of the matching engine: which materials form a component, and everything a
component's solve needs, in a constant number of queries per batch of components.

A component is a set of materials tied together by open needs that accept substitutes: a
need for A that accepts B puts the listings of A and B in one problem. Each component is
solved on its own (docs/matching.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import Any

from django.conf import settings
from django.db.models import F, Q, Sum

from inventory.admission import ZonePicture, may_store_together
from inventory.controls import Controls
from inventory.hazards import HazardProfile
from inventory.models import Material, PhysicalState, StockLot, StorageZone
from inventory.selectors import permits_of
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from matching.cost import from_grams, to_grams
from matching.feasibility import DemandSide, SupplySide
from matching.models import COMMITTED, LIVE, Match, MatchStatus
from matching.selectors import committed_by

Component = tuple[int, ...]  # sorted material ids


@dataclass(frozen=True)
class MaterialInfo:
    id: int
    name_en: str
    name_zh: str
    cas: str
    hazard: HazardProfile
    controls: Controls


@dataclass
class ComponentData:
    """One component as the engine solves it. Quantities are what is still free: a
    listing's offer capped by its lot's unreserved stock, minus what accepted and agreed
    matches already hold; a need's quantity minus the same."""

    materials: Component
    supplies: list[SupplySide] = field(default_factory=list)
    demands: list[DemandSide] = field(default_factory=list)
    supply_grams: dict[int, int] = field(default_factory=dict)
    demand_grams: dict[int, int] = field(default_factory=dict)
    minimum_grams: dict[int, int] = field(default_factory=dict)
    # Pairs the engine must not propose: declined, or already holding a committed match.
    excluded_pairs: set[tuple[int, int]] = field(default_factory=set)
    # Listings drawing on one lot share what it holds: lot of each listing, and what each
    # such lot still has free (only lots with more than one listing in the component).
    lot_of: dict[int, int] = field(default_factory=dict)
    shared_lot_grams: dict[int, int] = field(default_factory=dict)
    # The delivery zones of the batch (room left, hazards coming in), shared by its
    # components, which the engine solves one after the other: each takes what the earlier
    # ones left (``matching.services.engine.solve``).
    zone_of: dict[int, int] = field(default_factory=dict)  # need -> delivery zone
    deliveries: Deliveries | None = None
    # Pairs whose order ended without delivery: (listing, need) -> the latest released
    # match, which a new proposal of the pair names as its ``previous``.
    released: dict[tuple[int, int], int] = field(default_factory=dict)
    # Replaceable proposals now in the database: (listing, need) -> (id, inputs hash,
    # wording key).
    proposed: dict[tuple[int, int], tuple[int, str, str]] = field(default_factory=dict)
    seller_names: dict[int, tuple[str, str]] = field(default_factory=dict)
    buyer_names: dict[int, tuple[str, str]] = field(default_factory=dict)


# --- Components ---------------------------------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _open_need_links(need_filter: Q | None = None) -> tuple[set[int], list[tuple[int, int]]]:
    """Materials of open needs, and (material, substitute) links among them."""
    needs = Need.objects.filter(status=NeedStatus.OPEN)
    if need_filter is not None:
        needs = needs.filter(need_filter)
    materials = set(needs.values_list("material_id", flat=True).distinct().order_by())
    links = list(
        Need.substitutes.through.objects.filter(need__in=needs)
        .values_list("need__material_id", "material_id")
        .distinct()
        .order_by()
    )
    return materials, links


def _binding_zone_links(zone_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """Links between the materials of open needs delivered into a zone whose room is less
    than they ask for together (capacity less stock on hand, against quantity less what
    orders hold): such needs compete for the room, so their materials are solved as one
    component and the room is shared optimally. Where the room suffices for every need it
    couples nothing. ``zone_ids`` limits the zones looked at."""
    needs = Need.objects.filter(status=NeedStatus.OPEN, delivery_zone__isnull=False)
    if zone_ids is not None:
        needs = needs.filter(delivery_zone_id__in=list(zone_ids))
    asked = dict(
        needs.values_list("delivery_zone_id")
        .annotate(asked=Sum(F("quantity_kg") - F("ordered_kg")))
        .order_by()
    )
    if not asked:
        return []
    rooms = (
        StorageZone.objects.filter(pk__in=list(asked))
        .annotate(on_hand=Sum("lots__on_hand_kg", default=Decimal(0)))
        .values_list("pk", "capacity_kg", "on_hand")
    )
    binding = [zone_id for zone_id, cap, on_hand in rooms if asked[zone_id] > cap - on_hand]
    if not binding:
        return []
    first: dict[int, int] = {}
    links: list[tuple[int, int]] = []
    for zone_id, material_id in (
        needs.filter(delivery_zone_id__in=binding)
        .values_list("delivery_zone_id", "material_id")
        .distinct()
        .order_by()
    ):
        links.append((first.setdefault(zone_id, material_id), material_id))
    return links


def _conflict_links(warehouse_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """Links between materials that open needs would bring into one warehouse where
    segregation keeps them apart (``inventory.admission.may_store_together``): which of
    them gets the warehouse is a choice, made in one component's MILP. ``warehouse_ids``
    limits the warehouses looked at."""
    needs = Need.objects.filter(status=NeedStatus.OPEN, delivery_zone__isnull=False)
    if warehouse_ids is not None:
        needs = needs.filter(delivery_zone__warehouse_id__in=list(warehouse_ids))
    rows = list(
        needs.values_list(
            "delivery_zone__warehouse_id",
            "delivery_zone_id",
            "delivery_zone__building",
            "material_id",
        )
        .distinct()
        .order_by()
    )
    rows += list(
        Need.substitutes.through.objects.filter(need__in=needs)
        .values_list(
            "need__delivery_zone__warehouse_id",
            "need__delivery_zone_id",
            "need__delivery_zone__building",
            "material_id",
        )
        .distinct()
        .order_by()
    )
    infos = material_infos({r[3] for r in rows})
    # Per warehouse, the materials of each (zone, building, hazards) place: pairs of places
    # are compared once, however many materials share their hazards.
    by_warehouse: dict[int, dict[tuple[int, str, HazardProfile], list[int]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for warehouse_id, zone_id, building, material_id in rows:
        hazard = unlabelled(infos[material_id].hazard)
        if hazard.classes or hazard.family:
            by_warehouse[warehouse_id][(zone_id, building, hazard)].append(material_id)
    links: list[tuple[int, int]] = []
    for places in by_warehouse.values():
        for (z1, b1, h1), (z2, b2, h2) in combinations(sorted(places, key=_place_key), 2):
            if not may_store_together(h1, h2, same_zone=z1 == z2, same_building=b1 == b2):
                # Every material of one place against every one of the other: a spanning
                # set of those links ties them as well, in n + m − 1 links, not n × m.
                one, two = sorted(places[z1, b1, h1]), sorted(places[z2, b2, h2])
                links.extend((one[0], m) for m in two)
                links.extend((m, two[0]) for m in one[1:])
    return links


def unlabelled(hazard: HazardProfile) -> HazardProfile:
    """The hazards without the material's name: what segregation decides on, so that
    materials of the same hazards are one place and the rule's cache is hit."""
    return HazardProfile(classes=hazard.classes, family=hazard.family, liquid=hazard.liquid)


def _place_key(place: tuple[int, str, HazardProfile]) -> tuple[int, str, tuple[str, ...], str]:
    zone_id, building, hazard = place
    return zone_id, building, hazard.classes, hazard.family


def _groups(
    materials: Iterable[int],
    mandatory: Iterable[tuple[int, int]],
    optional: Iterable[tuple[int, int]],
) -> list[Component]:
    """Components: every ``mandatory`` link joins (a need and the substitutes it accepts
    must be solved together); an ``optional`` link (needs competing for a zone's room, or
    materials that may not share a warehouse) joins only while the result stays within
    ``MATCHING_MERGE_MAX_MATERIALS`` materials, links taken in order. Beyond that, the
    components are solved one after the other, each admitted against what the earlier
    ones proposed (still admissible, no longer jointly optimal)."""
    cap = settings.MATCHING_MERGE_MAX_MATERIALS
    uf = _UnionFind()
    for m in materials:
        uf.find(m)
    for a, b in mandatory:
        uf.union(a, b)
    size: dict[int, int] = defaultdict(int)
    for m in list(uf.parent):
        size[uf.find(m)] += 1
    for a, b in sorted(set(optional)):
        ra, rb = uf.find(a), uf.find(b)
        if ra != rb and size[ra] + size[rb] <= cap:
            uf.union(ra, rb)
            size[uf.find(ra)] = size[ra] + size[rb]
    groups: dict[int, list[int]] = defaultdict(list)
    for m in list(uf.parent):
        groups[uf.find(m)].append(m)
    return sorted(tuple(sorted(g)) for g in groups.values())


def components_all() -> list[Component]:
    """Every component with an open need, or with a proposal that may need superseding."""
    materials, links = _open_need_links()
    stale = set(
        Match.objects.filter(status=MatchStatus.PROPOSED)
        .values_list("material_id", flat=True)
        .distinct()
    )
    return _groups(
        materials | stale | {m for link in links for m in link},
        links,
        [*_binding_zone_links(), *_conflict_links()],
    )


def _closure(material_ids: Iterable[int]) -> tuple[set[int], set[tuple[int, int]]]:
    """``material_ids`` and every material tied to them by open needs' substitutes."""
    seen = set(material_ids)
    frontier = set(seen)
    links: set[tuple[int, int]] = set()
    while frontier:
        touching = Q(material_id__in=frontier) | Q(substitutes__in=frontier)
        materials, new_links = _open_need_links(touching)
        links.update(new_links)
        reached = materials | {m for link in new_links for m in link}
        frontier = reached - seen
        seen |= reached
    return seen, links


def component_of(material_ids: Iterable[int]) -> list[Component]:
    """The components containing ``material_ids``: the closure over open needs'
    substitutes, then, up to the merge limit, the materials competing with them for a
    zone's room or a warehouse (see ``_groups``)."""
    seeds = set(material_ids)
    seen, links = _closure(seeds)
    optional: set[tuple[int, int]] = set()
    frontier = set(seen)
    while frontier and len(seen) < settings.MATCHING_MERGE_MAX_MATERIALS:
        places = set(
            Need.objects.filter(
                Q(material_id__in=frontier) | Q(substitutes__in=frontier),
                status=NeedStatus.OPEN,
                delivery_zone__isnull=False,
            )
            .values_list("delivery_zone_id", "delivery_zone__warehouse_id")
            .distinct()
        )
        if not places:
            break
        new_links = [
            *_binding_zone_links({z for z, _w in places}),
            *_conflict_links({w for _z, w in places}),
        ]
        optional.update(new_links)
        # Only as many new materials as the merge limit could still take (in the order the
        # links are merged in): the others stay components of their own.
        room = settings.MATCHING_MERGE_MAX_MATERIALS - len(seen)
        new = set(sorted({m for link in new_links for m in link} - seen)[:room])
        if not new:
            break
        reached, more_links = _closure(new)
        links |= more_links
        frontier = reached - seen
        seen |= reached
    optional = {(a, b) for a, b in optional if a in seen and b in seen}
    return [c for c in _groups(seen, links, optional) if seeds.intersection(c)]


# --- Component data -----------------------------------------------------------------------

_LISTING_COLUMNS = (
    "id",
    "lot_id",
    "seller_id",
    "seller__park_id",
    "seller__park__region_code",
    "seller__name_en",
    "seller__name_zh",
    "material_id",
    "price_per_t",
    "quantity_kg",
    "ordered_kg",
    "min_order_kg",
    "available_from",
    "available_until",
    "visibility",
    "lot__purity_pct",
    "lot__grade",
    "lot__expires_on",
    "lot__on_hand_kg",
    "lot__reserved_kg",
    "lot__zone__warehouse__latitude",
    "lot__zone__warehouse__longitude",
)

_NEED_COLUMNS = (
    "id",
    "enterprise_id",
    "enterprise__park_id",
    "enterprise__park__region_code",
    "enterprise__name_en",
    "enterprise__name_zh",
    "material_id",
    "quantity_kg",
    "ordered_kg",
    "max_price_per_t",
    "needed_by",
    "min_purity_pct",
    "delivery_zone_id",
    "delivery_zone__building",
    "delivery_zone__warehouse_id",
    "delivery_zone__warehouse__latitude",
    "delivery_zone__warehouse__longitude",
    "delivery_latitude",
    "delivery_longitude",
    "max_distance_km",
)


def _profile(row: Mapping[str, Any]) -> HazardProfile:
    primary = str(row["primary_class"] or "")
    subsidiary = row["subsidiary_classes"] or []
    assert isinstance(subsidiary, list)
    return HazardProfile(
        classes=(primary, *map(str, subsidiary)) if primary else (),
        family=str(row["family"] or ""),
        liquid=row["physical_state"] == PhysicalState.LIQUID,
        label=str(row["name_en"]),
    )


def material_infos(material_ids: Iterable[int]) -> dict[int, MaterialInfo]:
    rows = Material.objects.filter(id__in=set(material_ids)).values(
        "id",
        "name_en",
        "name_zh",
        "cas",
        "primary_class",
        "subsidiary_classes",
        "family",
        "physical_state",
        "highly_toxic",
        "explosive_precursor",
        "drug_precursor_category",
    )
    return {
        r["id"]: MaterialInfo(
            id=r["id"],
            name_en=r["name_en"],
            name_zh=r["name_zh"],
            cas=r["cas"] or "",
            hazard=_profile(r),
            controls=Controls(
                highly_toxic=r["highly_toxic"],
                explosive_precursor=r["explosive_precursor"],
                drug_precursor_category=r["drug_precursor_category"],
            ),
        )
        for r in rows
    }


@dataclass(frozen=True)
class ZoneInfo:
    label: str
    warehouse_id: int
    building: str
    licensed: frozenset[str]
    room_kg: Decimal  # capacity less stock on hand


class StoredHazards:
    """The hazard profiles with stock on hand per zone, per (warehouse, building) and per
    warehouse, read for the warehouses asked for and kept for the rest of a run.

    Segregation depends on classes, family and state only, so the database returns each
    distinct profile once per zone, not every lot or material. A full run shares one
    instance between its chunks (``matching.services.runs``): stock that arrives during
    the run is seen by the rematch its own ``stock.changed`` event triggers.
    """

    def __init__(self) -> None:
        self.by_zone: dict[int, set[HazardProfile]] = defaultdict(set)
        self.by_building: dict[tuple[int, str], set[HazardProfile]] = defaultdict(set)
        self.by_warehouse: dict[int, set[HazardProfile]] = defaultdict(set)
        self.zones: dict[int, ZoneInfo] = {}
        self.zones_of: dict[int, list[int]] = defaultdict(list)  # warehouse -> its zones
        self._hazards: dict[int, HazardProfile] = {}  # material -> hazards, read once
        self.loaded: set[int] = set()

    def hazards_of(self, material_ids: set[int]) -> dict[int, HazardProfile]:
        """The hazards of materials (read once per run: what segregation reads of a
        material cannot change while it has stock)."""
        missing = material_ids - self._hazards.keys()
        if missing:
            self._hazards.update((m, i.hazard) for m, i in material_infos(missing).items())
        return self._hazards

    def ensure(self, warehouse_ids: set[int]) -> None:
        missing = warehouse_ids - self.loaded
        if not missing:
            return
        rows = (
            StockLot.objects.filter(zone__warehouse_id__in=missing, on_hand_kg__gt=0)
            .values_list(
                "zone_id",
                "zone__building",
                "zone__warehouse_id",
                "material__primary_class",
                "material__subsidiary_classes",
                "material__family",
                "material__physical_state",
            )
            .distinct()
            .order_by()
        )
        profiles: dict[tuple[Any, ...], HazardProfile] = {}
        for zone_id, building, warehouse_id, primary, subsidiary, family, state in rows:
            key = (primary, tuple(subsidiary or ()), family, state)
            profile = profiles.get(key)
            if profile is None:
                profile = profiles[key] = HazardProfile(
                    classes=(primary, *map(str, subsidiary or ())) if primary else (),
                    family=family or "",
                    liquid=state == PhysicalState.LIQUID,
                    label=f"class {primary} goods" if primary else "goods",
                )
            self.by_zone[zone_id].add(profile)
            self.by_building[(warehouse_id, building)].add(profile)
            self.by_warehouse[warehouse_id].add(profile)
        zones = (
            StorageZone.objects.filter(warehouse_id__in=missing)
            .annotate(on_hand=Sum("lots__on_hand_kg", default=Decimal(0)))
            .values_list(
                "pk",
                "warehouse_id",
                "warehouse__code",
                "code",
                "building",
                "allowed_classes",
                "capacity_kg",
                "on_hand",
            )
            .order_by()
        )
        for zone_id, warehouse_id, warehouse_code, code, building, licensed, cap, on_hand in zones:
            self.zones_of[warehouse_id].append(zone_id)
            self.zones[zone_id] = ZoneInfo(
                label=f"{warehouse_code}/{code}",
                warehouse_id=warehouse_id,
                building=building,
                licensed=frozenset(licensed or ()),
                room_kg=cap - on_hand,
            )
        self.loaded |= missing

    def around(
        self, *, zone_id: int, building: str, warehouse_id: int
    ) -> tuple[frozenset[HazardProfile], frozenset[HazardProfile], frozenset[HazardProfile]]:
        """What is stored in the zone, in the rest of its building, in the rest of its
        warehouse."""
        zone = frozenset(self.by_zone.get(zone_id, ()))
        rest_of_building = frozenset(self.by_building.get((warehouse_id, building), ())) - zone
        rest_of_warehouse = (
            frozenset(self.by_warehouse.get(warehouse_id, ())) - zone - rest_of_building
        )
        return zone, rest_of_building, rest_of_warehouse


def _ordered(profiles: frozenset[HazardProfile]) -> tuple[HazardProfile, ...]:
    return tuple(sorted(profiles, key=lambda p: (p.classes, p.family, p.liquid)))


class Deliveries:
    """The delivery zones of a batch as the engine proposes into them, component after
    component: the room each has left and the hazards it will hold.

    A zone's picture (``inventory.admission.ZonePicture``) is what is stored around it
    (``StoredHazards``) plus what live matches already bring into its warehouse: committed
    ones and proposals of materials outside the batch (the batch's own are being
    replaced), and what the batch's earlier components proposed (``take``). So two
    proposals into one warehouse never bring in materials that may not be stored together,
    and never more than a zone's room.
    """

    def __init__(self, stored: StoredHazards, zone_ids: set[int], *, batch_materials: set[int]):
        self.stored = stored
        warehouses = {stored.zones[z].warehouse_id for z in zone_ids}
        # warehouse -> zone -> hazards coming in
        self.incoming: dict[int, dict[int, set[HazardProfile]]] = defaultdict(
            lambda: defaultdict(set)
        )
        held: dict[int, Decimal] = defaultdict(Decimal)
        zones_there = [z for w in warehouses for z in stored.zones_of.get(w, ())]
        rows = list(
            Match.objects.filter(delivery_zone_id__in=zones_there, status__in=LIVE)
            .exclude(status=MatchStatus.PROPOSED, material_id__in=batch_materials)
            .values_list("delivery_zone_id", "material_id")
            .annotate(held=Sum("quantity_kg"))
            .order_by()
        )
        hazard_of = stored.hazards_of({material_id for _z, material_id, _q in rows})
        for zone_id, material_id, quantity in rows:
            held[zone_id] += quantity
            if zone_id in stored.zones:
                self._arrive(zone_id, hazard_of[material_id])
        self.free_grams = {
            zone_id: max(0, to_grams(stored.zones[zone_id].room_kg - held[zone_id]))
            for zone_id in zone_ids
        }
        self._pictures: dict[int, ZonePicture] = {}

    def _arrive(self, zone_id: int, hazard: HazardProfile) -> None:
        if hazard.classes or hazard.family:
            warehouse_id = self.stored.zones[zone_id].warehouse_id
            self.incoming[warehouse_id][zone_id].add(hazard)

    def picture(self, zone_id: int) -> ZonePicture:
        picture = self._pictures.get(zone_id)
        if picture is None:
            info = self.stored.zones[zone_id]
            in_zone, in_building, in_warehouse = map(
                set,
                self.stored.around(
                    zone_id=zone_id, building=info.building, warehouse_id=info.warehouse_id
                ),
            )
            for other, hazards in self.incoming.get(info.warehouse_id, {}).items():
                if other == zone_id:
                    in_zone |= hazards
                elif self.stored.zones[other].building == info.building:
                    in_building |= hazards
                else:
                    in_warehouse |= hazards
            picture = self._pictures[zone_id] = ZonePicture(
                label=info.label,
                licensed=info.licensed,
                free_kg=from_grams(self.free_grams[zone_id]),
                in_zone=_ordered(frozenset(in_zone)),
                in_building=_ordered(frozenset(in_building - in_zone)),
                in_warehouse=_ordered(frozenset(in_warehouse - in_zone - in_building)),
            )
        return picture

    def take(self, zone_id: int, grams: int, hazard: HazardProfile) -> None:
        """A proposal of ``grams`` of a material with ``hazard`` into the zone."""
        self.free_grams[zone_id] -= grams
        self._pictures.pop(zone_id, None)
        warehouse_id = self.stored.zones[zone_id].warehouse_id
        if (hazard.classes or hazard.family) and hazard not in self.incoming[warehouse_id][zone_id]:
            self._arrive(zone_id, hazard)
            for other in self.stored.zones_of[warehouse_id]:  # what they see around changed
                self._pictures.pop(other, None)


@dataclass
class Committed:
    """What committed matches hold of each listing, need and lot (over all of the lot's
    listings), by ``matching.selectors.committed_by``: an id absent holds nothing."""

    listing: defaultdict[int, Decimal]
    need: defaultdict[int, Decimal]
    lot: defaultdict[int, Decimal]


def committed_holdings(material_ids: Iterable[int]) -> Committed:
    """What committed matches of ``material_ids`` hold, per listing, need and lot: one
    grouped query (one row per committed match, few), summed three ways."""
    held = committed_by(
        Match.objects.filter(material_id__in=list(material_ids)),
        "listing_id",
        "need_id",
        "listing__lot_id",
    )
    out = Committed(defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal))
    for (listing_id, need_id, lot_id), kg in held.items():
        out.listing[listing_id] += kg
        out.need[need_id] += kg
        out.lot[lot_id] += kg
    return out


def load_components(
    components: Sequence[Component], *, today: date, stored: StoredHazards | None = None
) -> tuple[list[ComponentData], dict[int, MaterialInfo]]:
    """Everything the solves of ``components`` read, in a fixed number of queries."""
    all_materials = {m for c in components for m in c}
    component_of_material = {m: c for c in components for m in c}
    data = {c: ComponentData(materials=c) for c in components}

    # Committed quantities, declined pairs and current proposals.
    committed = committed_holdings(all_materials)
    matches = Match.objects.filter(
        material_id__in=all_materials,
        status__in=[*COMMITTED, MatchStatus.DECLINED, MatchStatus.PROPOSED, MatchStatus.RELEASED],
    ).values_list(
        "id",
        "listing_id",
        "need_id",
        "material_id",
        "status",
        "inputs_hash",
        "wording",
    )
    for match_id, listing_id, need_id, material_id, status, inputs_hash, wording in matches:
        comp = data[component_of_material[material_id]]
        if status == MatchStatus.PROPOSED:
            comp.proposed[(listing_id, need_id)] = (match_id, inputs_hash, wording)
            continue
        if status == MatchStatus.RELEASED:
            pair = (listing_id, need_id)
            comp.released[pair] = max(match_id, comp.released.get(pair, 0))
            continue
        comp.excluded_pairs.add((listing_id, need_id))

    infos = material_infos(all_materials)
    lot_free_grams: dict[int, int] = {}
    # Tuples, not dicts: a full run reads 100k listings and 100k needs.
    for (
        listing_id,
        lot_id,
        seller_id,
        seller_park_id,
        seller_region,
        seller_en,
        seller_zh,
        material_id,
        price,
        quantity,
        ordered,
        min_order,
        available_from,
        available_until,
        visibility,
        purity,
        grade,
        expires_on,
        on_hand,
        reserved,
        latitude,
        longitude,
    ) in (
        Listing.objects.filter(status=ListingStatus.PUBLISHED, material_id__in=all_materials)
        .values_list(*_LISTING_COLUMNS)
        .order_by()
    ):
        lot_free = on_hand - reserved - committed.lot[lot_id]
        free = min(quantity - ordered - committed.listing[listing_id], lot_free)
        if free <= 0:
            continue
        comp = data[component_of_material[material_id]]
        comp.lot_of[listing_id] = lot_id
        lot_free_grams[lot_id] = to_grams(lot_free)
        comp.supplies.append(
            SupplySide(
                listing_id=listing_id,
                seller_id=seller_id,
                seller_park_id=seller_park_id,
                seller_region_code=seller_region,
                material_id=material_id,
                price_per_t=price,
                quantity_kg=free,
                min_order_kg=min_order,
                available_from=available_from,
                available_until=available_until,
                visibility=visibility,
                purity_pct=purity,
                grade=grade,
                expires_on=expires_on,
                warehouse_latitude=latitude,
                warehouse_longitude=longitude,
                hazard=infos[material_id].hazard,
                controls=infos[material_id].controls,
            )
        )
        comp.supply_grams[listing_id] = to_grams(free)
        if min_order > 0:
            comp.minimum_grams[listing_id] = to_grams(min_order)
        comp.seller_names[seller_id] = (seller_en, seller_zh)

    # Needs of the components: by their material, or by a substitute in the component.
    substitutes: dict[int, set[int]] = defaultdict(set)
    for need_id, material_id in Need.substitutes.through.objects.filter(
        need__status=NeedStatus.OPEN, material_id__in=all_materials
    ).values_list("need_id", "material_id"):
        substitutes[need_id].add(material_id)
    need_rows = list(
        Need.objects.filter(
            Q(material_id__in=all_materials) | Q(id__in=list(substitutes)),
            status=NeedStatus.OPEN,
        )
        .values_list(*_NEED_COLUMNS)
        .order_by()
    )
    warehouse_ids = {r[14] for r in need_rows} - {None}  # delivery_zone__warehouse_id
    stored = stored if stored is not None else StoredHazards()
    stored.ensure(warehouse_ids)
    deliveries = Deliveries(
        stored, {r[12] for r in need_rows} - {None}, batch_materials=all_materials
    )
    # The buyers' permits, where a component offers a controlled material.
    controlled = {component_of_material[m] for m in all_materials if infos[m].controls.any}
    buyers = {
        r[1]
        for r in need_rows
        if (component_of_material.get(r[6]) or component_of_material[next(iter(substitutes[r[0]]))])
        in controlled
    }
    permits = permits_of(buyers, valid_on=today) if buyers else {}

    for (
        need_id,
        enterprise_id,
        park_id,
        region,
        buyer_en,
        buyer_zh,
        material_id,
        quantity,
        ordered,
        max_price,
        needed_by,
        min_purity,
        zone_id,
        _building,
        _warehouse_id,
        zone_latitude,
        zone_longitude,
        point_latitude,
        point_longitude,
        max_distance,
    ) in need_rows:
        free = quantity - ordered - committed.need.get(need_id, Decimal(0))
        if free <= 0:
            continue
        home = component_of_material.get(material_id)
        if home is None:  # needed material outside the batch: reached through a substitute
            home = component_of_material[next(iter(substitutes[need_id]))]
        comp = data[home]
        picture = None
        if zone_id is not None:
            picture = deliveries.picture(zone_id)
            comp.zone_of[need_id] = zone_id
            latitude, longitude = zone_latitude, zone_longitude
        else:
            latitude, longitude = point_latitude, point_longitude
        comp.demands.append(
            DemandSide(
                need_id=need_id,
                enterprise_id=enterprise_id,
                park_id=park_id,
                region_code=region,
                material_id=material_id,
                substitute_ids=frozenset(substitutes.get(need_id, ())),
                quantity_kg=free,
                max_price_per_t=max_price,
                needed_by=needed_by,
                min_purity_pct=min_purity,
                delivery_latitude=latitude,
                delivery_longitude=longitude,
                max_distance_km=max_distance,
                delivery_zone_id=zone_id,
                delivery=picture,
                permits=permits.get(enterprise_id, ()),
            )
        )
        comp.demand_grams[need_id] = to_grams(free)
        comp.buyer_names[enterprise_id] = (buyer_en, buyer_zh)

    for comp in data.values():
        comp.deliveries = deliveries  # one for the batch (see ComponentData)
        listings_of_lot: dict[int, int] = defaultdict(int)
        for lot_id in comp.lot_of.values():
            listings_of_lot[lot_id] += 1
        comp.shared_lot_grams = {
            lot_id: lot_free_grams[lot_id] for lot_id, n in listings_of_lot.items() if n > 1
        }
        comp.supplies.sort(key=lambda s: s.listing_id)
        comp.demands.sort(key=lambda d: d.need_id)
    return [data[c] for c in components], infos
