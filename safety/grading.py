"""Incident grading (Decree 493): pure, from the thresholds in ``safety.data.decree493``."""

from decimal import Decimal

from safety.data.decree493 import GRADE_THRESHOLDS


def incident_grade(deaths: int, serious_injuries: int, direct_loss_yuan: Decimal) -> str:
    """The grade of an incident: the gravest grade any one criterion reaches (30 deaths,
    or 100 serious injuries, or 100 million yuan make it extraordinarily serious, ...)."""
    if deaths < 0 or serious_injuries < 0 or direct_loss_yuan < 0:
        raise ValueError("Casualties and losses cannot be negative.")
    for grade, min_deaths, min_injuries, min_loss in GRADE_THRESHOLDS:
        if deaths >= min_deaths or serious_injuries >= min_injuries or direct_loss_yuan >= min_loss:
            return grade
    raise AssertionError("unreachable: the last grade starts at 0")
