"""The material catalogue and the GB 18218 tables: well-formed, consistent with each other
and with the domain reference (shared/domain.md)."""

import re
from decimal import Decimal

import pytest

from common.identifiers import is_valid_cas, is_valid_un
from inventory.data import gb18218
from inventory.data.chemicals import BY_CAS, CATALOGUE, Chemical
from inventory.hazards import HAZARD_CLASS_CODES
from inventory.models import ChemicalFamily, Material, PhysicalState
from inventory.units import Unit

# The named thresholds of domain.md, copied here on purpose: the data must agree with them.
DOMAIN_NAMED = {
    "7782-50-5": "5",  # chlorine
    "7664-41-7": "10",  # ammonia
    "1333-74-0": "5",  # hydrogen
    "68476-85-7": "50",  # LPG
    "67-56-1": "500",  # methanol
    "71-43-2": "50",  # benzene
    "108-88-3": "500",  # toluene
    "86290-81-5": "200",  # gasoline
    "74-82-8": "50",  # methane / natural gas
    "74-85-1": "50",  # ethylene
    "7783-06-4": "5",  # hydrogen sulfide
    "75-44-5": "0.3",  # phosgene
    "75-21-8": "10",  # ethylene oxide
    "74-86-2": "1",  # acetylene
    "7782-44-7": "200",  # oxygen (liquid)
}
DOMAIN_CATEGORIES = {
    "J1": "5",
    "J2": "50",
    "J3": "50",
    "J4": "50",
    "J5": "500",
    "W2": "10",
    "W5.1": "10",
    "W5.2": "50",
    "W5.3": "1000",
    "W5.4": "5000",
    "W9.1": "50",
    "W9.2": "200",
}
DOMAIN_BETA_NAMED = {
    "630-08-0": "2",  # CO
    "7446-09-5": "2",  # SO2
    "7664-41-7": "2",  # NH3
    "75-21-8": "2",  # ethylene oxide
    "7647-01-0": "3",  # HCl
    "74-83-9": "3",  # methyl bromide
    "7782-50-5": "4",  # Cl2
    "7783-06-4": "5",  # H2S
    "7664-39-3": "5",  # HF
    "10102-44-0": "10",  # NO2
    "74-90-8": "10",  # HCN
    "75-44-5": "20",  # phosgene
    "7803-51-2": "20",  # phosphine
    "624-83-9": "20",  # methyl isocyanate
}


def _ids(chemical: Chemical) -> str:
    return chemical.cas or chemical.name_en


def test_catalogue_has_at_least_60_entries_and_some_non_dangerous_ones() -> None:
    assert len(CATALOGUE) >= 60
    non_dangerous = [c for c in CATALOGUE if not c.primary_class]
    assert len(non_dangerous) >= 3
    for chemical in non_dangerous:
        assert chemical.un_number == ""
        assert chemical.subsidiary_classes == ()
        assert chemical.gb18218_threshold_t is None


def test_no_duplicate_cas_or_names() -> None:
    cas = [c.cas for c in CATALOGUE if c.cas]
    assert len(cas) == len(set(cas))
    assert len({c.name_en for c in CATALOGUE}) == len(CATALOGUE)
    assert len({c.name_zh for c in CATALOGUE}) == len(CATALOGUE)
    assert len(BY_CAS) == len(cas)


@pytest.mark.parametrize("chemical", CATALOGUE, ids=_ids)
def test_entry_is_well_formed(chemical: Chemical) -> None:
    if chemical.cas is not None:
        assert is_valid_cas(chemical.cas), chemical.cas
    if chemical.primary_class:
        assert is_valid_un(chemical.un_number)
        assert chemical.primary_class in HAZARD_CLASS_CODES
    assert all(c in HAZARD_CLASS_CODES for c in chemical.subsidiary_classes)
    assert chemical.primary_class not in chemical.subsidiary_classes
    assert len(set(chemical.subsidiary_classes)) == len(chemical.subsidiary_classes)
    assert chemical.physical_state in PhysicalState.values
    assert chemical.family in ChemicalFamily.values
    assert chemical.default_unit in Unit.values
    assert re.search(r"[\u4e00-\u9fff]", chemical.name_zh)
    # Gases are exactly the class 2 materials; liquefied gases count as gas.
    assert (chemical.physical_state == "gas") == chemical.primary_class.startswith("2")
    if chemical.density_kg_per_l is not None:
        assert chemical.physical_state == "liquid"
        assert Decimal("0.5") < chemical.density_kg_per_l < Decimal("4")


@pytest.mark.parametrize("chemical", CATALOGUE, ids=_ids)
def test_entry_passes_the_model_validators(chemical: Chemical) -> None:
    material = Material(cas=chemical.cas, **chemical.material_fields())
    material.clean_fields()


def test_named_thresholds_are_the_domain_values() -> None:
    assert {cas: str(q) for cas, q in gb18218.DOMAIN_NAMED_THRESHOLDS_T.items()} == DOMAIN_NAMED
    for cas, q in DOMAIN_NAMED.items():
        assert gb18218.NAMED_THRESHOLDS_T[cas] == Decimal(q)
        assert BY_CAS[cas].gb18218_threshold_t == Decimal(q), cas
        assert BY_CAS[cas].gb18218_category == ""


def test_further_named_thresholds_do_not_override_the_domain_ones() -> None:
    assert not set(gb18218.FURTHER_NAMED_THRESHOLDS_T) & set(DOMAIN_NAMED)
    assert all(is_valid_cas(cas) for cas in gb18218.NAMED_THRESHOLDS_T)


