"""Materials of GB 18218 for the safety tests: chlorine (Q 5 t, β 4) and methanol (Q 500 t,
β 1), carried as goods that need no licence (no dangerous-goods class) so that the tests
of S are not tests of segregation; their CAS numbers give them their β."""

from decimal import Decimal
from typing import Any

import pytest

from tests import factories as f


@pytest.fixture
def chlorine(db: Any) -> Any:
    return f.MaterialFactory.create(
        name_en="Chlorine", cas="7782-50-5", gb18218_threshold_t=Decimal(5)
    )


@pytest.fixture
def methanol(db: Any) -> Any:
    return f.MaterialFactory.create(
        name_en="Methanol", cas="67-56-1", gb18218_threshold_t=Decimal(500)
    )
