"""GB 18218-2018: S, R and the level of a unit, on worked examples written out by hand,
with the standard's β (named toxic gases, categories) and α (people within 500 m)."""

from decimal import Decimal

import pytest

from safety.gb18218 import Holding, alpha_of, assess, beta_of, threshold_of


def q_of(*, named_t: Decimal | None, category: str) -> Decimal:
    found = threshold_of(named_t=named_t, category=category)
    assert found is not None
    return found


D = Decimal


def test_a_chlorine_and_methanol_warehouse_by_hand() -> None:
    """3 t of chlorine (Q 5 t, β 4: a toxic gas of Table 3) and 300 t of methanol (Q 500 t,
    named in Table 1 but no toxic gas: β 1), 60 people within 500 m (α 1.5):
        S = 3/5 + 300/500 = 0.6 + 0.6 = 1.2            -> a major hazard installation
        R = 1.5 × (4 × 0.6 + 1 × 0.6) = 1.5 × 3.0 = 4.5 -> level 4 (R < 10)."""
    chlorine = Holding(D(3), q_of(named_t=D(5), category=""), beta_of(cas="7782-50-5", category=""))
    methanol = Holding(D(300), D(500), beta_of(cas="67-56-1", category=""))
    assert chlorine.threshold_t == D(5) and chlorine.beta == D(4) and methanol.beta == D(1)
    result = assess([chlorine, methanol], alpha_of(60))
    assert result.s == D("1.2")
    assert result.r == D("4.5")
    assert result.level == 4


def test_a_toxic_gas_store_of_level_1_by_hand() -> None:
    """2 t of phosgene (Q 0.3 t, β 20), 8 t of hydrogen sulfide (Q 5 t, β 5), 150 people
    (α 2.0):
        S = 2/0.3 + 8/5 = 6.6667 + 1.6 = 8.2667
        R = 2.0 × (20 × 6.6667 + 5 × 1.6) = 2.0 × (133.333 + 8) = 282.667 -> level 1."""
    result = assess(
        [
            Holding(D(2), D("0.3"), beta_of(cas="75-44-5", category="")),
            Holding(D(8), D(5), beta_of(cas="7783-06-4", category="")),
        ],
        alpha_of(150),
    )
    assert result.s.quantize(D("0.0001")) == D("8.2667")
    assert result.r.quantize(D("0.001")) == D("282.667")
    assert result.level == 1


def test_category_thresholds_and_betas_by_hand() -> None:
    """A chemical not named: its category's Q and β. 6 t of a J1 gas (Q 5, β 4) and 12 t of
    a W2 flammable gas (Q 10, β 1.5), 40 people (α 1.2):
        S = 6/5 + 12/10 = 1.2 + 1.2 = 2.4
        R = 1.2 × (4 × 1.2 + 1.5 × 1.2) = 1.2 × 6.6 = 7.92 -> level 4;
    with 100 people (α 2.0): R = 13.2 -> level 3; with nobody (α 0.5): R = 3.3."""
    j1 = Holding(D(6), q_of(named_t=None, category="J1"), beta_of(cas=None, category="J1"))
    w2 = Holding(D(12), q_of(named_t=None, category="W2"), beta_of(cas=None, category="W2"))
    assert (j1.threshold_t, j1.beta, w2.threshold_t, w2.beta) == (D(5), D(4), D(10), D("1.5"))
    assert assess([j1, w2], alpha_of(40)) == assess([j1, w2], D("1.2"))
    result = assess([j1, w2], alpha_of(40))
    assert (result.s, result.r, result.level) == (D("2.4"), D("7.92"), 4)
    assert assess([j1, w2], alpha_of(100)).r == D("13.2")
    assert assess([j1, w2], alpha_of(100)).level == 3
    assert assess([j1, w2], alpha_of(0)).r == D("3.3")


def test_below_one_is_not_a_major_hazard_and_one_is() -> None:
    """4.99 t of chlorine: S = 0.998, no level; 5 t: S = 1 exactly, a major hazard
    installation: R = 1.0 (α, 10 people) × 4 × 1 = 4 -> level 4."""
    below = assess([Holding(D("4.99"), D(5), D(4))], alpha_of(10))
    assert below.s == D("0.998") and below.level is None and not below.is_major
    at = assess([Holding(D(5), D(5), D(4))], alpha_of(10))
    assert at.s == D(1) and at.r == D(4) and at.level == 4


@pytest.mark.parametrize(
    ("r", "level"),
    [(D("9.9999"), 4), (D(10), 3), (D("49.99"), 3), (D(50), 2), (D("99.99"), 2), (D(100), 1)],
)
def test_level_bands(r: Decimal, level: int) -> None:
    """R = α × β × S with S = 1.25 (β 1), α chosen so that R hits each band's boundary."""
    alpha = r / D("1.25")
    assert assess([Holding(D("12.5"), D(10), D(1))], alpha).level == level


@pytest.mark.parametrize(
    ("people", "alpha"),
    [(None, "2.0"), (0, "0.5"), (1, "1.0"), (29, "1.0"), (30, "1.2"), (49, "1.2"), (50, "1.5"),
     (99, "1.5"), (100, "2.0")],
)  # fmt: skip
def test_alpha_by_people_within_500m(people: int | None, alpha: str) -> None:
    assert alpha_of(people) == D(alpha)


def test_a_material_without_threshold_is_not_counted() -> None:
    assert threshold_of(named_t=None, category="") is None
    assert threshold_of(named_t=None, category="X9") is None
    assert assess([], D(2)).s == 0