def test_catalogue_agrees_with_the_named_thresholds() -> None:
    for cas, q in gb18218.NAMED_THRESHOLDS_T.items():
        assert cas in BY_CAS, f"{cas} is named but not in the catalogue"
        assert BY_CAS[cas].gb18218_threshold_t == q, cas
        assert BY_CAS[cas].gb18218_category == "", cas
    for chemical in CATALOGUE:
        if chemical.gb18218_threshold_t is not None and not chemical.gb18218_category:
            assert chemical.cas in gb18218.NAMED_THRESHOLDS_T, chemical.name_en


def test_category_thresholds_are_the_domain_values() -> None:
    assert {k: str(v) for k, v in gb18218.CATEGORY_THRESHOLDS_T.items()} == DOMAIN_CATEGORIES
    assert set(gb18218.CATEGORY_DESCRIPTIONS) == set(DOMAIN_CATEGORIES)


@pytest.mark.parametrize("chemical", [c for c in CATALOGUE if c.gb18218_category], ids=_ids)
def test_catalogue_categories_carry_their_threshold(chemical: Chemical) -> None:
    assert chemical.cas not in gb18218.NAMED_THRESHOLDS_T
    assert chemical.gb18218_category in gb18218.CATEGORY_THRESHOLDS_T
    expected = gb18218.CATEGORY_THRESHOLDS_T[chemical.gb18218_category]
    assert chemical.gb18218_threshold_t == expected
    if chemical.gb18218_category.startswith("W5"):
        assert "3" in (chemical.primary_class, *chemical.subsidiary_classes)
    if chemical.gb18218_category == "W2":
        assert chemical.primary_class == "2.1"
    if chemical.gb18218_category.startswith("W9"):
        assert "5.1" in (chemical.primary_class, *chemical.subsidiary_classes)


@pytest.mark.parametrize(
    ("cas", "un", "classes", "family"),
    [
        ("7782-50-5", "UN1017", ("2.3", "5.1", "8"), "chlorine"),
        ("7664-41-7", "UN1005", ("2.3", "8"), "ammonia"),
        ("67-56-1", "UN1230", ("3", "6.1"), ""),
        ("71-43-2", "UN1114", ("3",), ""),
        ("7664-93-9", "UN1830", ("8",), "acid"),
        ("143-33-9", "UN1689", ("6.1",), "cyanide"),
        ("12185-10-3", "UN1381", ("4.2", "6.1"), ""),
        ("7722-84-1", "UN2014", ("5.1", "8"), ""),
        ("75-21-8", "UN1040", ("2.3", "2.1"), ""),
        ("7782-44-7", "UN1073", ("2.2", "5.1"), ""),
    ],
)
def test_well_known_entries(cas: str, un: str, classes: tuple[str, ...], family: str) -> None:
    chemical = BY_CAS[cas]
    assert chemical.un_number == un
    assert (chemical.primary_class, *chemical.subsidiary_classes) == classes
    assert chemical.family == family


def test_families_match_their_classes() -> None:
    for chemical in CATALOGUE:
        if chemical.family == "acid":
            assert chemical.primary_class == "8", chemical.name_en
        if chemical.family == "cyanide":
            assert chemical.primary_class == "6.1", chemical.name_en
    families = {c.family for c in CATALOGUE}
    assert {"acid", "cyanide", "ammonia", "chlorine"} <= families


def test_beta_factors_are_the_domain_values() -> None:
    assert {k: str(v) for k, v in gb18218.BETA_NAMED.items()} == DOMAIN_BETA_NAMED
    assert all(is_valid_cas(cas) for cas in gb18218.BETA_NAMED)
    expected = {"J1": "4", "J3": "2", "J4": "2", "W2": "1.5", "W5.1": "1.5"}
    for category, beta in expected.items():
        assert gb18218.BETA_BY_CATEGORY[category] == Decimal(beta)
    assert gb18218.beta_for(cas="7782-50-5", category="") == Decimal(4)
    assert gb18218.beta_for(cas="67-56-1", category="W5.3") == Decimal(1)
    assert gb18218.beta_for(cas="115-07-1", category="W2") == Decimal("1.5")
    assert gb18218.beta_for(cas=None, category="W9.9") == gb18218.BETA_DEFAULT == Decimal(1)
    assert "beta:J2" in gb18218.TO_CONFIRM


@pytest.mark.parametrize(
    ("people", "alpha"),
    [
        (0, "0.5"),
        (1, "1.0"),
        (29, "1.0"),
        (30, "1.2"),
        (49, "1.2"),
        (50, "1.5"),
        (99, "1.5"),
        (100, "2.0"),
        (5000, "2.0"),
    ],
)
def test_alpha_by_people_within_500_m(people: int, alpha: str) -> None:
    assert gb18218.alpha_for(people) == Decimal(alpha)


def test_alpha_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        gb18218.alpha_for(-1)


@pytest.mark.parametrize(
    ("r", "level"),
    [
        ("150", 1),
        ("100", 1),
        ("99.9", 2),
        ("50", 2),
        ("49.99", 3),
        ("10", 3),
        ("9.99", 4),
        ("0", 4),
    ],
)
def test_grade_by_r(r: str, level: int) -> None:
    assert gb18218.grade_for(Decimal(r)) == level
