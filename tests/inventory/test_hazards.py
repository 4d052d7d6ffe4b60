import pytest

from inventory.hazards import (
    HAZARD_CLASS_CODES,
    HazardProfile,
    Separation,
    required_separation,
    segregation_code,
)

TABLE_CLASSES = "1.1 1.3 1.4 2.1 2.2 2.3 3 4.1 4.2 4.3 5.1 5.2 6.1 6.2 7 8 9".split()


def test_table_is_symmetric() -> None:
    for a in TABLE_CLASSES:
        for b in TABLE_CLASSES:
            assert segregation_code(a, b) == segregation_code(b, a), (a, b)


@pytest.mark.parametrize(
    ("a", "b", "code"),
    [
        ("3", "5.1", "2"),
        ("2.1", "8", "1"),
        ("6.2", "3", "3"),
        ("1.1", "3", "4"),
        ("9", "5.2", "X"),
        ("1.2", "2.1", "4"),
        ("1.6", "6.1", "2"),
        ("3", "3", "X"),
    ],
)
def test_codes_from_the_table(a: str, b: str, code: str) -> None:
    assert segregation_code(a, b) == code


def test_every_class_has_a_row() -> None:
    for a in HAZARD_CLASS_CODES:
        for b in HAZARD_CLASS_CODES:
            segregation_code(a, b)


def p(*classes: str, family: str = "", liquid: bool = False) -> HazardProfile:
    return HazardProfile(classes=classes, family=family, liquid=liquid, label="x")


def test_strictest_rule_over_subsidiary_classes_applies() -> None:
    # 3 vs 8 alone may share a zone; a subsidiary 5.1 vs 3 demands separate zones.
    assert required_separation(p("3"), p("8")).separation == Separation.NONE
    assert required_separation(p("3"), p("8", "5.1")).separation == Separation.ZONE


def test_levels_map_to_storage_rules() -> None:
    assert required_separation(p("2.1"), p("8")).separation == Separation.DISTANCE
    assert required_separation(p("3"), p("6.2")).separation == Separation.BUILDING
    assert required_separation(p("1.1"), p("3")).separation == Separation.BUILDING


def test_explosives_among_themselves() -> None:
    assert required_separation(p("1.1"), p("1.1")).separation == Separation.NONE
    assert required_separation(p("1.1"), p("1.4")).separation == Separation.ZONE


def test_pair_rules_override_the_table() -> None:
    acid = p("8", family="acid", liquid=True)
    cyanide = p("6.1", family="cyanide")
    assert required_separation(acid, cyanide).separation == Separation.FORBIDDEN
    ammonia = p("2.3", "8", family="ammonia")
    chlorine = p("2.3", "5.1", "8", family="chlorine")
    assert required_separation(ammonia, chlorine).separation == Separation.FORBIDDEN
    assert required_separation(p("4.2"), p("8", liquid=True)).separation == Separation.FORBIDDEN
    # A solid corrosive is only "away from" a 4.2 material.
    assert required_separation(p("4.2"), p("8")).separation == Separation.DISTANCE


def test_non_dangerous_goods_need_no_separation() -> None:
    assert required_separation(p(), p("1.1")).separation == Separation.NONE


def test_the_same_hazards_stow_together() -> None:
    chlorine = p("2.3", "5.1", "8", family="chlorine")
    assert required_separation(chlorine, chlorine).separation == Separation.NONE
    other_label = HazardProfile(classes=("2.3", "5.1", "8"), family="chlorine", label="y")
    assert required_separation(chlorine, other_label).separation == Separation.NONE


def test_one_primary_class_is_no_allowance_the_strictest_pair_decides() -> None:
    # domain notes, "Admission to a zone": nitric acid (8 + 5.1) reacts with acetic acid
    # (8 + 3); 5.1 against 3 is "separated from", so another zone.
    nitric_acid = p("8", "5.1", family="acid", liquid=True)
    acetic_acid = p("8", "3", family="acid", liquid=True)
    verdict = required_separation(nitric_acid, acetic_acid)
    assert verdict.separation == Separation.ZONE
    assert "class 5.1" in verdict.rule
    sulfuric_acid = p("8", family="acid", liquid=True)
    assert required_separation(nitric_acid, sulfuric_acid).separation == Separation.ZONE
    # Different primary classes: the subsidiary 5.1 of nitric acid still counts against 3.
    assert required_separation(nitric_acid, p("3")).separation == Separation.ZONE
