"""The demo's joint stockpiles (docs/stockpiling.md): three pools in three parks, built
through the pools' services as their users would.

- 上虞 烧碱联储: three members, 45 of 60 t contributed: below target, so the pool has a
  need and the matching engine proposes the park's caustic soda listings for it;
- 杭州湾 烧碱应急储备: full (30 t), then an emergency draw of 8 t by 宁波湾晟, granted at
  once, its replenishment split 12 : 10 : 8 among the members (exact to the gram);
- 石化区 甲醇联储: led by 甬辰炼化 (the lead enterprise operates it), full at 40 t.

Idempotent: a pool that exists (by park and code) is left as it is.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from access.scope import Scope, resolve_scope
from inventory.models import Material, StorageZone
from inventory.services import stock_receive
from parks.models import Park
from pools.models import Pool, RequestKind
from pools.services import (
    membership_decide,
    membership_request,
    pool_contribute,
    pool_create,
    pool_draw,
)
from pools.services.shortfall import pool_shortfall_sync


@dataclass(frozen=True)
class PoolSpec:
    park: str
    code: str
    name: str
    cas: str
    warehouse: str
    zone: str
    target_t: int
    members: tuple[tuple[str, int, int], ...]  # enterprise key, commitment t, contributed t
    lead: str = ""
    draw: tuple[str, int] | None = None  # emergency: enterprise key, t


POOLS: tuple[PoolSpec, ...] = (
    PoolSpec(
        "shangyu",
        "sy-naoh",
        "上虞烧碱联储",
        "1310-73-2",
        "shangyu-shared-1",
        "COR-01",
        60,
        (("sy01", 25, 20), ("sy02", 20, 15), ("sy03", 15, 10)),
    ),
    PoolSpec(
        "hzbay",
        "hb-naoh",
        "杭州湾烧碱应急储备",
        "1310-73-2",
        "hzbay-shared-1",
        "COR-01",
        30,
        (("hb01", 12, 12), ("hb03", 10, 10), ("hb04", 8, 8)),
        draw=("hb04", 8),
    ),
    PoolSpec(
        "nbpedz",
        "zh-methanol",
        "石化区甲醇联储",
        "67-56-1",
        "nbpedz-shared-1",
        "FL-01",
        40,
        (("zh01", 20, 20), ("zh02", 20, 20)),
        lead="zh01",
    ),
)


def _scope(username: str) -> Scope:
    return resolve_scope(get_user_model().objects.get(username=username))


def _member_scope(key: str) -> Scope:
    """The enterprise's trader if it has one, else its admin."""
    users = get_user_model().objects
    user = users.filter(username=f"{key}.trader").first() or users.get(username=f"{key}.admin")
    return resolve_scope(user)


def build_pools(*, today: date) -> int:
    """Build the demo's pools that do not exist yet; returns how many were built."""
    built = 0
    for spec in POOLS:
        park = Park.objects.get(code=spec.park)
        if Pool.objects.filter(park=park, code=spec.code).exists():
            continue
        _build(spec, park=park, today=today)
        built += 1
    for pool in Pool.objects.filter(code__in=[s.code for s in POOLS]):
        pool_shortfall_sync(pool=pool)
    return built


def _build(spec: PoolSpec, *, park: Park, today: date) -> None:
    operator = _member_scope(spec.lead) if spec.lead else _scope(f"{spec.park}.operator")
    material = Material.objects.get(cas=spec.cas)
    zone = StorageZone.objects.get(warehouse__code=spec.warehouse, code=spec.zone)
    pool = pool_create(
        actor=operator,
        park=park,
        code=spec.code,
        name=spec.name,
        material=material,
        target_kg=Decimal(spec.target_t * 1000),
        zones=[zone],
        lead=operator.enterprise if spec.lead else None,
        max_price_per_t=Decimal("1500.00"),
        holding_rate_per_t_month=Decimal("35.00"),
        storage_fee_per_month=Decimal("800.00"),
    )
    for number, (key, commitment_t, contributed_t) in enumerate(spec.members, start=1):
        member = _member_scope(key)
        request = membership_request(
            actor=member,
            pool=pool,
            kind=RequestKind.JOIN,
            commitment_kg=Decimal(commitment_t * 1000),
            reason="园区联储联备",
        )
        membership_decide(actor=operator, request=request, approve=True)
        assert member.enterprise is not None
        lot = stock_receive(
            actor=member,
            owner=member.enterprise,
            material=material,
            zone=zone,
            quantity_kg=Decimal(contributed_t * 1000),
            batch_no=f"DEMO-POOL-{spec.code.upper()}-{number:02d}",
            produced_on=today - timedelta(days=30 * number),
            expires_on=today + timedelta(days=300 + 60 * number),
            reference=f"pool:{spec.code}",
        )
        pool_contribute(actor=member, pool=pool, lot=lot, quantity_kg=Decimal(contributed_t * 1000))
    if spec.draw is not None:
        key, drawn_t = spec.draw
        pool_draw(
            actor=_member_scope(key),
            pool=pool,
            quantity_kg=Decimal(drawn_t * 1000),
            severity="emergency",
            reason="储罐泄漏应急中和",
        )
