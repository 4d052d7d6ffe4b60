"""Every write of the marketplace: listings and needs, each in one transaction.

Status changes are conditional UPDATEs on the current status, so two concurrent
transitions of one row cannot both succeed. Each change emits an outbox event
(``listing.*``, ``need.*``) that the matching engine subscribes to. Each write of a listing
by a user (create, update, publish, withdraw) leaves one audit row in its transaction
(``listing.<verb>``, the changed terms before and after; audit.services); so does each
write of a need (``need.create``, ``need.update``, ``need.close``, ``need.reopen``), and the
expiry sweep one ``need.expire`` per need, by the system (no user).

The terms of a listing or a need are checked by the service's rules, then by the model's
own validators (price and quantity ranges, coordinates, distance, purity, lengths, choices:
``common.validation``) before the row is saved, so a command or a task is refused like the
API and the admin.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import SYSTEM, Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit
from common.exceptions import Conflict, DomainError
from common.services import refuse_unchangeable
from common.validation import validate_row
from inventory.exceptions import InsufficientStock
from inventory.models import Material, StockLot, StorageZone
from inventory.units import MAX_QUANTITY_KG
from marketplace.exceptions import InvalidTransition
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from parks.models import Enterprise

LISTING_FIELDS = (
    "quantity_kg",
    "price_per_t",
    "min_order_kg",
    "available_from",
    "available_until",
    "visibility",
    "note",
)
# What a listing's audit rows show before and after: its terms, its status.
LISTING_AUDIT_FIELDS = (*LISTING_FIELDS, "status", "published_at")
# A need whose terms may change: open, or expired (to give it a later date and reopen it).
CHANGEABLE_NEEDS = (NeedStatus.OPEN, NeedStatus.EXPIRED)
# Needs their owner may reopen (once their date is today or later).
REOPENABLE_NEEDS = (NeedStatus.CLOSED, NeedStatus.EXPIRED)
NEED_FIELDS = (
    "quantity_kg",
    "max_price_per_t",
    "needed_by",
    "delivery_zone",
    "delivery_latitude",
    "delivery_longitude",
    "max_distance_km",
    "min_purity_pct",
    "note",
)
# What a need's audit rows show before and after: its terms, its status.
NEED_AUDIT_FIELDS = (*NEED_FIELDS, "material", "status")


def _check_listing(listing: Listing) -> None:
    if listing.quantity_kg <= 0 or listing.quantity_kg > MAX_QUANTITY_KG:
        raise DomainError(_("Must be between 0.001 and %s kg.") % MAX_QUANTITY_KG, field="quantity")
    if listing.min_order_kg < 0 or listing.min_order_kg > listing.quantity_kg:
        raise DomainError(_("Must be between 0 and the quantity offered."), field="min_order")
    if listing.available_until and listing.available_until < listing.available_from:
        raise DomainError(_("Must not be before available_from."), field="available_until")
    if listing.lot.owner_id != listing.seller_id:
        raise DomainError(_("The lot belongs to another enterprise."), field="lot")
    if listing.quantity_kg < listing.ordered_kg:
        raise DomainError(
            _("Orders already hold %(ordered)s kg of this listing.")
            % {"ordered": listing.ordered_kg},
            field="quantity",
        )


def _check_listing_stock(listing: Listing) -> None:
    """What the listing still offers (beyond what orders hold, which the lot has reserved
    already) must be unreserved in its lot."""
    lot = StockLot.objects.get(pk=listing.lot_id)
    offered = listing.quantity_kg - listing.ordered_kg
    if offered > lot.available_kg:
        raise InsufficientStock(
            _("The lot has %(available)s kg unreserved; %(asked)s kg offered.")
            % {"available": lot.available_kg, "asked": offered}
        )


def _emit_listing(topic: str, listing: Listing) -> None:
    event_emit(
        topic=topic,
        payload={"listing_id": listing.pk, "material_ids": [listing.material_id]},
    )


@transaction.atomic
def listing_create(
    *,
    actor: Scope,
    seller: Enterprise,
    lot: StockLot,
    quantity_kg: Decimal,
    price_per_t: Decimal,
    available_from: date,
    min_order_kg: Decimal = Decimal(0),
    available_until: date | None = None,
    visibility: str = "park",
    note: str = "",
    publish: bool = False,
) -> Listing:
    """Create a draft listing (published at once with ``publish=True``). One audit row,
    ``listing.create``, with every term (and the status it ends in)."""
    listing = Listing(
        seller=seller,
        lot=lot,
        material_id=lot.material_id,
        quantity_kg=quantity_kg,
        price_per_t=price_per_t,
        min_order_kg=min_order_kg,
        available_from=available_from,
        available_until=available_until,
        visibility=visibility,
        note=note,
    )
    _check_listing(listing)
    validate_row(listing)
    listing.save()
    _emit_listing("listing.created", listing)
    if publish:
        listing, _before = _listing_publish(listing)
    audit_record(
        actor=actor,
        action="listing.create",
        target=listing,
        changes=changes_between({}, snapshot(listing, LISTING_AUDIT_FIELDS)),
        enterprise=seller,
    )
    return listing


@transaction.atomic
def listing_update(*, actor: Scope, listing: Listing, **changes: Any) -> Listing:
    """Change the terms of a draft or published listing (not a withdrawn one). Locks the
    listing's row; one audit row, ``listing.update``, with the terms changed."""
    refuse_unchangeable(changes, LISTING_FIELDS)
    listing = (
        Listing.objects.select_for_update(of=("self",))
        .select_related("lot", "seller")
        .get(pk=listing.pk)
    )
    if listing.status == ListingStatus.WITHDRAWN:
        raise InvalidTransition(_("A withdrawn listing cannot be changed."))
    before = snapshot(listing, LISTING_FIELDS)
    for name, value in changes.items():
        setattr(listing, name, value)
    _check_listing(listing)
    validate_row(listing, changes)
    if listing.status == ListingStatus.PUBLISHED:
        _check_listing_stock(listing)
    listing.save()
    _emit_listing("listing.updated", listing)
    audit_record(
        actor=actor,
        action="listing.update",
        target=listing,
        changes=changes_between(before, snapshot(listing, LISTING_FIELDS)),
        enterprise=listing.seller,
    )
    return listing


