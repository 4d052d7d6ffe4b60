"""Reservations: stock of a lot held for an enterprise (the buyer of an order) until it is
released, expires, or is consumed by a dispatch or an ownership transfer
(inventory.services.stock).

A held reservation's quantity is part of its lot's ``reserved_kg``: every service here
changes both in one transaction, the lot with a conditional UPDATE (never read-modify-write
in Python), so ``reserved_kg`` equals the sum of the lot's held reservations and never
exceeds what is on hand. Lock order, as in inventory.services.stock: reservations, then
lots by primary key. Whenever ``reserved_kg`` changes, a ``stock.changed`` outbox event is
written in the transaction and delivered after commit.

Each service leaves one audit row (``reservation.<verb>``) in the trail of the lot's owner,
whose stock is held; the expiry sweep one per reservation it expires, by the system
(``access.scope.SYSTEM``: no user).

A new reservation is checked by the model's own validators (kilograms to the gram, the
reference's length: ``common.validation``) before the lot is touched.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import SYSTEM, Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import decimal_text, event_emit
from common.exceptions import DomainError
from common.validation import validate_values
from inventory.exceptions import InsufficientStock
from inventory.models import Reservation, ReservationStatus, StockLot
from inventory.services.stock import (
    _close_held,
    _emit_stock_changed,
    _not_held,
    _positive,
    _unreserve,
)
from parks.models import Enterprise

REFERENCE_MAX_LENGTH = 64
REASON_MAX_LENGTH = 255
# What the audit row of a new reservation shows.
RESERVATION_AUDIT_FIELDS = ("lot", "holder", "quantity_kg", "status", "expires_at", "reference")


def _check_expiry(expires_at: datetime | None, *, now: datetime | None = None) -> None:
    if expires_at is None:
        return
    if timezone.is_naive(expires_at):
        raise DomainError(_("A time with its time zone is expected."), field="expires_at")
    if expires_at <= (now or timezone.now()):
        raise DomainError(_("Must be in the future."), field="expires_at")


def _check_length(value: str, *, limit: int, field: str) -> None:
    if len(value) > limit:
        raise DomainError(_("At most %d characters.") % limit, field=field)


@transaction.atomic
def stock_reserve(
    *,
    actor: Scope,
    lot: StockLot,
    holder: Enterprise,
    quantity_kg: Decimal,
    expires_at: datetime | None,
    reference: str = "",
) -> Reservation:
    """Hold ``quantity_kg`` of the lot's unreserved stock for ``holder`` until
    ``expires_at`` (None: until dispatch).

    One conditional UPDATE raises the lot's ``reserved_kg`` only where the stock on hand
    covers it (InsufficientStock, a 409 on ``quantity``, otherwise); it holds the lot's row
    lock to commit, so concurrent reservations of a lot never hold more than it has. Then
    the reservation row is written. After commit: ``stock.changed``. One audit row,
    ``reservation.create``, with the quantity held, the holder and the expiry.
    """
    _positive(quantity_kg)
    _check_expiry(expires_at)
    _check_length(reference, limit=REFERENCE_MAX_LENGTH, field="reference")
    validate_values(
        Reservation, quantity_kg=quantity_kg, expires_at=expires_at, reference=reference
    )
    taken = StockLot.objects.filter(
        pk=lot.pk, on_hand_kg__gte=F("reserved_kg") + quantity_kg
    ).update(reserved_kg=F("reserved_kg") + quantity_kg)
    if not taken:
        raise InsufficientStock(
            _("Lot %(lot)s has less unreserved stock than %(qty)s kg.")
            % {"lot": lot.pk, "qty": quantity_kg}
        )
    reservation = Reservation.objects.create(
        lot=lot,
        holder=holder,
        quantity_kg=quantity_kg,
        expires_at=expires_at,
        reference=reference,
        created_by=actor.user,
    )
    _emit_stock_changed(lot)
    audit_record(
        actor=actor,
        action="reservation.create",
        target=reservation,
        changes=changes_between({}, snapshot(reservation, RESERVATION_AUDIT_FIELDS)),
        enterprise=lot.owner_id,
    )
    return reservation


@transaction.atomic
def reservation_release(*, actor: Scope, reservation: Reservation, reason: str = "") -> Reservation:
    """Give a held reservation's quantity back to the lot's unreserved stock.

    Locks the reservation's row (held → released, conditionally: releasing it twice, or
    after it expired or was consumed, is ReservationNotHeld, a 409 on ``status``), then the
    lot's (``reserved_kg`` −= quantity). After commit: ``stock.changed``. Returns the
    reservation as stored. One audit row, ``reservation.release``: the status and the
    reason.
    """
    _check_length(reason, limit=REASON_MAX_LENGTH, field="reason")
    validate_values(Reservation, close_reason=reason)
    _close_held(reservation, status=ReservationStatus.RELEASED, reason=reason or "released")
    _unreserve(lot_id=reservation.lot_id, quantity_kg=reservation.quantity_kg, on_hand_too=False)
    lot = StockLot.objects.select_related("owner").get(pk=reservation.lot_id)
    _emit_stock_changed(lot)
    reservation.refresh_from_db()
    audit_record(
        actor=actor,
        action="reservation.release",
        target=reservation,
        changes=changes_between(
            {"status": ReservationStatus.HELD, "close_reason": ""},
            snapshot(reservation, ("status", "close_reason")),
        ),
        enterprise=lot.owner,
    )
    return reservation


@transaction.atomic
def reservation_hold(
    *, actor: Scope, reservation: Reservation, expires_at: datetime | None
) -> Reservation:
    """Change how long a held reservation lasts (None: until dispatch, as when its order is
    confirmed). No quantity changes, so no event.

    The reservation's row is locked if it is held (read with its expiry and the lot's
    owner), then its expiry changed. If the expiry sweep has locked the row first, this
    waits for it and then finds the reservation expired (ReservationNotHeld, a 409 on
    ``status``); if this comes first, the sweep skips the locked row, and after commit no
    longer finds it due. One audit row, ``reservation.hold``, with the expiry before and
    after (the one before read under the row lock).
    """
    _check_expiry(expires_at)
    validate_values(Reservation, expires_at=expires_at)
    held = (
        Reservation.objects.select_for_update(of=("self",))
        .filter(pk=reservation.pk, status=ReservationStatus.HELD)
        .values_list("expires_at", "lot__owner_id")
        .first()
    )
    if held is None:
        raise _not_held(reservation)
    expires_before, owner_id = held
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=expires_at)
    reservation.status, reservation.expires_at = ReservationStatus.HELD, expires_at
    audit_record(
        actor=actor,
        action="reservation.hold",
        target=reservation,
        changes=changes_between(
            {"expires_at": expires_before},
            {"expires_at": reservation.expires_at},
        ),
        enterprise=owner_id,
    )
    return reservation


@transaction.atomic
def reservations_expire_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Expire held reservations whose ``expires_at`` is before ``now``, at most ``limit``
    of them (oldest first); returns their ids.

    Locks the due reservations' rows with SKIP LOCKED: a row that another transaction
    holds (a confirmation extending it, a release, a dispatch) is left for that
    transaction, never waited for or fought over. Then each lot's ``reserved_kg`` drops by
    its expired quantity, lot by lot in key order. Writes, in the transaction, one
    ``stock.changed`` for the lots and one ``reservation.expired`` per reservation
    (``reservation_id``, ``reference``, ``material_ids``, ``owner_id`` of the lot,
    ``holder_id``, ``quantity_kg``: the orders app expires the order);
    all are delivered after commit. One audit row per reservation, ``reservation.expire``,
    by the system (no user; ``via`` says whether a task or a command ran the sweep).
    """
    now = now or timezone.now()
    due = list(
        Reservation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=ReservationStatus.HELD, expires_at__lt=now)
        .order_by("pk")
        .values_list(
            "pk",
            "lot_id",
            "quantity_kg",
            "reference",
            "lot__material_id",
            "lot__owner_id",
            "holder_id",
        )[:limit]
    )
    if not due:
        return []
    ids = [pk for pk, *_rest in due]
    Reservation.objects.filter(pk__in=ids).update(
        status=ReservationStatus.EXPIRED, closed_at=timezone.now(), close_reason="expired"
    )
    per_lot: dict[int, Decimal] = defaultdict(Decimal)
    for _pk, lot_id, quantity_kg, *_rest in due:
        per_lot[lot_id] += quantity_kg
    for lot_id in sorted(per_lot):
        _unreserve(lot_id=lot_id, quantity_kg=per_lot[lot_id], on_hand_too=False)
    event_emit(
        topic="stock.changed",
        payload={
            "lot_ids": sorted(per_lot),
            "material_ids": sorted({row[4] for row in due}),
        },
    )
    for pk, _lot_id, quantity_kg, reference, material_id, owner_id, holder_id in due:
        event_emit(
            topic="reservation.expired",
            payload={
                "reservation_id": pk,
                "reference": reference,
                "material_ids": [material_id],
                "owner_id": owner_id,
                "holder_id": holder_id,
                "quantity_kg": decimal_text(quantity_kg, 3),
            },
        )
    for reservation in Reservation.objects.filter(pk__in=ids).select_related("lot__owner"):
        audit_record(
            actor=SYSTEM,
            action="reservation.expire",
            target=reservation,
            changes=changes_between(
                {"status": ReservationStatus.HELD}, {"status": reservation.status}
            ),
            enterprise=reservation.lot.owner,
        )
    return ids


