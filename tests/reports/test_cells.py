"""How the dashboard's tables show a value: decimals rounded half up to the column's places,
digits grouped as the language's formats say (Django's Chinese formats: no separator); the
exports keep the exact value."""

from decimal import Decimal

from django.utils import translation

from reports.sections import DECIMAL, INT, PERCENT, Column
from reports.templatetags.reports_tags import cell

TCE = Column("tce", "tce", DECIMAL, places=3)
INTENSITY = Column("intensity", "tce per 10⁴ CNY", DECIMAL, places=4)
TONNES = Column("on_hand_t", "t", DECIMAL)
SHARE = Column("share", "%", PERCENT)


def test_decimals_are_rounded_half_up_to_the_columns_places() -> None:
    with translation.override("en"):
        assert cell(Decimal("2081.185007"), TCE) == "2,081.185"
        assert cell(Decimal("0.4055"), TCE) == "0.406"  # half up, not to even
        assert cell(Decimal("0.0124995"), INTENSITY) == "0.0125"
        assert cell(Decimal("12.345"), TONNES) == "12.35"  # 2 places by default
        assert cell(Decimal("58.25"), SHARE) == "58.3"
        assert cell(Decimal("-1.005"), TONNES) == "-1.01"
        assert cell(Decimal(3), TCE) == "3.000"


def test_other_values_and_chinese() -> None:
    with translation.override("zh-hans"):
        assert cell(Decimal("123456789.125"), TONNES) == "123456789.13"
        assert cell(None, TCE) == "—" and cell("", TCE) == "—"
    with translation.override("en"):
        assert cell(1234567, Column("n", "n", INT)) == "1,234,567"
        assert cell(True, Column("b", "b")) == "yes"
