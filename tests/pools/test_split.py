"""Replenishment splits are exact to the gram, in proportion, and deterministic."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pools.split import GRAM, split_grams

grams = st.integers(min_value=0, max_value=10**12).map(lambda g: Decimal(g) * GRAM)
weights = st.dictionaries(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=10**9).map(lambda g: Decimal(g) * GRAM),
    min_size=1,
    max_size=40,
).filter(lambda w: sum(w.values()) > 0)


@given(total=grams, weights=weights)
def test_the_shares_are_whole_grams_summing_to_the_total_within_a_gram_of_exact(
    total: Decimal, weights: dict[int, Decimal]
) -> None:
    shares = split_grams(total, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == total
    weight_sum = sum(weights.values())
    for key, share in shares.items():
        assert share == share.quantize(GRAM) and share >= 0
        exact = total * weights[key] / weight_sum
        assert abs(share - exact) < GRAM  # the floor, or one gram more
    assert split_grams(total, dict(reversed(list(weights.items())))) == shares


def test_a_worked_example() -> None:
    """1,000.001 kg among commitments of 5 t, 3 t and 2 t: 500.000, 300.000 and 200.000 kg
    plus the one gram left, to the largest fraction (the first, ties to the lower id)."""
    shares = split_grams(
        Decimal("1000.001"), {7: Decimal(5000), 3: Decimal(3000), 9: Decimal(2000)}
    )
    assert shares == {7: Decimal("500.001"), 3: Decimal("300.000"), 9: Decimal("200.000")}
    assert split_grams(Decimal("0.002"), {1: Decimal(1), 2: Decimal(1), 3: Decimal(1)}) == {
        1: Decimal("0.001"),
        2: Decimal("0.001"),
        3: Decimal("0.000"),
    }


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        (Decimal("-1"), {1: Decimal(1)}),
        (Decimal("0.0005"), {1: Decimal(1)}),
        (Decimal("1"), {}),
        (Decimal("1"), {1: Decimal(0)}),
        (Decimal("1"), {1: Decimal(-1), 2: Decimal(2)}),
    ],
)
def test_bad_splits_are_refused(total: Decimal, weights: dict[int, Decimal]) -> None:
    with pytest.raises(ValueError, match=r"grams|weights"):
        split_grams(total, weights)