@transaction.atomic
def listing_publish(*, actor: Scope, listing: Listing) -> Listing:
    """Publish a draft (or re-publish a withdrawn) listing; the lot must hold the quantity
    unreserved and the availability window must not have ended. Locks the listing's row;
    one audit row, ``listing.publish``, with the status and publication time."""
    listing, before = _listing_publish(listing)
    audit_record(
        actor=actor,
        action="listing.publish",
        target=listing,
        changes=changes_between(before, snapshot(listing, ("status", "published_at"))),
        enterprise=listing.seller,
    )
    return listing


def _listing_publish(listing: Listing) -> tuple[Listing, dict[str, Any]]:
    """Publish under the listing's row lock; the listing and its status before."""
    listing = (
        Listing.objects.select_for_update(of=("self",))
        .select_related("lot", "seller")
        .get(pk=listing.pk)
    )
    if listing.status == ListingStatus.PUBLISHED:
        raise InvalidTransition(_("The listing is already published."))
    if listing.available_until and listing.available_until < timezone.localdate():
        raise DomainError(_("The availability window has ended."), field="available_until")
    _check_listing(listing)
    _check_listing_stock(listing)
    before = snapshot(listing, ("status", "published_at"))
    listing.status = ListingStatus.PUBLISHED
    listing.published_at = timezone.now()
    listing.save(update_fields=["status", "published_at", "updated_at"])
    _emit_listing("listing.published", listing)
    return listing, before


@transaction.atomic
def listing_withdraw(*, actor: Scope, listing: Listing) -> Listing:
    """Withdraw a draft or published listing: one conditional UPDATE on the status, under
    the listing's row lock (taken first, to read the status the audit row shows); one audit
    row, ``listing.withdraw``."""
    status_before = (
        Listing.objects.select_for_update(of=("self",))
        .filter(pk=listing.pk)
        .values_list("status", flat=True)
        .first()
    )
    changed = Listing.objects.filter(
        pk=listing.pk, status__in=[ListingStatus.DRAFT, ListingStatus.PUBLISHED]
    ).update(status=ListingStatus.WITHDRAWN, updated_at=timezone.now())
    if not changed:
        raise InvalidTransition(_("The listing is already withdrawn."))
    seller = listing.seller  # refresh_from_db forgets it
    listing.refresh_from_db()
    _emit_listing("listing.withdrawn", listing)
    audit_record(
        actor=actor,
        action="listing.withdraw",
        target=listing,
        changes={"status": [status_before, listing.status]},
        enterprise=seller,
    )
    return listing


# --- What orders hold of a listing or a need -------------------------------------------------
#
# Called by the orders' services inside their transactions. Each is one conditional UPDATE
# (the row count says whether it fitted; the check constraints ordered_kg between 0 and
# quantity_kg are the last guard) and emits ``listing.updated`` / ``need.updated``, so the
# matching engine offers only what is left.


