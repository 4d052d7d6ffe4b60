"""Every change of a lot's on-hand quantity: receipts, adjustments, moves, deliveries,
dispatches and ownership transfers, with the admission rules they share.

Each service runs in one transaction, changes quantities in the database (never
read-modify-write in Python), writes the ledger rows of the change, and emits a
``stock.changed`` outbox event delivered after commit. Each leaves one audit row in its
transaction (``lot.<verb>``), in the trail of the lot's owner, with the quantities before and
after; called from an order's step, it is one of the rows that step leaves.

Lock order, to stay free of deadlocks: warehouses by primary key, then reservations, then
lots by primary key. Inflows (a receipt, a positive adjustment, a move, a delivery, a
transfer into another zone) lock the receiving warehouse so that capacity and segregation
are checked against a stable picture of what it holds; outflows rely on a conditional
UPDATE whose row count says whether the stock was there. A reservation is consumed by a
conditional UPDATE (held → consumed) before its lot is touched, so a concurrent release,
expiry or second dispatch finds it closed.

Every lot and ledger row is checked by the models' own validators before it is written
(purity 0-100, lengths of batch, grade, reference and note, kilograms to the gram:
``common.validation``), in Python and without a query, so a command or an import is
refused like the API.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit
from common.exceptions import DomainError
from common.validation import validate_row, validate_values
from inventory.admission import admission_refusal
from inventory.exceptions import (
    CapacityExceeded,
    IncompatibleStorage,
    InsufficientStock,
    ReservationNotHeld,
    ZoneNotPermitted,
)
from inventory.models import (
    Material,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)
from inventory.selectors import zone_picture
from inventory.units import MAX_QUANTITY_KG
from parks.models import Enterprise

# What the audit row of a new lot shows: where it lies, whose it is, how much, which batch.
LOT_AUDIT_FIELDS = (
    "material",
    "owner",
    "zone",
    "on_hand_kg",
    "batch_no",
    "purity_pct",
    "grade",
    "produced_on",
    "expires_on",
)
# A lot's quantities, before and after a change of stock.
LOT_QUANTITY_FIELDS = ("on_hand_kg", "reserved_kg")


def _positive(quantity_kg: Decimal, *, field: str = "quantity") -> Decimal:
    if quantity_kg <= 0:
        raise DomainError(_("Must be greater than zero."), field=field)
    if quantity_kg > MAX_QUANTITY_KG:
        raise DomainError(_("Must not exceed %s kg.") % MAX_QUANTITY_KG, field=field)
    return quantity_kg


def _lock_warehouses(*warehouse_ids: int) -> None:
    list(
        Warehouse.objects.select_for_update()
        .filter(pk__in=sorted(set(warehouse_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def zone_may_store_for(*, zone: StorageZone, owner: Enterprise) -> bool:
    """An enterprise stores in its own warehouses and in its park's shared ones."""
    wh = zone.warehouse
    if wh.owner_id is not None:
        return wh.owner_id == owner.pk
    return wh.park_id == owner.park_id


def zone_check_admission(*, zone: StorageZone, material: Material, quantity_kg: Decimal) -> None:
    """Raise unless ``quantity_kg`` of ``material`` may be added to ``zone`` now: the one
    admission rule of ``inventory.admission`` (licence, free capacity, segregation against
    the zone, its building and its warehouse). The caller holds the warehouse lock; the
    zone's licence and capacity are read again under it, since ``zone_update`` changes them
    under the same lock."""
    refusal = admission_refusal(
        picture=zone_picture(zone=zone), incoming=material.hazard_profile, quantity_kg=quantity_kg
    )
    if refusal is None:
        return
    if refusal.check == "capacity":
        raise CapacityExceeded(refusal.message)
    raise IncompatibleStorage(refusal.message)


def _ledger(
    *,
    lot: StockLot,
    quantity_kg: Decimal,
    kind: str,
    actor: Scope,
    reference: str = "",
    note: str = "",
) -> StockMovement:
    validate_values(
        StockMovement, quantity_kg=quantity_kg, kind=kind, reference=reference, note=note
    )
    return StockMovement.objects.create(
        lot=lot,
        quantity_kg=quantity_kg,
        kind=kind,
        actor=actor.user,
        reference=reference,
        note=note,
    )


