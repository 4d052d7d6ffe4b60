"""Controlled chemicals: the catalogue's flags (inventory.data.controls), the buying rule
(inventory.controls.permit_refusal), the permits' bulk read (inventory.selectors.permits_of)
and the permit services."""

import importlib
from datetime import date, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.scope import resolve_scope
from common.exceptions import DomainError, NotPermitted
from common.identifiers import is_valid_cas
from common.models import OutboxEvent
from inventory.controls import (
    DRUG_PRECURSOR_KINDS,
    EXPLOSIVE_PRECURSOR_KINDS,
    HIGHLY_TOXIC_KINDS,
    Controls,
    PermitFacts,
    PermitKind,
    permit_refusal,
)
from inventory.data.chemicals import BY_CAS
from inventory.data.controls import (
    CONTROLS,
    DRUG_PRECURSOR,
    EXPLOSIVE_PRECURSOR,
    HIGHLY_TOXIC,
    TO_CONFIRM,
    control_fields,
)
from inventory.models import Material, Permit
from inventory.selectors import permits_of
from inventory.services import permit_create, permit_delete, permit_update
from tests import factories as f

TODAY = date(2026, 12, 6)
ONE_DAY = timedelta(days=1)
K = PermitKind


def facts(
    kind: str,
    *material_ids: int,
    valid_from: date = TODAY - 100 * ONE_DAY,
    expires_on: date = TODAY + 100 * ONE_DAY,
) -> PermitFacts:
    return PermitFacts(
        kind=kind,
        material_ids=frozenset(material_ids),
        valid_from=valid_from,
        expires_on=expires_on,
    )


def refusal(controls: Controls, *permits: PermitFacts, material_id: int = 7, **kw: Any) -> Any:
    return permit_refusal(
        material_id=material_id, controls=controls, permits=permits, today=TODAY, **kw
    )


# --- The data -------------------------------------------------------------------------------


@pytest.mark.parametrize("cas", sorted(CONTROLS))
def test_every_flagged_cas_is_in_the_catalogue_with_a_valid_check_digit(cas: str) -> None:
    assert is_valid_cas(cas), cas
    assert cas in BY_CAS, f"{cas} is flagged but not in inventory.data.chemicals"
    assert CONTROLS[cas], cas


def test_the_lists_the_brief_names() -> None:
    def on(source: Any) -> set[str]:
        return {cas for cas, flags in CONTROLS.items() if any(f.list is source for f in flags)}

    assert on(HIGHLY_TOXIC) == {"75-44-5", "74-90-8", "143-33-9", "151-50-8"}
    assert on(EXPLOSIVE_PRECURSOR) == {
        "7697-37-2",
        "6484-52-2",
        "7775-09-9",
        "7722-64-7",
        "7440-23-5",
        "7704-34-9",
    }
    drug = {
        cas: flag.category
        for cas, flags in CONTROLS.items()
        for flag in flags
        if flag.list is DRUG_PRECURSOR
    }
    assert drug == {
        "60-29-7": 2,
        "67-66-3": 2,
        "7726-95-6": 2,
        "108-88-3": 3,
        "67-64-1": 3,
        "78-93-3": 3,
        "7664-93-9": 3,
        "7647-01-0": 3,
        "7722-64-7": 3,
    }
    assert set(TO_CONFIRM) <= set(CONTROLS)


def test_control_fields_name_the_lists_and_their_editions() -> None:
    cyanide = control_fields("143-33-9")
    assert cyanide["highly_toxic"] and not cyanide["explosive_precursor"]
    assert cyanide["drug_precursor_category"] == 0
    assert "《危险化学品目录（2015版）》" in cyanide["control_source"]
    permanganate = control_fields("7722-64-7")
    assert permanganate["explosive_precursor"]
    assert permanganate["drug_precursor_category"] == 3
    assert "《易制爆危险化学品名录（2017年版）》" in permanganate["control_source"]
    assert "易制毒化学品（第三类）" in permanganate["control_source"]
    assert "2014" in permanganate["control_source"]
    assert control_fields("7726-95-6")["drug_precursor_category"] == 2
    assert control_fields("64-17-5") == {
        "highly_toxic": False,
        "explosive_precursor": False,
        "drug_precursor_category": 0,
        "control_source": "",
    }
    assert control_fields(None)["control_source"] == ""


@pytest.mark.django_db
def test_the_data_migration_flags_existing_materials_by_cas() -> None:
    cyanide = f.MaterialFactory.create(cas="143-33-9", name_en="Sodium cyanide")
    toluene = f.MaterialFactory.create(cas="108-88-3", name_en="Toluene")
    water = f.MaterialFactory.create(cas="7732-18-5", name_en="Water")
    migration = importlib.import_module("inventory.migrations.0005_material_controls_from_lists")
    migration.flag(apps, None)
    cyanide.refresh_from_db()
    toluene.refresh_from_db()
    water.refresh_from_db()
    assert cyanide.highly_toxic and "剧毒化学品" in cyanide.control_source
    assert toluene.drug_precursor_category == 3 and not toluene.highly_toxic
    assert Controls.of(water) == Controls() and water.control_source == ""
    migration.unflag(apps, None)
    cyanide.refresh_from_db()
    assert not Controls.of(cyanide).any and cyanide.control_source == ""


