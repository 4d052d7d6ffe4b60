"""Every write of the joint stockpiles, each in one transaction with its audit row.

Stock moves through the inventory's services only: a contribution hands the member's free
stock lying in one of the pool's zones to the pool's holder in place (a shared warehouse:
the goods stay, their owner changes), a draw does the same the other way, first expiry
first out (``inventory.services.stock_hand_over_many``). Each is therefore a ledger
movement of ``inventory.services`` with its own audit rows, and the pool's rows
(Contribution, Draw and its lines, Obligation) record what they meant for the pool.

Locks: every write that changes what a pool holds, owes or who belongs to it locks the
pool's row first (``_lock``), except an emergency draw, which takes its lots' quantities
by conditional UPDATEs as the last step before commit and locks the pool only when other
draws overtook it several times (``pool_draw``). Either way no lot gives more than it
holds free, so the pool never grants more than it holds.
"""

import functools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.appends import appended_together
from common.events import decimal_text, event_emit
from common.exceptions import Conflict, DomainError, NotPermitted
from common.models import OutboxEvent
from common.services import save_unique
from common.sql import model_columns, select_models
from common.validation import validate_row
from inventory.exceptions import InsufficientStock
from inventory.models import Material, StockLot, StorageZone, Warehouse
from inventory.services import stock_hand_over, stock_hand_over_many, zone_check_admission
from parks.models import Enterprise, EnterpriseKind, Park
from pools.models import (
    Contribution,
    ContributionSource,
    Draw,
    DrawLine,
    DrawSeverity,
    DrawStatus,
    MembershipRequest,
    MemberStatus,
    Obligation,
    Pool,
    PoolMember,
    ReplenishRule,
    RequestKind,
    RequestStatus,
)
from pools.rules import may_act_as_member, may_operate
from pools.services.rotation import pool_lots_expiring
from pools.split import split_grams

POOL_FIELDS = (
    "code",
    "name",
    "material",
    "target_kg",
    "lead",
    "max_price_per_t",
    "holding_rate_per_t_month",
    "storage_fee_per_month",
    "replenish_rule",
    "replenish_days",
    "rotation_lead_days",
)


def _lock(pool: Pool) -> Pool:
    """The pool's row, locked FOR NO KEY UPDATE: the pool's writes wait for each other, not
    the inserts of rows naming the pool (an emergency draw's, whose foreign-key check at
    commit takes KEY SHARE: FOR UPDATE would deadlock with them)."""
    return (
        Pool.objects.select_for_update(of=("self",), no_key=True)
        .select_related("holder")
        .get(pk=pool.pk)
    )


def pool_materials(pool: Pool) -> list[int]:
    """The material and its accepted substitutes."""
    return [pool.material_id, *pool.substitutes.values_list("pk", flat=True)]


def pool_held_lots(pool: Pool) -> Any:
    """The pool's lots with stock free to draw, first expiry first (no expiry last)."""
    return (
        StockLot.objects.filter(
            owner_id=pool.holder_id,
            zone__in=pool.zones.all(),
            on_hand_kg__gt=F("reserved_kg"),
        )
        .select_related("zone__warehouse")
        .order_by(F("expires_on").asc(nulls_last=True), "pk")
    )


def pool_held_kg(pool: Pool) -> Decimal:
    """What the pool holds now (on hand in its zones), in kg."""
    total = StockLot.objects.filter(owner_id=pool.holder_id, zone__in=pool.zones.all()).aggregate(
        kg=Coalesce(Sum("on_hand_kg"), Decimal(0))
    )["kg"]
    return Decimal(total).quantize(Decimal("0.001"))


# --- The pool ------------------------------------------------------------------------------


def _check_zones(park: Park, material: Material, zones: list[StorageZone]) -> None:
    if not zones:
        raise DomainError(_("A pool keeps its stock in at least one zone."), field="zones")
    for zone in zones:
        warehouse = zone.warehouse
        if warehouse.owner_id is not None or warehouse.park_id != park.pk:
            raise DomainError(
                _("Zone %(zone)s is not in a shared warehouse of this park.") % {"zone": zone},
                field="zones",
            )
        try:
            zone_check_admission(zone=zone, material=material, quantity_kg=Decimal(0))
        except DomainError as exc:
            raise DomainError(exc.message, field="zones") from None


