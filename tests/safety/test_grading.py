"""Incident grading (Decree 493): the gravest grade any one criterion reaches, tested just
below and at every boundary of each criterion."""

from decimal import Decimal

import pytest

from safety.grading import incident_grade

M = Decimal(1_000_000)
ORD, REL, SER, EXT = "ordinary", "relatively_serious", "serious", "extraordinarily_serious"


@pytest.mark.parametrize(
    ("deaths", "grade"),
    [(0, ORD), (2, ORD), (3, REL), (9, REL), (10, SER), (29, SER), (30, EXT), (300, EXT)],
)
def test_deaths(deaths: int, grade: str) -> None:
    assert incident_grade(deaths, 0, Decimal(0)) == grade


@pytest.mark.parametrize(
    ("injuries", "grade"),
    [(0, ORD), (9, ORD), (10, REL), (49, REL), (50, SER), (99, SER), (100, EXT)],
)
def test_serious_injuries(injuries: int, grade: str) -> None:
    assert incident_grade(0, injuries, Decimal(0)) == grade


@pytest.mark.parametrize(
    ("loss", "grade"),
    [
        (Decimal("9999999.99"), ORD),
        (10 * M, REL),
        (Decimal("49999999.99"), REL),
        (50 * M, SER),
        (Decimal("99999999.99"), SER),
        (100 * M, EXT),
    ],
)
def test_direct_loss(loss: Decimal, grade: str) -> None:
    assert incident_grade(0, 0, loss) == grade


def test_the_gravest_criterion_decides() -> None:
    # 2 deaths (ordinary), 10 injuries (relatively serious), 60 M yuan (serious): serious.
    assert incident_grade(2, 10, 60 * M) == SER
    assert incident_grade(30, 0, Decimal(0)) == EXT
    assert incident_grade(1, 1, Decimal(1)) == ORD


def test_negative_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        incident_grade(-1, 0, Decimal(0))
    with pytest.raises(ValueError, match="negative"):
        incident_grade(0, 0, Decimal("-0.01"))