# --- The rule -------------------------------------------------------------------------------

CONTROL_CASES = {
    "highly toxic": Controls(highly_toxic=True),
    "explosive precursor": Controls(explosive_precursor=True),
    "drug precursor 1": Controls(drug_precursor_category=1),
    "drug precursor 2": Controls(drug_precursor_category=2),
    "drug precursor 3": Controls(drug_precursor_category=3),
}
LICENCES = {K.SAFETY_PRODUCTION_LICENCE, K.SAFE_USE_LICENCE, K.BUSINESS_LICENCE}
SATISFIES = {
    "highly toxic": LICENCES | {K.HIGHLY_TOXIC_PURCHASE_PERMIT},
    "explosive precursor": LICENCES | {K.EXPLOSIVE_PRECURSOR_LAWFUL_USE},
    "drug precursor 1": {K.DRUG_PRECURSOR_PURCHASE_PERMIT},
    "drug precursor 2": {K.DRUG_PRECURSOR_PURCHASE_PERMIT, K.DRUG_PRECURSOR_FILING_CERTIFICATE},
    "drug precursor 3": {K.DRUG_PRECURSOR_PURCHASE_PERMIT, K.DRUG_PRECURSOR_FILING_CERTIFICATE},
}


@pytest.mark.parametrize("kind", PermitKind.values)
@pytest.mark.parametrize("control", sorted(CONTROL_CASES))
def test_every_kind_against_every_control(control: str, kind: str) -> None:
    controls = CONTROL_CASES[control]
    result = refusal(controls, facts(kind))
    if kind in SATISFIES[control]:
        assert result is None
    else:
        assert result is not None
        assert result.endswith("covering it.")


def test_the_tables_of_the_module_are_the_domain_references() -> None:
    assert SATISFIES["highly toxic"] == HIGHLY_TOXIC_KINDS
    assert SATISFIES["explosive precursor"] == EXPLOSIVE_PRECURSOR_KINDS
    for category in (1, 2, 3):
        assert DRUG_PRECURSOR_KINDS[category] == SATISFIES[f"drug precursor {category}"]


def test_an_uncontrolled_material_needs_no_permit() -> None:
    assert not Controls().any
    assert refusal(Controls()) is None


@pytest.mark.parametrize("control", sorted(CONTROL_CASES))
def test_without_permits_every_control_refuses(control: str) -> None:
    assert refusal(CONTROL_CASES[control]) is not None


def test_the_refusal_names_the_material_the_control_and_the_missing_permit() -> None:
    text = refusal(Controls(highly_toxic=True), name="Sodium cyanide")
    assert text == (
        "Sodium cyanide is a highly toxic chemical (剧毒化学品); the buyer holds no valid "
        "hazardous-chemicals licence or highly-toxic purchase permit covering it."
    )
    assert refusal(Controls(explosive_precursor=True)).startswith(
        "This material is an explosive precursor (易制爆危险化学品)"
    )
    assert "category 1 drug precursor" in refusal(Controls(drug_precursor_category=1))
    three = refusal(Controls(drug_precursor_category=3), name="Toluene")
    assert three.startswith("Toluene is a category 3 drug precursor (易制毒化学品)")
    assert "purchase permit or filing certificate" in three


@pytest.mark.parametrize(
    ("valid_from", "expires_on", "permitted"),
    [
        (TODAY - 10 * ONE_DAY, TODAY - ONE_DAY, False),  # expired yesterday
        (TODAY + ONE_DAY, TODAY + 10 * ONE_DAY, False),  # not yet valid
        (TODAY, TODAY + 10 * ONE_DAY, True),  # valid from today
        (TODAY - 10 * ONE_DAY, TODAY, True),  # expires at the end of today
        (TODAY, TODAY, True),
    ],
)
def test_only_a_permit_valid_today_permits(
    valid_from: date, expires_on: date, permitted: bool
) -> None:
    permit = facts(K.SAFE_USE_LICENCE, valid_from=valid_from, expires_on=expires_on)
    assert (refusal(Controls(highly_toxic=True), permit) is None) == permitted