def _order_quantity(quantity_kg: Decimal) -> Decimal:
    if quantity_kg <= 0 or quantity_kg > MAX_QUANTITY_KG:
        raise DomainError(_("Must be between 0.001 and %s kg.") % MAX_QUANTITY_KG, field="quantity")
    return quantity_kg


@transaction.atomic
def listing_order(*, listing: Listing, quantity_kg: Decimal) -> Listing:
    """Add ``quantity_kg`` to what orders hold of ``listing``; a Conflict on ``quantity``
    if the listing does not offer that much more. Takes the listing's row lock (the UPDATE)."""
    _order_quantity(quantity_kg)
    changed = Listing.objects.filter(
        pk=listing.pk, ordered_kg__lte=F("quantity_kg") - quantity_kg
    ).update(ordered_kg=F("ordered_kg") + quantity_kg, updated_at=timezone.now())
    listing.refresh_from_db(fields=["quantity_kg", "ordered_kg", "updated_at"])
    if not changed:
        raise Conflict(
            _("The listing offers %(left)s kg more; %(asked)s kg asked.")
            % {"left": listing.quantity_kg - listing.ordered_kg, "asked": quantity_kg},
            field="quantity",
        )
    _emit_listing("listing.updated", listing)
    return listing


@transaction.atomic
def listing_unorder(*, listing: Listing, quantity_kg: Decimal) -> Listing:
    """Give back ``quantity_kg`` of what orders hold of ``listing`` (an order cancelled,
    rejected or expired); never below zero (a Conflict on ``quantity``)."""
    _order_quantity(quantity_kg)
    changed = Listing.objects.filter(pk=listing.pk, ordered_kg__gte=quantity_kg).update(
        ordered_kg=F("ordered_kg") - quantity_kg, updated_at=timezone.now()
    )
    listing.refresh_from_db(fields=["quantity_kg", "ordered_kg", "updated_at"])
    if not changed:
        raise Conflict(
            _("Orders hold %(held)s kg of the listing; %(asked)s kg cannot be given back.")
            % {"held": listing.ordered_kg, "asked": quantity_kg},
            field="quantity",
        )
    _emit_listing("listing.updated", listing)
    return listing


def _check_need(need: Need, substitutes: list[Material]) -> None:
    if need.quantity_kg <= 0 or need.quantity_kg > MAX_QUANTITY_KG:
        raise DomainError(_("Must be between 0.001 and %s kg.") % MAX_QUANTITY_KG, field="quantity")
    if need.quantity_kg < need.ordered_kg:
        raise DomainError(
            _("Orders already hold %(ordered)s kg of this need.") % {"ordered": need.ordered_kg},
            field="quantity",
        )
    if need.delivery_zone_id is None and (
        need.delivery_latitude is None or need.delivery_longitude is None
    ):
        raise DomainError(
            _("Give a delivery zone, or a delivery latitude and longitude."),
            field="delivery_zone",
        )
    if any(s.pk == need.material_id for s in substitutes):
        raise DomainError(_("The material itself is not a substitute."), field="substitutes")


def _emit_need(topic: str, need: Need, substitutes: list[int]) -> None:
    event_emit(
        topic=topic,
        payload={"need_id": need.pk, "material_ids": sorted({need.material_id, *substitutes})},
    )


@transaction.atomic
def need_create(
    *,
    actor: Scope,
    enterprise: Enterprise,
    material: Material,
    quantity_kg: Decimal,
    needed_by: date,
    max_price_per_t: Decimal | None = None,
    delivery_zone: StorageZone | None = None,
    delivery_latitude: Decimal | None = None,
    delivery_longitude: Decimal | None = None,
    max_distance_km: Decimal | None = None,
    min_purity_pct: Decimal | None = None,
    substitutes: list[Material] | None = None,
    note: str = "",
) -> Need:
    """Post an open need. One audit row, ``need.create``, with every term (the
    substitutes as their material ids)."""
    substitutes = substitutes or []
    need = Need(
        enterprise=enterprise,
        material=material,
        quantity_kg=quantity_kg,
        needed_by=needed_by,
        max_price_per_t=max_price_per_t,
        delivery_zone=delivery_zone,
        delivery_latitude=delivery_latitude,
        delivery_longitude=delivery_longitude,
        max_distance_km=max_distance_km,
        min_purity_pct=min_purity_pct,
        note=note,
    )
    _check_need(need, substitutes)
    validate_row(need)
    need.save()
    need.substitutes.set(substitutes)
    _emit_need("need.opened", need, [s.pk for s in substitutes])
    audit_record(
        actor=actor,
        action="need.create",
        target=need,
        changes=changes_between(
            {},
            {
                **snapshot(need, NEED_AUDIT_FIELDS),
                "substitutes": sorted(s.pk for s in substitutes) or None,
            },
        ),
        enterprise=enterprise,
    )
    return need