@transaction.atomic
def pool_create(
    *,
    actor: Scope,
    park: Park,
    code: str,
    name: str,
    material: Material,
    target_kg: Decimal,
    zones: list[StorageZone],
    lead: Enterprise | None = None,
    substitutes: list[Material] | None = None,
    **terms: Any,
) -> Pool:
    """Open a pool in ``park``: its holder (the owner of its stock) is created with it.
    The zones must be in the park's shared warehouses and licensed for the material; a
    lead enterprise must be of the park. One audit row, ``pool.create``."""
    if lead is not None and lead.park_id != park.pk:
        raise DomainError(_("The lead enterprise is of another park."), field="lead")
    if target_kg is None or target_kg <= 0:
        raise DomainError(_("Must be more than 0 kg."), field="target_kg")
    _check_zones(park, material, zones)
    first = zones[0].warehouse
    holder = Enterprise.objects.create(
        kind=EnterpriseKind.POOL,
        park=park,
        name_zh=f"联储池 · {name}",
        name_en=f"Joint stockpile: {name}",
        latitude=first.latitude,
        longitude=first.longitude,
    )
    pool = Pool(
        park=park,
        code=code,
        name=name,
        material=material,
        target_kg=target_kg,
        lead=lead,
        holder=holder,
        **terms,
    )
    validate_row(pool)
    save_unique(
        pool,
        clash=Pool.objects.filter(park=park, code=code),
        field="code",
        message=_("This park already has a pool with this code."),
    )
    pool.zones.set(zones)
    if substitutes:
        pool.substitutes.set(substitutes)
    if lead is not None:
        # The lead's staff see the pool's deals beside their own (access.rules.parties_filter).
        lead = Enterprise.objects.select_for_update().get(pk=lead.pk)
        lead.acts_for = [*lead.acts_for, holder.pk]
        lead.save(update_fields=["acts_for"])
        pool.lead = lead
    audit_record(
        actor=actor,
        action="pool.create",
        target=pool,
        changes=changes_between({}, snapshot(pool, POOL_FIELDS)),
        enterprise=lead,
        park=park,
    )
    return pool


# --- Membership ------------------------------------------------------------------------------


# The terms the operator changes (pool_update); the park, code, material, zones and lead
# are the pool's identity.
POOL_TERMS = (
    "name",
    "target_kg",
    "max_price_per_t",
    "holding_rate_per_t_month",
    "storage_fee_per_month",
    "replenish_rule",
    "replenish_days",
    "rotation_lead_days",
    "is_active",
)


@transaction.atomic
def pool_update(*, actor: Scope, pool: Pool, **terms: Any) -> Pool:
    """The operator changes the pool's terms (``POOL_TERMS``): its target never below what
    the active members committed (DomainError on ``target_kg``). Locks the pool. One audit
    row, ``pool.update``, with the terms before and after; a new target brings the pool's
    need in step (``pool_shortfall_sync``)."""
    pool = _lock(pool)
    if not may_operate(actor, pool):
        raise NotPermitted(_("Only the pool's operator changes its terms."))
    unknown = set(terms) - set(POOL_TERMS)
    if unknown:
        raise DomainError(_("Not a term of the pool."), field=sorted(unknown)[0])
    if "target_kg" in terms:
        target = terms["target_kg"]
        if target is None or target <= 0:
            raise DomainError(_("Must be more than 0 kg."), field="target_kg")
        committed = PoolMember.objects.filter(pool=pool, status=MemberStatus.ACTIVE).aggregate(
            kg=Coalesce(Sum("commitment_kg"), Decimal(0))
        )["kg"]
        if target < committed:
            raise DomainError(
                _("The members committed %s kg: the target cannot be less.") % committed,
                field="target_kg",
            )
    before = snapshot(pool, POOL_TERMS)
    for name, value in terms.items():
        setattr(pool, name, value)
    validate_row(pool)
    pool.save(update_fields=list(terms) or None)
    changes = changes_between(before, snapshot(pool, POOL_TERMS))
    if changes:
        audit_record(
            actor=actor,
            action="pool.update",
            target=pool,
            changes=changes,
            enterprise=pool.lead_id,
            park=pool.park_id,
        )
    if {"target_kg", "is_active", "max_price_per_t"} & set(changes):
        from pools.services.shortfall import pool_shortfall_sync

        pool_shortfall_sync(pool=pool)
    return pool


def _commitment(value: Decimal | None, *, field: str = "commitment_kg") -> Decimal:
    if value is None or value <= 0:
        raise DomainError(_("Must be more than 0 kg."), field=field)
    if value != value.quantize(Decimal("0.001")):
        raise DomainError(_("At most three decimal places (grams)."), field=field)
    return value