def test_a_permit_naming_materials_covers_those_only() -> None:
    toxic = Controls(highly_toxic=True)
    assert refusal(toxic, facts(K.HIGHLY_TOXIC_PURCHASE_PERMIT, 7), material_id=7) is None
    assert refusal(toxic, facts(K.HIGHLY_TOXIC_PURCHASE_PERMIT, 8, 9), material_id=7) is not None
    assert refusal(toxic, facts(K.HIGHLY_TOXIC_PURCHASE_PERMIT, 7, 8), material_id=7) is None
    # An expired permit for the material and a valid one for another add up to nothing.
    expired = facts(K.HIGHLY_TOXIC_PURCHASE_PERMIT, 7, expires_on=TODAY - ONE_DAY)
    other = facts(K.HIGHLY_TOXIC_PURCHASE_PERMIT, 8)
    assert refusal(toxic, expired, other, material_id=7) is not None


def test_a_material_under_several_controls_needs_every_one() -> None:
    permanganate = Controls(explosive_precursor=True, drug_precursor_category=3)
    licence = facts(K.SAFETY_PRODUCTION_LICENCE)
    filing = facts(K.DRUG_PRECURSOR_FILING_CERTIFICATE)
    lawful_use = facts(K.EXPLOSIVE_PRECURSOR_LAWFUL_USE)
    only_licence = refusal(permanganate, licence, name="Potassium permanganate")
    assert only_licence is not None and "drug precursor" in only_licence
    only_filing = refusal(permanganate, filing)
    assert only_filing is not None and "explosive precursor" in only_filing
    assert refusal(permanganate, licence, filing) is None
    assert refusal(permanganate, lawful_use, facts(K.DRUG_PRECURSOR_PURCHASE_PERMIT)) is None
    everything = Controls(highly_toxic=True, explosive_precursor=True, drug_precursor_category=1)
    held = [licence, facts(K.DRUG_PRECURSOR_PURCHASE_PERMIT)]
    assert refusal(everything, *held) is None
    assert "highly toxic" in refusal(everything, held[1])


def test_controls_of_a_material_and_their_bounds() -> None:
    material = Material(highly_toxic=True, explosive_precursor=False, drug_precursor_category=2)
    assert Controls.of(material) == Controls(highly_toxic=True, drug_precursor_category=2)
    assert Controls.of(material).any
    with pytest.raises(ValueError, match="drug_precursor_category"):
        Controls(drug_precursor_category=4)


def test_the_refusal_can_be_translated() -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        english = refusal(Controls(highly_toxic=True), name="X")
        translated = refusal(Controls(highly_toxic=True), name="X", translate=True)
    assert english is not None and english.startswith("X is a highly toxic chemical")
    assert translated is not None and "剧毒化学品" in translated
    assert translated != english


# --- Reading permits in bulk ------------------------------------------------------------------


def _permit(enterprise: Any, kind: str, *materials: Any, **dates: date) -> Permit:
    permit = Permit.objects.create(
        enterprise=enterprise,
        kind=kind,
        number=f"N-{Permit.objects.count() + 1}",
        valid_from=dates.get("valid_from", date(2026, 1, 1)),
        expires_on=dates.get("expires_on", date(2027, 12, 31)),
    )
    permit.materials.set(materials)
    return permit


@pytest.mark.django_db
def test_permits_of_reads_every_enterprise_in_two_queries(world: dict[str, Any]) -> None:
    a1, a2, b, c = (world["enterprises"][k] for k in ("a1", "a2", "b", "c"))
    m1, m2 = f.MaterialFactory.create(), f.MaterialFactory.create()
    _permit(a1, K.SAFE_USE_LICENCE)
    _permit(a1, K.DRUG_PRECURSOR_FILING_CERTIFICATE, m1, m2)
    _permit(b, K.HIGHLY_TOXIC_PURCHASE_PERMIT, m1, expires_on=date(2026, 6, 30))
    _permit(c, K.BUSINESS_LICENCE)
    with CaptureQueriesContext(connection) as queries:
        found = permits_of([a1.pk, a2.pk, b.pk])
    assert len(queries) == 2
    assert set(found) == {a1.pk, a2.pk, b.pk}
    assert found[a2.pk] == ()
    assert {(p.kind, p.material_ids) for p in found[a1.pk]} == {
        (K.SAFE_USE_LICENCE, frozenset()),
        (K.DRUG_PRECURSOR_FILING_CERTIFICATE, frozenset({m1.pk, m2.pk})),
    }
    assert found[b.pk][0].expires_on == date(2026, 6, 30)
    valid = permits_of([a1.pk, b.pk], valid_on=date(2026, 12, 6))
    assert valid[b.pk] == () and len(valid[a1.pk]) == 2
    with CaptureQueriesContext(connection) as queries:
        assert permits_of([]) == {}
    assert len(queries) == 0


# --- The services -----------------------------------------------------------------------------