def _new_lot(**values: Any) -> StockLot:
    """Insert a lot of ``values`` (its quantity is set by the caller and the ledger)."""
    lot = StockLot(**values)
    validate_row(lot)
    lot.save()
    return lot


def _emit_stock_changed(*lots: StockLot) -> None:
    event_emit(
        topic="stock.changed",
        payload={
            "lot_ids": [lot.pk for lot in lots],
            "material_ids": sorted({lot.material_id for lot in lots}),
        },
    )


@transaction.atomic
def stock_receive(
    *,
    actor: Scope,
    owner: Enterprise,
    material: Material,
    zone: StorageZone,
    quantity_kg: Decimal,
    batch_no: str = "",
    purity_pct: Decimal | None = None,
    grade: str = "",
    produced_on: date | None = None,
    expires_on: date | None = None,
    reference: str = "",
    note: str = "",
) -> StockLot:
    """Receive stock into a new lot. Locks the zone's warehouse; writes a receipt and one
    audit row, ``lot.receive``."""
    _positive(quantity_kg)
    if not zone_may_store_for(zone=zone, owner=owner):
        raise ZoneNotPermitted(_("This enterprise may not store in zone %s.") % zone)
    if produced_on and expires_on and expires_on < produced_on:
        raise DomainError(_("Expiry is before production."), field="expires_on")
    lot = StockLot(
        material=material,
        owner=owner,
        zone=zone,
        on_hand_kg=quantity_kg,
        batch_no=batch_no,
        purity_pct=purity_pct,
        grade=grade,
        produced_on=produced_on,
        expires_on=expires_on,
    )
    # Before any lock or write: the lot's details and the receipt's texts.
    validate_row(lot)
    validate_values(StockMovement, reference=reference, note=note)
    _lock_warehouses(zone.warehouse_id)
    zone_check_admission(zone=zone, material=material, quantity_kg=quantity_kg)
    lot.save()
    _ledger(
        lot=lot,
        quantity_kg=quantity_kg,
        kind=MovementKind.RECEIPT,
        actor=actor,
        reference=reference,
        note=note,
    )
    _emit_stock_changed(lot)
    audit_record(
        actor=actor,
        action="lot.receive",
        target=lot,
        changes=changes_between({}, snapshot(lot, LOT_AUDIT_FIELDS)),
        enterprise=owner,
        note=reference,
    )
    return lot


@transaction.atomic
def stock_adjust(*, actor: Scope, lot: StockLot, delta_kg: Decimal, note: str = "") -> StockLot:
    """Correct a lot's on-hand quantity by ``delta_kg`` (a count, a spill, a sample).

    A decrease never takes the lot below what is reserved; an increase locks the warehouse
    and checks the zone's capacity. Writes an adjustment and one audit row, ``lot.adjust``,
    with the quantity on hand before and after.
    """
    if delta_kg == 0:
        raise DomainError(_("Must not be zero."), field="delta")
    if abs(delta_kg) > MAX_QUANTITY_KG:
        raise DomainError(_("Must not exceed %s kg.") % MAX_QUANTITY_KG, field="delta")
    validate_values(StockMovement, quantity_kg=delta_kg, note=note)
    if delta_kg > 0:
        zone = lot.zone
        _lock_warehouses(zone.warehouse_id)
        zone_check_admission(zone=zone, material=lot.material, quantity_kg=delta_kg)
    updated = StockLot.objects.filter(
        pk=lot.pk, on_hand_kg__gte=F("reserved_kg") - delta_kg
    ).update(on_hand_kg=F("on_hand_kg") + delta_kg)
    if not updated:
        raise InsufficientStock(
            _("Lot %(lot)s has less unreserved stock than %(qty)s kg.")
            % {"lot": lot.pk, "qty": -delta_kg},
            field="delta",
        )
    _ledger(lot=lot, quantity_kg=delta_kg, kind=MovementKind.ADJUSTMENT, actor=actor, note=note)
    lot.refresh_from_db()
    _emit_stock_changed(lot)
    # The UPDATE holds the lot's row: what it held before is what it holds now less delta.
    audit_record(
        actor=actor,
        action="lot.adjust",
        target=lot,
        changes=changes_between(
            {"on_hand_kg": lot.on_hand_kg - delta_kg}, {"on_hand_kg": lot.on_hand_kg}
        ),
        enterprise=lot.owner,
        note=note,
    )
    return lot