@transaction.atomic
def membership_request(
    *,
    actor: Scope,
    pool: Pool,
    kind: str,
    commitment_kg: Decimal | None = None,
    reason: str = "",
) -> MembershipRequest:
    """The actor's enterprise asks to join the pool (with a commitment), change its
    commitment, or leave; the operator decides (``membership_decide``). One open request
    per enterprise and pool. One audit row, ``pool_request.create``."""
    if not may_act_as_member(actor):
        raise NotPermitted(_("An enterprise's staff ask for their enterprise."))
    enterprise = actor.enterprise
    assert enterprise is not None
    if enterprise.park_id != pool.park_id:
        raise DomainError(_("Only enterprises of the pool's park take part."), field="pool")
    member = PoolMember.objects.filter(
        pool=pool, enterprise=enterprise, status=MemberStatus.ACTIVE
    ).first()
    if kind == RequestKind.JOIN:
        if member is not None:
            raise Conflict(_("Your enterprise is a member already."), field="kind")
        commitment_kg = _commitment(commitment_kg)
    elif kind == RequestKind.CHANGE:
        if member is None:
            raise Conflict(_("Your enterprise is not a member."), field="kind")
        commitment_kg = _commitment(commitment_kg)
    elif kind == RequestKind.LEAVE:
        if member is None:
            raise Conflict(_("Your enterprise is not a member."), field="kind")
        commitment_kg = None
    else:
        raise DomainError(_("join, change or leave."), field="kind")
    if MembershipRequest.objects.filter(
        pool=pool, enterprise=enterprise, status=RequestStatus.PENDING
    ).exists():
        raise Conflict(_("Your enterprise has a request waiting already."), field="kind")
    request = MembershipRequest.objects.create(
        pool=pool,
        enterprise=enterprise,
        kind=kind,
        commitment_kg=commitment_kg,
        reason=reason[:500],
        requested_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="pool_request.create",
        target=request,
        changes={"kind": [None, kind], "commitment_kg": [None, str(commitment_kg)]},
        park=pool.park_id,
    )
    return request


@transaction.atomic
def membership_decide(
    *, actor: Scope, request: MembershipRequest, approve: bool, note: str = ""
) -> MembershipRequest:
    """The operator approves or rejects a pending request. Approving a join or a change
    keeps the commitments within the target (refused on ``commitment_kg``); a leave ends
    the membership (its open obligations stay). Locks the pool. One audit row,
    ``pool_request.approve`` or ``.reject``."""
    pool = _lock(request.pool)
    if not may_operate(actor, pool):
        raise NotPermitted(_("Only the pool's operator decides."))
    request = MembershipRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.PENDING:
        raise Conflict(_("This request was decided already."), field="status")
    if approve:
        _apply(pool, request)
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_note = note[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="pool_request.approve" if approve else "pool_request.reject",
        target=request,
        changes={"status": [RequestStatus.PENDING, request.status]},
        enterprise=request.enterprise_id,
        note=note[:200],
    )
    return request


def _apply(pool: Pool, request: MembershipRequest) -> None:
    member = PoolMember.objects.filter(pool=pool, enterprise_id=request.enterprise_id).first()
    if request.kind == RequestKind.LEAVE:
        assert member is not None
        member.status, member.left_at = MemberStatus.LEFT, timezone.now()
        member.save(update_fields=["status", "left_at"])
        return
    assert request.commitment_kg is not None
    others = (
        PoolMember.objects.filter(pool=pool, status=MemberStatus.ACTIVE)
        .exclude(enterprise_id=request.enterprise_id)
        .aggregate(kg=Coalesce(Sum("commitment_kg"), Decimal(0)))["kg"]
    )
    if others + request.commitment_kg > pool.target_kg:
        raise DomainError(
            _("The commitments would exceed the pool's target of %(target)s kg.")
            % {"target": pool.target_kg},
            field="commitment_kg",
        )
    if member is None:
        PoolMember.objects.create(
            pool=pool, enterprise_id=request.enterprise_id, commitment_kg=request.commitment_kg
        )
    else:
        member.commitment_kg = request.commitment_kg
        member.status, member.left_at = MemberStatus.ACTIVE, None
        member.save(update_fields=["commitment_kg", "status", "left_at"])


# --- Contributions ---------------------------------------------------------------------------


def _active_member(actor: Scope, pool: Pool) -> PoolMember:
    if not may_act_as_member(actor):
        raise NotPermitted(_("An enterprise's staff act for their enterprise."))
    assert actor.enterprise is not None
    member = PoolMember.objects.filter(
        pool=pool, enterprise_id=actor.enterprise.pk, status=MemberStatus.ACTIVE
    ).first()
    if member is None:
        raise NotPermitted(_("Your enterprise is not a member of this pool."))
    return member