def _create(world: dict[str, Any], actor: Any = None, **changes: Any) -> Permit:
    terms: dict[str, Any] = {
        "enterprise": world["enterprises"]["a1"],
        "kind": K.SAFE_USE_LICENCE,
        "number": "（浙）WH安使证字〔2026〕0001",
        "valid_from": date(2026, 1, 1),
        "expires_on": date(2028, 12, 31),
        **changes,
    }
    return permit_create(actor=resolve_scope(actor or world["users"]["enterprise_admin"]), **terms)


@pytest.mark.django_db
def test_the_admin_records_changes_and_deletes_a_permit_with_events(
    world: dict[str, Any],
) -> None:
    material = world["material"]
    permit = _create(world, materials=[material, material.pk], number="  P-1 ")
    assert permit.number == "P-1"
    assert list(permit.materials.all()) == [material]
    assert permit.created_by == world["users"]["enterprise_admin"]
    admin = world["users"]["enterprise_admin"]
    permit = permit_update(
        actor=resolve_scope(admin), permit=permit, expires_on=date(2029, 1, 1), materials=[]
    )
    assert permit.expires_on == date(2029, 1, 1) and not permit.materials.exists()
    permit_delete(actor=resolve_scope(admin), permit=permit)
    assert not Permit.objects.exists()
    events = list(OutboxEvent.objects.filter(topic__startswith="permit.").order_by("id"))
    assert [e.topic for e in events] == ["permit.created", "permit.updated", "permit.deleted"]
    assert events[0].payload == {
        "permit_id": permit.pk,
        "enterprise_id": world["enterprises"]["a1"].pk,
        "kind": K.SAFE_USE_LICENCE,
        "material_ids": [material.pk],
    }
    assert events[1].payload["material_ids"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who", ["trader", "warehouse_keeper", "viewer", "other_admin", "regulator"]
)
def test_only_the_enterprises_admin_writes_its_permits(who: str, world: dict[str, Any]) -> None:
    with pytest.raises(NotPermitted):
        _create(world, actor=world["users"][who])
    permit = _create(world)
    with pytest.raises(NotPermitted):
        permit_update(actor=resolve_scope(world["users"][who]), permit=permit, note="x")
    with pytest.raises(NotPermitted):
        permit_delete(actor=resolve_scope(world["users"][who]), permit=permit)
    assert Permit.objects.get().note == ""


@pytest.mark.django_db
def test_a_superuser_records_a_permit_for_an_enterprise(world: dict[str, Any]) -> None:
    permit = _create(world, actor=world["users"]["superuser"])
    assert permit.enterprise == world["enterprises"]["a1"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expires_on": date(2025, 12, 31)}, "expires_on"),
        ({"number": "   "}, "number"),
        ({"number": "x" * 65}, "number"),
        ({"note": "x" * 256}, "note"),
        ({"kind": "driving_licence"}, "kind"),
        ({"materials": [10**9]}, "materials"),
        ({"materials": [2**64]}, "materials"),
        ({"materials": [0]}, "materials"),
        ({"materials": ["1"]}, "materials"),
    ],
)
def test_bad_input_is_refused_on_its_field(
    changes: dict[str, Any], field: str, world: dict[str, Any]
) -> None:
    with pytest.raises(DomainError) as refused:
        _create(world, **changes)
    assert refused.value.field == field
    assert not Permit.objects.exists()
    permit = _create(world)
    with pytest.raises(DomainError) as refused:
        permit_update(
            actor=resolve_scope(world["users"]["enterprise_admin"]), permit=permit, **changes
        )
    assert refused.value.field == field


@pytest.mark.django_db
def test_a_number_of_the_same_kind_is_recorded_once(world: dict[str, Any]) -> None:
    _create(world)
    with pytest.raises(DomainError) as refused:
        _create(world)
    assert refused.value.field == "number"
    _create(world, kind=K.BUSINESS_LICENCE)  # another kind may share the number
    with pytest.raises(DomainError) as refused:
        permit_update(
            actor=resolve_scope(world["users"]["enterprise_admin"]),
            permit=_create(world, number="2"),
            enterprise=1,
        )
    assert refused.value.field == "enterprise"


@pytest.mark.django_db
def test_the_database_refuses_an_expiry_before_validity(world: dict[str, Any]) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Permit.objects.create(
            enterprise=world["enterprises"]["a1"],
            kind=K.SAFE_USE_LICENCE,
            number="X",
            valid_from=date(2026, 2, 1),
            expires_on=date(2026, 1, 31),
        )


@pytest.mark.django_db
def test_material_api_shows_the_control_flags(world: dict[str, Any], api_client: Any) -> None:
    material = f.MaterialFactory.create(**control_fields("7722-64-7"))
    body = api_client(world["users"]["viewer"]).get(f"/api/v1/materials/{material.pk}/").json()
    assert body["explosive_precursor"] is True
    assert body["highly_toxic"] is False
    assert body["drug_precursor_category"] == 3
    assert "2017年版" in body["control_source"]