@transaction.atomic
def stock_move(
    *, actor: Scope, lot: StockLot, to_zone: StorageZone, quantity_kg: Decimal, note: str = ""
) -> StockLot:
    """Move unreserved stock of a lot to another zone, into a lot of the same batch there.

    Locks both warehouses (in key order), checks the target zone's licence, capacity and
    segregation, takes the quantity off the source with a conditional update and writes a
    move-out and a move-in. One audit row, ``lot.move``, on the source lot: its quantity on
    hand before and after, and the target lot's (``to_lot``, ``to_lot_on_hand_kg``).
    Returns the target lot.
    """
    _positive(quantity_kg)
    if to_zone.pk == lot.zone_id:
        raise DomainError(_("The lot is already in this zone."), field="to_zone")
    validate_values(StockMovement, quantity_kg=quantity_kg, note=note)
    if not zone_may_store_for(zone=to_zone, owner=lot.owner):
        raise ZoneNotPermitted(
            _("This enterprise may not store in zone %s.") % to_zone, field="to_zone"
        )
    _lock_warehouses(lot.zone.warehouse_id, to_zone.warehouse_id)
    try:
        zone_check_admission(zone=to_zone, material=lot.material, quantity_kg=quantity_kg)
    except DomainError as exc:
        exc.field = "to_zone"
        raise
    taken = StockLot.objects.filter(
        pk=lot.pk, on_hand_kg__gte=F("reserved_kg") + quantity_kg
    ).update(on_hand_kg=F("on_hand_kg") - quantity_kg)
    if not taken:
        raise InsufficientStock(
            _("Lot %(lot)s has less unreserved stock than %(qty)s kg.")
            % {"lot": lot.pk, "qty": quantity_kg}
        )
    same_batch = {
        "material_id": lot.material_id,
        "owner_id": lot.owner_id,
        "zone": to_zone,
        "batch_no": lot.batch_no,
        "purity_pct": lot.purity_pct,
        "grade": lot.grade,
        "produced_on": lot.produced_on,
        "expires_on": lot.expires_on,
    }
    target = StockLot.objects.filter(**same_batch).order_by("pk").first()
    if target is None:
        target = _new_lot(**same_batch)
    StockLot.objects.filter(pk=target.pk).update(on_hand_kg=F("on_hand_kg") + quantity_kg)
    reference = f"move:{lot.pk}->{target.pk}"
    _ledger(
        lot=lot,
        quantity_kg=-quantity_kg,
        kind=MovementKind.MOVE_OUT,
        actor=actor,
        reference=reference,
        note=note,
    )
    _ledger(
        lot=target,
        quantity_kg=quantity_kg,
        kind=MovementKind.MOVE_IN,
        actor=actor,
        reference=reference,
        note=note,
    )
    lot.refresh_from_db()
    target.refresh_from_db()
    _emit_stock_changed(lot, target)
    audit_record(
        actor=actor,
        action="lot.move",
        target=lot,
        changes={
            "on_hand_kg": [lot.on_hand_kg + quantity_kg, lot.on_hand_kg],
            "to_lot": [None, target.pk],
            "to_lot_on_hand_kg": [target.on_hand_kg - quantity_kg, target.on_hand_kg],
        },
        enterprise=lot.owner,
        note=note,
    )
    return target


# --- Reservations consumed: dispatch and transfer; deliveries -----------------------------