def _meet_obligations(member: PoolMember, quantity_kg: Decimal) -> None:
    """A contribution meets the member's open obligations, the earliest due first."""
    left = quantity_kg
    for obligation in (
        Obligation.objects.select_for_update()
        .filter(member=member, met_at__isnull=True)
        .order_by("due_on", "id")
    ):
        if left <= 0:
            break
        take = min(left, obligation.quantity_kg - obligation.met_kg)
        obligation.met_kg += take
        left -= take
        if obligation.met_kg == obligation.quantity_kg:
            obligation.met_at = timezone.now()
        obligation.save(update_fields=["met_kg", "met_at"])


@transaction.atomic
def pool_contribute(
    *, actor: Scope, pool: Pool, lot: StockLot, quantity_kg: Decimal
) -> Contribution:
    """A member puts ``quantity_kg`` of its own stock lying in one of the pool's zones
    into the pool: reserved for the holder and transferred in place (the goods stay, their
    owner changes: two ledger movements). Credited to the member; meets its open
    obligations, the earliest due first, and brings the pool's need in step
    (``pool_shortfall_sync``). Locks the pool, then the inventory's locks. One audit row,
    ``pool.contribute`` (beside the inventory's own and the need's)."""
    pool = _lock(pool)
    member = _active_member(actor, pool)
    quantity_kg = _commitment(quantity_kg, field="quantity")
    lot = StockLot.objects.select_related("zone__warehouse").get(pk=lot.pk)
    if lot.owner_id != member.enterprise_id:
        raise DomainError(_("Not a lot of your enterprise."), field="lot")
    if lot.material_id not in pool_materials(pool):
        raise DomainError(_("The pool does not keep this material."), field="lot")
    if not pool.zones.filter(pk=lot.zone_id).exists():
        raise DomainError(_("Bring the goods into one of the pool's zones first."), field="lot")
    pooled = stock_hand_over(
        actor=actor,
        lot=lot,
        new_owner=pool.holder,
        quantity_kg=quantity_kg,
        reference=f"pool:{pool.pk}",
    )
    contribution = Contribution.objects.create(
        pool=pool,
        member=member,
        quantity_kg=quantity_kg,
        lot=pooled,
        source=ContributionSource.TRANSFER,
        reference=f"lot:{lot.pk}",
        created_by=actor.user,
    )
    _meet_obligations(member, quantity_kg)
    audit_record(
        actor=actor,
        action="pool.contribute",
        target=contribution,
        changes={"quantity_kg": [None, str(quantity_kg)], "lot": [None, pooled.pk]},
        park=pool.park_id,
    )
    # The pool's need in step with what it now holds (resized, or closed once full).
    from pools.services.shortfall import pool_shortfall_sync

    pool_shortfall_sync(pool=pool)
    return contribution


# --- Draws and replenishment ----------------------------------------------------------------


# An emergency draw plans its lots without the pool's lock this many times (each plan that
# another draw overtook is rolled back to its savepoint), then takes the lock.
UNLOCKED_DRAW_ATTEMPTS = 3


def _members(actor: Scope, pool: Pool) -> tuple[PoolMember, dict[int, PoolMember]]:
    """The actor's membership and all active members of ``pool`` (one query)."""
    if not may_act_as_member(actor):
        raise NotPermitted(_("An enterprise's staff act for their enterprise."))
    assert actor.enterprise is not None
    members = {m.pk: m for m in PoolMember.objects.filter(pool=pool, status=MemberStatus.ACTIVE)}
    for member in members.values():
        if member.enterprise_id == actor.enterprise.pk:
            member.enterprise = actor.enterprise  # loaded with the actor's Scope
            return member, members
    raise NotPermitted(_("Your enterprise is not a member of this pool."))


# Lots read at a time when a draw plans which to take: most draws need the first one.
FEFO_PAGE = 4

# A draw's plan: which lot to take how much of.
Takes = list[tuple[StockLot, Decimal]]


# The fast twin of ``pool_held_lots`` and ``pool_held_kg`` (see ``_fefo_sql``).
_FEFO_SQL = """
SELECT {lot_columns}, {zone_columns}, {warehouse_columns},
       (SELECT COALESCE(SUM(h.on_hand_kg), 0) FROM {lots} h
         WHERE h.owner_id = %s
           AND h.zone_id IN (SELECT storagezone_id FROM {pool_zones} WHERE pool_id = %s)
       ) AS pool_held_kg
  FROM {lots} l
  JOIN {zones} z ON z.id = l.zone_id
  JOIN {warehouses} w ON w.id = z.warehouse_id
 WHERE l.owner_id = %s
   AND l.zone_id IN (SELECT storagezone_id FROM {pool_zones} WHERE pool_id = %s)
   AND l.on_hand_kg > l.reserved_kg
 ORDER BY l.expires_on IS NULL, l.expires_on, l.id
 LIMIT %s OFFSET %s{lock}
"""


