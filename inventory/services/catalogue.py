"""Writes of the catalogue, warehouses, zones and lot details. None of them changes a
quantity (see inventory.services.stock for those); each runs in one transaction.

Each runs the model's own validators on the fields it writes (CAS check digit, UN number,
ranges of density, threshold, capacity, purity and coordinates: ``common.validation``)
after its own checks, so a command or a task is refused like the API and the admin.
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit
from common.exceptions import DomainError
from common.services import delete_unreferenced, refuse_unchangeable, save_unique
from common.validation import validate_row
from inventory.admission import allowed_separation
from inventory.controls import DRUG_PRECURSOR_CATEGORIES
from inventory.exceptions import CapacityExceeded, IncompatibleStorage
from inventory.hazards import required_separation, validate_classes
from inventory.models import (
    MATERIAL_FIELDS,
    Material,
    PhysicalState,
    StockLot,
    StorageZone,
    Warehouse,
)
from inventory.selectors import zone_hazard_profiles, zone_occupancy_kg
from inventory.services.stock import _emit_stock_changed, _lock_warehouses
from inventory.topics import MATERIAL_CHANGED, ZONE_CHANGED
from inventory.units import MASS_FACTORS_KG, MAX_QUANTITY_KG, Unit
from parks.models import Enterprise, Park

# --- The catalogue, warehouses, zones and lot details -------------------------------------
#
# None of these change a quantity. What they must not do is pull the ground from under
# stock already admitted: a zone's capacity, licence and building, and a material's
# hazards, are what admission and segregation were decided on.

# What segregation reads about a material (see Material.hazard_profile).
MATERIAL_HAZARD_FIELDS = ("primary_class", "subsidiary_classes", "family", "physical_state")
# A warehouse's park and owner decide who stores in it: fixed once it exists.
WAREHOUSE_FIELDS = ("code", "name", "latitude", "longitude", "address")
# A zone stays in its warehouse: its lots' ledger is tied to it.
ZONE_FIELDS = ("code", "name", "building", "capacity_kg", "allowed_classes")
# Details of a lot that may be corrected after the receipt; never its quantities.
LOT_DETAIL_FIELDS = ("batch_no", "purity_pct", "grade", "produced_on", "expires_on")
# What the audit rows of a new warehouse and zone show (their every term).
WAREHOUSE_AUDIT_FIELDS = ("park", "owner", *WAREHOUSE_FIELDS)
ZONE_AUDIT_FIELDS = ("warehouse", *ZONE_FIELDS)


def _check_class_list(codes: Any, *, field: str) -> None:
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise DomainError(_("A list of dangerous-goods class codes is expected."), field=field)
    unknown = validate_classes(codes)
    if unknown:
        raise DomainError(_("Unknown dangerous-goods class: %s.") % ", ".join(unknown), field=field)
    if len(set(codes)) != len(codes):
        raise DomainError(_("A class is listed twice."), field=field)


def _check_material(material: Material) -> None:
    primary = material.primary_class
    if primary and validate_classes([primary]):
        raise DomainError(_("Unknown dangerous-goods class: %s.") % primary, field="primary_class")
    _check_class_list(material.subsidiary_classes, field="subsidiary_classes")
    if material.subsidiary_classes and not primary:
        raise DomainError(_("Subsidiary classes need a primary class."), field="subsidiary_classes")
    if primary in material.subsidiary_classes:
        raise DomainError(
            _("The primary class is not also a subsidiary one."), field="subsidiary_classes"
        )
    if material.drug_precursor_category not in DRUG_PRECURSOR_CATEGORIES:
        raise DomainError(_("Must be 0 to 3."), field="drug_precursor_category")
    if material.default_unit not in MASS_FACTORS_KG and not material.density_kg_per_l:
        raise DomainError(_("A volume unit needs the material's density."), field="default_unit")


def _save_material(material: Material, *, update_fields: list[str] | None = None) -> None:
    clash = (
        Material.objects.filter(cas=material.cas).exclude(pk=material.pk)
        if material.cas
        else Material.objects.none()  # many materials have no CAS number
    )
    save_unique(
        material,
        clash=clash,
        field="cas",
        message=_("A material with this CAS number is already in the catalogue."),
        update_fields=update_fields,
    )


@transaction.atomic
def material_create(
    *,
    actor: Scope,
    name_zh: str,
    name_en: str,
    cas: str | None = None,
    un_number: str = "",
    primary_class: str = "",
    subsidiary_classes: list[str] | None = None,
    physical_state: str = PhysicalState.LIQUID,
    family: str = "",
    gb18218_threshold_t: Decimal | None = None,
    gb18218_category: str = "",
    default_unit: str = Unit.KG,
    density_kg_per_l: Decimal | None = None,
    is_active: bool = True,
    highly_toxic: bool = False,
    explosive_precursor: bool = False,
    drug_precursor_category: int = 0,
    control_source: str = "",
) -> Material:
    """Add an entry to the catalogue. Checks that its classes fit together and that a volume
    unit comes with a density. Locks nothing (a new row); a CAS number added meanwhile is
    refused on ``cas``. One audit row, ``material.create``, with every field."""
    material = Material(
        name_zh=name_zh,
        name_en=name_en,
        cas=cas or None,  # no CAS is NULL, not "": the column is unique
        un_number=un_number,
        primary_class=primary_class,
        subsidiary_classes=list(subsidiary_classes or []),
        physical_state=physical_state,
        family=family,
        gb18218_threshold_t=gb18218_threshold_t,
        gb18218_category=gb18218_category,
        default_unit=default_unit,
        density_kg_per_l=density_kg_per_l,
        is_active=is_active,
        highly_toxic=highly_toxic,
        explosive_precursor=explosive_precursor,
        drug_precursor_category=drug_precursor_category,
        control_source=control_source,
    )
    _check_material(material)
    validate_row(material)
    _save_material(material)
    audit_record(
        actor=actor,
        action="material.create",
        target=material,
        changes=changes_between({}, snapshot(material, MATERIAL_FIELDS)),
    )
    return material


def _hazard_value(name: str, value: Any) -> Any:
    # The order of subsidiary classes decides nothing.
    return frozenset(value or []) if name == "subsidiary_classes" else value


@transaction.atomic
def material_update(*, actor: Scope, material: Material, **changes: Any) -> Material:
    """Change a catalogue entry (``MATERIAL_FIELDS``).

    Locks the material's row. Refuses to change what segregation reads (primary and
    subsidiary classes, family, physical state) while lots of the material hold stock:
    they were admitted to their zones, next to their neighbours, on the present values.
    A receipt that inserts a lot of the material waits for this lock (the lot's foreign
    key), and this service waits for a receipt that inserted one first, so the check sees
    every lot committed before the change. One audit row, ``material.update``, with the
    fields changed, and ``material.changed`` (neither when nothing was asked to change).
    """
    refuse_unchangeable(changes, MATERIAL_FIELDS)
    material = Material.objects.select_for_update().get(pk=material.pk)
    if "cas" in changes:
        changes["cas"] = changes["cas"] or None
    reclassified = [
        name
        for name in MATERIAL_HAZARD_FIELDS
        if name in changes
        and _hazard_value(name, changes[name]) != _hazard_value(name, getattr(material, name))
    ]
    if reclassified and StockLot.objects.filter(material_id=material.pk, on_hand_kg__gt=0).exists():
        raise DomainError(
            _(
                "Lots of this material hold stock, stored where its present hazards "
                "admitted them; this cannot change while they do."
            ),
            field=reclassified[0],
        )
    if not changes:
        return material
    before = snapshot(material, changes)
    for name, value in changes.items():
        setattr(material, name, value)
    _check_material(material)
    validate_row(material, changes)
    _save_material(material, update_fields=list(changes))
    audit_record(
        actor=actor,
        action="material.update",
        target=material,
        changes=changes_between(before, snapshot(material, changes)),
    )
    # What reads the catalogue follows: the GB 18218 figures of the warehouses holding it
    # (safety.handlers), the matches of the material (matching.handlers).
    event_emit(
        topic=MATERIAL_CHANGED,
        payload={"material_ids": [material.pk], "fields": sorted(changes)},
    )
    return material


def _save_warehouse(warehouse: Warehouse, *, update_fields: list[str] | None = None) -> None:
    save_unique(
        warehouse,
        clash=Warehouse.objects.filter(code=warehouse.code).exclude(pk=warehouse.pk),
        field="code",
        message=_("A warehouse with this code already exists."),
        update_fields=update_fields,
    )


@transaction.atomic
def warehouse_create(
    *,
    actor: Scope,
    park: Park,
    code: str,
    name: str,
    latitude: Decimal,
    longitude: Decimal,
    owner: Enterprise | None = None,
    address: str = "",
) -> Warehouse:
    """Open a warehouse: an enterprise's own, in the enterprise's park, or (no owner) a
    shared warehouse operated by the park. Locks nothing (a new row); a code taken
    meanwhile is refused on ``code``. One audit row, ``warehouse.create``, in the owner's
    trail (the park's, for a shared one)."""
    if owner is not None and owner.park_id != park.pk:
        raise DomainError(_("The owner is an enterprise of another park."), field="owner")
    warehouse = Warehouse(
        park=park,
        owner=owner,
        code=code,
        name=name,
        latitude=latitude,
        longitude=longitude,
        address=address,
    )
    validate_row(warehouse)
    _save_warehouse(warehouse)
    audit_record(
        actor=actor,
        action="warehouse.create",
        target=warehouse,
        changes=changes_between({}, snapshot(warehouse, WAREHOUSE_AUDIT_FIELDS)),
        enterprise=owner,
        park=park,
    )
    return warehouse


@transaction.atomic
def warehouse_update(*, actor: Scope, warehouse: Warehouse, **changes: Any) -> Warehouse:
    """Change a warehouse's code, name, place or address (``WAREHOUSE_FIELDS``); its park
    and owner are refused, naming them. Locks the warehouse's row (the lock inflows take)
    and writes only the changed columns; a code taken meanwhile is refused on ``code``.
    One audit row, ``warehouse.update``, with the fields changed."""
    refuse_unchangeable(changes, WAREHOUSE_FIELDS)
    warehouse = (
        Warehouse.objects.select_for_update(of=("self",))
        .select_related("park", "owner")
        .get(pk=warehouse.pk)
    )
    if not changes:
        return warehouse
    before = snapshot(warehouse, changes)
    for name, value in changes.items():
        setattr(warehouse, name, value)
    validate_row(warehouse, changes)
    _save_warehouse(warehouse, update_fields=list(changes))
    audit_record(
        actor=actor,
        action="warehouse.update",
        target=warehouse,
        changes=changes_between(before, snapshot(warehouse, changes)),
        enterprise=warehouse.owner,
        park=warehouse.park_id,
    )
    return warehouse


@transaction.atomic
def warehouse_delete(*, actor: Scope, warehouse: Warehouse) -> None:
    """Close a warehouse that never held stock, with its zones. Locks the warehouse's row
    (the lock inflows take), so no receipt lands meanwhile; a warehouse with lots (even
    empty ones: their ledger is history) is refused on ``warehouse``. One audit row,
    ``warehouse.delete``, with what the warehouse was and the zones that went with it."""
    _lock_warehouses(warehouse.pk)
    warehouse = Warehouse.objects.select_related("owner").get(pk=warehouse.pk)
    zones = sorted(warehouse.zones.values_list("code", flat=True))
    audit_record(
        actor=actor,
        action="warehouse.delete",
        target=warehouse,
        changes=changes_between(snapshot(warehouse, WAREHOUSE_AUDIT_FIELDS), {}),
        enterprise=warehouse.owner,
        park=warehouse.park_id,
        note=("zones: " + ", ".join(zones)) if zones else "",
    )
    delete_unreferenced(
        warehouse,
        field="warehouse",
        message=_("Warehouse %(warehouse)s has held stock; its ledger keeps it.")
        % {"warehouse": warehouse.code},
    )


def _check_zone(zone: StorageZone) -> None:
    if zone.capacity_kg is None or not 0 <= zone.capacity_kg <= MAX_QUANTITY_KG:
        raise DomainError(_("Must be between 0 and %s kg.") % MAX_QUANTITY_KG, field="capacity_kg")
    _check_class_list(zone.allowed_classes, field="allowed_classes")


def _save_zone(zone: StorageZone, *, update_fields: list[str] | None = None) -> None:
    save_unique(
        zone,
        clash=StorageZone.objects.filter(warehouse_id=zone.warehouse_id, code=zone.code).exclude(
            pk=zone.pk
        ),
        field="code",
        message=_("This warehouse already has a zone with this code."),
        update_fields=update_fields,
    )


def _emit_zone_changed(zone: StorageZone, fields: list[str]) -> None:
    """``zone.changed``: what the zone's warehouse could hold has changed (the GB 18218
    figures at capacity are recomputed from it, ``safety.handlers``)."""
    event_emit(
        topic=ZONE_CHANGED,
        payload={
            "zone_id": zone.pk,
            "warehouse_id": zone.warehouse_id,
            "park_id": zone.warehouse.park_id,
            "fields": sorted(fields),
        },
    )


@transaction.atomic
def zone_create(
    *,
    actor: Scope,
    warehouse: Warehouse,
    code: str,
    capacity_kg: Decimal,
    name: str = "",
    building: str = "A",
    allowed_classes: list[str] | None = None,
) -> StorageZone:
    """Add a zone to a warehouse. Locks nothing: an empty zone changes no admission or
    segregation decision already taken. A code the warehouse has, or gets meanwhile, is
    refused on ``code``. One audit row, ``zone.create``, with its capacity and licence, and
    ``zone.changed``."""
    zone = StorageZone(
        warehouse=warehouse,
        code=code,
        name=name,
        building=building,
        capacity_kg=capacity_kg,
        allowed_classes=list(allowed_classes or []),
    )
    _check_zone(zone)
    validate_row(zone)
    _save_zone(zone)
    audit_record(
        actor=actor,
        action="zone.create",
        target=zone,
        changes=changes_between({}, snapshot(zone, ZONE_AUDIT_FIELDS)),
        enterprise=warehouse.owner,
        park=warehouse.park_id,
    )
    _emit_zone_changed(zone, list(ZONE_AUDIT_FIELDS))
    return zone


def _check_zone_in_building(zone: StorageZone) -> None:
    """Raise unless what ``zone`` holds may stay in its (new) building, given what the
    warehouse's other zones hold: the rules of zone_check_admission, seen from the zone."""
    zones = {
        z.pk: z
        for z in StorageZone.objects.filter(warehouse_id=zone.warehouse_id).only(
            "pk", "code", "building"
        )
    }
    profiles = zone_hazard_profiles(zone_ids=list(zones))
    held = [profile for zone_id, profile in profiles if zone_id == zone.pk]
    for zone_id, present in profiles:
        if zone_id == zone.pk:
            continue
        other = zones[zone_id]
        allowed = allowed_separation(same_zone=False, same_building=other.building == zone.building)
        for mine in held:
            verdict = required_separation(mine, present)
            if verdict.separation > allowed:
                raise IncompatibleStorage(
                    _(
                        "%(material)s in this zone may not be stored in building "
                        "%(building)s: zone %(other)s holds %(present)s (%(rule)s)."
                    )
                    % {
                        "material": mine.label,
                        "building": zone.building,
                        "other": other.code,
                        "present": present.label,
                        "rule": verdict.rule,
                    },
                    field="building",
                )


@transaction.atomic
def zone_update(*, actor: Scope, zone: StorageZone, **changes: Any) -> StorageZone:
    """Change a zone's code, name, building, capacity or licence (``ZONE_FIELDS``).

    Locks the zone's warehouse, the lock every inflow into it takes, so that what the zone
    holds is stable while it is checked and no receipt or move is admitted on the old
    values meanwhile. Refuses a capacity below the stock on hand (``capacity_kg``), taking
    off the licence a class that a lot with stock in the zone has (``allowed_classes``),
    and a building where what the zone holds would break segregation (``building``).
    Writes only the changed columns; a code the warehouse has is refused on ``code``.
    One audit row, ``zone.update``, with the fields changed (capacity, licence, ...), and
    ``zone.changed`` if its capacity, licence or building changed.
    """
    refuse_unchangeable(changes, ZONE_FIELDS)
    _lock_warehouses(zone.warehouse_id)
    zone = StorageZone.objects.select_related("warehouse__owner").get(pk=zone.pk)
    before = {name: getattr(zone, name) for name in changes}
    for name, value in changes.items():
        setattr(zone, name, value)
    _check_zone(zone)
    validate_row(zone, changes)
    if "capacity_kg" in changes:
        occupied = Decimal(zone_occupancy_kg(zone_id=zone.pk))
        if zone.capacity_kg < occupied:
            raise CapacityExceeded(
                _("Zone %(zone)s holds %(occupied)s kg; its capacity cannot be less.")
                % {"zone": zone, "occupied": occupied},
                field="capacity_kg",
            )
    if "allowed_classes" in changes:
        removed = set(before["allowed_classes"] or []) - set(zone.allowed_classes)
        held = {
            c
            for _zone, profile in zone_hazard_profiles(zone_ids=[zone.pk])
            for c in profile.classes
        }
        in_use = sorted(removed & held)
        if in_use:
            raise IncompatibleStorage(
                _("Zone %(zone)s holds stock of class %(classes)s; its licence must keep it.")
                % {"zone": zone, "classes": ", ".join(in_use)},
                field="allowed_classes",
            )
    if "building" in changes and zone.building != before["building"]:
        _check_zone_in_building(zone)
    if changes:
        _save_zone(zone, update_fields=list(changes))
        audit_record(
            actor=actor,
            action="zone.update",
            target=zone,
            changes=changes_between(before, snapshot(zone, changes)),
            enterprise=zone.warehouse.owner,
            park=zone.warehouse.park_id,
        )
        held_at_capacity = sorted(set(changes) & {"capacity_kg", "allowed_classes", "building"})
        if held_at_capacity:
            _emit_zone_changed(zone, held_at_capacity)
    return zone


@transaction.atomic
def zone_delete(*, actor: Scope, zone: StorageZone) -> None:
    """Remove a zone that never held stock. Locks its warehouse (the lock inflows take);
    a zone with lots (even empty ones: their ledger is history) is refused on ``zone``.
    One audit row, ``zone.delete``, with what the zone was, and ``zone.changed``."""
    _lock_warehouses(zone.warehouse_id)
    zone = StorageZone.objects.select_related("warehouse__owner").get(pk=zone.pk)
    audit_record(
        actor=actor,
        action="zone.delete",
        target=zone,
        changes=changes_between(snapshot(zone, ZONE_AUDIT_FIELDS), {}),
        enterprise=zone.warehouse.owner,
        park=zone.warehouse.park_id,
    )
    _emit_zone_changed(zone, list(ZONE_AUDIT_FIELDS))
    delete_unreferenced(
        zone,
        field="zone",
        message=_("Zone %(zone)s has held stock; its ledger keeps it.") % {"zone": zone},
    )


@transaction.atomic
def lot_update_details(*, actor: Scope, lot: StockLot, **changes: Any) -> StockLot:
    """Correct a lot's batch details (``LOT_DETAIL_FIELDS``: batch number, purity, grade,
    production and expiry dates). Its quantities, zone, owner and material are refused:
    they change only through the stock services and the ledger.

    Locks the lot's row and writes only the changed columns, so a concurrent receipt,
    adjustment or move of the lot keeps its quantities. Keeps expiry on or after
    production. Emits ``stock.changed``, delivered after commit. One audit row,
    ``lot.update_details``, in the owner's trail, with the details changed.
    """
    refuse_unchangeable(changes, LOT_DETAIL_FIELDS)
    lot = StockLot.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lot.pk)
    if not changes:
        return lot
    before = snapshot(lot, changes)
    for name, value in changes.items():
        setattr(lot, name, value)
    if lot.produced_on and lot.expires_on and lot.expires_on < lot.produced_on:
        raise DomainError(_("Expiry is before production."), field="expires_on")
    if lot.purity_pct is not None and not 0 <= lot.purity_pct <= 100:
        raise DomainError(_("Must be between 0 and 100."), field="purity_pct")
    validate_row(lot, changes)
    lot.save(update_fields=[*changes, "updated_at"])
    _emit_stock_changed(lot)
    audit_record(
        actor=actor,
        action="lot.update_details",
        target=lot,
        changes=changes_between(before, snapshot(lot, changes)),
        enterprise=lot.owner,
    )
    return lot
