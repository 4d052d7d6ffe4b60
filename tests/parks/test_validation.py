"""The enterprise directory's services and the demo seed run the models' own validators: a
USCC with a wrong check character or a coordinate out of range, given by a command (the
service called directly, or seed_demo), is refused naming the field, and nothing is
written."""

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from access.scope import resolve_scope
from inventory.data.chemicals import CATALOGUE
from inventory.models import Material
from parks.demo import world as demo_world
from parks.models import Enterprise, Park
from parks.services import enterprise_create, enterprise_update
from tests.factories import make_uscc
from tests.validation import refused_on, stored

pytestmark = pytest.mark.django_db


def wrong_check_character(uscc: str) -> str:
    return uscc[:17] + ("0" if uscc[17] != "0" else "1")


def register(world: dict[str, Any], **overrides: Any) -> Enterprise:
    fields: dict[str, Any] = {
        "park": world["parks"]["a"],
        "uscc": make_uscc(951),
        "name_zh": "新材料公司",
        "latitude": Decimal("29.95"),
        "longitude": Decimal("121.71"),
    }
    fields.update(overrides)
    return enterprise_create(actor=resolve_scope(world["users"]["park_operator"]), **fields)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"uscc": wrong_check_character(make_uscc(951))}, "uscc"),
        ({"uscc": "91330200MA2AAAAAI"}, "uscc"),  # 17 characters, and an I
        ({"latitude": Decimal(91)}, "latitude"),
        ({"longitude": Decimal(-181)}, "longitude"),
        ({"name_zh": ""}, "name_zh"),
    ],
)
def test_enterprise_create_refuses_what_the_model_refuses(
    world: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    with refused_on(field, Enterprise):
        register(world, **overrides)


def test_enterprise_update_refuses_a_wrong_uscc_and_changes_nothing(
    world: dict[str, Any],
) -> None:
    enterprise = world["enterprises"]["a1"]
    before = stored(enterprise)
    with refused_on("uscc", Enterprise):
        enterprise_update(
            actor=resolve_scope(world["users"]["park_operator"]),
            enterprise=enterprise,
            uscc=wrong_check_character(enterprise.uscc),
            name_en="Renamed",
        )
    assert stored(enterprise) == before


def test_seed_demo_refuses_a_catalogue_entry_with_a_wrong_cas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seed writes reference data by update_or_create; a wrong CAS number in the
    catalogue stops it, naming ``cas``, and its transaction leaves no row behind."""
    chemical = next(c for c in CATALOGUE if c.cas)
    assert chemical.cas is not None
    wrong_cas = chemical.cas[:-1] + str((int(chemical.cas[-1]) + 1) % 10)
    broken = dataclasses.replace(chemical, cas=wrong_cas, name_en="Broken entry")
    monkeypatch.setattr(demo_world, "CATALOGUE", [broken, *CATALOGUE])
    with refused_on("cas", Park, Material, Enterprise):
        call_command("seed_demo", verbosity=0)


@pytest.mark.django_db
def test_a_company_needs_its_uscc_and_only_a_pool_holder_goes_without(world: Any) -> None:
    from django.db import IntegrityError, transaction

    from access.scope import resolve_scope
    from common.exceptions import DomainError
    from parks.models import Enterprise, EnterpriseKind
    from parks.services import enterprise_create, enterprise_update

    root = resolve_scope(world["users"]["superuser"])
    with pytest.raises(DomainError) as missing:
        enterprise_create(
            actor=root,
            park=world["parks"]["a"],
            uscc="",
            name_zh="无码",
            latitude=Decimal(30),
            longitude=Decimal(121),
        )
    assert missing.value.field == "uscc"
    with pytest.raises(DomainError) as cleared:
        enterprise_update(actor=root, enterprise=world["enterprises"]["a1"], uscc="")
    assert cleared.value.field == "uscc"
    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.create(park=world["parks"]["a"], name_zh="x", latitude=30, longitude=121)
    for n in range(2):  # pool holders: no USCC, and not unique on the empty one
        Enterprise.objects.create(
            park=world["parks"]["a"],
            name_zh=f"联储池 {n}",
            latitude=30,
            longitude=121,
            kind=EnterpriseKind.POOL,
        )