@functools.cache
def _fefo_sql(vendor: str, *, lock: bool) -> str:
    """The fast twin of ``pool_held_lots`` (same lots, same order; tests prove them equal)
    with each lot's zone and warehouse, a page at a time, and what the pool holds
    (``pool_held_kg``) as the last column, read in the same statement so that the two
    agree. Written once (per database ``vendor``) because compiling the queryset cost a
    draw more than running it (``common.sql``). Parameters: holder, pool, holder, pool,
    limit, offset."""
    quote = connection.ops.quote_name
    features = connection.features
    return _FEFO_SQL.format(
        lot_columns=model_columns(StockLot, "l"),
        zone_columns=model_columns(StorageZone, "z"),
        warehouse_columns=model_columns(Warehouse, "w"),
        lots=quote(StockLot._meta.db_table),
        zones=quote(StorageZone._meta.db_table),
        warehouses=quote(Warehouse._meta.db_table),
        pool_zones=quote(Pool.zones.through._meta.db_table),
        lock=" FOR UPDATE OF l" if lock and features.has_select_for_update_of else "",
    )


def pool_held_lots_page(
    pool: Pool, *, offset: int, limit: int, lock: bool = False
) -> tuple[list[StockLot], Decimal | None]:
    """``limit`` of ``pool_held_lots(pool)`` from ``offset`` (each lot with its zone and
    warehouse loaded), and what the pool holds, read in the same statement (None when the
    page is empty). With ``lock``, the lots read are locked (``FOR UPDATE``)."""
    rows = select_models(
        _fefo_sql(connection.vendor, lock=lock),
        [pool.holder_id, pool.pk, pool.holder_id, pool.pk, limit, offset],
        (StockLot, StorageZone, Warehouse),
        extra=1,
    )
    lots = []
    for lot, zone, warehouse, _held in rows:
        zone.warehouse = warehouse
        lot.zone = zone
        lots.append(lot)
    held = Decimal(str(rows[0][3])).quantize(Decimal("0.001")) if rows else None
    return lots, held


def _fefo(pool: Pool, quantity_kg: Decimal, *, lock: bool = False) -> tuple[Takes, Decimal]:
    """What to take of which lot for ``quantity_kg``: the pool's free stock, first expiry
    first out, up to what it holds (one query for most draws: the lots are read
    ``FEFO_PAGE`` at a time, as far as the draw needs), and what the pool holds, read in
    the same statement as the first lots (so the two agree). With ``lock``, the lots read
    are locked (in that order, the order every draw takes them in), so that no other draw
    takes them before this one's UPDATEs."""
    takes: Takes = []
    held: Decimal | None = None
    left, offset = quantity_kg, 0
    while left > 0:
        page, held_now = pool_held_lots_page(pool, offset=offset, limit=FEFO_PAGE, lock=lock)
        if held is None:
            held = held_now
        for lot in page:
            take = min(left, lot.on_hand_kg - lot.reserved_kg)
            takes.append((lot, take))
            left -= take
            if left <= 0:
                break
        if len(page) < FEFO_PAGE:
            break
        offset += FEFO_PAGE
    if held is None:  # nothing free: nothing will be taken
        held = pool_held_kg(pool)
    return takes, held


def _hand_over(
    actor: Scope,
    pool: Pool,
    draw: Draw,
    plan: tuple[Takes, Decimal],
    members: dict[int, PoolMember],
) -> None:
    """Carry out a granted draw (its ``granted_kg`` is the sum of the plan's takes): its
    replenishment split among ``members``, ``pool.draw_granted``, the stock handed to the
    drawer (``inventory.services.stock_hand_over_many``: the draw's lines are written with
    the new lots, and the conditional UPDATEs of the pool's lots come last, so that the
    lots' rows are held only from there to commit; a lot overtaken by another draw
    meanwhile raises InsufficientStock), and ``pool.shortfall`` if the pool is left below
    its target.

    What the draw left: what the pool held when its lots were read, with each lot taken
    counted at what its UPDATE left (returned by the UPDATE, in the order the lot's row
    lock gives the draws): exact while concurrent draws take from the same lots, as draws
    first expiry first out do."""
    takes, held_before = plan
    _obligations(pool, draw, members)
    event_emit(
        topic="pool.draw_granted",
        payload={
            "pool_id": pool.pk,
            "park_id": pool.park_id,
            "material_ids": [pool.material_id],
            "draw_id": draw.pk,
            "enterprise_id": draw.member.enterprise_id,
            "requested_kg": decimal_text(draw.requested_kg, 3),
            "granted_kg": decimal_text(draw.granted_kg, 3),
            "severity": draw.severity,
            "park_ids": [pool.park_id],
        },
    )
    held = held_before
    if takes:
        read = {lot.pk: lot.on_hand_kg for lot, _take in takes}

        def lines(targets: list[StockLot]) -> None:
            DrawLine.objects.bulk_create(
                [
                    DrawLine(draw=draw, lot=lot, to_lot=target, quantity_kg=take)
                    for (lot, take), target in zip(takes, targets, strict=True)
                ]
            )

        stock_hand_over_many(
            actor=actor,
            takes=takes,
            new_owner=draw.member.enterprise,
            reference=f"draw:{draw.pk}",
            before_taking=lines,
        )
        # stock_hand_over_many set each lot's on_hand_kg to what its UPDATE left.
        held += sum((lot.on_hand_kg - read[lot.pk] for lot, _take in takes), Decimal(0))
    if held < pool.target_kg:
        _emit_shortfall(pool, held)