def _batch_of(lot: StockLot | None) -> dict[str, Any]:
    """The batch details a lot made from ``lot`` inherits (none without one)."""
    if lot is None:
        return {}
    return {
        "batch_no": lot.batch_no,
        "purity_pct": lot.purity_pct,
        "grade": lot.grade,
        "produced_on": lot.produced_on,
        "expires_on": lot.expires_on,
    }


def _not_held(reservation: Reservation) -> ReservationNotHeld:
    status = Reservation.objects.filter(pk=reservation.pk).values_list("status", flat=True).first()
    return ReservationNotHeld(
        _("Reservation %(id)s is %(status)s, no longer held.")
        % {"id": reservation.pk, "status": status or _("gone")}
    )


def _quantities_changed(lot: StockLot, *, taken_kg: Decimal, on_hand_too: bool) -> dict[str, Any]:
    """The audit ``changes`` of ``lot`` (as it is now) after ``taken_kg`` left its reserved
    stock (and its stock on hand too): the conditional UPDATE that took it holds the lot's
    row, so what it held before is what it holds now plus that."""
    after = snapshot(lot, LOT_QUANTITY_FIELDS)
    before = {
        "on_hand_kg": lot.on_hand_kg + taken_kg if on_hand_too else lot.on_hand_kg,
        "reserved_kg": lot.reserved_kg + taken_kg,
    }
    return changes_between(before, after)


def _close_held(reservation: Reservation, *, status: str, reason: str) -> None:
    """Close a held reservation: one conditional UPDATE, which takes the reservation's row
    lock. Raises ReservationNotHeld (409 on ``status``) if it was closed meanwhile; a
    transaction holding the row (the sweep, a release) is waited for first."""
    closed = Reservation.objects.filter(pk=reservation.pk, status=ReservationStatus.HELD).update(
        status=status, closed_at=timezone.now(), close_reason=reason
    )
    if not closed:
        raise _not_held(reservation)


def _unreserve(*, lot_id: int, quantity_kg: Decimal, on_hand_too: bool) -> None:
    """Take ``quantity_kg`` off a lot's reserved stock (and its stock on hand, for goods
    leaving it) with one conditional UPDATE. The reservation was held, so the lot's reserved
    stock covers it; if not, the ledger is broken and the transaction is refused."""
    changes: dict[str, Any] = {"reserved_kg": F("reserved_kg") - quantity_kg}
    if on_hand_too:
        changes["on_hand_kg"] = F("on_hand_kg") - quantity_kg
    updated = StockLot.objects.filter(
        pk=lot_id, reserved_kg__gte=quantity_kg, on_hand_kg__gte=quantity_kg
    ).update(**changes)
    if not updated:
        raise InsufficientStock(
            _(
                "Lot %(lot)s holds less reserved stock than %(qty)s kg: its ledger disagrees "
                "with its reservations (see manage.py ledger_check)."
            )
            % {"lot": lot_id, "qty": quantity_kg}
        )


@transaction.atomic
def stock_dispatch(*, actor: Scope, reservation: Reservation) -> StockMovement:
    """Ship a held reservation's goods: the reservation is consumed and its quantity leaves
    the lot, on hand and reserved alike.

    Locks the reservation's row (held → consumed, conditionally: a concurrent release,
    expiry or dispatch of it makes this a 409 on ``status``), then the lot's (one
    conditional UPDATE). Writes a dispatch of −quantity with the reservation's reference.
    After commit: ``stock.changed``. ``reservation`` is refreshed in place. One audit row,
    ``lot.dispatch``, on the lot: its quantities on hand and reserved before and after.
    """
    _close_held(reservation, status=ReservationStatus.CONSUMED, reason="dispatched")
    _unreserve(lot_id=reservation.lot_id, quantity_kg=reservation.quantity_kg, on_hand_too=True)
    lot = StockLot.objects.select_related("owner").get(pk=reservation.lot_id)
    movement = _ledger(
        lot=lot,
        quantity_kg=-reservation.quantity_kg,
        kind=MovementKind.DISPATCH,
        actor=actor,
        reference=reservation.reference,
        note=f"reservation #{reservation.pk}",
    )
    _emit_stock_changed(lot)
    audit_record(
        actor=actor,
        action="lot.dispatch",
        target=lot,
        changes=_quantities_changed(lot, taken_kg=reservation.quantity_kg, on_hand_too=True),
        enterprise=lot.owner,
        note=f"reservation #{reservation.pk} {reservation.reference}".strip(),
    )
    reservation.refresh_from_db()
    return movement


