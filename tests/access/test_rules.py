"""The questions of access.rules, asked for each kind of caller."""

from itertools import product
from typing import Any

import pytest
from django.db.models import Value

from access.models import Membership
from access.roles import ADMIN_ROLES, STOCK_ROLES, TRADING_ROLES, EnterpriseRole
from access.rules import (
    BUYER,
    SELLER,
    has_standing,
    may_change,
    may_write,
    parties_filter,
    party_side,
    people_of,
)
from access.scope import resolve_scope
from parks.models import Enterprise
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_standing(world: dict[str, Any]) -> None:
    users = world["users"]
    for name in ("trader", "viewer", "park_operator", "regulator", "superuser"):
        assert has_standing(resolve_scope(users[name])), name
    assert not has_standing(resolve_scope(f.UserFactory.create()))


@pytest.mark.parametrize(
    ("name", "roles", "park_operator", "expected"),
    [
        ("enterprise_admin", ADMIN_ROLES, False, True),
        ("trader", ADMIN_ROLES, False, False),
        ("trader", TRADING_ROLES, False, True),
        ("warehouse_keeper", TRADING_ROLES, False, False),
        ("warehouse_keeper", STOCK_ROLES, False, True),
        ("viewer", frozenset({"viewer"}), True, False),  # a viewer never writes
        ("park_operator", STOCK_ROLES, False, False),
        ("park_operator", STOCK_ROLES, True, True),
        ("regulator", STOCK_ROLES, True, False),
        ("superuser", frozenset(), False, True),
    ],
)
def test_may_write(
    world: dict[str, Any], name: str, roles: frozenset[str], park_operator: bool, expected: bool
) -> None:
    scope = resolve_scope(world["users"][name])
    assert may_write(scope, roles=roles, park_operator=park_operator) is expected


def test_may_change_the_rows_of_ones_own_enterprise(world: dict[str, Any]) -> None:
    users, ents = world["users"], world["enterprises"]
    trader = resolve_scope(users["trader"])
    assert may_change(trader, owner_id=ents["a1"].pk)
    assert not may_change(trader, owner_id=ents["a2"].pk)
    assert not may_change(trader, owner_id=None)
    assert not may_change(resolve_scope(users["park_operator"]), owner_id=ents["a1"].pk)
    assert may_change(resolve_scope(users["superuser"]), owner_id=ents["a2"].pk)


def test_party_side_and_parties_filter_agree(world: dict[str, Any]) -> None:
    """Every (seller, buyer) pair of the world's enterprises, as rows of a queryset: the
    filter keeps a pair exactly when the caller is a side of it, or it is in their parks."""
    ents = list(Enterprise.objects.order_by("pk"))
    pairs = list(product(ents, ents))
    users = world["users"]
    for name in ("trader", "other_admin", "park_b_admin", "regulator", "regulator_c", "superuser"):
        scope = resolve_scope(users[name])
        kept = set()
        for seller, buyer in pairs:
            # One row whose seller_id and buyer_id columns are the pair, to run the filter on.
            row = Enterprise.objects.filter(pk=seller.pk).annotate(
                seller_id=Value(seller.pk), buyer_id=Value(buyer.pk)
            )
            if row.filter(parties_filter(scope)).exists():
                kept.add((seller.pk, buyer.pk))
        for seller, buyer in pairs:
            side = party_side(scope, seller_id=seller.pk, buyer_id=buyer.pk)
            if scope.enterprise is not None:
                expected = side is not None
                assert side == (
                    SELLER if seller.pk == scope.enterprise_id else BUYER if expected else None
                )
            elif scope.is_superuser:
                expected = True
                assert side is None  # a deal binds an enterprise; a superuser is no side
            else:
                expected = seller.park_id in scope.park_ids or buyer.park_id in scope.park_ids
                assert side is None
            assert ((seller.pk, buyer.pk) in kept) is expected, (name, seller, buyer)


def test_nobody_sees_no_deal(world: dict[str, Any]) -> None:
    nobody = resolve_scope(f.UserFactory.create())
    assert not Enterprise.objects.filter(parties_filter(nobody, seller_field="pk")).exists()


def test_people_of_an_enterprise_in_roles(world: dict[str, Any]) -> None:
    a1 = world["enterprises"]["a1"]
    users = world["users"]
    traders = people_of(enterprise_id=a1.pk, roles=TRADING_ROLES)
    assert {m.user for m in traders} == {users["enterprise_admin"], users["trader"]}
    keepers = people_of(enterprise_id=a1.pk, roles=frozenset({EnterpriseRole.WAREHOUSE_KEEPER}))
    assert [m.user for m in keepers] == [users["warehouse_keeper"]]
    assert all(isinstance(m, Membership) for m in traders)
