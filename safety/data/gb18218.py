"""What the major-hazard assessment adds to the GB 18218-2018 tables of
``inventory.data.gb18218`` (named and category thresholds Q, β of named toxic gases and by
category, α by people within 500 m, the grade bands), which it reads from there.

ParkShare's own choices, documented in docs/safety.md:

* ``ALPHA_NOT_SURVEYED``: a unit whose people within 500 m nobody has entered yet takes the
  α of the most populated band (2.0), so that a missing survey can only overstate R;
* ``S_MAJOR``: S at or above it makes a unit a major hazard installation;
* ``S_PLACES``: S and R are stored to four decimals (the level is decided on the exact
  values before rounding).
"""

from decimal import Decimal

from inventory.data.gb18218 import ALPHA_BANDS

ALPHA_NOT_SURVEYED: Decimal = ALPHA_BANDS[0][1]
S_MAJOR = Decimal(1)
S_PLACES = Decimal("0.0001")
