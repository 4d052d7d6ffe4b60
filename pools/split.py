"""Exact splits of a quantity among members, to the gram.

A draw's replenishment is split by the pool's rule (pro rata to commitments, equal shares,
or all to the drawer); the shares are whole grams summing exactly to the total, the
remainder of the rounding given one gram at a time by the largest fractional part, ties to
the lower member id: the same inputs give the same split every time."""

from decimal import Decimal

GRAM = Decimal("0.001")


def split_grams(total_kg: Decimal, weights: dict[int, Decimal]) -> dict[int, Decimal]:
    """``total_kg`` split among the keys of ``weights`` in proportion to them (every
    weight ≥ 0, not all 0): whole grams, summing to ``total_kg`` (itself whole grams)."""
    if total_kg < 0 or total_kg != total_kg.quantize(GRAM):
        raise ValueError(f"not a whole number of grams: {total_kg}")
    if not weights or any(w < 0 for w in weights.values()):
        raise ValueError("weights must be given and not negative")
    weight_sum = sum(weights.values(), Decimal(0))
    if weight_sum == 0:
        raise ValueError("the weights are all zero")
    grams = int(total_kg / GRAM)
    shares: dict[int, int] = {}
    remainders: list[tuple[Decimal, int]] = []
    for key in sorted(weights):
        exact = Decimal(grams) * weights[key] / weight_sum
        whole = int(exact)  # exact >= 0: int() is the floor
        shares[key] = whole
        remainders.append((exact - whole, key))
    left = grams - sum(shares.values())
    for _fraction, key in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        shares[key] += 1
    return {key: Decimal(g) * GRAM for key, g in shares.items()}
