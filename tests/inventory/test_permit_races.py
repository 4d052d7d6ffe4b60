"""A permit deleted while a change of it waits for its row lock: the change answers 404
(gone, as if it had come a moment later), never a 500 from the service's lookup."""

import threading
import time
from datetime import date
from typing import Any

import pytest
from django.db import connection, transaction

from access.scope import resolve_scope
from inventory.controls import PermitKind
from inventory.models import Permit
from inventory.services import permit_create

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.usefixtures("on_postgres"),
    pytest.mark.django_db(transaction=True),
]


def _wait_for_a_blocked_lock(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the change never waited for the permit's lock")


def test_a_change_waiting_on_a_permit_being_deleted_answers_404(
    world: dict[str, Any], api_client: Any
) -> None:
    permit = permit_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        kind=PermitKind.SAFE_USE_LICENCE,
        number="（浙）WH安使证字〔2026〕0099",
        valid_from=date(2026, 1, 1),
        expires_on=date(2028, 12, 31),
        materials=[world["material"]],
    )
    locked = threading.Event()
    failures: list[BaseException] = []

    def delete_once_the_change_waits() -> None:
        try:
            with transaction.atomic():
                Permit.objects.select_for_update().get(pk=permit.pk)
                locked.set()
                _wait_for_a_blocked_lock()
                Permit.objects.filter(pk=permit.pk).delete()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            connection.close()

    deleter = threading.Thread(target=delete_once_the_change_waits)
    deleter.start()
    assert locked.wait(10)
    admin = api_client(world["users"]["enterprise_admin"])
    response = admin.patch(f"/api/v1/permits/{permit.pk}/", {"note": "x"}, format="json")
    deleter.join(30)
    assert not failures, failures
    assert response.status_code == 404, response.content
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == ("not_found", {})
    assert not Permit.objects.filter(pk=permit.pk).exists()