@transaction.atomic
def stock_deliver(
    *,
    actor: Scope,
    owner: Enterprise,
    material: Material,
    zone: StorageZone,
    quantity_kg: Decimal,
    source_lot: StockLot | None = None,
    reference: str = "",
) -> StockLot:
    """Goods arriving for ``owner`` (bought elsewhere, dispatched from ``source_lot``) into a
    new lot in ``zone``: the checks of a receipt (the owner may store there; the zone's
    licence, capacity and segregation), a delivery in the ledger. Batch number, purity,
    grade, production and expiry dates are those of ``source_lot`` when given.

    Locks the zone's warehouse. After commit: ``stock.changed``. One audit row,
    ``lot.deliver``, in the new owner's trail.
    """
    _positive(quantity_kg)
    if source_lot is not None and source_lot.material_id != material.pk:
        raise DomainError(_("The source lot holds another material."), field="source_lot")
    if not zone_may_store_for(zone=zone, owner=owner):
        raise ZoneNotPermitted(_("This enterprise may not store in zone %s.") % zone)
    _lock_warehouses(zone.warehouse_id)
    zone_check_admission(zone=zone, material=material, quantity_kg=quantity_kg)
    lot = _new_lot(
        material=material, owner=owner, zone=zone, on_hand_kg=quantity_kg, **_batch_of(source_lot)
    )
    _ledger(
        lot=lot,
        quantity_kg=quantity_kg,
        kind=MovementKind.DELIVERY,
        actor=actor,
        reference=reference,
        note=f"from lot #{source_lot.pk}" if source_lot is not None else "",
    )
    _emit_stock_changed(lot)
    audit_record(
        actor=actor,
        action="lot.deliver",
        target=lot,
        changes=changes_between({}, snapshot(lot, LOT_AUDIT_FIELDS)),
        enterprise=owner,
        note=f"from lot #{source_lot.pk}" if source_lot is not None else reference,
    )
    return lot


