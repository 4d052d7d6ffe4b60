"""The roles of ParkShare and every set of them, each defined once, here.

A view, an admin or a service that asks "may this role do that" names one of these sets;
none writes its own (``tests/access/test_roles.py`` scans the source for a set of roles
written out anywhere else).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EnterpriseRole(models.TextChoices):
    """A user's role in the one enterprise they act for (a Membership)."""

    ENTERPRISE_ADMIN = "enterprise_admin", _("enterprise admin")
    TRADER = "trader", _("trader")
    WAREHOUSE_KEEPER = "warehouse_keeper", _("warehouse keeper")
    VIEWER = "viewer", _("viewer")


class ParkRoleKind(models.TextChoices):
    """A user's standing in a park (a ParkRole)."""

    OPERATOR = "park_operator", _("park operator")
    REGULATOR = "regulator", _("regulator")


#: Every role that writes anything at all; a viewer is read-only.
WRITE_ROLES: frozenset[str] = frozenset(
    {EnterpriseRole.ENTERPRISE_ADMIN, EnterpriseRole.TRADER, EnterpriseRole.WAREHOUSE_KEEPER}
)
#: The enterprise's own settings, members, permits and shared-stock deposits.
ADMIN_ROLES: frozenset[str] = frozenset({EnterpriseRole.ENTERPRISE_ADMIN})
#: Deals: listings and needs, accepting or declining a proposal, placing and confirming
#: an order, paying.
TRADING_ROLES: frozenset[str] = frozenset({EnterpriseRole.ENTERPRISE_ADMIN, EnterpriseRole.TRADER})
#: The goods: warehouses, zones and lots, receiving and moving stock, an order's physical
#: steps (pick, hand over, receive).
STOCK_ROLES: frozenset[str] = frozenset(
    {EnterpriseRole.ENTERPRISE_ADMIN, EnterpriseRole.WAREHOUSE_KEEPER}
)