@transaction.atomic
def need_update(
    *, actor: Scope, need: Need, substitutes: list[Material] | None = None, **changes: Any
) -> Need:
    """Change an open need, or an expired one (a later date, before reopening it). The
    event names the substitutes before and after the change, so that proposals from a
    dropped substitute's listings are withdrawn too. Locks the need's row; one audit row,
    ``need.update``, with the terms changed (and the substitutes, when they change)."""
    refuse_unchangeable(changes, NEED_FIELDS)
    need = Need.objects.select_for_update(of=("self",)).select_related("enterprise").get(pk=need.pk)
    if need.status not in CHANGEABLE_NEEDS:
        raise InvalidTransition(_("A closed need cannot be changed."))
    terms_before = snapshot(need, NEED_FIELDS)
    for name, value in changes.items():
        setattr(need, name, value)
    before = list(need.substitutes.values_list("pk", flat=True))
    subs = substitutes if substitutes is not None else list(need.substitutes.all())
    _check_need(need, subs)
    validate_row(need, changes)
    need.save()
    if substitutes is not None:
        need.substitutes.set(substitutes)
    _emit_need("need.updated", need, [*before, *(s.pk for s in subs)])
    audit_record(
        actor=actor,
        action="need.update",
        target=need,
        changes=changes_between(
            {**terms_before, "substitutes": sorted(before)},
            {**snapshot(need, NEED_FIELDS), "substitutes": sorted(s.pk for s in subs)},
        ),
        enterprise=need.enterprise,
    )
    return need


def _need_transition(*, need: Need, source: str, target: str, topic: str) -> Need:
    changed = Need.objects.filter(pk=need.pk, status=source).update(
        status=target, updated_at=timezone.now()
    )
    if not changed:
        raise InvalidTransition(_("The need is not %s.") % source)
    need.refresh_from_db()
    _emit_need(topic, need, list(need.substitutes.values_list("pk", flat=True)))
    return need


@transaction.atomic
def need_close(*, actor: Scope, need: Need) -> Need:
    """Close an open need: one conditional UPDATE on the status; emits ``need.closed``.
    One audit row, ``need.close``."""
    need = _need_transition(
        need=need,
        source=NeedStatus.OPEN,
        target=NeedStatus.CLOSED,
        topic="need.closed",
    )
    audit_record(
        actor=actor,
        action="need.close",
        target=need,
        changes={"status": [NeedStatus.OPEN, need.status]},
        enterprise=need.enterprise,
    )
    return need


@transaction.atomic
def need_reopen(*, actor: Scope, need: Need) -> Need:
    """Reopen a closed or expired need whose date has not passed (an expired need gets a
    later ``needed_by`` through ``need_update`` first); a DomainError on ``needed_by``
    otherwise, since the expiry would close it again. One conditional UPDATE on the status
    and the date (under the need's row lock, taken first to read the status the audit row
    shows); emits ``need.opened``. One audit row, ``need.reopen``."""
    status_before = (
        Need.objects.select_for_update(of=("self",))
        .filter(pk=need.pk)
        .values_list("status", flat=True)
        .first()
    )
    changed = Need.objects.filter(
        pk=need.pk, status__in=REOPENABLE_NEEDS, needed_by__gte=timezone.localdate()
    ).update(status=NeedStatus.OPEN, updated_at=timezone.now())
    if not changed:
        if Need.objects.filter(pk=need.pk, status__in=REOPENABLE_NEEDS).exists():
            raise DomainError(
                _("The need date has passed; set a later date before reopening the need."),
                field="needed_by",
            )
        raise InvalidTransition(_("The need is not %s.") % NeedStatus.CLOSED)
    need.refresh_from_db()
    _emit_need("need.opened", need, list(need.substitutes.values_list("pk", flat=True)))
    audit_record(
        actor=actor,
        action="need.reopen",
        target=need,
        changes={"status": [status_before, need.status]},
        enterprise=need.enterprise,
    )
    return need


# Open needs past their date expired per transaction: row locks stay short and a backlog is
# worked off batch after batch.
EXPIRE_BATCH = 500