def _obligations(pool: Pool, draw: Draw, members: dict[int, PoolMember]) -> None:
    """Split what ``draw`` took among the active ``members`` by the pool's rule, due in
    ``replenish_days``."""
    if draw.granted_kg <= 0:
        return
    if pool.replenish_rule == ReplenishRule.DRAWER or not members:
        weights = {draw.member_id: Decimal(1)}
    elif pool.replenish_rule == ReplenishRule.EQUAL:
        weights = {pk: Decimal(1) for pk in members}
    else:
        weights = {pk: m.commitment_kg for pk, m in members.items()}
        if sum(weights.values()) <= 0:
            weights = {draw.member_id: Decimal(1)}
    due_on = timezone.localdate() + timedelta(days=pool.replenish_days)
    Obligation.objects.bulk_create(
        [
            Obligation(pool=pool, draw=draw, member_id=pk, quantity_kg=share, due_on=due_on)
            for pk, share in split_grams(draw.granted_kg, weights).items()
            if share > 0
        ]
    )


def _audit_draw(actor: Scope, pool: Pool, draw: Draw) -> None:
    audit_record(
        actor=actor,
        action="pool.draw",
        target=draw,
        changes={
            "requested_kg": [None, str(draw.requested_kg)],
            "granted_kg": [None, str(draw.granted_kg)],
            "status": [None, draw.status],
        },
        park=pool.park_id,
        note=draw.reason[:200],
    )


def _draw_at_once(
    actor: Scope,
    pool: Pool,
    quantity_kg: Decimal,
    severity: str,
    reason: str,
    *,
    locked: bool = False,
) -> Draw:
    """An emergency draw planned and carried out; see ``pool_draw``. ``locked``: the
    pool's row is held, and the lots planned are locked as they are read. Its events and
    audit rows are written together at the end (``common.appends``: two INSERTs, not
    five)."""
    with appended_together():
        member, members = _members(actor, pool)
        plan = _fefo(pool, quantity_kg, lock=locked)
        draw = Draw.objects.create(
            pool=pool,
            member=member,
            requested_kg=quantity_kg,
            granted_kg=sum((take for _lot, take in plan[0]), Decimal(0)),
            severity=severity,
            status=DrawStatus.GRANTED,
            reason=reason[:500],
            note=_("Emergency: granted at once."),
            requested_by=actor.user,
            decided_at=timezone.now(),
        )
        _audit_draw(actor, pool, draw)
        _hand_over(actor, pool, draw, plan, members)
        return draw


