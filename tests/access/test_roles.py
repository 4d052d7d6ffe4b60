"""Every set of roles is written out once, in ``access.roles``; everything else names it."""

import ast
from pathlib import Path

from access import roles
from access.roles import ADMIN_ROLES, STOCK_ROLES, TRADING_ROLES, WRITE_ROLES, EnterpriseRole

ROOT = Path(__file__).resolve().parents[2]
APPS = ("access", "common", "parks", "inventory", "marketplace", "matching", "orders", "bench")
ROLE_ENUMS = {"EnterpriseRole", "ParkRoleKind"}


def _role_member(node: ast.AST) -> bool:
    """``EnterpriseRole.TRADER`` (or a ParkRoleKind member)."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ROLE_ENUMS
    )


def role_sets_written_out(tree: ast.AST) -> list[int]:
    """Lines where a set, frozenset, tuple or list literal names role members."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.List | ast.Tuple) and any(
            _role_member(e) for e in node.elts
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_a_role_set_written_out() -> None:
    written = ast.parse(
        "KEEPERS = frozenset({EnterpriseRole.ENTERPRISE_ADMIN, EnterpriseRole.TRADER})\n"
        "if scope.role in (EnterpriseRole.TRADER, EnterpriseRole.VIEWER): pass\n"
    )
    named = ast.parse("write_roles = TRADING_ROLES\nif role == EnterpriseRole.TRADER: pass\n")
    assert role_sets_written_out(written) == [1, 2]
    assert role_sets_written_out(named) == []


def test_no_role_set_is_written_out_outside_access_roles() -> None:
    roles_module = Path(roles.__file__).resolve()
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if path.resolve() == roles_module or "migrations" in path.parts:
                continue
            for line in role_sets_written_out(ast.parse(path.read_text(), str(path))):
                found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == [], "name a set of access.roles instead: " + ", ".join(found)


def test_the_role_sets() -> None:
    admin, trader, keeper, viewer = (
        EnterpriseRole.ENTERPRISE_ADMIN,
        EnterpriseRole.TRADER,
        EnterpriseRole.WAREHOUSE_KEEPER,
        EnterpriseRole.VIEWER,
    )
    assert {admin} == ADMIN_ROLES
    assert {admin, trader} == TRADING_ROLES
    assert {admin, keeper} == STOCK_ROLES
    assert WRITE_ROLES == ADMIN_ROLES | TRADING_ROLES | STOCK_ROLES
    assert viewer not in WRITE_ROLES