@transaction.atomic
def stock_transfer(
    *,
    actor: Scope,
    reservation: Reservation,
    new_owner: Enterprise,
    zone: StorageZone | None = None,
) -> StockLot:
    """Change the owner of a held reservation's goods without their leaving the shared
    (park-operated) warehouse they lie in: the reservation is consumed, its quantity leaves
    the seller's lot (a transfer out) and makes a new lot of ``new_owner`` (a transfer in,
    same batch details) in ``zone``: by default the source lot's zone, where capacity does
    not change; another zone must be of the same warehouse and admit the goods (licence,
    capacity, segregation). Refused on ``zone``: a warehouse an enterprise owns, a zone of
    another warehouse, a new owner who may not store there.

    Locks the warehouse, then the reservation (held → consumed; a 409 on ``status`` if it
    was closed meanwhile), then the source lot. After commit: ``stock.changed`` for both
    lots. ``reservation`` is refreshed in place. Returns the new lot. One audit row,
    ``lot.transfer``, on the source lot in its owner's trail: its quantities before and
    after, the new lot (``to_lot``) and its owner (``to_owner``).
    """
    source = StockLot.objects.select_related("zone__warehouse", "material", "owner").get(
        pk=reservation.lot_id
    )
    warehouse = source.zone.warehouse
    target_zone = zone if zone is not None else source.zone
    if not warehouse.is_shared:
        raise DomainError(
            _(
                "Goods change owner in place only in a park's shared warehouse; "
                "warehouse %s belongs to an enterprise."
            )
            % warehouse.code,
            field="zone",
        )
    if target_zone.warehouse_id != warehouse.pk:
        raise DomainError(
            _("Zone %(zone)s is not in warehouse %(warehouse)s, where the goods lie.")
            % {"zone": target_zone, "warehouse": warehouse.code},
            field="zone",
        )
    if new_owner.pk == source.owner_id:
        raise DomainError(_("The goods already belong to this enterprise."), field="new_owner")
    if not zone_may_store_for(zone=target_zone, owner=new_owner):
        raise ZoneNotPermitted(_("This enterprise may not store in zone %s.") % target_zone)
    quantity_kg = reservation.quantity_kg
    _lock_warehouses(warehouse.pk)
    if target_zone.pk != source.zone_id:
        zone_check_admission(zone=target_zone, material=source.material, quantity_kg=quantity_kg)
    _close_held(reservation, status=ReservationStatus.CONSUMED, reason="transferred")
    _unreserve(lot_id=source.pk, quantity_kg=quantity_kg, on_hand_too=True)
    target = _new_lot(
        material_id=source.material_id,
        owner=new_owner,
        zone=target_zone,
        on_hand_kg=quantity_kg,
        **_batch_of(source),
    )
    reference = reservation.reference or f"transfer:{source.pk}->{target.pk}"
    _ledger(
        lot=source,
        quantity_kg=-quantity_kg,
        kind=MovementKind.TRANSFER_OUT,
        actor=actor,
        reference=reference,
        note=f"reservation #{reservation.pk} to lot #{target.pk}",
    )
    _ledger(
        lot=target,
        quantity_kg=quantity_kg,
        kind=MovementKind.TRANSFER_IN,
        actor=actor,
        reference=reference,
        note=f"reservation #{reservation.pk} from lot #{source.pk}",
    )
    source.refresh_from_db()
    _emit_stock_changed(source, target)
    audit_record(
        actor=actor,
        action="lot.transfer",
        target=source,
        changes={
            **_quantities_changed(source, taken_kg=quantity_kg, on_hand_too=True),
            "to_lot": [None, target.pk],
            "to_owner": [None, new_owner.pk],
        },
        enterprise=source.owner,
        note=f"reservation #{reservation.pk} {reservation.reference}".strip(),
    )
    reservation.refresh_from_db()
    return target


@transaction.atomic
def stock_hand_over(
    *,
    actor: Scope,
    lot: StockLot,
    new_owner: Enterprise,
    quantity_kg: Decimal,
    reference: str = "",
) -> StockLot:
    """Hand ``quantity_kg`` of a lot's free stock to ``new_owner`` where it lies, in a
    park's shared warehouse (a joint stockpile's contributions and draws): the goods do
    not move, their owner changes. ``stock_transfer`` without a reservation first; one lot
    of ``stock_hand_over_many``, which says what is written and locked."""
    source = StockLot.objects.select_related("zone__warehouse").get(pk=lot.pk)
    (target,) = stock_hand_over_many(
        actor=actor, takes=[(source, quantity_kg)], new_owner=new_owner, reference=reference
    )
    return target


_TAKE_FREE_SQL = (
    "UPDATE {table} SET on_hand_kg = on_hand_kg - %s "
    "WHERE id = %s AND on_hand_kg >= reserved_kg + %s RETURNING on_hand_kg"
)


