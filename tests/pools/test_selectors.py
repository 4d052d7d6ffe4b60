"""Who sees what of the pools: ``pools_operated`` is ``may_operate`` as a queryset, for
every kind of caller; the reads of each role; and the statement's exact split in fen."""

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access.scope import resolve_scope
from pools.rules import may_operate
from pools.selectors import pool_list, pools_joinable, pools_operated
from pools.services import pool_create
from pools.statements import split_fen
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pools(pool_world: dict[str, Any]) -> list[Any]:
    """The park-run pool of the world, one led by a2, and one in park C."""
    world = pool_world
    led = pool_create(
        actor=resolve_scope(world["users"]["superuser"]),
        park=world["parks"]["a"],
        code="led",
        name="led by a2",
        material=world["material"],
        target_kg=Decimal(100),
        zones=[world["zones"]["shared"]],
        lead=world["enterprises"]["a2"],
    )
    shared_c = f.StorageZoneFactory.create(
        warehouse=f.WarehouseFactory.create(owner=None, park=world["parks"]["c"])
    )
    far = pool_create(
        actor=resolve_scope(world["users"]["superuser"]),
        park=world["parks"]["c"],
        code="far",
        name="in park C",
        material=world["material"],
        target_kg=Decimal(100),
        zones=[shared_c],
    )
    return [world["pool"], led, far]


def every_caller(world: dict[str, Any]) -> dict[str, Any]:
    users = dict(world["users"])
    users["a2_viewer"] = f.MembershipFactory.create(
        enterprise=world["enterprises"]["a2"], role="viewer"
    ).user
    users["park_operator_c"] = f.ParkRoleFactory.create(
        park=world["parks"]["c"], role="park_operator"
    ).user
    return users


def test_pools_operated_is_may_operate(pool_world: dict[str, Any], pools: list[Any]) -> None:
    for name, user in every_caller(pool_world).items():
        scope = resolve_scope(user)
        operated = set(pools_operated(scope=scope).values_list("pk", flat=True))
        for pool in pools:
            assert (pool.pk in operated) == may_operate(scope, pool), (name, pool.code)


def test_who_reads_which_pool(pool_world: dict[str, Any], pools: list[Any]) -> None:
    park_run, led, far = (p.pk for p in pools)
    expected = {
        "trader": {park_run},  # a1: a member
        "viewer": {park_run},  # a1's viewer reads what a1 reads
        "a2_trader": {park_run, led},  # a member of one, the lead of the other
        "a2_viewer": {park_run, led},
        "park_b_admin": set(),
        "park_c_admin": set(),  # park C's pool has no member yet
        "park_operator": {park_run, led},
        "park_operator_c": {far},
        "regulator": {park_run, led},
        "regulator_c": {far},
        "superuser": {park_run, led, far},
    }
    callers = every_caller(pool_world)
    for name, pks in expected.items():
        scope = resolve_scope(callers[name])
        assert set(pool_list(scope=scope).values_list("pk", flat=True)) == pks, name


def test_an_enterprise_may_ask_to_join_the_active_pools_of_its_park_only(
    pool_world: dict[str, Any], pools: list[Any]
) -> None:
    a3 = f.EnterpriseFactory.create(park=pool_world["parks"]["a"])
    scope = resolve_scope(f.MembershipFactory.create(enterprise=a3, role="trader").user)
    park_run, led, _far = pools
    assert set(pools_joinable(scope=scope)) == {park_run, led}
    assert not pool_list(scope=scope).exists()
    type(led).objects.filter(pk=led.pk).update(is_active=False)
    assert set(pools_joinable(scope=scope)) == {park_run}


weights = st.dictionaries(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=10**9).map(lambda g: Decimal(g) / 1000),
    min_size=1,
    max_size=30,
).filter(lambda w: sum(w.values()) > 0)


@given(total=st.integers(min_value=0, max_value=10**13), weights=weights)
def test_split_fen_is_whole_fen_summing_to_the_total_within_a_fen_of_exact(
    total: int, weights: dict[int, Decimal]
) -> None:
    shares = split_fen(total, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == total
    weight_sum = sum(Fraction(w) for w in weights.values())
    for key, share in shares.items():
        assert isinstance(share, int) and share >= 0
        exact = total * Fraction(weights[key]) / weight_sum
        assert abs(share - exact) < 1
    assert split_fen(total, weights) == shares  # deterministic


def test_split_fen_gives_the_fen_left_to_the_largest_fraction() -> None:
    # 53704 fen 6 : 4 is 32222.4 : 21481.6: the one fen left goes to the 0.6.
    assert split_fen(53704, {1: Decimal(6000), 2: Decimal(4000)}) == {1: 32222, 2: 21482}
    # Ties go to the lower key.
    assert split_fen(1, {5: Decimal(1), 3: Decimal(1)}) == {3: 1, 5: 0}
    with pytest.raises(ValueError, match="negative"):
        split_fen(-1, {1: Decimal(1)})
