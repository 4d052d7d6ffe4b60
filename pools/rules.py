"""Who may do what with a pool: the pools' questions, asked by their services, selectors,
API and admin alike."""

from access.roles import WRITE_ROLES
from access.scope import Scope
from pools.models import Pool


def may_operate(scope: Scope, pool: Pool) -> bool:
    """The pool's operator: its lead enterprise's staff with a writing role, or, for a
    pool without a lead, the park's operators; superusers too."""
    if scope.is_superuser:
        return True
    if pool.lead_id is not None:
        return scope.enterprise_id == pool.lead_id and scope.has_role(*WRITE_ROLES)
    return pool.park_id in scope.operated_park_ids


def may_act_as_member(scope: Scope) -> bool:
    """An enterprise's staff with a writing role ask to join, contribute and draw for it
    (a viewer only reads)."""
    return scope.enterprise is not None and scope.has_role(*WRITE_ROLES)