def pool_draw(
    *, actor: Scope, pool: Pool, quantity_kg: Decimal, severity: str, reason: str
) -> Draw:
    """A member asks for ``quantity_kg`` of the pool's stock. An emergency is granted at
    once, up to what the pool holds, first expiry first out, the stock moving to the
    member through the ledger in this transaction, and its replenishment split among the
    members; any other severity waits for the operator (``draw_decide``). One audit row,
    ``pool.draw`` (beside the inventory's ``lot.transfer`` rows); a granted draw writes
    ``pool.draw_granted``, and ``pool.shortfall`` if the pool is left below its target
    (outbox, delivered after commit).

    Locks: an emergency draw does not wait for the pool's lock. It plans its lots from
    what is free, writes the draw, its obligations, events and new lots, and only then
    takes the quantities off the pool's lots, each by a conditional UPDATE whose row is
    held from there to commit: draws of one pool run side by side and queue only for that
    last moment, and none takes more than a lot holds free. Each attempt is a transaction
    of its own (a savepoint when the caller holds one): a plan that another draw overtook
    (a lot with less free than planned) is rolled back and made again from what is left;
    after ``UNLOCKED_DRAW_ATTEMPTS`` the draw locks the pool's row (as every other write of
    the pool does) and the lots it plans as it reads them (first expiry first, the order
    every draw updates them in), and is served from what the pool holds then. Two members
    drawing the last units thus get, together, exactly what was held."""
    quantity_kg = _commitment(quantity_kg, field="quantity")
    if severity not in DrawSeverity.values:
        raise DomainError(_("emergency, urgent or routine."), field="severity")
    if not reason.strip():
        raise DomainError(_("Say why."), field="reason")
    if severity == DrawSeverity.EMERGENCY:
        # Each attempt is a transaction of its own (a savepoint inside the caller's).
        for _attempt in range(UNLOCKED_DRAW_ATTEMPTS):
            try:
                with transaction.atomic():
                    return _draw_at_once(actor, pool, quantity_kg, severity, reason)
            except InsufficientStock:
                continue  # overtaken: plan again from what is left
        with transaction.atomic():
            return _draw_at_once(actor, _lock(pool), quantity_kg, severity, reason, locked=True)
    with transaction.atomic():  # waits for the operator: recorded under the pool's lock
        pool = _lock(pool)
        member, _members_now = _members(actor, pool)
        draw = Draw.objects.create(
            pool=pool,
            member=member,
            requested_kg=quantity_kg,
            severity=severity,
            reason=reason[:500],
            requested_by=actor.user,
        )
        _audit_draw(actor, pool, draw)
        return draw


@transaction.atomic
def draw_decide(
    *, actor: Scope, draw: Draw, approve: bool, quantity_kg: Decimal | None = None, note: str = ""
) -> Draw:
    """The operator grants a pending draw (all it asked, or ``quantity_kg`` of it, within
    what the pool holds) or rejects it. Locks the pool. One audit row, ``pool_draw.grant``
    or ``.reject``; a grant writes ``pool.draw_granted``, and ``pool.shortfall`` if the
    pool is left below its target (outbox, delivered after commit)."""
    pool = _lock(draw.pool)
    if not may_operate(actor, pool):
        raise NotPermitted(_("Only the pool's operator decides."))
    draw = Draw.objects.select_for_update().select_related("member__enterprise").get(pk=draw.pk)
    if draw.status != DrawStatus.PENDING:
        raise Conflict(_("This draw was decided already."), field="status")
    plan: tuple[Takes, Decimal] = ([], Decimal(0))
    if approve:
        wanted = draw.requested_kg if quantity_kg is None else quantity_kg
        if not Decimal(0) < wanted <= draw.requested_kg:
            raise DomainError(_("More than 0 and at most what was asked."), field="quantity")
        plan = _fefo(pool, wanted, lock=True)
        draw.granted_kg = sum((take for _lot, take in plan[0]), Decimal(0))
        draw.status = DrawStatus.GRANTED
    else:
        draw.status = DrawStatus.REJECTED
    draw.decided_by, draw.decided_at, draw.note = actor.user, timezone.now(), note[:500]
    draw.save(update_fields=["granted_kg", "status", "decided_by", "decided_at", "note"])
    if approve:
        members = {
            m.pk: m for m in PoolMember.objects.filter(pool=pool, status=MemberStatus.ACTIVE)
        }
        _hand_over(actor, pool, draw, plan, members)
    audit_record(
        actor=actor,
        action="pool_draw.grant" if approve else "pool_draw.reject",
        target=draw,
        changes={
            "status": [DrawStatus.PENDING, draw.status],
            "granted_kg": [None, str(draw.granted_kg)],
        },
        enterprise=draw.member.enterprise_id,
        note=note[:200],
    )
    return draw


def obligations_overdue(*, pool: Pool | None = None, today: Any = None) -> Any:
    """Open obligations past their deadline."""
    today = today or timezone.localdate()
    qs = Obligation.objects.filter(met_at__isnull=True, due_on__lt=today)
    return qs.filter(pool=pool) if pool is not None else qs


# --- Events and the daily sweep ------------------------------------------------------------


def _operated_by(pool: Pool) -> dict[str, Any]:
    """Who runs the pool, as the payloads name it: its lead, or the park's operators."""
    return {"lead_id": pool.lead_id, "park_ids": [] if pool.lead_id else [pool.park_id]}


def _emit_shortfall(pool: Pool, held_kg: Decimal) -> None:
    event_emit(
        topic="pool.shortfall",
        payload={
            "pool_id": pool.pk,
            "park_id": pool.park_id,
            "material_ids": [pool.material_id],
            **_operated_by(pool),
            "held_kg": decimal_text(held_kg, 3),
            "target_kg": decimal_text(pool.target_kg, 3),
        },
    )