@transaction.atomic
def reservations_warn_expiring(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Announce the held reservations that run out within
    ``RESERVATION_EXPIRY_WARNING_MINUTES`` of ``now`` (and not before it: those are the
    expiry sweep's), each once, at most ``limit`` of them (soonest first); returns how many.

    Locks the candidates' rows with SKIP LOCKED (a row another transaction holds is left
    for the next sweep), then marks them warned (``expiry_warned_at``) by one conditional
    UPDATE on still held and not yet warned: two sweeps never warn of one reservation twice.
    Writes one ``reservation.expiring`` per reservation warned of (``reservation_id``,
    ``reference``, ``material_ids``, ``owner_id`` of the lot, ``holder_id``,
    ``quantity_kg``, ``expires_at``), delivered after commit. One audit row per
    reservation, ``reservation.warn``, by the system (no user), in the lot owner's trail,
    as the expiry sweep writes its own.
    """
    now = now or timezone.now()
    horizon = now + timedelta(minutes=settings.RESERVATION_EXPIRY_WARNING_MINUTES)
    due = list(
        Reservation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=ReservationStatus.HELD,
            expiry_warned_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=horizon,
        )
        .order_by("expires_at", "pk")
        .values_list(
            "pk",
            "reference",
            "lot__material_id",
            "lot__owner_id",
            "holder_id",
            "quantity_kg",
            "expires_at",
        )[:limit]
    )
    if not due:
        return 0
    ids = [row[0] for row in due]
    stamp = timezone.now()
    marked = Reservation.objects.filter(
        pk__in=ids, status=ReservationStatus.HELD, expiry_warned_at__isnull=True
    ).update(expiry_warned_at=stamp)
    if marked != len(ids):  # another sweep marked some first (SQLite reads without locks)
        ours = set(
            Reservation.objects.filter(pk__in=ids, expiry_warned_at=stamp).values_list(
                "pk", flat=True
            )
        )
        due = [row for row in due if row[0] in ours]
    for pk, reference, material_id, owner_id, holder_id, quantity_kg, expires_at in due:
        assert expires_at is not None  # filtered on
        event_emit(
            topic="reservation.expiring",
            payload={
                "reservation_id": pk,
                "reference": reference,
                "material_ids": [material_id],
                "owner_id": owner_id,
                "holder_id": holder_id,
                "quantity_kg": decimal_text(quantity_kg, 3),
                "expires_at": expires_at.isoformat(),
            },
        )
        audit_record(
            actor=SYSTEM,
            action="reservation.warn",
            target=Reservation(pk=pk),
            changes={"expiry_warned_at": [None, stamp.isoformat()]},
            enterprise=owner_id,
        )
    return len(due)