def needs_expire_due(*, today: date | None = None, batch: int = EXPIRE_BATCH) -> int:
    """Expire every open need whose ``needed_by`` is before ``today`` (by default
    ``timezone.localdate()``); returns how many.

    One transaction per batch of at most ``batch`` needs, in key order: the due rows are
    locked ``FOR UPDATE SKIP LOCKED`` (a need being changed or closed meanwhile is left to
    that transaction; the next run finds it if it is still open and due), then expired by
    one conditional UPDATE (open and before ``today``). Writes in the batch's transaction
    one ``need.expired`` per need (``need_id``, ``enterprise_id``, ``material_ids``: its
    material and substitutes), delivered after commit: the matching engine rematches those
    materials, so the need's proposals are superseded; the owner is told from the outbox.
    And one audit row per need, ``need.expire``, by the system (no user; ``via`` says the
    task or command), in the owner's trail. Idempotent: an expired need is not open any more.
    """
    today = today or timezone.localdate()
    expired = 0
    while True:
        with transaction.atomic():
            due, changed = _needs_expire_batch(today=today, limit=batch)
        expired += changed
        if due < batch:
            return expired


def _needs_expire_batch(*, today: date, limit: int) -> tuple[int, int]:
    """Expire at most ``limit`` due needs; (how many were due, how many expired)."""
    due = list(
        Need.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=NeedStatus.OPEN, needed_by__lt=today)
        .order_by("pk")
        .values_list("pk", "enterprise_id", "material_id", "enterprise__park_id")[:limit]
    )
    if not due:
        return 0, 0
    ids = [pk for pk, _enterprise_id, _material_id, _park_id in due]
    changed = Need.objects.filter(pk__in=ids, status=NeedStatus.OPEN, needed_by__lt=today).update(
        status=NeedStatus.EXPIRED, updated_at=timezone.now()
    )
    # Under the row locks (PostgreSQL) or the write lock taken up front (SQLite's IMMEDIATE
    # transactions) every due row is still open and due.
    assert changed == len(ids), "a locked due need changed under its lock"
    substitutes: dict[int, set[int]] = {pk: set() for pk in ids}
    links = Need.substitutes.through.objects.filter(need_id__in=ids)
    for need_id, material_id in links.values_list("need_id", "material_id"):
        substitutes[need_id].add(material_id)
    expired_need = Need(status=NeedStatus.EXPIRED)
    for pk, enterprise_id, material_id, park_id in due:
        expired_need.pk = pk
        audit_record(
            actor=SYSTEM,
            action="need.expire",
            target=expired_need,
            changes={"status": [NeedStatus.OPEN, NeedStatus.EXPIRED]},
            enterprise=Enterprise(pk=enterprise_id, park_id=park_id),
        )
        event_emit(
            topic="need.expired",
            payload={
                "need_id": pk,
                "enterprise_id": enterprise_id,
                "material_ids": sorted({material_id, *substitutes[pk]}),
            },
        )
    return len(due), changed


@transaction.atomic
def need_order(*, need: Need, quantity_kg: Decimal) -> Need:
    """Add ``quantity_kg`` to what orders hold of ``need``; a Conflict on ``quantity`` if the
    need does not ask for that much more. Takes the need's row lock (the UPDATE)."""
    _order_quantity(quantity_kg)
    changed = Need.objects.filter(
        pk=need.pk, ordered_kg__lte=F("quantity_kg") - quantity_kg
    ).update(ordered_kg=F("ordered_kg") + quantity_kg, updated_at=timezone.now())
    need.refresh_from_db(fields=["quantity_kg", "ordered_kg", "updated_at"])
    if not changed:
        raise Conflict(
            _("The need asks for %(left)s kg more; %(asked)s kg ordered.")
            % {"left": need.quantity_kg - need.ordered_kg, "asked": quantity_kg},
            field="quantity",
        )
    _emit_need("need.updated", need, list(need.substitutes.values_list("pk", flat=True)))
    return need


@transaction.atomic
def need_unorder(*, need: Need, quantity_kg: Decimal) -> Need:
    """Give back ``quantity_kg`` of what orders hold of ``need``; never below zero."""
    _order_quantity(quantity_kg)
    changed = Need.objects.filter(pk=need.pk, ordered_kg__gte=quantity_kg).update(
        ordered_kg=F("ordered_kg") - quantity_kg, updated_at=timezone.now()
    )
    need.refresh_from_db(fields=["quantity_kg", "ordered_kg", "updated_at"])
    if not changed:
        raise Conflict(
            _("Orders hold %(held)s kg of the need; %(asked)s kg cannot be given back.")
            % {"held": need.ordered_kg, "asked": quantity_kg},
            field="quantity",
        )
    _emit_need("need.updated", need, list(need.substitutes.values_list("pk", flat=True)))
    return need