def _announced(topic: str, key: str, ids: list[int]) -> set[int]:
    """Which of ``ids`` an event of ``topic`` already named under ``key`` (the outbox keeps
    its events): what a once-only warning has said already."""
    if not ids:
        return set()
    lookup = {f"payload__{key}__in": ids}
    return set(
        OutboxEvent.objects.filter(topic=topic, **lookup).values_list(f"payload__{key}", flat=True)
    )


def _obligation_payload(obligation: Obligation) -> dict[str, Any]:
    return {
        "pool_id": obligation.pool_id,
        "park_id": obligation.pool.park_id,
        "material_ids": [obligation.pool.material_id],
        "obligation_id": obligation.pk,
        "draw_id": obligation.draw_id,
        "enterprise_id": obligation.member.enterprise_id,
        "quantity_kg": decimal_text(obligation.quantity_kg, 3),
        "met_kg": decimal_text(obligation.met_kg, 3),
        "due_on": obligation.due_on.isoformat(),
    }


@transaction.atomic
def pools_sweep(*, today: Any = None) -> dict[str, int]:
    """The daily look at every active pool (beat, ``pools-sweep``), by the system: writes

    - ``pool.obligation_overdue`` for each open obligation past its date, on every sweep
      while it is (a daily reminder: the sweep runs once a day; a second run the same day
      repeats it);
    - ``pool.obligation_due`` once per open obligation due within
      ``POOL_OBLIGATION_DUE_DAYS`` (today included);
    - ``pool.lot_expiring`` once per pooled lot with stock within the pool's
      ``rotation_lead_days`` of its expiry (or past it);
    - ``pool.shortfall`` for each pool holding less than its target, on every sweep.

    "Once" is kept without a column of its own: an event of that topic naming that
    obligation or lot in the outbox (which keeps its events) has said it already. Changes
    nothing else and locks nothing (it only reads, then writes events; two sweeps at once
    could both announce a new warning). Returns how many events of each topic it wrote.
    """
    today = today or timezone.localdate()
    counts = dict.fromkeys(("obligation_overdue", "obligation_due", "lot_expiring", "shortfall"), 0)
    open_obligations = Obligation.objects.filter(
        met_at__isnull=True, pool__is_active=True
    ).select_related("pool", "member")
    for obligation in open_obligations.filter(due_on__lt=today).order_by("due_on", "pk"):
        event_emit(topic="pool.obligation_overdue", payload=_obligation_payload(obligation))
        counts["obligation_overdue"] += 1
    due_soon = list(
        open_obligations.filter(
            due_on__gte=today,
            due_on__lte=today + timedelta(days=settings.POOL_OBLIGATION_DUE_DAYS),
        ).order_by("due_on", "pk")
    )
    told = _announced("pool.obligation_due", "obligation_id", [o.pk for o in due_soon])
    for obligation in due_soon:
        if obligation.pk not in told:
            event_emit(topic="pool.obligation_due", payload=_obligation_payload(obligation))
            counts["obligation_due"] += 1
    for pool in Pool.objects.filter(is_active=True).order_by("pk"):
        # The rotation's own rule: the lots the operator is asked to list.
        expiring = list(pool_lots_expiring(pool, today=today))
        told = _announced("pool.lot_expiring", "lot_id", [lot.pk for lot in expiring])
        for lot in expiring:
            if lot.pk in told:
                continue
            assert lot.expires_on is not None  # filtered on
            event_emit(
                topic="pool.lot_expiring",
                payload={
                    "pool_id": pool.pk,
                    "park_id": pool.park_id,
                    "material_ids": [lot.material_id],
                    **_operated_by(pool),
                    "lot_id": lot.pk,
                    "expires_on": lot.expires_on.isoformat(),
                    "on_hand_kg": decimal_text(lot.on_hand_kg, 3),
                },
            )
            counts["lot_expiring"] += 1
        held = pool_held_kg(pool)
        if held < pool.target_kg:
            _emit_shortfall(pool, held)
            counts["shortfall"] += 1
        # The pool's need in step with what it holds (opened, resized or closed).
        from pools.services.shortfall import pool_shortfall_sync

        pool_shortfall_sync(pool=pool)
    return counts


__all__ = [
    "Q",
    "draw_decide",
    "membership_decide",
    "membership_request",
    "obligations_overdue",
    "pool_contribute",
    "pool_create",
    "pool_draw",
    "pool_held_kg",
    "pools_sweep",
]
