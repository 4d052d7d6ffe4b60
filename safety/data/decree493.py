"""Grades of production-safety incidents: State Council Decree 493 (2007), Article 3.

An incident takes the gravest grade that any one of its criteria reaches (deaths, serious
injuries including acute industrial poisoning, direct economic loss in yuan). Each grade
is reached "at least" at its thresholds; the lowest grade (一般, ordinary) is everything
below the next one. The figures are those of the project's domain reference
(shared/domain.md, "Production-safety incidents").
"""

from decimal import Decimal

SOURCE_NOTE = "State Council Decree 493 (生产安全事故报告和调查处理条例, 2007), Article 3."

#: (grade, deaths at least, serious injuries at least, direct loss at least in yuan),
#: gravest first. The last row is reached by every incident.
GRADE_THRESHOLDS: tuple[tuple[str, int, int, Decimal], ...] = (
    ("extraordinarily_serious", 30, 100, Decimal("100000000")),  # 特别重大
    ("serious", 10, 50, Decimal("50000000")),  # 重大
    ("relatively_serious", 3, 10, Decimal("10000000")),  # 较大
    ("ordinary", 0, 0, Decimal("0")),  # 一般
)
