"""Shared fixtures: a small two-park world with one user per role, API clients, and a
``receive`` helper that puts stock into a lot through the receipt service.

Every test that uses the database ends with the ledger check
(inventory.selectors.ledger_discrepancies): whatever a scenario did, the quantities of
every lot must agree with the ledger and the reservations. A test that breaks the ledger
on purpose says so with ``@pytest.mark.ledger_unbalanced``.
"""

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import translation
from knox.models import AuthToken
from rest_framework.test import APIClient

from access.scope import SYSTEM
from inventory.models import StockLot
from inventory.selectors import ledger_discrepancies
from inventory.services import stock_receive
from tests import factories as f

# Fixtures through which a test gets the database (pytest-django).
DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "ledger_unbalanced: the test breaks the ledger on purpose; skip the ledger check "
        "that ends every test using the database",
    )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(autouse=True)
def _language_of_the_settings() -> Iterator[None]:
    """Each test starts in the settings' language. Django's LocaleMiddleware activates a
    request's language for its thread and leaves it there, so a test after one that asked
    for Chinese pages would otherwise read the services' messages in Chinese."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _ledger_balanced_at_teardown(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test using the database, before its rollback or flush: no discrepancy.

    Requesting ``db`` here (the mode, transactional or not, still follows the test's marker
    and fixtures) makes this fixture's teardown run while the test's data is still there.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        DB_FIXTURES & set(request.fixturenames)
    )
    if not uses_db or request.node.get_closest_marker("ledger_unbalanced"):
        yield
        return
    request.getfixturevalue("db")
    yield
    found = ledger_discrepancies()
    assert found == [], f"the ledger does not balance after this test: {found}"


@pytest.fixture
def on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (see .ci/run)")


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks run in-process, whatever the broker: for tests of what happens after
    commit (the outbox's fan-out and its subscribers, run by
    ``django_capture_on_commit_callbacks(execute=True)``)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """Two parks in one region and a third elsewhere; two enterprises in park A, one in B,
    one in C; one user per role; a private warehouse per enterprise and a shared one."""
    park_a = f.ParkFactory.create(code="park-a", division_code="330211")
    park_b = f.ParkFactory.create(code="park-b", division_code="330206")  # same region 3302
    park_c = f.ParkFactory.create(code="park-c", division_code="320506")  # another region
    ent_a1 = f.EnterpriseFactory.create(park=park_a)
    ent_a2 = f.EnterpriseFactory.create(park=park_a)
    ent_b = f.EnterpriseFactory.create(park=park_b)
    ent_c = f.EnterpriseFactory.create(park=park_c)
    users = {}
    for role in ("enterprise_admin", "trader", "warehouse_keeper", "viewer"):
        users[role] = f.MembershipFactory.create(enterprise=ent_a1, role=role).user
    users["other_admin"] = f.MembershipFactory.create(
        enterprise=ent_a2, role="enterprise_admin"
    ).user
    users["park_b_admin"] = f.MembershipFactory.create(
        enterprise=ent_b, role="enterprise_admin"
    ).user
    users["park_c_admin"] = f.MembershipFactory.create(
        enterprise=ent_c, role="enterprise_admin"
    ).user
    users["park_operator"] = f.ParkRoleFactory.create(park=park_a, role="park_operator").user
    users["regulator"] = f.ParkRoleFactory.create(park=park_a, role="regulator").user
    users["regulator_c"] = f.ParkRoleFactory.create(park=park_c, role="regulator").user
    users["superuser"] = f.UserFactory.create(username="root", is_superuser=True, is_staff=True)
    zone_a1 = f.StorageZoneFactory.create(warehouse=f.WarehouseFactory.create(owner=ent_a1))
    zone_a2 = f.StorageZoneFactory.create(warehouse=f.WarehouseFactory.create(owner=ent_a2))
    zone_b = f.StorageZoneFactory.create(warehouse=f.WarehouseFactory.create(owner=ent_b))
    zone_c = f.StorageZoneFactory.create(warehouse=f.WarehouseFactory.create(owner=ent_c))
    shared = f.WarehouseFactory.create(owner=None, park=park_a)
    zone_shared = f.StorageZoneFactory.create(warehouse=shared)
    return {
        "parks": {"a": park_a, "b": park_b, "c": park_c},
        "enterprises": {"a1": ent_a1, "a2": ent_a2, "b": ent_b, "c": ent_c},
        "users": users,
        "zones": {"a1": zone_a1, "a2": zone_a2, "b": zone_b, "c": zone_c, "shared": zone_shared},
        "material": f.MaterialFactory.create(),
    }


@pytest.fixture
def receive() -> Callable[..., StockLot]:
    def _receive(
        *,
        zone: Any,
        material: Any,
        quantity: str | Decimal = "1000",
        owner: Any = None,
        **kwargs: Any,
    ) -> StockLot:
        return stock_receive(
            actor=SYSTEM,
            owner=owner or zone.warehouse.owner,
            material=material,
            zone=zone,
            quantity_kg=Decimal(quantity),
            **kwargs,
        )

    return _receive


@pytest.fixture
def api_client() -> Callable[[Any], APIClient]:
    """``api_client(user)``: a client authenticated with a fresh Bearer token of ``user``."""

    def _client(user: Any = None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, token = AuthToken.objects.create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return _client