@transaction.atomic(savepoint=False)
def stock_hand_over_many(
    *,
    actor: Scope,
    takes: list[tuple[StockLot, Decimal]],
    new_owner: Enterprise,
    reference: str = "",
    before_taking: Callable[[list[StockLot]], None] | None = None,
) -> list[StockLot]:
    """Hand ``quantity`` of each lot's free stock to ``new_owner`` where it lies, in a
    park's shared warehouse: for each (lot, quantity) of ``takes`` (lots loaded with
    ``zone__warehouse``; their batch, zone and owner are read, never their quantities), a
    new lot of ``new_owner`` in the same zone with the same batch details receives it. The
    zone's occupancy does not change, so neither admission nor the warehouse's lock is
    asked again.

    The new lots, the two ledger rows of each hand-over (transfer out and in) and the
    ``stock.changed`` event are written first (three INSERTs in all), and
    ``before_taking(new_lots)`` is called (the caller's own rows naming them); then one
    conditional UPDATE per lot takes the quantity where its free stock (on hand, less
    reserved) covers it, returning what is left: the lot's row is held from there to
    commit only, so that draws of one pool proceed side by side up to that point. A lot
    short of free stock raises InsufficientStock (a 409 on ``quantity``): the caller's
    transaction (or savepoint) is rolled back, nothing of this call stays. Then one audit
    row per lot, ``lot.transfer``, in its owner's trail, with its quantities before and
    after.

    No savepoint of its own: a caller that wants to go on after an InsufficientStock holds
    one around the call."""
    if not takes:
        return []
    warehouse_of = {}
    for source, quantity in takes:
        _positive(quantity)
        warehouse = warehouse_of[source.pk] = source.zone.warehouse
        if not warehouse.is_shared:
            raise DomainError(
                _(
                    "Goods change owner in place only in a park's shared warehouse; "
                    "warehouse %s belongs to an enterprise."
                )
                % warehouse.code,
                field="lot",
            )
        if new_owner.pk == source.owner_id:
            raise DomainError(_("The goods already belong to this enterprise."), field="new_owner")
        if not zone_may_store_for(zone=source.zone, owner=new_owner):
            raise ZoneNotPermitted(_("This enterprise may not store in zone %s.") % source.zone)
    targets = [
        StockLot(
            material_id=source.material_id,
            owner=new_owner,
            zone=source.zone,
            on_hand_kg=quantity,
            **_batch_of(source),
        )
        for source, quantity in takes
    ]
    for target in targets:
        validate_row(target)
    StockLot.objects.bulk_create(targets)
    references = [
        reference or f"hand-over:{source.pk}->{target.pk}"
        for (source, _quantity), target in zip(takes, targets, strict=True)
    ]
    movements = []
    for (source, quantity), target, ref in zip(takes, targets, references, strict=True):
        movements += [
            StockMovement(
                lot=source,
                quantity_kg=-quantity,
                kind=MovementKind.TRANSFER_OUT,
                actor=actor.user,
                reference=ref,
                note=f"to lot #{target.pk}",
            ),
            StockMovement(
                lot=target,
                quantity_kg=quantity,
                kind=MovementKind.TRANSFER_IN,
                actor=actor.user,
                reference=ref,
                note=f"from lot #{source.pk}",
            ),
        ]
    for movement in movements:
        validate_values(
            StockMovement,
            quantity_kg=movement.quantity_kg,
            kind=movement.kind,
            reference=movement.reference,
            note=movement.note,
        )
    StockMovement.objects.bulk_create(movements)
    _emit_stock_changed(*(source for source, _q in takes), *targets)
    if before_taking is not None:
        before_taking(targets)
    sql = _TAKE_FREE_SQL.format(table=connection.ops.quote_name(StockLot._meta.db_table))
    left: list[Decimal] = []
    with connection.cursor() as cursor:
        for source, quantity in takes:
            cursor.execute(sql, [quantity, source.pk, quantity])
            row = cursor.fetchone()
            if row is None:
                raise InsufficientStock(
                    _("Lot %(lot)s has less than %(quantity)s kg free.")
                    % {"lot": source.pk, "quantity": quantity}
                )
            left.append(Decimal(str(row[0])).quantize(Decimal("0.001")))
    for (source, quantity), target, ref, after in zip(
        takes, targets, references, left, strict=True
    ):
        source.on_hand_kg = after
        audit_record(
            actor=actor,
            action="lot.transfer",
            target=source,
            changes={
                **changes_between({"on_hand_kg": after + quantity}, {"on_hand_kg": after}),
                "to_lot": [None, target.pk],
                "to_owner": [None, new_owner.pk],
            },
            enterprise=source.owner_id,
            # The lot's park: a shared warehouse holds its own park's enterprises' stock
            # only (zone_may_store_for), so no query for the owner's park.
            park=warehouse_of[source.pk].park_id,
            note=ref,
        )
    return targets
