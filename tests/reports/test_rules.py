from typing import Any

import pytest

from access.scope import resolve_scope
from parks.models import Park
from reports.rules import may_report, may_report_on, reportable_parks

pytestmark = pytest.mark.django_db


def test_the_rule_and_its_queryset_agree_for_every_kind_of_caller(world: dict[str, Any]) -> None:
    parks = list(Park.objects.all())
    for name, user in world["users"].items():
        scope = resolve_scope(user)
        listed = set(reportable_parks(scope=scope).values_list("pk", flat=True))
        allowed = {p.pk for p in parks if may_report_on(scope, park_id=p.pk)}
        assert listed == allowed, name


def test_who_reads_which_park(world: dict[str, Any]) -> None:
    users, parks = world["users"], world["parks"]

    def reads(user: str) -> set[str]:
        scope = resolve_scope(users[user])
        return {p.code for p in reportable_parks(scope=scope)}

    assert reads("regulator") == {parks["a"].code}
    assert reads("park_operator") == {parks["a"].code}
    assert reads("regulator_c") == {parks["c"].code}
    assert reads("superuser") == {p.code for p in parks.values()}
    for enterprise_user in ("enterprise_admin", "trader", "warehouse_keeper", "viewer"):
        assert not may_report(resolve_scope(users[enterprise_user]))
        assert reads(enterprise_user) == set()
